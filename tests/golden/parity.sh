#!/usr/bin/env bash
# Cross-engine parity of one example job (SPEC 2.7): frames rendered by the gl and the cpu engine
# with `reel frame` at sample times across the job must agree in luma PSNR.
#
# Sample times: the midpoint of every transition (in and out) and of every keyframe segment, so
# masks, slides, fades and animations are caught half-way, plus 10/30/50/70/90 % of the job.
# At most MAX_TIMES of them, spread evenly; always at least five.
#
# Usage: parity.sh REEL GOLDEN SOURCE_DIR EXAMPLE_NAME
# Exits 77 (skip) when examples/media is missing or the gl engine cannot start on this host.
set -uo pipefail

# One tolerance for every example and every frame: the SPEC's cross-engine bound.
MIN_LUMA_PSNR=35
MAX_TIMES=12

reel=$1 golden=$2 src=$3 name=$4
job=$src/examples/$name.json
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-parity-$name.XXXXXX")
trap 'rm -rf "$out"' EXIT

if [ ! -d "$src/examples/media" ]; then
  echo "SKIP: examples/media is missing; run scripts/gen-media.sh first" >&2
  exit 77
fi
if ! "$reel" probe 2>/dev/null | grep -Eq '^  gl +usable'; then
  echo "SKIP: the gl engine is not usable on this host ($("$reel" probe 2>&1 | grep -A4 '^  gl' | tr '\n' ' '))" >&2
  exit 77
fi

# The job's duration as reel computes it (layer defaults and media lengths included).
duration=$("$reel" validate "$job" | sed -n 's/^valid: [0-9]*x[0-9]*, \([0-9.]*\) s,.*/\1/p')
if [ -z "$duration" ]; then
  echo "FAIL: $name does not validate" >&2
  "$reel" validate "$job" >&2
  exit 1
fi

times=$(python3 - "$job" "$duration" "$MAX_TIMES" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
dur = float(sys.argv[2])
max_times = int(sys.argv[3])

def num(v, default=None):
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else default

special = []
for layer in job.get("layers", []):
    start = num(layer.get("start"), 0.0)
    length = num(layer.get("duration"), dur - start)
    end = min(start + length, dur)
    tr = layer.get("transition") or {}
    for kind in ("in", "out"):
        t = tr.get(kind)
        d = num(t.get("duration")) if isinstance(t, dict) else None
        if d and d > 0:
            special.append(start + d / 2 if kind == "in" else end - d / 2)
    for keys in (layer.get("animate") or {}).values():
        if not isinstance(keys, list):
            continue
        kt = [num(k.get("time")) for k in keys if isinstance(k, dict)]
        kt = [t for t in kt if t is not None]
        for a, b in zip(kt, kt[1:]):
            special.append(start + (a + b) / 2)

last = dur - 1e-3
def ok(t):
    return 0 <= t <= last

special = sorted({round(t, 3) for t in special if ok(t)})
fixed = [round(f * dur, 3) for f in (0.1, 0.3, 0.5, 0.7, 0.9)]
room = max(max_times - len(fixed), 0)
if len(special) > room:
    # Spread the picks evenly over the sorted midpoints.
    special = [special[int(i * len(special) / room)] for i in range(room)] if room else []
times = sorted({t for t in special + fixed if ok(t)})
print(" ".join("%.3f" % t for t in times))
PY
)
n=$(wc -w <<<"$times")
if [ "$n" -lt 5 ]; then
  echo "FAIL: only $n sample times for $name" >&2
  exit 1
fi

status=0
for t in $times; do
  for engine in gl cpu; do
    if ! "$reel" frame "$job" --at "$t" -o "$out/$t-$engine.png" --engine "$engine" \
        2>"$out/err"; then
      echo "FAIL: $name at $t s did not render with $engine: $(tail -n 3 "$out/err")" >&2
      status=1
      continue 2
    fi
  done
  "$golden" luma "$out/$t-cpu.png" "$out/$t-gl.png" "$MIN_LUMA_PSNR" || status=1
done
echo "parity $name: $n times, minimum luma PSNR $MIN_LUMA_PSNR dB: $([ $status = 0 ] && echo ok || echo FAIL)"
exit $status
