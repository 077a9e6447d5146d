"""Redis stopped under a running `reel serve --workers 1`: every route that needs Redis answers 503
`unavailable` with Retry-After (never a crash, never a hang), /healthz and /metrics still answer;
Redis restarted on the same port: the same server recovers by itself, the job accepted before the
outage is still there, and a new job renders. Then Redis hangs (SIGSTOP): one request waits out
the Redis timeout, the rest are answered 503 at once; after SIGCONT everything resumes."""

import signal
import time

import e2e
from e2e import Cluster, check, log, stop_cleanly, tiny_job, wait_for


def test(reel_bin):
    with Cluster(reel_bin) as cl:
        proc, api = cl.serve(workers=1)
        before = api.submit(tiny_job("before", seconds=1))
        check(api.wait_terminal(before, 120)["status"] == "succeeded", "job before the outage")
        cl.redis.kill()
        log("redis killed")
        calls = [("POST", "/v1/jobs", tiny_job("during")), ("GET", f"/v1/jobs/{before}", None),
                 ("GET", "/v1/jobs", None), ("DELETE", f"/v1/jobs/{before}", None),
                 ("GET", f"/v1/jobs/{before}/output", None), ("GET", "/v1/templates", None),
                 ("PUT", "/v1/templates/t", tiny_job()), ("GET", "/readyz", None)]
        for method, path, body in calls:
            t0 = time.monotonic()
            st, hdrs, doc = api.json(method, path, body)
            took = time.monotonic() - t0
            check(st == 503, f"{method} {path} with Redis down answered {st}: {doc}")
            check(doc and doc["error"]["code"] == "unavailable", f"{method} {path}: {doc}")
            check(int(hdrs.get("retry-after", "0")) >= 1, f"{method} {path}: no Retry-After")
            check(took < 5, f"{method} {path} took {took:.1f} s with Redis down")
        check(api.request("GET", "/healthz")[0] == 200, "/healthz with Redis down")
        st, _, text = api.request("GET", "/metrics")
        text = text.decode()
        check(st == 200 and "reel_redis_up 0" in text, f"/metrics with Redis down: {st}")
        errs = [line for line in text.splitlines() if line.startswith("reel_redis_errors_total")]
        check(errs and int(errs[0].split()[1]) >= 1, f"redis errors: {errs}")
        check(proc.alive(), f"reel serve died with Redis down:\n{proc.tail()}")
        log("503 + Retry-After on every Redis route while it is down: ok")

        cl.redis.start()
        log("redis restarted")
        wait_for(lambda: api.request("GET", "/readyz")[0] == 200, 20, "/readyz after restart")
        check(api.status(before)["status"] == "succeeded", "the job from before the outage")
        after = api.submit(tiny_job("after", seconds=1))
        end = api.wait_terminal(after, 120)
        check(end["status"] == "succeeded", f"job after the outage ended {end['status']}")
        check(proc.alive(), "reel serve was restarted")
        log("recovered without a restart of reel: ok")

        # A Redis that hangs (stopped, not gone: connections open, nothing answers) costs one
        # request its timeout; the others are answered 503 at once, not each after a timeout.
        cl.redis.proc.send_signal(signal.SIGSTOP)
        try:
            t0 = time.monotonic()
            st, hdrs, doc = api.json("GET", f"/v1/jobs/{after}")
            check(st == 503 and time.monotonic() - t0 < 5, f"first call to a hung Redis: {st}")
            worst = 0
            for _ in range(10):
                t0 = time.monotonic()
                st, hdrs, doc = api.json("GET", "/v1/jobs")
                worst = max(worst, time.monotonic() - t0)
                check(st == 503 and doc["error"]["code"] == "unavailable" and
                      "retry-after" in hdrs, f"hung Redis: {st} {doc}")
            t0 = time.monotonic()
            st, _, text = api.request("GET", "/metrics")
            check(st == 200 and time.monotonic() - t0 < 1, "/metrics waits on a hung Redis")
            check(worst < 1, f"a request waited {worst:.1f} s on a Redis known to hang")
            log(f"hung Redis: 503 at once (worst {worst * 1000:.0f} ms): ok")
        finally:
            cl.redis.proc.send_signal(signal.SIGCONT)
        wait_for(lambda: api.request("GET", "/readyz")[0] == 200, 20, "/readyz after SIGCONT")
        again = api.submit(tiny_job("again", seconds=1))
        check(api.wait_terminal(again, 120)["status"] == "succeeded", "job after the hang")
        log("recovered from a hung Redis: ok")
        stop_cleanly(cl)
        cl.ok = True


if __name__ == "__main__":
    e2e.main(test)
