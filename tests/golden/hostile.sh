#!/usr/bin/env bash
# Hostile jobs that pass the parser: each must finish within a wall limit and a peak resident
# set (bounded.c), either refused early with limit_exceeded naming the field, or rendered with a cost
# that follows what is visible (docs/job-format.md, "Limits"):
#  - a letter with 9,999 combining accents at font_size 4320 (layers[0].text, validate and frame);
#  - a 16384 px ellipse with a 1000 px stroke in a 64x64 output (layers[0].width, validate);
#  - a blur of sigma 100 on a 4096 px shape box and on a 4096 px image box in a 64x64 output,
#    still and moving (rendered, on every engine).
# Usage: hostile.sh REEL BOUNDED [ENGINES]   (BOUNDED: tests/golden/bounded.c)
set -uo pipefail
reel=$1 bounded=$2 engines=${3:-cpu gl}
# Sanitizer builds (ASan keeps freed memory in quarantine and shadows the rest) get three times
# the bounds.
scale=1
if ldd "$reel" 2>/dev/null | grep -q libasan || nm "$reel" 2>/dev/null | grep -q __asan_init; then
  scale=3
fi
WALL=$((20 * scale))
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-hostile.XXXXXX")
trap 'rm -rf "$out"' EXIT
status=0

# Peak resident set allowed, MiB: the gl engine (llvmpipe) keeps its own copies and threads.
rss_for() { if [ "$1" = gl ]; then echo $((1536 * scale)); else echo $((400 * scale)); fi; }

# run NAME ENGINE CMD...: run under the limits (bounded: wall clock, address space, peak RSS);
# sets rc and leaves stderr in $out/NAME.err
run() {
  local name=$1 engine=$2
  shift 2
  "$bounded" "$(rss_for "$engine")" "$WALL" "$@" >"$out/$name.out" 2>"$out/$name.err"
  rc=$?
  if [ $rc = 124 ]; then
    echo "FAIL: $name: over its bounds:"; grep '^bounded:' "$out/$name.err"
    status=1
  fi
}

# refused NAME ENGINE FIELD CMD...: exit 1 with limit_exceeded at FIELD
refused() {
  local name=$1 engine=$2 field=$3
  shift 3
  run "$name" "$engine" "$@"
  if [ $rc != 1 ] || ! grep -q "limit_exceeded" "$out/$name.err" || ! grep -qF "$field" "$out/$name.err"; then
    echo "FAIL: $name: expected limit_exceeded at $field, got exit $rc:"; tail -3 "$out/$name.err"
    status=1
  else
    echo "ok: $name refused at $field ($(grep '^bounded:' "$out/$name.err"))"
  fi
}

# rendered NAME ENGINE CMD...: exit 0
rendered() {
  local name=$1 engine=$2
  shift 2
  run "$name" "$engine" "$@"
  if [ $rc != 0 ]; then
    echo "FAIL: $name: exit $rc:"; tail -3 "$out/$name.err"
    status=1
  else
    echo "ok: $name ($(grep '^bounded:' "$out/$name.err"))"
  fi
}

head='"output": {"width": 64, "height": 64, "fps": 25, "duration": 0.2}'
accents=$(printf '\\u0301%.0s' $(seq 9999))
printf '{%s, "layers": [{"type": "text", "text": "a%s", "font_size": 4320}]}\n' "$head" "$accents" >"$out/text.json"
printf '{%s, "layers": [{"type": "shape", "shape": "ellipse", "width": 16384, "height": 16384, "fill": "#ff0000", "stroke": {"color": "#00ff00", "width": 1000}}]}\n' "$head" >"$out/ellipse.json"
blur='"effects": [{"type": "blur", "sigma": 100}]'
printf '{%s, "layers": [{"type": "shape", "shape": "rect", "width": 4096, "height": 4096, "fill": "#ff8000", %s}]}\n' "$head" "$blur" >"$out/blur-shape.json"
printf '{%s, "layers": [{"type": "shape", "shape": "rect", "width": 4096, "height": 4096, "fill": "#ff8000", %s, "animate": {"x": [{"time": 0, "value": 0}, {"time": 0.2, "value": 64}]}}]}\n' "$head" "$blur" >"$out/blur-moving.json"
# A 4096 px image box (its file is small; the box is what costs).
printf '{%s, "layers": [{"type": "shape", "shape": "ellipse", "width": 48, "height": 40, "fill": "#ff8000"}]}\n' "$head" >"$out/small.json"
"$reel" frame "$out/small.json" --at 0 -o "$out/small.png" --engine cpu >/dev/null 2>&1 || true
printf '{%s, "layers": [{"type": "image", "src": "small.png", "width": 4096, "height": 4096, %s}]}\n' "$head" "$blur" >"$out/blur-image.json"

refused validate-text cpu "layers[0].text" "$reel" validate "$out/text.json"
refused validate-ellipse cpu "layers[0].width" "$reel" validate "$out/ellipse.json"
for engine in $engines; do
  refused "frame-text-$engine" "$engine" "layers[0].text" "$reel" frame "$out/text.json" --at 0 -o "$out/t.png" --engine "$engine"
  refused "frame-ellipse-$engine" "$engine" "layers[0].width" "$reel" frame "$out/ellipse.json" --at 0 -o "$out/e.png" --engine "$engine"
  for job in blur-shape blur-moving blur-image; do
    [ -f "$out/small.png" ] || { echo "FAIL: could not make the test image"; status=1; break; }
    rendered "frame-$job-$engine" "$engine" "$reel" frame "$out/$job.json" --at 0.1 -o "$out/$job.png" --engine "$engine"
    rendered "render-$job-$engine" "$engine" "$reel" render "$out/$job.json" -o "$out/$job.mp4" --engine "$engine" --progress=none
  done
done
exit $status
