#!/usr/bin/env python3
"""Graceful drain, as Kubernetes and compose stop a worker (SIGTERM, then SIGKILL after the grace
period): a worker with time to drain finishes its running job and exits 0; a worker whose drain
timeout runs out hands its job back to the queue, exits 0, and another worker completes it. Either
way the job ends succeeded with one output."""

import os
import time

import e2e
from e2e import check, log


def running_on(api, job_id, timeout_s=30):
    return e2e.wait_for(lambda: (lambda d: d if d["status"] == "running"
                                 and d.get("frames_done", 0) > 0 else None)(api.status(job_id)),
                        timeout_s, f"job {job_id} to be running with frames done")


def exited(proc, timeout_s):
    try:
        return proc.proc.wait(timeout=timeout_s)
    except Exception:
        return None


def test(reel):
    with e2e.Cluster(reel, lease_ms=2000) as c:
        _, api = c.serve(workers=0)

        # 1. Enough time to drain: the job finishes where it runs.
        w1 = c.worker("worker-1", ["--drain-timeout", "120"])
        job1 = api.submit(e2e.slow_job(6))
        st = running_on(api, job1)
        log(f"SIGTERM worker-1 at {st['frames_done']}/{st['frames_total']} frames (drain 120 s)")
        w1.signal(15)
        rc = exited(w1, 150)
        check(rc == 0, f"worker-1 exit status {rc} after a drain, expected 0:\n{w1.tail()}")
        st = api.status(job1)
        check(st["status"] == "succeeded" and st["attempt"] == 1,
              f"drained job is {st['status']} (attempt {st['attempt']}), expected succeeded on "
              f"attempt 1: {st.get('error')}")
        log("worker-1 finished its job and exited 0")

        # 2. The drain timeout runs out: the job goes back to the queue without using an attempt,
        # and the next worker renders it.
        w2 = c.worker("worker-2", ["--drain-timeout", "1"])
        job2 = api.submit(e2e.slow_job(12))
        st = running_on(api, job2)
        log(f"SIGTERM worker-2 at {st['frames_done']}/{st['frames_total']} frames (drain 1 s)")
        t0 = time.monotonic()
        w2.signal(15)
        rc = exited(w2, 30)
        check(rc == 0, f"worker-2 exit status {rc} after its drain timeout, expected 0:\n"
                       f"{w2.tail()}")
        log(f"worker-2 exited after {time.monotonic() - t0:.1f} s")
        st = api.status(job2)
        check(st["status"] == "queued",
              f"after the hand-back the job is {st['status']}, expected queued")
        c.worker("worker-3")
        st = api.wait_terminal(job2, 150)
        check(st["status"] == "succeeded", f"handed-back job ended {st['status']}: "
                                           f"{st.get('error')}")
        check(st["attempt"] == 1, f"the hand-back counted as an attempt: the job ended on attempt "
                                  f"{st['attempt']}, expected 1")

        for job_id, frames in ((job1, 180), (job2, 360)):
            status, _, data = api.request("GET", f"/v1/jobs/{job_id}/output")
            check(status == 200, f"GET output of {job_id} answered {status}")
            e2e.check_video(data, c.workdir, f"{job_id}.mp4", frames, 1280, 720)
            mine = [f for f in c.output_files() if job_id in f]
            check(len(mine) == 1, f"job {job_id} left {len(mine)} files: {mine}")
        c.ok = True


if __name__ == "__main__":
    e2e.main(test)
