"""Shared harness of the end-to-end tests: a private redis-server on a free loopback port, real
`reel serve` / `reel worker` processes, real HTTP. Standard library only.

A missing redis-server, ffprobe or reel binary is a failure, never a skip: scripts/install-deps.sh
provides all of them.
"""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

START = time.monotonic()


def log(msg):
    print(f"[{time.monotonic() - START:7.2f}s] {msg}", flush=True)


class Failure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def need(tool):
    path = shutil.which(tool)
    check(path is not None, f"{tool} not found on PATH (scripts/install-deps.sh installs it)")
    return path


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(pred, timeout_s, what, interval_s=0.05):
    """Poll pred() until it returns a true value; return it. Fail naming `what` on timeout."""
    deadline = time.monotonic() + timeout_s
    last = None
    while time.monotonic() < deadline:
        last = pred()
        if last:
            return last
        time.sleep(interval_s)
    raise Failure(f"timed out after {timeout_s:.0f} s waiting for {what} (last: {last!r})")


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
    except OSError:
        return False


class Redis:
    """redis-server on 127.0.0.1:port with its data (and AOF, fsync on every write) in dir."""

    def __init__(self, workdir, port=None):
        self.bin = need("redis-server")
        self.port = port or free_port()
        self.dir = os.path.join(workdir, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.proc = None
        self.url = f"redis://127.0.0.1:{self.port}"

    def start(self):
        args = [self.bin, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.dir,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "",
                "--protected-mode", "yes", "--logfile", os.path.join(self.dir, "redis.log")]
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(lambda: self.proc.poll() is None and port_open(self.port), 10,
                 f"redis-server on port {self.port}")

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def cli(self, *args):
        """Run a command with redis-cli; returns stdout (stripped)."""
        out = subprocess.run([need("redis-cli"), "-p", str(self.port), *args],
                             capture_output=True, text=True, timeout=10)
        return out.stdout.strip()


class Reel:
    """One `reel serve` or `reel worker` process, its stderr in a log file."""

    def __init__(self, reel_bin, workdir, name, args, env=None):
        self.name = name
        self.log_path = os.path.join(workdir, f"{name}.log")
        self.args = [reel_bin, *args]
        self.env = dict(os.environ, **(env or {}))
        self.proc = None

    def start(self):
        self.logf = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.logf, stderr=subprocess.STDOUT,
                                     env=self.env, start_new_session=True)
        return self

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def kill(self):
        """SIGKILL, as a crashed or OOM-killed process would die."""
        if self.alive():
            self.proc.kill()
        if self.proc:
            self.proc.wait()

    def stop(self, timeout_s=10):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.logf.close()

    def tail(self, n=30):
        try:
            with open(self.log_path, "rb") as f:
                lines = f.read().decode("utf-8", "replace").splitlines()
            return "\n".join(f"  {self.name}| {line}" for line in lines[-n:])
        except OSError:
            return f"  {self.name}| (no log)"


class Api:
    """HTTP/1.1 client of one reel serve; a fresh connection per request keeps failures local."""

    def __init__(self, port, token=None):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.token = token

    def request(self, method, path, body=None, headers=None, timeout=10):
        h = {"Accept": "*/*"}
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h["Content-Type"] = "application/json"
        if self.token:
            h["Authorization"] = f"Bearer {self.token}"
        h.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        status, hdrs, data = self.request(method, path, body, headers)
        try:
            doc = json.loads(data) if data else None
        except ValueError:
            doc = None
        return status, hdrs, doc

    def up(self):
        try:
            return self.request("GET", "/healthz", timeout=1)[0] == 200
        except OSError:
            return False

    def submit(self, job, expect=202, **extra):
        body = dict(job, **extra)
        status, hdrs, doc = self.json("POST", "/v1/jobs", body)
        check(status == expect, f"POST /v1/jobs answered {status}, expected {expect}: {doc}")
        return doc["id"] if status == 202 else doc

    def status(self, job_id):
        status, _, doc = self.json("GET", f"/v1/jobs/{job_id}")
        check(status == 200, f"GET /v1/jobs/{job_id} answered {status}: {doc}")
        return doc

    def wait_terminal(self, job_id, timeout_s):
        terminal = ("succeeded", "failed", "canceled")
        return wait_for(lambda: (lambda d: d if d["status"] in terminal else None)(
            self.status(job_id)), timeout_s, f"job {job_id} to finish", interval_s=0.05)


def tiny_job(label="reel", seconds=2, color="#336699"):
    """A job that renders in a fraction of a second: 160x120, 10 fps, a colour and a text."""
    return {"output": {"width": 160, "height": 120, "fps": 10, "duration": seconds},
            "layers": [{"type": "color", "color": color},
                       {"type": "text", "text": label, "font_size": 24, "color": "#ffffff"}]}


