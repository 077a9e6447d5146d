#!/usr/bin/env bash
# Layers that draw nothing, through `reel render` (yuv420p composition, encoder) on both engines:
# a red layer entering over a blue one with each transition must leave the blue one whole on its
# first frame (progress 0) and cover it once the transition is over, and layers wholly off each
# side of the frame must leave it untouched. Frames are read back from the encoded video, so the
# colours are checked within 12 code values.
# The gl engine must be usable (scripts/install-deps.sh installs Mesa); this fails when it is not.
# Usage: offcanvas.sh REEL GOLDEN [ENGINES]
set -euo pipefail
reel=$1 golden=$2 engines=${3:-cpu gl}
TOL=12
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-offcanvas.XXXXXX")
trap 'rm -rf "$out"' EXIT
status=0

# expect PNG X Y R G B WHAT
expect() {
  local got
  got=$("$golden" pixel "$1" "$2" "$3")
  read -r r g b <<<"$got"
  if (( ${r#-} - $4 > TOL || $4 - r > TOL || g - $5 > TOL || $5 - g > TOL || b - $6 > TOL || $6 - b > TOL )); then
    echo "FAIL: $7: pixel ($2,$3) is $got, expected $4 $5 $6"
    status=1
  fi
}

# check_frames ENGINE NAME TIME R G B: every probe point of the frame shown at TIME.
check_frame() {
  local png=$out/$2.$1/$3.png
  for xy in "0 0" "160 120" "319 0" "0 239" "319 239" "300 120" "160 230"; do
    expect "$png" $xy "$4" "$5" "$6" "$1 $2 at $3 s"
  done
}

render() { # ENGINE NAME JOBJSON
  printf '%s\n' "$3" >"$out/$2.json"
  "$reel" render "$out/$2.json" -o "$out/$2.$1.mp4" --engine "$1" --progress=none \
    2>"$out/$2.$1.log" || { cat "$out/$2.$1.log"; echo "FAIL: $1 $2 did not render"; exit 1; }
  grep -q "engine $1" "$out/$2.$1.log" || { cat "$out/$2.$1.log"; echo "FAIL: $1 was not the engine used"; exit 1; }
  mkdir -p "$out/$2.$1"
  "$golden" frames "$out/$2.$1.mp4" 320 "$4" "$out/$2.$1"
}

head='"output": {"width": 320, "height": 240, "fps": 25, "duration": 2, "background": "#000000"}'
blue='{"type": "color", "color": "#0000ff"}'
for engine in $engines; do
  for tr in fade wipe-left wipe-right wipe-up wipe-down slide-left slide-right slide-up slide-down \
            circle-open circle-close radial; do
    job="{$head, \"layers\": [$blue, {\"type\": \"color\", \"color\": \"#ff0000\", \"start\": 0.2,
      \"duration\": 1.6, \"transition\": {\"in\": {\"type\": \"$tr\", \"duration\": 0.6,
      \"easing\": \"ease-in\"}}}]}"
    render "$engine" "$tr" "$job" 0.1600,0.2000,0.8000,1.0000
    check_frame "$engine" "$tr" 0.1600 0 0 255
    check_frame "$engine" "$tr" 0.2000 0 0 255
    check_frame "$engine" "$tr" 0.8000 255 0 0
    check_frame "$engine" "$tr" 1.0000 255 0 0
  done
  # Frame-sized red layers just beyond each side (and one far away), over blue.
  layers=$blue
  for pos in '"x": -160' '"x": 480' '"y": -120' '"y": 360' '"x": 100000, "y": -50000'; do
    layers="$layers, {\"type\": \"color\", \"color\": \"#ff0000\", $pos}"
  done
  render "$engine" sides "{$head, \"layers\": [$layers]}" 0.0000,1.0000,1.9600
  for t in 0.0000 1.0000 1.9600; do check_frame "$engine" sides $t 0 0 255; done
done
[ $status = 0 ] && echo "PASS: off-canvas and transition-endpoint frames on: $engines"
exit $status
