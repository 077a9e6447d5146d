#!/usr/bin/env python3
"""A webhook receiver that fails twice then succeeds: the status document is delivered once (no
further deliveries after the success), each attempt signed X-Reel-Signature: sha256=<HMAC-SHA256 of
the body with --webhook-secret>."""

import hashlib
import hmac
import http.server
import json
import threading
import time

import e2e
from e2e import check, log

SECRET = "e2e-webhook-secret"


class Receiver(http.server.ThreadingHTTPServer):
    def __init__(self):
        super().__init__(("127.0.0.1", 0), Handler)
        self.calls = []  # (time, status answered, headers, body)
        self.lock = threading.Lock()


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(n)
        with self.server.lock:
            answer = 500 if len(self.server.calls) < 2 else 200
            self.server.calls.append((time.monotonic(), answer, dict(self.headers), body))
        self.send_response(answer)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


def test(reel):
    rx = Receiver()
    threading.Thread(target=rx.serve_forever, daemon=True).start()
    hook = f"http://127.0.0.1:{rx.server_address[1]}/hook"
    try:
        with e2e.Cluster(reel) as c:
            _, api = c.serve(workers=1, extra=["--webhook-secret", SECRET,
                                               "--allow-url-host", "127.0.0.1"])
            job_id = api.submit(e2e.tiny_job("hook"), callback={"url": hook})
            st = api.wait_terminal(job_id, 30)
            check(st["status"] == "succeeded", f"job ended {st['status']}: {st.get('error')}")

            e2e.wait_for(lambda: len(rx.calls) >= 3, 60, "three webhook deliveries")
            time.sleep(3)  # any delivery after the success would be a duplicate
            calls = list(rx.calls)
            log(f"{len(calls)} webhook calls at " +
                ", ".join(f"{t - calls[0][0]:.1f}s->{a}" for t, a, _, _ in calls))
            check(len(calls) == 3, f"{len(calls)} deliveries; expected 2 failures then exactly "
                                   "one success")
            check(calls[2][0] - calls[1][0] >= calls[1][0] - calls[0][0] > 0,
                  "retries are not spaced by a growing backoff")
            for i, (_, _, hdrs, body) in enumerate(calls):
                sig = {k.lower(): v for k, v in hdrs.items()}.get("x-reel-signature", "")
                want = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
                check(hmac.compare_digest(sig, want),
                      f"delivery {i + 1}: X-Reel-Signature {sig!r}, expected {want!r}")
                ctype = {k.lower(): v for k, v in hdrs.items()}.get("content-type", "")
                check(ctype.startswith("application/json"), f"delivery {i + 1}: Content-Type "
                                                            f"{ctype!r}")
            doc = json.loads(calls[2][3])
            check(doc.get("id") == job_id and doc.get("status") == "succeeded",
                  f"delivered document is not the job's final status: {doc}")

            # A wrong secret must not verify: the check above can fail.
            bad = "sha256=" + hmac.new(b"other", calls[2][3], hashlib.sha256).hexdigest()
            check(bad != {k.lower(): v for k, v in calls[2][2].items()}["x-reel-signature"],
                  "signature does not depend on the secret")
            c.ok = True
    finally:
        rx.shutdown()


if __name__ == "__main__":
    e2e.main(test)
