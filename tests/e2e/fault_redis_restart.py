#!/usr/bin/env python3
"""Redis killed (SIGKILL) and restarted mid-run, with AOF: while it is down the API answers 503 with
Retry-After and nothing crashes; once it is back every accepted job completes, without restarting
any reel process."""

import time

import e2e
from e2e import check, log


def medium_job(i):
    """About half a second of rendering: enough that jobs are queued and running at the kill."""
    return {"output": {"width": 640, "height": 360, "fps": 25, "duration": 3},
            "layers": [{"type": "color", "color": "#203040"},
                       {"type": "text", "text": f"job {i}", "font_size": 40, "color": "#ffffff",
                        "effects": [{"type": "blur", "sigma": 2}]}]}


def test(reel):
    with e2e.Cluster(reel, lease_ms=2000) as c:
        serve, api = c.serve(workers=0)
        workers = [c.worker("worker-1"), c.worker("worker-2")]
        procs = [serve, *workers]
        pids = [p.proc.pid for p in procs]

        accepted = [api.submit(medium_job(i)) for i in range(10)]
        log(f"submitted {len(accepted)} jobs")
        e2e.wait_for(lambda: any(api.status(j)["status"] == "running" for j in accepted), 30,
                     "a job to be running")

        log("SIGKILL redis-server")
        c.redis.kill()
        down_at = time.monotonic()

        # While Redis is down: the API stays up and answers 503 + Retry-After on routes that need
        # Redis; liveness still answers; readiness says not ready.
        for method, path, body in (("POST", "/v1/jobs", e2e.tiny_job("down")),
                                   ("GET", f"/v1/jobs/{accepted[0]}", None),
                                   ("GET", "/readyz", None)):
            status, hdrs, data = e2e.wait_for(
                lambda: (lambda r: r if r[0] == 503 else None)(api.json(method, path, body)), 10,
                f"503 from {method} {path} with Redis down")
            check("retry-after" in hdrs, f"{method} {path}: 503 without Retry-After")
            check(hdrs["retry-after"].isdigit() and int(hdrs["retry-after"]) >= 1,
                  f"{method} {path}: Retry-After {hdrs['retry-after']!r} is not a delay in seconds")
            if path != "/readyz":
                check(data and data.get("error", {}).get("code") == "unavailable",
                      f"{method} {path}: 503 body {data}, expected error code unavailable")
        status, _, _ = api.request("GET", "/healthz")
        check(status == 200, f"/healthz answered {status} with Redis down; liveness must not "
                             "depend on Redis")

        # Stay down a while (longer than a lease), then check nothing crashed.
        time.sleep(max(0.0, 3.0 - (time.monotonic() - down_at)))
        for p in procs:
            check(p.alive(), f"{p.name} exited while Redis was down:\n{p.tail()}")

        log("restart redis-server on the same port and data folder (AOF)")
        c.redis.start()
        e2e.wait_for(lambda: api.request("GET", "/readyz")[0] == 200, 15,
                     "/readyz to answer 200 after Redis returned")
        accepted += [api.submit(medium_job(100 + i)) for i in range(2)]

        for job_id in accepted:
            st = api.wait_terminal(job_id, 90)
            check(st["status"] == "succeeded",
                  f"job {job_id} ended {st['status']}: {st.get('error')}")
        log(f"all {len(accepted)} accepted jobs succeeded")
        check([p.proc.pid for p in procs] == pids and all(p.alive() for p in procs),
              "a reel process was restarted or exited")
        files = c.output_files()
        for job_id in accepted:
            mine = [f for f in files if job_id in f]
            check(len(mine) == 1, f"job {job_id} has {len(mine)} output files: {mine}")
            _, n, w, h = e2e.ffprobe(f"{c.out_dir}/{mine[0]}")
            check((n, w, h) == (75, 640, 360), f"{mine[0]}: {n} frames {w}x{h}")
        c.ok = True


if __name__ == "__main__":
    e2e.main(test)
