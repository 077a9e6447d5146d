#!/usr/bin/env bash
# HTTP load bench: POST /v1/jobs and GET /v1/jobs/{id} at a fixed rate (default 200 requests a
# second) over loopback while two renders run, with wrk (Lua scripts in this folder). Starts a
# private redis-server (AOF as in docker/redis.conf), `reel serve` and the workers,
# writes bench/results/http-<host>.md and prints it.
#
# Usage: bench/http/run.sh [--rate N] [--duration SECONDS] [--reel PATH] [--host LABEL]
#                          [--layout split|inproc] [--fsync everysec|always] [--renders N]
#   --layout  split (default): `reel serve` plus `nice -n 10 reel worker --concurrency 2`, the
#             one-box layout docs/operations.md recommends; inproc: `reel serve --workers 2`
#   --fsync   Redis appendfsync (default: as docker/redis.conf)
#   --renders renders running during the bench (2; 0 gives a baseline)
#   --host    names the results file (default: <os><version>-<cores>core, e.g. debian12-2core)
# Not a pass/fail test: it reports p50/p99 against the targets (POST p99 <= 10 ms, GET p99 <= 5 ms).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

rate=200
duration=30
reel=$root/build/reel
host=""
layout=split
renders_n=2
suffix=""
fsync=$(sed -n 's/^appendfsync[[:space:]]*//p' "$root/docker/redis.conf")
while [ $# -gt 0 ]; do
  case "$1" in
    --rate) rate=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --reel) reel=$2; shift 2 ;;
    --host) host=$2; shift 2 ;;
    --layout) layout=$2; shift 2 ;;
    --fsync) fsync=$2; shift 2 ;;
    --renders) renders_n=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "run.sh: unknown option '$1'" >&2; exit 2 ;;
  esac
done
if [ -z "$host" ]; then
  host=$(. /etc/os-release && echo "${ID}${VERSION_ID%%.*}")-$(nproc)core
fi
for tool in wrk redis-server curl python3; do
  command -v $tool >/dev/null || { echo "run.sh: $tool missing (scripts/install-deps.sh)" >&2; exit 1; }
done
[ -x "$reel" ] || { echo "run.sh: $reel not built" >&2; exit 1; }

tmp=$(mktemp -d "${TMPDIR:-/tmp}/reel-httpbench.XXXXXX")
pids=()
cleanup() {
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill -TERM "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
redis_port=$(free_port)
api_port=$(free_port)
api=http://127.0.0.1:$api_port
mkdir -p "$tmp/redis" "$tmp/out"
redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$tmp/redis" --appendonly yes \
  --appendfsync "$fsync" --save "" --logfile "$tmp/redis/redis.log" &
pids+=($!)
case "$layout" in
  split)
    "$reel" serve --listen "127.0.0.1:$api_port" --redis "redis://127.0.0.1:$redis_port" \
      --output-dir "$tmp/out" --log-level warn >"$tmp/serve.log" 2>&1 &
    pids+=($!)
    nice -n 10 "$reel" worker --concurrency 2 --redis "redis://127.0.0.1:$redis_port" \
      --output-dir "$tmp/out" --engine cpu --log-level warn >"$tmp/worker.log" 2>&1 &
    pids+=($!)
    setup="\`reel serve\` and \`nice -n 10 reel worker --concurrency 2 --engine cpu\`" ;;
  inproc)
    "$reel" serve --listen "127.0.0.1:$api_port" --redis "redis://127.0.0.1:$redis_port" \
      --workers 2 --output-dir "$tmp/out" --engine cpu --log-level warn >"$tmp/serve.log" 2>&1 &
    pids+=($!)
    setup="\`reel serve --workers 2 --engine cpu\` (renders in the API process)" ;;
  *) echo "run.sh: --layout split or inproc" >&2; exit 2 ;;
esac
[ "$layout" = split ] || suffix=-$layout
[ "$renders_n" = 2 ] || suffix=$suffix-renders$renders_n
[ "$fsync" = "$(sed -n 's/^appendfsync[[:space:]]*//p' "$root/docker/redis.conf")" ] || suffix=$suffix-$fsync
for _ in $(seq 100); do
  curl -fs "$api/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fs "$api/readyz" >/dev/null || { cat "$tmp/serve.log" >&2; exit 1; }

client() { python3 "$here/client.py" "$api_port" "$@"; }

# The jobs the bench submits carry a tag no worker offers, so they stay queued and only the
# bench's own renders run. 200 of them are submitted first, for the GET bench to read.
cat >"$tmp/job.json" <<'EOF'
{"tags": ["bench-hold"], "priority": "low",
 "output": {"width": 160, "height": 120, "fps": 10, "duration": 2},
 "layers": [{"type": "color", "color": "#336699"},
            {"type": "text", "text": "bench", "font_size": 24, "color": "#ffffff"}]}
