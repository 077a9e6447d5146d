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

# check_frame ENGINE NAME TIME R G B WHAT: every probe point of the frame shown at TIME.
check_frame() {
  local png=$out/$2.$1/$3.png
  for xy in "0 0" "160 120" "319 0" "0 239" "319 239" "300 120" "160 230"; do
    expect "$png" $xy "$4" "$5" "$6" "$1 $2 at $3 s ($7)"
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

head='"output": {"width": 320, "height": 240, "fps": 25, "duration": 5.2, "background": "#000000"}'
blue='{"type": "color", "color": "#0000ff"}'
transitions="fade wipe-left wipe-right wipe-up wipe-down slide-left slide-right slide-up slide-down
             circle-open circle-close radial"
# One job, one transition after another: layer k shows from 0.2 + 0.4 k for 0.4 s and enters in
# 0.2 s (ease-in). Its first frame is progress 0 (blue beneath, untouched); 0.28 s in, it is whole.
layers=$blue k=0
for tr in $transitions; do
  start=$(printf '%d.%d' $(((2 + 4 * k) / 10)) $(((2 + 4 * k) % 10)))
  layers="$layers, {\"type\": \"color\", \"color\": \"#ff0000\", \"start\": $start, \"duration\": 0.4,
    \"transition\": {\"in\": {\"type\": \"$tr\", \"duration\": 0.2, \"easing\": \"ease-in\"}}}"
  k=$((k + 1))
done
# sec CENTISECONDS: the time as golden frames names it
sec() { printf '%d.%02d00' $(($1 / 100)) $(($1 % 100)); }
for engine in $engines; do
  times=""
  for ((k = 0; k < 12; k++)); do
    times="$times,$(sec $((16 + 40 * k))),$(sec $((20 + 40 * k))),$(sec $((48 + 40 * k)))"
  done
  render "$engine" transitions "{$head, \"layers\": [$layers]}" "${times#,}"
  k=0
  for tr in $transitions; do
    # The frame before shows the previous layer whole (blue before the first): the first frame
    # of this one must not keep it.
    if [ $k = 0 ]; then
      check_frame "$engine" transitions "$(sec 16)" 0 0 255 "before $tr"
    else
      check_frame "$engine" transitions "$(sec $((16 + 40 * k)))" 255 0 0 "before $tr"
    fi
    check_frame "$engine" transitions "$(sec $((20 + 40 * k)))" 0 0 255 "$tr at progress 0"
    check_frame "$engine" transitions "$(sec $((48 + 40 * k)))" 255 0 0 "$tr once over"
    k=$((k + 1))
  done
  # Frame-sized red layers just beyond each side (and one far away), over blue.
  side_layers=$blue
  for pos in '"x": -160' '"x": 480' '"y": -120' '"y": 360' '"x": 100000, "y": -50000'; do
    side_layers="$side_layers, {\"type\": \"color\", \"color\": \"#ff0000\", \"duration\": 2, $pos}"
  done
  render "$engine" sides "{$head, \"layers\": [$side_layers]}" 0.0000,1.0000,1.9600
  for t in 0.0000 1.0000 1.9600; do check_frame "$engine" sides $t 0 0 255 "off the frame"; done
done
[ $status = 0 ] && echo "PASS: off-canvas and transition-endpoint frames on: $engines"
exit $status