def slow_job(seconds=12):
    """A job that takes a few seconds on one core (720p, blurred moving text): long enough to be
    caught mid-render."""
    return {"output": {"width": 1280, "height": 720, "fps": 30, "duration": seconds,
                       "preset": "medium"},
            "layers": [{"type": "color", "color": "#224466"},
                       {"type": "text", "text": "mid-render", "font_size": 48, "color": "#ffffff",
                        "animate": {"x": [{"time": 0, "value": 0},
                                          {"time": seconds, "value": 1280}]},
                        "effects": [{"type": "blur", "sigma": 4}]}]}


def ffprobe(path):
    """(duration_s, frames, width, height) of a video file; fails when ffprobe cannot read it.
    Frames are counted as the video stream's packets (one per frame), which reads the whole file
    without decoding it."""
    out = subprocess.run([need("ffprobe"), "-v", "error", "-count_packets", "-select_streams", "v:0",
                          "-show_entries", "stream=width,height,nb_read_packets:format=duration",
                          "-of", "json", path], capture_output=True, text=True, timeout=30)
    check(out.returncode == 0, f"ffprobe cannot read {path}: {out.stderr.strip()}")
    doc = json.loads(out.stdout)
    s = doc["streams"][0]
    return (float(doc["format"]["duration"]), int(s["nb_read_packets"]), s["width"], s["height"])


def check_video(data, workdir, name, frames, width, height):
    """Write downloaded bytes to a file and check it decodes to the expected frames and size."""
    path = os.path.join(workdir, name)
    with open(path, "wb") as f:
        f.write(data)
    _, n, w, h = ffprobe(path)
    check((w, h) == (width, height), f"{name}: {w}x{h}, expected {width}x{height}")
    check(n == frames, f"{name}: {n} frames, expected {frames}")
    return path


class Cluster:
    """A private Redis plus reel processes in one temporary folder; `with` tears it all down."""

    def __init__(self, reel_bin, lease_ms=2000):
        check(os.access(reel_bin, os.X_OK), f"reel binary {reel_bin} is not executable")
        need("curl")
        self.reel_bin = reel_bin
        self.workdir = tempfile.mkdtemp(prefix="reel-e2e-")
        self.out_dir = os.path.join(self.workdir, "out")
        os.makedirs(self.out_dir)
        self.redis = Redis(self.workdir)
        self.procs = []
        self.lease_ms = lease_ms
        self.ok = False

    def __enter__(self):
        self.redis.start()
        return self

    def common_args(self):
        return ["--redis", self.redis.url, "--output-dir", self.out_dir, "--engine", "cpu",
                "--log-format", "text"]

    def env(self):
        # The lease is shortened so that a killed worker's job comes back within seconds.
        return {"REEL_LEASE_MS": str(self.lease_ms)}

    def serve(self, workers=0, extra=()):
        port = free_port()
        p = Reel(self.reel_bin, self.workdir, f"serve-{port}",
                 ["serve", "--listen", f"127.0.0.1:{port}", "--workers", str(workers),
                  *self.common_args(), *extra], self.env()).start()
        self.procs.append(p)
        api = Api(port)
        wait_for(lambda: api.up() or not p.alive(), 15, "reel serve to answer /healthz")
        check(p.alive(), f"reel serve exited at start:\n{p.tail()}")
        return p, api

    def worker(self, name, extra=()):
        p = Reel(self.reel_bin, self.workdir, name,
                 ["worker", "--concurrency", "1", *self.common_args(), *extra],
                 self.env()).start()
        self.procs.append(p)
        return p

    def output_files(self):
        """Every file left in the output folder (recursively), relative names."""
        found = []
        for root, _, files in os.walk(self.out_dir):
            for f in files:
                found.append(os.path.relpath(os.path.join(root, f), self.out_dir))
        return sorted(found)

    def logs(self):
        return "\n".join(p.tail() for p in self.procs)

    def __exit__(self, exc_type, exc, tb):
        for p in self.procs:
            p.stop(timeout_s=5)
        self.redis.kill()
        if exc_type is None and self.ok:
            shutil.rmtree(self.workdir, ignore_errors=True)
        else:
            print(f"logs of the reel processes:\n{self.logs()}", flush=True)
            print(f"kept {self.workdir} for inspection", flush=True)
        return False


def stop_cleanly(cl):
    """Stop every reel process with SIGTERM; each must exit 0 (a sanitizer report or a crash in a
    sanitizer build exits otherwise)."""
    for p in cl.procs:
        if p.proc is None or p.proc.poll() is not None:
            continue
        p.stop(timeout_s=60)
        check(p.proc.returncode == 0, f"{p.name} exited {p.proc.returncode}:\n{p.tail(60)}")


def main(test):
    """Run test(reel_bin); exit 0 on success, 1 on failure with the reason."""
    if len(sys.argv) < 2:
        print(f"usage: {sys.argv[0]} PATH/TO/reel", file=sys.stderr)
        sys.exit(2)
    try:
        test(os.path.abspath(sys.argv[1]))
    except Failure as e:
        print(f"FAIL: {e}", flush=True)
        sys.exit(1)
    log("PASS")
    sys.exit(0)
