#!/usr/bin/env bash
# Every `reel ...` command shown in a code block of README.md, docs/*.md and examples/README.md is
# run (against the example jobs, with freshly generated media) and must end with the exit status
# the docs give: 0, unless the line ends with a comment "# exit N". Usage: docs_commands.sh REEL SRC
#
# Commands are found in fenced code blocks (```sh, ```console, ``` ...; not json or other
# languages): a line, or a part of one between &&, || and ;, whose program is reel, ./build/reel or
# .../reel, after optional VAR=value assignments and a "$ " prompt. The program is replaced by the
# reel under test; everything else runs as written, from a folder holding examples/.
set -uo pipefail
reel=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
src=$2
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-docs.XXXXXX")
trap 'rm -rf "$work"' EXIT

# Commands not run here, each with the reason. Only what needs a server or hardware belongs here.
skip_patterns=(
  '^reel serve( |$)'                  # the HTTP server runs until stopped and needs Redis (tests/e2e)
  '^reel worker( |$)'                 # a worker runs until stopped and needs Redis (tests/e2e)
  '--encoder[ =](nvenc|vaapi)( |$)'   # needs NVENC / VAAPI hardware; its exit status is the host's
  '--gpu[ =][1-9]'                    # names a second GPU, which the test host need not have
)

command -v ffmpeg >/dev/null || { echo "FAIL: the ffmpeg tool is needed (scripts/install-deps.sh)"; exit 1; }
mkdir -p "$work/examples"
cp "$src"/examples/*.json "$work/examples/" || exit 1
"$src/scripts/gen-media.sh" "$work/examples/media" >/dev/null || { echo "FAIL: gen-media.sh failed"; exit 1; }

docs=("$src/README.md" "$src"/docs/*.md "$src/examples/README.md")
python3 - "$src" "${docs[@]}" >"$work/commands.txt" <<'PY' || { echo "FAIL: extracting the commands"; exit 1; }
import os, re, sys

src = sys.argv[1]
prog = re.compile(r"^(?:\$\s+)?((?:[A-Za-z_][A-Za-z0-9_]*=(?:'[^']*'|\"[^\"]*\"|\S+)\s+)*)"
                  r"((?:\S*/)?reel)\s+([a-z]\S*.*)$")
for path in sys.argv[2:]:
    rel = os.path.relpath(path, src)
    lines = open(path, encoding="utf-8").read().split("\n")
    in_block, lang, i = False, "", 0
    while i < len(lines):
        line, no = lines[i], i + 1
        i += 1
        fence = re.match(r"^\s*(```+|~~~+)\s*([\w+-]*)", line)
        if fence:
            in_block, lang = (not in_block), fence.group(2).lower()
            continue
        if not in_block or lang not in ("", "sh", "bash", "shell", "console", "shell-session"):
            continue
        while line.endswith("\\") and i < len(lines):
            line = line[:-1] + " " + lines[i].strip()
            i += 1
        want = 0
        m = re.search(r"\s#\s*exit\s+(\d+)\b.*$", line)
        if m:
            want = int(m.group(1))
        line = re.sub(r"\s#.*$", "", line).strip()
        for part in re.split(r"\s*(?:&&|\|\||;)\s*", line):
            p = prog.match(part.strip())
            if not p:
                continue
            envs, program, rest = p.group(1).strip(), p.group(2), p.group(3).strip()
            if program != "reel" and not program.endswith("/reel"):
                continue
            print("\x1f".join((f"{rel}:{no}", str(want), envs, rest)))
PY

n=$(wc -l <"$work/commands.txt")
if [ "$n" = 0 ]; then echo "FAIL: no reel command found in the docs' code blocks"; exit 1; fi
fails=0 passes=0 skips=0
while IFS=$'\x1f' read -r where want envs args; do # \x1f: fields may be empty
  shown="${envs:+$envs }reel $args"
  skipped=""
  for pat in "${skip_patterns[@]}"; do
    if printf 'reel %s\n' "$args" | grep -Eq -- "$pat"; then skipped=$pat; fi
  done
  if [ -n "$skipped" ]; then
    echo "skip: $where: $shown (matches the listed pattern /$skipped/)"
    skips=$((skips + 1))
    continue
  fi
  (cd "$work" && eval "$envs timeout 300 \"\$reel\" $args") >"$work/out.txt" 2>"$work/err.txt" </dev/null
  st=$?
  if [ "$st" = "$want" ]; then
    echo "ok: $where: $shown (exit $st)"
    passes=$((passes + 1))
  else
    echo "FAIL: $where: $shown exited $st, the docs say $want"
    sed 's/^/    /' "$work/err.txt" | tail -5
    fails=$((fails + 1))
  fi
done <"$work/commands.txt"

echo "docs commands: $passes passed, $fails failed, $skips skipped (listed above with the reason)"
[ "$fails" = 0 ]