EOF
client submit "$tmp/job.json" 200 >"$tmp/ids.txt"

# Two renders far longer than the bench (720p with a blur), canceled at the end.
render_secs=$((duration * 20))
cat >"$tmp/render.json" <<EOF
{"output": {"width": 1280, "height": 720, "fps": 30, "duration": $render_secs, "preset": "medium"},
 "priority": "high",
 "layers": [{"type": "color", "color": "#224466"},
            {"type": "text", "text": "rendering", "font_size": 64, "color": "#ffffff",
             "animate": {"x": [{"time": 0, "value": 0}, {"time": $render_secs, "value": 1280}]},
             "effects": [{"type": "blur", "sigma": 4}]}]}
EOF
renders=()
if [ "$renders_n" -gt 0 ]; then
  mapfile -t renders < <(client submit "$tmp/render.json" "$renders_n")
  client wait-running "${renders[@]}" ||
    { echo "run.sh: the renders did not start" >&2; cat "$tmp/serve.log" >&2; exit 1; }
fi
progress() { [ ${#renders[@]} -eq 0 ] && echo none || client progress "${renders[@]}"; }

run_wrk() { # name script
  local name=$1 script=$2
  echo "== $name: $rate req/s for ${duration}s" >&2
  RATE=$rate THREADS=1 BODY_FILE=$tmp/job.json IDS_FILE=$tmp/ids.txt \
    wrk -t1 -c24 -d"${duration}s" --latency -s "$here/$script" "$api" | tee "$tmp/$name.txt" >&2
  grep '^RESULT ' "$tmp/$name.txt" | sed 's/^RESULT //' >"$tmp/$name.json"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
psi_before=$(sed -n 's/^some avg10=\([0-9.]*\) avg60=\([0-9.]*\).*/\2%/p' /proc/pressure/cpu 2>/dev/null || true)
before=$(progress)
run_wrk post post.lua
middle=$(progress)
run_wrk get get.lua
after=$(progress)
[ ${#renders[@]} -eq 0 ] || client cancel "${renders[@]}"

cpu=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -1)
commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)
mkdir -p "$root/bench/results"
result=$root/bench/results/http-$host${suffix:-}.md
python3 - "$tmp/post.json" "$tmp/get.json" "$rate" >"$tmp/table.md" <<'EOF'
import json, sys
targets = {"POST /v1/jobs": 10.0, "GET /v1/jobs/{id}": 5.0}
rows = []
for (route, target), path in zip(targets.items(), sys.argv[1:3]):
    r = json.load(open(path))
    ok = r["p99_ms"] <= target and r["non_2xx"] == 0 and r["rate"] >= 0.97 * float(sys.argv[3])
    errs = r["non_2xx"] + r["connect_errors"] + r["read_errors"] + r["write_errors"] + r["timeouts"]
    rows.append(f"| `{route}` | {float(sys.argv[3]):.0f} | {r['rate']:.1f} | {r['requests']} | "
                f"{r['p50_ms']:.2f} | {r['p90_ms']:.2f} | {r['p99_ms']:.2f} | {r['max_ms']:.2f} | "
                f"{errs} | ≤ {target:.0f} ms: {'met' if ok else 'NOT met'} |")
print("| route | target req/s | achieved req/s | requests | p50 ms | p90 ms | p99 ms | max ms | errors | p99 target |")
print("|---|---|---|---|---|---|---|---|---|---|")
print("\n".join(rows))
EOF
{
  echo "# HTTP API under load: $host"
  echo
  echo "- CPU: $cpu ($(nproc) cores), $(uname -sr), $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "- reel $commit, $(date -u +%Y-%m-%dT%H:%MZ); Redis $(redis-server --version | sed -n 's/.*v=\([0-9.]*\).*/\1/p') with AOF, appendfsync $fsync"
  echo "- $setup on loopback, $renders_n 720p renders running throughout"
  echo "  (their status before / between / after the two runs: $before / $middle / $after)"
  echo "- load average (1, 5, 15 min) when the bench began: $load_before, on $(nproc) cores${psi_before:+; time some task waited for a CPU over the last minute: $psi_before}"
  echo "- wrk 4.1, 1 thread, 24 connections (under the default 32 per client address), ${duration} s per route, paced to $rate requests a second"
  echo "  by bench/http/pace.lua (open loop; latency measured from each request's send)"
  echo
  cat "$tmp/table.md"
  echo
  echo "POST submits a 160×120 job (validated, then written to Redis: the whole submission path);"
  echo "the jobs carry a tag no worker offers, so no other render starts during the bench. GET reads"
  echo "the status of 200 such jobs in turn."
  echo
  echo "Reproduce: \`scripts/build.sh && bench/http/run.sh --rate $rate --duration $duration --layout $layout --fsync $fsync --renders $renders_n\`"
} >"$result"
cat "$result"
