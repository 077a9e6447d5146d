#!/usr/bin/env python3
"""Setup and status calls of bench/http/run.sh over one keep-alive connection (no process per
request, so setup stays quick on a busy machine).

  client.py PORT submit FILE N      submit FILE N times; print the job ids
  client.py PORT wait-running ID... wait until every job is running (exit 1 after 60 s)
  client.py PORT progress ID...     one line: each job's status and progress
  client.py PORT cancel ID...       cancel the jobs
"""
import http.client
import json
import sys
import time

conn = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)


def call(method, path, body=None):
    conn.request(method, path, body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    return r.status, json.loads(r.read() or b"null")


cmd, args = sys.argv[2], sys.argv[3:]
if cmd == "submit":
    body = open(args[0], "rb").read()
    for _ in range(int(args[1])):
        status, doc = call("POST", "/v1/jobs", body)
        if status != 202:
            sys.exit(f"client.py: submit answered {status}: {doc}")
        print(doc["id"], flush=True)
elif cmd == "wait-running":
    for _ in range(600):
        if all(call("GET", "/v1/jobs/" + i)[1]["status"] == "running" for i in args):
            sys.exit(0)
        time.sleep(0.1)
    sys.exit(1)
elif cmd == "progress":
    docs = [call("GET", "/v1/jobs/" + i)[1] for i in args]
    print(", ".join(f"{d['status']} {100 * d['progress']:.0f}%" for d in docs))
elif cmd == "cancel":
    for i in args:
        call("DELETE", "/v1/jobs/" + i)
else:
    sys.exit(f"client.py: unknown command {cmd}")
