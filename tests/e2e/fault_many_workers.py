#!/usr/bin/env python3
"""50 small jobs across 3 workers while workers are SIGKILLed at random and restarted: all 50
succeed and each output exists exactly once (no duplicate or partial files left)."""

import concurrent.futures
import random
import time

import e2e
from e2e import check, log

JOBS = 50
WORKERS = 3


def test(reel):
    rng = random.Random(11)
    with e2e.Cluster(reel, lease_ms=1500) as c:
        _, api = c.serve(workers=0)
        workers = [c.worker(f"worker-{i}") for i in range(WORKERS)]
        spawned = WORKERS

        jobs = {}
        for i in range(JOBS):
            seconds = rng.choice([1, 2, 3])
            job = e2e.tiny_job(f"job {i}", seconds, rng.choice(["#336699", "#993366", "#669933"]))
            # Moving, turning text at 640x360 through x264's slowest preset: a job takes some
            # tenths of a second of CPU, long enough for a kill to catch a worker mid-job on any
            # host (a still 160x120 job is over in a few milliseconds).
            job["output"].update({"width": 640, "height": 360, "preset": "veryslow"})
            job["layers"][1].update({"font_size": 96, "animate": {
                "x": [{"time": 0, "value": 0}, {"time": seconds, "value": 640}],
                "rotation": [{"time": 0, "value": 0}, {"time": seconds, "value": 90}]}})
            jobs[api.submit(job)] = seconds
        log(f"submitted {JOBS} jobs")

        # Kill workers while they hold a job (mid-render), chosen at random, and start a fresh
        # worker in each one's place. A job is never hit a third time: three kills of one job
        # would exhaust its attempts, which is not what this test is about.
        kills = 0
        hit = set()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            _, _, page = api.json("GET", "/v1/jobs?status=running&limit=100")
            running = page["jobs"] if page else []
            pids = {str(w.proc.pid): i for i, w in enumerate(workers)}
            victims = [(pids[j["worker"].rsplit(":", 1)[-1]], j) for j in running
                       if j.get("worker") and j["worker"].rsplit(":", 1)[-1] in pids
                       and j["id"] in jobs and j.get("attempt", 1) < 2]
            if victims and kills < 16:
                victim, held = rng.choice(victims)
                workers[victim].kill()
                kills += 1
                # The job may have finished between the listing and the kill; count only jobs
                # the dead worker still held.
                now = api.status(held["id"])
                caught = now["status"] == "running" and now.get("worker") == held["worker"] \
                    and now.get("attempt") == held.get("attempt")
                if caught:
                    hit.add(held["id"])
                log(f"SIGKILL {workers[victim].name} "
                    f"{'holding' if caught else 'just after'} {held['id'][:8]}")
                workers[victim] = c.worker(f"worker-{spawned}")
                spawned += 1
                time.sleep(rng.uniform(0.1, 0.4))
                continue
            done = [i for i in jobs if api.status(i)["status"] in
                    ("succeeded", "failed", "canceled")] if not running else []
            if not running and len(done) == JOBS:
                break
            time.sleep(0.02)
        check(len(hit) >= 3, f"only {len(hit)} of {kills} kills caught a worker holding a job; "
                             "the test did not exercise recovery")

        failed = []
        for job_id in jobs:
            st = api.status(job_id)
            if st["status"] != "succeeded":
                failed.append(f"{job_id}: {st['status']} {st.get('error')}")
        check(not failed, f"{len(failed)} jobs did not succeed:\n" + "\n".join(failed))
        rerun = [i for i in hit if api.status(i)["attempt"] < 2]
        check(not rerun, f"jobs whose worker was killed were not run again: {rerun}")
        log(f"all {JOBS} succeeded after {kills} kills, {len(hit)} of them mid-job")

        # Exactly one file per job in the output folder, each a whole video.
        def one_each():
            files = c.output_files()
            return files if len(files) == JOBS else None
        try:
            files = e2e.wait_for(one_each, 10, f"{JOBS} files in the output folder", 0.2)
        except e2e.Failure:
            files = c.output_files()
            raise e2e.Failure(f"{len(files)} files in the output folder, expected {JOBS}: "
                              f"{files}")
        def probe(item):
            job_id, seconds = item
            mine = [f for f in files if job_id in f]
            check(len(mine) == 1, f"job {job_id} has {len(mine)} files: {mine}")
            _, n, w, h = e2e.ffprobe(f"{c.out_dir}/{mine[0]}")
            check((n, w, h) == (seconds * 10, 640, 360),
                  f"{mine[0]}: {n} frames {w}x{h}, expected {seconds * 10} frames 640x360")
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            list(pool.map(probe, jobs.items()))
        c.ok = True


if __name__ == "__main__":
    e2e.main(test)
