#!/usr/bin/env bash
# Try the HTTP API on this machine: a private redis-server (its own port and data folder, AOF on)
# and `reel serve --workers 1` on loopback, both removed again on exit.
#
# Usage: scripts/serve-local.sh [--port N] [--submit [JOB.json]] [--out FILE]
#   (no option)      start, print the curl commands to try, serve until Ctrl-C
#   --submit [JOB]   also submit JOB (default examples/01-hello.json) through the API, wait for it,
#                    download the video to --out (default hello-api.mp4), then stop
#   --port N         API port (default 8080; Redis takes a free port of its own)
# Environment: REEL_BIN (default build/reel), REDIS_SERVER (default redis-server).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

port=8080
submit=""
out=hello-api.mp4
while [ $# -gt 0 ]; do
  case "$1" in
    --port) port=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --submit)
      submit=examples/01-hello.json
      if [ $# -gt 1 ] && [ "${2#--}" = "$2" ]; then submit=$2; shift; fi
      shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "serve-local: unknown option '$1' (try --help)" >&2; exit 2 ;;
  esac
done

reel=${REEL_BIN:-$root/build/reel}
redis_server=${REDIS_SERVER:-redis-server}
[ -x "$reel" ] || { echo "serve-local: $reel not built (run scripts/build.sh)" >&2; exit 1; }
command -v "$redis_server" >/dev/null ||
  { echo "serve-local: redis-server missing (scripts/install-deps.sh installs it)" >&2; exit 1; }
command -v curl >/dev/null || { echo "serve-local: curl missing" >&2; exit 1; }
# The examples' media are generated, not committed.
[ -d examples/media ] || scripts/gen-media.sh examples/media >/dev/null

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reel-local.XXXXXX")
redis_pid=""
reel_pid=""
cleanup() {
  [ -n "$reel_pid" ] && kill -TERM "$reel_pid" 2>/dev/null && wait "$reel_pid" 2>/dev/null
  [ -n "$redis_pid" ] && kill -TERM "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A free loopback port for Redis: ask the kernel for one.
redis_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$tmp/redis" "$tmp/output"
"$redis_server" --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
  --save "" --logfile "$tmp/redis/redis.log" &
redis_pid=$!

"$reel" serve --listen "127.0.0.1:$port" --redis "redis://127.0.0.1:$redis_port" --workers 1 \
  --output-dir "$tmp/output" --asset-root "$root/examples" 2>"$tmp/reel.log" &
reel_pid=$!

api="http://127.0.0.1:$port"
for _ in $(seq 100); do
  curl -fsS "$api/readyz" >/dev/null 2>&1 && break
  kill -0 "$reel_pid" 2>/dev/null || { cat "$tmp/reel.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$api/readyz" >/dev/null || { echo "serve-local: API not ready" >&2; cat "$tmp/reel.log" >&2; exit 1; }
echo "serve-local: reel serve on $api (Redis on 127.0.0.1:$redis_port, files in $tmp)"

if [ -z "$submit" ]; then
  cat <<EOF
Try it (in another terminal):
  id=\$(curl -s -X POST $api/v1/jobs -H 'Content-Type: application/json' \\
        -d @examples/01-hello.json | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
  curl -s $api/v1/jobs/\$id                      # status: queued, running, succeeded
  curl -s -o hello-api.mp4 $api/v1/jobs/\$id/output
Server log: $tmp/reel.log. Ctrl-C stops everything and removes $tmp.
EOF
  wait "$reel_pid"
  exit $?
fi

reply=$(curl -sS -X POST "$api/v1/jobs" -H 'Content-Type: application/json' --data-binary "@$submit")
id=$(printf '%s' "$reply" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' 2>/dev/null || true)
[ -n "$id" ] || { echo "serve-local: submit failed: $reply" >&2; exit 1; }
echo "serve-local: submitted $submit as job $id"
state=""
for _ in $(seq 1200); do
  doc=$(curl -sS "$api/v1/jobs/$id")
  state=$(printf '%s' "$doc" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["status"], round(d.get("progress",0)*100))')
  printf '\rserve-local: %s%%   ' "$state"
  case "$state" in succeeded*|failed*|canceled*) break ;; esac
  sleep 0.25
done
echo
case "$state" in
  succeeded*) ;;
  *) echo "serve-local: job ended '$state': $doc" >&2
     curl -sS "$api/v1/jobs/$id/log" >&2 || true
     exit 1 ;;
esac
for try in 1 2 3 4 5; do
  curl -fsS -o "$out" "$api/v1/jobs/$id/output" && break
  [ "$try" = 5 ] && exit 1
  sleep 0.2
done
echo "serve-local: wrote $out ($(stat -c %s "$out") bytes)"
