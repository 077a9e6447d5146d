#!/usr/bin/env python3
"""docs/api.md stays true to the route table: every route `reel serve --print-routes` lists is in
the doc's route table and has a curl example; the doc names no route the server lacks; every
flag of `reel serve --help` and `reel worker --help` is in docs/operations.md.

Usage: docs_api.py PATH/TO/reel SOURCE_DIR
"""
import re
import subprocess
import sys

reel, src = sys.argv[1], sys.argv[2]
problems = []
out = subprocess.run([reel, "serve", "--print-routes"], capture_output=True, text=True, timeout=30)
routes = [tuple(line.split(None, 1)) for line in out.stdout.splitlines() if line.strip()]
if out.returncode != 0 or not routes:
    print(f"FAIL: reel serve --print-routes failed: {out.stderr.strip()}")
    sys.exit(1)
doc = open(f"{src}/docs/api.md", encoding="utf-8").read()

table = set(re.findall(r"^\| \[?`(GET|POST|PUT|DELETE|PATCH|HEAD) (/[^`]*)`", doc, re.M))
curls = re.findall(r"^curl .*$", doc, re.M)


def curl_method(line):
    m = re.search(r"-X (\w+)", line)
    return m.group(1) if m else "GET"


for method, pattern in routes:
    if (method, pattern) not in table:
        problems.append(f"docs/api.md: route {method} {pattern} is not in the route table")
    rx = re.escape(pattern).replace(r"\{id\}", r"\$ID").replace(r"\{name\}", r"[A-Za-z0-9_.-]+")
    rx = rx.replace(r"\{", "{").replace(r"\}", "}")
    if not any(curl_method(c) == method and re.search(r"\$REEL" + rx + r"(?=[\s?\"']|$)", c)
               for c in curls):
        problems.append(f"docs/api.md: no curl example for {method} {pattern}")
for method, pattern in sorted(table - set(routes)):
    problems.append(f"docs/api.md: documents {method} {pattern}, which reel serve does not have")

ops = open(f"{src}/docs/operations.md", encoding="utf-8").read()
for cmd in ("serve", "worker"):
    helptext = subprocess.run([reel, cmd, "--help"], capture_output=True, text=True,
                              timeout=30).stdout
    for flag in sorted(set(re.findall(r"^\s+(--[a-z][a-z-]*)", helptext, re.M))):
        if f"`{flag}`" not in ops:
            problems.append(f"docs/operations.md: `reel {cmd} {flag}` is not in the "
                            "configuration table")

for p in problems:
    print(f"FAIL: {p}")
if problems:
    sys.exit(1)
print(f"docs/api.md covers all {len(routes)} routes with curl examples; docs/operations.md every "
      "serve and worker flag")
