"""docs/openapi.yaml documents exactly the routes of the API's route table (printed by the hidden
`reel serve --print-routes`): a route added without docs, or docs for a route that does not
exist, fails. Standard library only (the YAML is read by indentation: paths at two spaces,
methods at four)."""

import re
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        print(f"usage: {sys.argv[0]} PATH/TO/reel PATH/TO/openapi.yaml", file=sys.stderr)
        return 2
    reel, yaml = sys.argv[1], sys.argv[2]
    out = subprocess.run([reel, "serve", "--print-routes"], capture_output=True, text=True,
                         timeout=30)
    if out.returncode != 0:
        print(f"FAIL: reel serve --print-routes exited {out.returncode}: {out.stderr}")
        return 1
    table = {tuple(line.split(" ", 1)) for line in out.stdout.splitlines() if line.strip()}
    if len(table) < 17:
        print(f"FAIL: only {len(table)} routes printed:\n{out.stdout}")
        return 1
    documented = set()
    in_paths = False
    path = None
    with open(yaml, encoding="utf-8") as f:
        for line in f:
            if re.match(r"^paths:\s*$", line):
                in_paths = True
                continue
            if in_paths and re.match(r"^\S", line):
                in_paths = False
            if not in_paths:
                continue
            m = re.match(r"^  (/\S*):\s*$", line)
            if m:
                path = m.group(1)
                continue
            m = re.match(r"^    (get|put|post|delete|patch|head|options):\s*$", line)
            if m and path:
                documented.add((m.group(1).upper(), path))
    missing = sorted(table - documented)
    extra = sorted(documented - table)
    for m_, p in missing:
        print(f"FAIL: route {m_} {p} is in the route table but not in {yaml}")
    for m_, p in extra:
        print(f"FAIL: {yaml} documents {m_} {p}, which the route table does not have")
    if missing or extra:
        return 1
    print(f"PASS: {len(table)} routes documented")
    return 0


if __name__ == "__main__":
    sys.exit(main())
