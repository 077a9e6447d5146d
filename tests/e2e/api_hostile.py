"""Hostile requests against a real `reel serve --workers 1` (real redis-server, real HTTP): each is
answered with the right status and error code, the error body has the contract's shape, the
server stays up, slow and idle clients are cut off, and a normal job still renders afterwards."""

import json
import os
import select
import socket
import subprocess
import time

import e2e
from e2e import Cluster, check, log, stop_cleanly, tiny_job, wait_for

BODY_LIMIT = 1024 * 1024


def job(**out):
    base = {"width": 160, "height": 120, "fps": 10, "duration": 1}
    base.update(out)
    return {"output": base, "layers": [{"type": "color", "color": "#204060"}]}


def media_job(src, kind="video"):
    return {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
            "layers": [{"type": kind, "src": src}]}


def raw(port, data, read=True, timeout=10):
    """Send raw bytes on a fresh connection; return the response bytes (b"" when closed)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if not read:
            return b""
        chunks = []
        while True:
            try:
                c = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not c:
                break
            chunks.append(c)
        return b"".join(chunks)
    finally:
        s.close()


def parse_raw(resp):
    head, _, body = resp.partition(b"\r\n\r\n")
    # Skip interim 100 Continue answers.
    while head.startswith(b"HTTP/1.1 100"):
        head, _, body = body.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    hdrs = {}
    for line in lines[1:]:
        k, _, v = line.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body


def check_error(name, status, hdrs, body, want_status, want_code, want_path=None):
    check(status == want_status, f"{name}: status {status}, expected {want_status}: {body[:300]!r}")
    try:
        doc = json.loads(body)
    except ValueError:
        raise e2e.Failure(f"{name}: error body is not JSON: {body[:200]!r}")
    err = doc.get("error")
    check(isinstance(err, dict) and isinstance(doc.get("errors"), list) and doc["errors"],
          f"{name}: error body lacks error/errors: {doc}")
    check(err.get("code") == want_code, f"{name}: code {err.get('code')}, expected {want_code}")
    check(isinstance(err.get("message"), str) and err["message"], f"{name}: no message")
    if want_path is not None:
        paths = [e.get("path") for e in doc["errors"]]
        check(want_path in paths, f"{name}: no problem at {want_path}: {doc['errors']}")
    if want_status in (429, 503):
        check("retry-after" in hdrs, f"{name}: {want_status} without Retry-After")
    if want_status == 405:
        check("allow" in hdrs, f"{name}: 405 without Allow")
    return doc


def test(reel_bin):
    with Cluster(reel_bin) as cl:
        roots = os.path.join(cl.workdir, "assets")
        os.makedirs(roots)
        # An HLS playlist naming a local file, under its own name and disguised as .mp4.
        playlist = "#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n" \
                   "#EXTINF:1,\n/etc/passwd\n#EXT-X-ENDLIST\n"
        for name in ("evil.m3u8", "evil.mp4"):
            with open(os.path.join(roots, name), "w") as f:
                f.write(playlist)
        os.symlink("/etc/passwd", os.path.join(roots, "passwd.png"))
        # A second asset root holding a picture, and a link to it from the first root: a link
        # that resolves inside any configured root is allowed.
        shared = os.path.join(cl.workdir, "shared-assets")
        os.makedirs(shared)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=#ff0000:s=32x32",
                        "-frames:v", "1", os.path.join(shared, "red.png")], check=True)
        os.symlink(os.path.join(shared, "red.png"), os.path.join(roots, "linked.png"))
        proc, api = cl.serve(workers=1, extra=["--asset-root", roots, "--asset-root", shared,
                                               "--request-timeout", "2",
                                               "--conn-timeout", "2",
                                               "--max-connections-per-ip", "12"])
        n = 0

        def expect(name, method, path, body=None, headers=None, status=400, code="invalid_job",
                   at=None):
            nonlocal n
            hdrs = dict(headers or {})
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                hdrs.setdefault("Content-Type", "application/json")
            st, h, data = api.request(method, path, body, hdrs)
            check_error(name, st, h, data, status, code, at)
            n += 1
            log(f"ok {n:2d} {name}: {st} {code}")

        J = {"Content-Type": "application/json"}
        # --- malformed JSON and body shape
        expect("malformed JSON", "POST", "/v1/jobs", '{"output": {"width": 1', J,
               400, "invalid_json")
        expect("empty body", "POST", "/v1/jobs", "", J, 400, "invalid_json")
        expect("garbage after the JSON", "POST", "/v1/jobs", "{} {}", J, 400, "invalid_json")
        expect("binary garbage", "POST", "/v1/jobs", bytes(range(256)) * 4, J, 400,
               "invalid_json")
        expect("invalid UTF-8 (an overlong '/')", "POST", "/v1/jobs",
               b'{"output": {"width": 160, "height": 120, "fps": 10, "duration": 1}, '
               b'"layers": [{"type": "text", "text": "a\xc0\xafb"}]}', J, 400, "invalid_json")
        expect("callback on a non-terminal state", "POST", "/v1/jobs",
               dict(job(), callback={"url": "https://hooks.example.com/x",
                                     "events": ["succeeded", "running"]}),
               status=400, code="invalid_job", at="callback.events[1]")
        expect("escaped NUL in src", "POST", "/v1/jobs",
               '{"output": {"width": 160, "height": 120, "fps": 10, "duration": 1}, '
               '"layers": [{"type": "image", "src": "logo.png\\u0000../../etc/passwd"}]}', J,
               400, "invalid_job")
        expect("escaped NUL in a field name", "POST", "/v1/validate",
               '{"output\\u0000": {}, "layers": []}', J, 400, "invalid_job")
        expect("array instead of object", "POST", "/v1/jobs", "[1,2,3]", J, 400, "invalid_job")
        expect("deeply nested arrays", "POST", "/v1/jobs", "[" * 100000 + "]" * 100000, J, 400,
               "limit_exceeded")
        deep = {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
                "layers": [{"type": "color", "color": "#000000"}], "data": {}}
        node = deep["data"]
        for _ in range(40):
            node["x"] = {}
            node = node["x"]
        expect("deeply nested objects in data", "POST", "/v1/jobs", deep, None, 400,
               "limit_exceeded")
        expect("deeply nested validate", "POST", "/v1/validate", "{\"a\":" * 50 + "1" + "}" * 50,
               J, 400, "limit_exceeded")
        # --- content type
        expect("text/plain body", "POST", "/v1/jobs", json.dumps(job()),
               {"Content-Type": "text/plain"}, 415, "unsupported_media_type")
        expect("form body", "POST", "/v1/jobs", "a=1",
               {"Content-Type": "application/x-www-form-urlencoded"}, 415,
               "unsupported_media_type")
        expect("no content type", "POST", "/v1/validate", json.dumps(job()), {}, 415,
               "unsupported_media_type")
        expect("json look-alike type", "PUT", "/v1/templates/t1", json.dumps(job()),
               {"Content-Type": "application/jsonp"}, 415, "unsupported_media_type")
        # --- assets: traversal, addresses, schemes, playlists
        expect("path traversal in src", "POST", "/v1/jobs", media_job("../../../etc/passwd"),
               status=400, code="asset_not_found", at="layers[0].src")
        expect("traversal inside a path", "POST", "/v1/jobs",
               media_job("media/../../etc/passwd", "image"), status=400, code="asset_not_found",
               at="layers[0].src")
        expect("absolute src", "POST", "/v1/jobs", media_job("/etc/passwd", "image"),
               status=400, code="asset_not_found", at="layers[0].src")
        expect("symlink out of the root", "POST", "/v1/jobs", media_job("passwd.png", "image"),
               status=400, code="asset_not_found", at="layers[0].src")
        expect("http://127.0.0.1 src", "POST", "/v1/jobs",
               media_job(f"http://127.0.0.1:{api.port}/healthz"), status=400,
               code="asset_fetch_failed", at="layers[0].src")
        expect("metadata address src", "POST", "/v1/jobs",
               media_job("http://169.254.169.254/latest/meta-data/"), status=400,
               code="asset_fetch_failed", at="layers[0].src")
        expect("IPv6 loopback src", "POST", "/v1/jobs", media_job("http://[::1]:6379/x.mp4"),
               status=400, code="asset_fetch_failed", at="layers[0].src")
        expect("decimal loopback src", "POST", "/v1/jobs", media_job("http://2130706433/x.mp4"),
               status=400, code="asset_fetch_failed", at="layers[0].src")
        expect("private address src", "POST", "/v1/jobs",
               media_job("https://10.0.0.1/x.mp4"), status=400, code="asset_fetch_failed",
               at="layers[0].src")
        expect("file:///etc/passwd src", "POST", "/v1/jobs", media_job("file:///etc/passwd"),
               status=400, code="asset_unsupported", at="layers[0].src")
        expect("gopher src", "POST", "/v1/jobs", media_job("gopher://example.com/x"),
               status=400, code="asset_unsupported", at="layers[0].src")
        expect("HLS playlist naming a local file", "POST", "/v1/jobs", media_job("evil.m3u8"),
               status=400, code="asset_unsupported", at="layers[0].src")
        expect("HLS playlist disguised as mp4", "POST", "/v1/jobs", media_job("evil.mp4"),
               status=400, code="asset_unsupported", at="layers[0].src")
        expect("callback to the metadata address", "POST", "/v1/jobs",
               dict(job(), callback={"url": "http://169.254.169.254/hook"}), status=400,
               code="invalid_job", at="callback.url")
        # --- limits (SPEC 5)
        expect("16k x 16k output", "POST", "/v1/jobs", job(width=16384, height=16384),
               status=400, code="limit_exceeded", at="output.width")
        huge = {"output": {"width": 64, "height": 64, "fps": 10, "duration": 1},
                "layers": [{"type": "shape", "shape": "ellipse", "width": 16384,
                            "height": 16384, "stroke": {"color": "#ffffff", "width": 1000}}]}
        expect("16384 px ellipse in a 64 px frame", "POST", "/v1/jobs", huge, status=400,
               code="limit_exceeded", at="layers[0].width")
        many = {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
                "layers": [{}] * 100000}
        expect("100k layers", "POST", "/v1/jobs", many, status=400, code="limit_exceeded",
               at="layers")
        expect("1000 fps", "POST", "/v1/jobs", job(fps=1000), status=400, code="limit_exceeded",
               at="output.fps")
        expect("100000 s duration", "POST", "/v1/jobs", job(duration=100000), status=400,
               code="limit_exceeded", at="output.duration")
        kf = {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
              "layers": [{"type": "color", "color": "#000000", "animate": {"opacity": [
                  {"time": i / 20000, "value": 1} for i in range(10001)]}}]}
        expect("10001 keyframes", "POST", "/v1/jobs", kf, status=400, code="limit_exceeded")
        long_text = {"output": {"width": 160, "height": 120, "fps": 10, "duration": 1},
                     "layers": [{"type": "text", "text": "x" * 20000}]}
        expect("20000-character text", "POST", "/v1/jobs", long_text, status=400,
               code="limit_exceeded")
        # --- fields
        expect("unknown top-level field", "POST", "/v1/jobs", dict(job(), bogus=1), status=400,
               code="unknown_field", at="bogus")
        expect("bad priority", "POST", "/v1/jobs", dict(job(), priority="urgent"), status=400,
               code="invalid_job", at="priority")
        expect("bad tag", "POST", "/v1/jobs", dict(job(), tags=["gpu", "a b"]), status=400,
               code="invalid_job", at="tags[1]")
        expect("unknown template", "POST", "/v1/jobs", {"template": "no-such-template"},
               status=404, code="not_found", at="template")
        expect("overlong Idempotency-Key", "POST", "/v1/jobs", job(),
               {"Idempotency-Key": "k" * 300}, 400, "invalid_job")
        expect("preview without time", "POST", "/v1/frames", job(), status=400,
               code="invalid_job", at="time")
        expect("preview past the end", "POST", "/v1/frames", dict(job(), time=5), status=400,
               code="invalid_job", at="time")
        # --- routes and methods
        expect("unknown route", "GET", "/v1/nope", status=404, code="not_found")
        expect("traversal in the URL", "GET", "/v1/jobs/../../etc/passwd", status=404,
               code="not_found")
        expect("unknown job", "GET", "/v1/jobs/0123456789abcdef0123456789abcdef", status=404,
               code="not_found")
        expect("output of an unknown job", "GET", "/v1/jobs/nope/output", status=404,
               code="not_found")
        expect("PATCH a job", "PATCH", "/v1/jobs/abc", status=405, code="not_found")
        expect("DELETE the job list", "DELETE", "/v1/jobs", status=405, code="not_found")
        expect("POST to healthz", "POST", "/healthz", status=405, code="not_found")
        expect("made-up method", "BREW", "/v1/jobs", status=405, code="not_found")
        expect("list with limit 100000", "GET", "/v1/jobs?limit=100000", status=400,
               code="invalid_job", at="limit")
        expect("list with a bogus status", "GET", "/v1/jobs?status=bogus", status=400,
               code="invalid_job", at="status")

        # --- a 10 MB body: refused from its Content-Length, before it is read
        t0 = time.monotonic()
        resp = raw(api.port, b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: "
                   b"application/json\r\nContent-Length: 10485760\r\n\r\n")
        st, h, body = parse_raw(resp)
        check_error("10 MB body (Content-Length)", st, h, body, 413, "payload_too_large")
        check(time.monotonic() - t0 < 5, "the 413 waited for the body")
        n += 1
        log(f"ok {n:2d} 10 MB body announced by Content-Length: 413 before the body")
        # ... and sent chunked (no Content-Length): counted while reading, never buffered.
        chunk = b" " * 65536
        data = b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n" \
               b"Transfer-Encoding: chunked\r\n\r\n" + \
               (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * 160 + b"0\r\n\r\n"
        st, h, body = parse_raw(raw(api.port, data))
        check_error("10 MB chunked body", st, h, body, 413, "payload_too_large")
        n += 1
        log(f"ok {n:2d} 10 MB chunked body: 413")
        # ... and a body just under the limit is read (and rejected for what it is).
        near = json.dumps(dict(job(), data={"pad": "x" * (BODY_LIMIT - 400)}))
        check(len(near) < BODY_LIMIT, "test body too big")
        st, h, body = api.request("POST", "/v1/validate", near, J)
        check(st == 200, f"a body under the limit was refused: {st} {body[:200]!r}")

        # --- slow-drip and idle clients are cut off; others are served meanwhile
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        s.sendall(b"POST /v1/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 1000\r\n\r\n{")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 10:
            try:
                s.sendall(b" ")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            check(api.up(), "the server stopped answering during a slow-drip upload")
            time.sleep(0.4)
        s.close()
        check(closed, "a slow-drip upload was not cut off within 10 s")
        n += 1
        log(f"ok {n:2d} slow-drip body cut off after {time.monotonic() - t0:.1f} s")
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\n")  # never finishes its headers
        t0 = time.monotonic()
        try:
            got = s.recv(100)
        except (ConnectionResetError, socket.timeout):
            got = b""
        s.close()
        check(got == b"" and time.monotonic() - t0 < 9, "an idle connection was not closed")
        n += 1
        log(f"ok {n:2d} idle connection closed after {time.monotonic() - t0:.1f} s")
        # Headers dripped a byte at a time (each within the idle timeout): cut off at the
        # request deadline all the same.
        s = socket.create_connection(("127.0.0.1", api.port), timeout=10)
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        t0 = time.monotonic()
        closed = False
        while time.monotonic() - t0 < 12:
            try:
                s.sendall(b"X-Slow: a\r\n"[int((time.monotonic() - t0) * 2) % 11:][:1])
                s.settimeout(0.5)
                if s.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
        s.close()
        check(closed, "a client dripping its headers was not cut off within 12 s")
        n += 1
        log(f"ok {n:2d} slow-drip headers cut off after {time.monotonic() - t0:.1f} s")
        # Connections per client address are capped (12 here): the rest are closed at once.
        socks = [socket.create_connection(("127.0.0.1", api.port), timeout=5) for _ in range(20)]
        time.sleep(0.5)  # well inside the 2 s idle timeout: only the cap closes connections
        readable, _, _ = select.select(socks, [], [], 0)
        refused = 0
        for c in readable:
            try:
                if c.recv(1) == b"":
                    refused += 1
            except ConnectionResetError:
                refused += 1
        for c in socks:
            c.close()
        check(8 <= refused <= 9, f"{refused} of 20 connections were closed; the per-IP cap of 12 "
              f"(one may still be open from before) should close 8")
        n += 1
        log(f"ok {n:2d} per-IP connection cap: {refused} of 20 closed")

        check(proc.alive(), f"reel serve died:\n{proc.tail()}")
        check(n >= 30, f"only {n} hostile requests")
        wait_for(api.up, 10, "the server to answer again")
        # A normal job still renders; its picture comes through the link into the other root.
        normal = tiny_job("after the storm", seconds=1)
        normal["layers"].insert(1, {"type": "image", "src": "linked.png", "width": 40,
                                    "height": 40})
        jid = api.submit(normal)
        st = api.wait_terminal(jid, 120)
        check(st["status"] == "succeeded", f"normal job ended {st['status']}: {st.get('error')}")
        status, hdrs, data = api.request("GET", f"/v1/jobs/{jid}/output")
        check(status == 200 and len(data) > 0, f"output download answered {status}")
        e2e.check_video(data, cl.workdir, "after.mp4", 10, 160, 120)
        log(f"{n} hostile requests answered; a normal job rendered afterwards")
        stop_cleanly(cl)
        cl.ok = True


if __name__ == "__main__":
    e2e.main(test)
