#!/usr/bin/env python3
"""A worker killed with SIGKILL mid-render: its lease runs out, another worker re-runs the job, and
the job ends succeeded with exactly one valid output (no file of the killed attempt left)."""

import os
import signal
import time

import e2e
from e2e import check, log


def test(reel):
    with e2e.Cluster(reel, lease_ms=2000) as c:
        _, api = c.serve(workers=0)
        w1 = c.worker("worker-1")
        job = e2e.slow_job(12)
        job_id = api.submit(job)
        log(f"submitted {job_id}")

        st = e2e.wait_for(lambda: (lambda d: d if d["status"] == "running"
                                   and d.get("frames_done", 0) > 0 else None)(api.status(job_id)),
                          30, "the job to be running with frames done")
        check(st["attempt"] == 1, f"first run has attempt {st['attempt']}, expected 1")
        check(st["frames_done"] < st["frames_total"],
              f"job finished before it could be killed: {st}")
        log(f"running: {st['frames_done']}/{st['frames_total']} frames; SIGKILL worker-1")
        w1.kill()

        time.sleep(0.5)
        st = api.status(job_id)
        check(st["status"] in ("running", "queued"),
              f"after the kill the job is {st['status']}, expected running or queued: {st}")

        w2 = c.worker("worker-2")
        st = api.wait_terminal(job_id, 150)  # slow under sanitizers
        check(st["status"] == "succeeded", f"job ended {st['status']}: {st.get('error')}")
        check(st["attempt"] >= 2, f"attempt {st['attempt']}: the job was not re-run")
        check(w2.alive(), "worker-2 exited")
        log(f"succeeded on attempt {st['attempt']}")

        status, hdrs, data = api.request("GET", f"/v1/jobs/{job_id}/output")
        check(status == 200, f"GET output answered {status}")
        check(int(hdrs.get("content-length", -1)) == len(data), "Content-Length differs from body")
        e2e.check_video(data, c.workdir, "download.mp4", 360, 1280, 720)

        # Exactly one file for the job: the published output, byte-identical to the download.
        # A stale attempt's partial file may be removed a little after the job finishes.
        files = e2e.wait_for(lambda: (lambda f: f if len(f) == 1 else None)(c.output_files()),
                             10, "one file in the output folder", interval_s=0.2)
        check(job_id in files[0], f"output file {files[0]} does not name the job {job_id}")
        with open(os.path.join(c.out_dir, files[0]), "rb") as f:
            check(f.read() == data, "the published file differs from the download")
        c.ok = True


if __name__ == "__main__":
    e2e.main(test)
