#!/usr/bin/env bash
# The gl engine's whole-job path (pipelined frames, GPU YUV conversion, encoder) against the cpu
# engine's: the same example rendered to video by both, frames decoded at several times, luma PSNR
# of each pair >= 35 dB (the parity tolerance of SPEC 2.7).
# Fails when the gl engine is not usable; skips only with REEL_TEST_NO_GL=1 (skip-policy.sh).
# Usage: gl_render.sh REEL GOLDEN SOURCE_DIR EXAMPLE
set -euo pipefail
reel=$1 golden=$2 src=$3 name=$4
MIN_PSNR=35
. "$(dirname "$0")/skip-policy.sh"
require_gl "$reel" "gl_render_$name"
[ -d "$src/examples/media" ] || { echo "FAIL: examples/media is missing; run scripts/gen-media.sh"; exit 1; }
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-glrender.XXXXXX")
trap 'rm -rf "$out"' EXIT
job=$src/examples/$name.json
times=0.5000,1.5000,2.5000,3.5000
for engine in cpu gl; do
  "$reel" render "$job" -o "$out/$engine.mp4" --engine "$engine" --progress=none 2>"$out/$engine.log" \
    || { cat "$out/$engine.log"; exit 1; }
  grep -q "engine $engine" "$out/$engine.log" || { echo "FAIL: $engine was not the engine used"; exit 1; }
  mkdir -p "$out/$engine"
  "$golden" frames "$out/$engine.mp4" 640 "$times" "$out/$engine"
done
status=0
for t in ${times//,/ }; do
  "$golden" luma "$out/cpu/$t.png" "$out/gl/$t.png" "$MIN_PSNR" || status=1
done
exit $status
