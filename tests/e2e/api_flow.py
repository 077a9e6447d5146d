"""The whole job API over real HTTP against `reel serve --workers 1` and a real redis-server:
submit, poll to succeeded, download (full, ranged, suffix, 416, 304), poster, log, list with a
cursor, cancel queued and running, idempotent resubmit, templates, validate, frames (PNG),
info/health/readiness/metrics, the names of serve's threads while a job renders, serve's flags
(--help, exit 2 on bad values) and a drain on SIGTERM; then auth on (401s, the right token, open
health routes) and the per-token rate limit (429 + Retry-After)."""

import http.client
import json
import os
import signal
import struct
import subprocess
import sys
import threading
import time

import e2e
from e2e import Api, Cluster, check, log, slow_job, stop_cleanly, tiny_job, wait_for


def png_size(data):
    check(data[:8] == b"\x89PNG\r\n\x1a\n", f"not a PNG: {data[:16]!r}")
    return struct.unpack(">II", data[16:24])


def thread_names(pid):
    names = set()
    task = f"/proc/{pid}/task"
    for tid in os.listdir(task):
        try:
            with open(f"{task}/{tid}/comm") as f:
                names.add(f.read().strip())
        except OSError:
            pass  # the thread ended meanwhile
    return names


def thp_enabled(pid):
    """The THP_enabled line of /proc/PID/status: 0 when the process takes no huge pages."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("THP_enabled:"):
                return int(line.split()[1])
    return None


def test_jobs(cl, api, proc):
    # --- info, health, readiness
    st, _, info = api.json("GET", "/v1/info")
    check(st == 200 and info["version"] and info["limits"]["max_layers"] == 500,
          f"/v1/info: {st} {info}")
    check(any(e["name"] == "cpu" and e["usable"] for e in info["engines"]),
          f"/v1/info lists no usable cpu engine: {info['engines']}")
    check(any(e["usable"] for e in info["encoders"]), "/v1/info lists no usable encoder")
    check(api.request("GET", "/healthz")[0] == 200, "/healthz")
    check(api.request("GET", "/readyz")[0] == 200, "/readyz")

    # --- validate: 200 with duration and frames; 400 listing every problem
    st, _, v = api.json("POST", "/v1/validate", tiny_job(seconds=2))
    check(st == 200 and v["valid"] is True and v["duration"] == 2 and v["frames"] == 20,
          f"validate: {st} {v}")
    bad = {"output": {"width": -5, "height": 120, "fps": 10, "duration": 1, "bogus": 1},
           "layers": [{"type": "color", "color": "not-a-colour"}]}
    st, _, v = api.json("POST", "/v1/validate", bad)
    check(st == 400 and len(v["errors"]) >= 3, f"validate of a bad job: {st} {v}")
    paths = {e.get("path") for e in v["errors"]}
    check({"output.width", "output.bogus", "layers[0].color"} <= paths,
          f"validate problems lack paths: {v['errors']}")

    # --- frames: a PNG of the job's size
    st, hdrs, data = api.request("POST", "/v1/frames", json.dumps(dict(tiny_job(), time=0.5)),
                                 {"Content-Type": "application/json"}, timeout=60)
    check(st == 200 and hdrs.get("content-type") == "image/png", f"frames: {st} {data[:200]!r}")
    check(png_size(data) == (160, 120), f"preview size {png_size(data)}")
    cl.preview_png = data
    # Previews are bounded (--preview-concurrency 1 here): of 4 at once, some wait their turn
    # with 429 + Retry-After and at least one renders.
    big = dict(slow_job(2), time=1.0)
    big["output"].update(width=1920, height=1080)
    results = []

    def one():
        try:
            st_, h_, _ = api.request("POST", "/v1/frames", json.dumps(big),
                                     {"Content-Type": "application/json"}, timeout=120)
            results.append((st_, h_.get("retry-after")))
        except OSError as e:
            results.append((0, str(e)))

    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r[0] for r in results)
    check(200 in codes and 429 in codes and set(codes) <= {200, 429},
          f"4 concurrent previews answered {results}")
    check(all(r[1] for r in results if r[0] == 429), "429 without Retry-After")
    log(f"frames: PNG, and concurrent previews bounded ({codes}): ok")
    # A preview renders off the HTTP threads: other requests are answered meanwhile.
    heavy = dict(slow_job(2), time=1.0)
    heavy["output"].update(width=3840, height=2160)
    heavy["layers"] = heavy["layers"][:1] + [
        dict(heavy["layers"][1], text=f"layer {i}", effects=[{"type": "blur", "sigma": 40}])
        for i in range(6)]
    done = []

    def render():
        t0 = time.monotonic()
        st_, _, _ = api.request("POST", "/v1/frames", json.dumps(heavy),
                                {"Content-Type": "application/json"}, timeout=120)
        done.append((st_, time.monotonic() - t0))

    # Keep-alive connections opened first are spread over the HTTP threads; one of those threads
    # takes the preview. Each connection must still be answered while the preview renders.
    conns = [http.client.HTTPConnection("127.0.0.1", api.port, timeout=30) for _ in range(12)]
    for k in conns:
        k.request("GET", "/healthz")
        k.getresponse().read()
    th = threading.Thread(target=render)
    th.start()
    time.sleep(0.1)
    worst = 0
    while th.is_alive():
        for k in conns:
            t0 = time.monotonic()
            k.request("GET", "/v1/info")
            rr = k.getresponse()
            rr.read()
            check(rr.status == 200, "/v1/info during a preview")
            worst = max(worst, time.monotonic() - t0)
    th.join()
    for k in conns:
        k.close()
    check(done and done[0][0] == 200, f"heavy preview: {done}")
    check(worst < 0.3 and worst < done[0][1] / 3,
          f"a request waited {worst:.2f} s behind a {done[0][1]:.2f} s preview")
    log(f"preview of {done[0][1]:.2f} s; other requests answered within {worst * 1000:.0f} ms")

    # --- submit and poll to succeeded; the output, full and ranged
    job = tiny_job("hello", seconds=2)
    job["output"]["poster"] = 0.5
    st, hdrs, acc = api.json("POST", "/v1/jobs", job)
    check(st == 202 and acc["status"] == "queued" and acc["links"]["output"].endswith("/output"),
          f"submit: {st} {acc}")
    check(hdrs.get("location", "").endswith(acc["id"]), "no Location header")
    jid = acc["id"]
    done = api.wait_terminal(jid, 120)
    check(done["status"] == "succeeded", f"job ended {done['status']}: {done.get('error')}")
    check(done["progress"] == 1 and done["frames_total"] == 20, f"status: {done}")
    st, hdrs, full = api.request("GET", f"/v1/jobs/{jid}/output")
    check(st == 200, f"output: {st}")
    check(hdrs.get("content-type") == "video/mp4", f"output type {hdrs.get('content-type')}")
    check(int(hdrs.get("content-length", -1)) == len(full) > 1000, "output length")
    check(hdrs.get("accept-ranges") == "bytes" and hdrs.get("etag"), f"output headers {hdrs}")
    e2e.check_video(full, cl.workdir, "flow.mp4", 20, 160, 120)
    etag = hdrs["etag"]
    size = len(full)
    st, hdrs, part = api.request("GET", f"/v1/jobs/{jid}/output", headers={"Range": "bytes=0-99"})
    check(st == 206 and part == full[:100], f"range 0-99: {st} {len(part)}")
    check(hdrs.get("content-range") == f"bytes 0-99/{size}", f"content-range {hdrs}")
    st, hdrs, part = api.request("GET", f"/v1/jobs/{jid}/output", headers={"Range": "bytes=-100"})
    check(st == 206 and part == full[-100:], f"suffix range: {st} {len(part)}")
    check(hdrs.get("content-range") == f"bytes {size - 100}-{size - 1}/{size}", "suffix range")
    st, hdrs, part = api.request("GET", f"/v1/jobs/{jid}/output",
                                 headers={"Range": f"bytes={size - 10}-"})
    check(st == 206 and part == full[-10:], f"open range: {st}")
    st, hdrs, _ = api.request("GET", f"/v1/jobs/{jid}/output", headers={"Range": f"bytes={size}-"})
    check(st == 416 and hdrs.get("content-range") == f"bytes */{size}", f"416: {st} {hdrs}")
    st, hdrs, body = api.request("GET", f"/v1/jobs/{jid}/output",
                                 headers={"If-None-Match": etag})
    check(st == 304 and not body, f"If-None-Match: {st}")
    st, hdrs, body = api.request("GET", f"/v1/jobs/{jid}/output",
                                 headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    check(st == 200 and body == full, f"If-Range with a stale ETag: {st}")
    st, hdrs, body = api.request("HEAD", f"/v1/jobs/{jid}/output")
    check(st == 200 and int(hdrs.get("content-length", -1)) == size and not body, "HEAD output")
    # poster and log
    st, hdrs, poster = api.request("GET", f"/v1/jobs/{jid}/poster")
    check(st == 200 and hdrs.get("content-type") == "image/jpeg" and poster[:2] == b"\xff\xd8",
          f"poster: {st} {hdrs.get('content-type')}")
    st, hdrs, text = api.request("GET", f"/v1/jobs/{jid}/log")
    check(st == 200 and hdrs.get("content-type", "").startswith("text/plain"), f"log: {st}")
    log(f"job log: {len(text.splitlines())} lines")
    log("submit -> succeeded -> output (full, ranges, 416, 304, HEAD), poster, log: ok")

    # --- idempotent resubmit
    h = {"Idempotency-Key": "order-1234"}
    st, hdrs, a = api.json("POST", "/v1/jobs", tiny_job("idem", seconds=1), h)
    check(st == 202, f"idempotent submit: {st} {a}")
    st, hdrs, b = api.json("POST", "/v1/jobs", tiny_job("idem", seconds=1), h)
    check(st == 202 and b["id"] == a["id"] and hdrs.get("idempotent-replayed") == "true",
          f"resubmit with the same key gave {b} {hdrs}")
    st, _, c = api.json("POST", "/v1/jobs", tiny_job("idem", seconds=1),
                        {"Idempotency-Key": "order-1235"})
    check(st == 202 and c["id"] != a["id"], "another key gave the same job")
    log("idempotent resubmit: ok")

    # --- cancel a queued job (its tag is one no worker here offers, so it stays queued)
    st, _, q = api.json("POST", "/v1/jobs", dict(tiny_job("never"), tags=["needs-nothing-here"]))
    check(st == 202, f"tagged submit: {st} {q}")
    check(api.status(q["id"])["status"] == "queued", "tagged job did not stay queued")
    st, _, _ = api.json("GET", f"/v1/jobs/{q['id']}/output")
    check(st == 409, f"output of a queued job answered {st}, expected 409")
    st, _, d = api.json("DELETE", f"/v1/jobs/{q['id']}")
    check(st == 202, f"cancel queued: {st} {d}")
    check(api.status(q["id"])["status"] == "canceled", "queued job not canceled")
    st, _, d = api.json("DELETE", f"/v1/jobs/{q['id']}")
    check(st == 409 and d["error"]["code"] == "conflict", f"second cancel: {st} {d}")
    log("cancel queued (202, then 409): ok")

    # --- cancel a running job
    st, _, r = api.json("POST", "/v1/jobs", slow_job(20))
    check(st == 202, f"slow submit: {st} {r}")
    wait_for(lambda: api.status(r["id"])["status"] == "running", 60, "the slow job to run")
    # Each of reel's threads names itself (top -H, ps -L, gdb, perf tell them apart): the API's
    # reaper, the worker's slot, keeper and webhook threads, and the render's encoder thread.
    want = {"reel-reaper", "reel-slot", "reel-keeper", "reel-hooks", "reel-encode"}
    wait_for(lambda: want <= thread_names(proc.proc.pid), 10, f"threads named {sorted(want)}")
    log(f"thread names while rendering: {sorted(thread_names(proc.proc.pid))}: ok")
    # REEL_HUGEPAGES is unset here, so the server renders without transparent huge pages.
    check(thp_enabled(proc.proc.pid) == 0, "serve takes transparent huge pages by default")
    st, _, d = api.json("DELETE", f"/v1/jobs/{r['id']}")
    check(st == 202, f"cancel running: {st} {d}")
    end = api.wait_terminal(r["id"], 10)
    check(end["status"] == "canceled", f"running job ended {end['status']}")
    log("cancel running: ok")

    # --- list: newest first, a cursor, a state filter
    st, _, page = api.json("GET", "/v1/jobs?limit=2")
    check(st == 200 and len(page["jobs"]) == 2 and page["next_cursor"], f"list: {st} {page}")
    check(page["jobs"][0]["id"] == r["id"], "list is not newest first")
    st, _, page2 = api.json("GET", f"/v1/jobs?limit=2&cursor={page['next_cursor']}")
    check(st == 200 and page2["jobs"] and
          not {j["id"] for j in page2["jobs"]} & {j["id"] for j in page["jobs"]},
          f"cursor page overlaps: {page2}")
    st, _, sc = api.json("GET", "/v1/jobs?status=canceled&limit=100")
    check(st == 200 and {j["status"] for j in sc["jobs"]} == {"canceled"} and
          len(sc["jobs"]) == 2, f"status filter: {sc}")
    log("list (cursor, status filter): ok")

    # --- templates
    tmpl = tiny_job("{{title}}", seconds=1)
    tmpl["data"] = {"title": "default title"}
    st, _, t = api.json("PUT", "/v1/templates/promo", tmpl)
    check(st == 200 and t["name"] == "promo", f"template put: {st} {t}")
    st, _, t = api.json("GET", "/v1/templates/promo")
    check(st == 200 and t["layers"][1]["text"] == "{{title}}", f"template get: {st} {t}")
    st, _, t = api.json("GET", "/v1/templates")
    check(st == 200 and "promo" in t["templates"], f"template list: {t}")
    st, _, v = api.json("POST", "/v1/validate", {"template": "promo", "data": {"title": "x"}})
    check(st == 200 and v["frames"] == 10, f"validate a template: {st} {v}")
    st, hdrs, data = api.request("POST", "/v1/frames", json.dumps(
        {"template": "promo", "data": {"title": "x"}, "time": 0.5}),
        {"Content-Type": "application/json"}, timeout=60)
    check(st == 200 and png_size(data) == (160, 120), f"preview of a template: {st}")
    st, _, s = api.json("POST", "/v1/jobs", {"template": "promo", "data": {"title": "Spring"}})
    check(st == 202, f"submit from template: {st} {s}")
    done = api.wait_terminal(s["id"], 120)
    check(done["status"] == "succeeded", f"template job ended {done['status']}")
    st, _, _ = api.json("DELETE", "/v1/templates/promo")
    check(st == 204, f"template delete: {st}")
    st, _, t = api.json("GET", "/v1/templates/promo")
    check(st == 404 and t["error"]["code"] == "not_found", f"deleted template: {st}")
    log("templates: ok")

    # --- metrics
    st, hdrs, text = api.request("GET", "/metrics")
    text = text.decode()
    check(st == 200 and hdrs.get("content-type", "").startswith("text/plain"), "metrics")
    for needle in ('reel_jobs{state="succeeded"}', "reel_queue_depth",
                   'reel_render_seconds_bucket{le="+Inf"}', "reel_frames_rendered_total",
                   'reel_http_requests_total{route="POST /v1/jobs",code="202"}',
                   'reel_http_requests_total{route="GET /v1/jobs/{id}/output",code="206"}',
                   "reel_redis_errors_total", "reel_redis_up 1", "reel_render_frames_per_second"):
        check(needle in text, f"metrics lack {needle}")
    log("metrics: ok")


def test_auth(cl):
    token, other = "tok-alpha-123456", "tok-beta-654321"
    _, api = cl.serve(workers=0, extra=["--token", token, "--token", other,
                                        "--rate-limit", "3/min",
                                        "--public-url", "https://reel.example.com/"])
    st, hdrs, d = api.json("POST", "/v1/jobs", tiny_job())
    check(st == 401 and d["error"]["code"] == "unauthorized" and
          hdrs.get("www-authenticate", "").startswith("Bearer"), f"no token: {st} {d}")
    st, _, d = api.json("GET", "/v1/jobs", headers={"Authorization": "Bearer wrong-token-xx"})
    check(st == 401, f"wrong token: {st}")
    st, _, d = api.json("GET", "/v1/info", headers={"Authorization": f"Basic {token}"})
    check(st == 401, f"wrong scheme: {st}")
    for path in ("/healthz", "/readyz", "/metrics"):
        check(api.request("GET", path)[0] == 200, f"{path} needs no token")
    a = Api(api.port, token)
    b = Api(api.port, other)
    check(a.json("GET", "/v1/info")[0] == 200, "the right token was refused")
    # Rate limit: 3 submissions a minute per token; the other token has its own budget.
    for i in range(3):
        st, _, d = a.json("POST", "/v1/jobs", tiny_job(f"r{i}"))
        check(st == 202, f"submission {i + 1} of 3: {st} {d}")
    check(d["links"]["self"] == f"https://reel.example.com/v1/jobs/{d['id']}",
          f"--public-url not used in links: {d['links']}")
    st, hdrs, d = a.json("POST", "/v1/jobs", tiny_job("r3"))
    check(st == 429 and d["error"]["code"] == "rate_limited" and
          int(hdrs.get("retry-after", "0")) >= 1, f"4th submission: {st} {hdrs} {d}")
    st, _, d = b.json("POST", "/v1/jobs", tiny_job("other"))
    check(st == 202, f"the other token was limited too: {st}")
    # Idempotency keys are per token.
    st, _, x = a.json("GET", "/v1/jobs?limit=1")
    check(st == 200, "list with a token")
    log("auth on (401 without/with a wrong token, open health routes) and rate limit: ok")


def test_flags(reel_bin):
    """--help exits 0; a bad flag or environment value exits 2 before anything starts."""
    out = subprocess.run([reel_bin, "serve", "--help"], capture_output=True, text=True, timeout=30)
    check(out.returncode == 0 and "--listen" in out.stdout and "REEL_REDIS" in out.stdout,
          f"serve --help: {out.returncode}")
    for args, env in ((["--workers", "abc"], {}), (["--listen", "nowhere"], {}),
                      (["--rate-limit", "5/hour"], {}), (["--max-body", "12Q"], {}),
                      (["--engine", "vulkan"], {}), (["--bogus"], {}),
                      ([], {"REEL_WORKERS": "-3"}), ([], {"REEL_LOG_LEVEL": "loud"})):
        out = subprocess.run([reel_bin, "serve", *args], capture_output=True, text=True,
                             timeout=30, env=dict(os.environ, **env))
        check(out.returncode == 2, f"serve {args} {env} exited {out.returncode}, expected 2")
    log("serve flags: --help 0, bad values 2: ok")


def test_allow_host(cl, png):
    """--allow-url-host lets URLs reach a host the address rules refuse: a preview fetches an image
    from a loopback HTTP server; without it the same job is refused."""
    root = os.path.join(cl.workdir, "www")
    os.makedirs(root)
    with open(os.path.join(root, "p.png"), "wb") as f:
        f.write(png)
    port = e2e.free_port()
    web = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1",
                            "--directory", root], stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: e2e.port_open(port), 10, "the test web server")
        job = {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
               "layers": [{"type": "image", "src": f"http://127.0.0.1:{port}/p.png"}]}
        _, plain = cl.serve(workers=0)
        st, _, d = plain.json("POST", "/v1/frames", dict(job, time=0))
        check(st == 400 and d["error"]["code"] == "asset_fetch_failed", f"refused host: {st} {d}")
        _, allowed = cl.serve(workers=0, extra=["--allow-url-host", "127.0.0.1"])
        st, hdrs, data = allowed.request("POST", "/v1/frames", json.dumps(dict(job, time=0)),
                                         {"Content-Type": "application/json"}, timeout=60)
        check(st == 200 and png_size(data) == (160, 120), f"allowed host: {st} {data[:300]!r}")
        st, _, d = allowed.json("POST", "/v1/jobs", job)
        check(st == 202, f"job with an allowed host: {st} {d}")
    finally:
        web.kill()
        web.wait()
    log("--allow-url-host: previews fetch from an allowed host, refused otherwise: ok")


def test_sigterm(cl):
    """SIGTERM while a job renders: the server stops accepting, the job finishes, exit 0."""
    # The job carries a tag only this server's worker offers (the cluster's other servers have
    # workers too), and takes seconds to render, so the signal finds it running here.
    proc, api = cl.serve(workers=1, extra=["--tags", "drain-test"])
    jid = api.submit(e2e.slow_job(seconds=4), tags=["drain-test"])
    wait_for(lambda: api.status(jid)["status"] == "running", 60, "the job to run")
    check(api.status(jid)["status"] == "running", "the job finished before the signal")
    proc.signal(signal.SIGTERM)
    try:
        rc = proc.proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        raise e2e.Failure("reel serve did not stop within 60 s of SIGTERM")
    check(rc == 0, f"reel serve exited {rc} after SIGTERM:\n{proc.tail()}")
    check(not api.up(), "still answering after SIGTERM")
    # The job was finished during the drain (Redis still has it).
    _, api2 = cl.serve(workers=0)
    check(api2.status(jid)["status"] == "succeeded", f"after the drain: {api2.status(jid)}")
    log("SIGTERM: drained, the running job finished, exit 0: ok")


def test(reel_bin):
    test_flags(reel_bin)
    with Cluster(reel_bin) as cl:
        proc, api = cl.serve(workers=1)
        test_jobs(cl, api, proc)
        test_auth(cl)
        test_allow_host(cl, cl.preview_png)
        test_sigterm(cl)
        stop_cleanly(cl)
        cl.ok = True


if __name__ == "__main__":
    e2e.main(test)
