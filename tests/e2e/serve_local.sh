#!/usr/bin/env bash
# The README's "Running the server" command works: scripts/serve-local.sh --submit starts a private
# Redis and `reel serve --workers 1`, renders examples/01-hello.json through the API, downloads a
# whole video, and leaves no process or temporary folder behind.
# Usage: serve_local.sh PATH/TO/reel SOURCE_DIR
set -uo pipefail
reel=$1
src=$2
for tool in redis-server curl ffprobe python3; do
  command -v $tool >/dev/null || { echo "FAIL: $tool missing (scripts/install-deps.sh)"; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/reel-serve-local-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# The script's own temporary folders go under $work, so what it leaves behind can be seen.
mkdir -p "$work/tmp"
TMPDIR=$work/tmp REEL_BIN=$reel timeout 240 "$src/scripts/serve-local.sh" --submit --port "$port" \
  --out "$work/hello.mp4" >"$work/out.txt" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
  echo "FAIL: serve-local.sh --submit exited $rc:"
  cat "$work/out.txt"
  exit 1
fi
probe=$(ffprobe -v error -count_packets -select_streams v:0 \
  -show_entries stream=width,height,nb_read_packets -of csv=p=0 "$work/hello.mp4") ||
  { echo "FAIL: ffprobe cannot read the downloaded video"; exit 1; }
if [ "$probe" != "1280,720,150" ]; then
  echo "FAIL: downloaded video is '$probe' (width,height,frames), expected 1280,720,150"
  exit 1
fi
left=$(ls -A "$work/tmp")
if [ -n "$left" ]; then
  echo "FAIL: serve-local.sh left behind: $left"
  exit 1
fi
if curl -s -o /dev/null "http://127.0.0.1:$port/healthz"; then
  echo "FAIL: reel serve still answers on port $port after the script ended"
  exit 1
fi
echo "serve-local.sh --submit: downloaded $probe (width,height,frames); cleaned up"
