#!/usr/bin/env bash
# Semantic pixel probes through the whole CLI (`reel frame`): each renders a small job at one time
# and checks pixels whose values follow from the SPEC's formulas.
# For the gl engine: fails when it is not usable; skips only with REEL_TEST_NO_GL=1
# (skip-policy.sh).
# Usage: probes.sh REEL GOLDEN [ENGINE]
set -uo pipefail
reel=$1 golden=$2 engine=${3:-cpu}
if [ "$engine" = gl ]; then
  . "$(dirname "$0")/skip-policy.sh"
  require_gl "$reel" "the gl probes"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-probes.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0

# job NAME JSON: write a job file
job() { printf '%s\n' "$2" > "$dir/$1.json"; }

# frame NAME TIME: render one frame to NAME@TIME.png
frame() {
  if ! "$reel" frame "$dir/$1.json" --at "$2" -o "$dir/$1@$2.png" --engine "$engine" 2>"$dir/err"; then
    echo "FAIL: $1 at $2 s did not render: $(cat "$dir/err")"; fails=$((fails + 1)); return 1
  fi
}

# expect NAME TIME X Y R G B TOL WHY
expect() {
  local got; got=$("$golden" pixel "$dir/$1@$2.png" "$3" "$4") || { fails=$((fails + 1)); return; }
  read -r r g b <<<"$got"
  if [ $(( (r-$5)*(r-$5) > $8*$8 || (g-$6)*(g-$6) > $8*$8 || (b-$7)*(b-$7) > $8*$8 )) = 1 ]; then
    echo "FAIL: $1 at $2 s pixel ($3,$4) = $r $g $b, expected $5 $6 $7 ±$8: $9"; fails=$((fails + 1))
  else
    passes=$((passes + 1))
  fi
}

W='"output": {"width": 640, "height": 360, "fps": 10, "duration": 2, "background": "#000000"}'

# A wipe-left half-way (p = 0.5, linear) shows the layer exactly where x >= W/2.
job wipe "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#ffffff\",
  \"transition\": { \"in\": { \"type\": \"wipe-left\", \"duration\": 1 } } } ] }"
frame wipe 0.5 && {
  expect wipe 0.5 319 180 0 0 0 0 "left of x = W/2 is not yet wiped in"
  expect wipe 0.5 320 180 255 255 255 0 "x >= W/2 shows the layer"
  expect wipe 0.5 10 10 0 0 0 0 "far left is background"
  expect wipe 0.5 630 350 255 255 255 0 "far right is the layer"
}

# An anchor of [0, 0] puts the layer's top-left corner on (x, y).
job anchor "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#ff0000\", \"width\": 100,
  \"height\": 100, \"x\": 50, \"y\": 60, \"anchor\": [0, 0] } ] }"
frame anchor 1 && {
  expect anchor 1 50 60 255 0 0 0 "the corner pixel is covered"
  expect anchor 1 49 60 0 0 0 0 "left of the corner is background"
  expect anchor 1 50 59 0 0 0 0 "above the corner is background"
  expect anchor 1 149 159 255 0 0 0 "the opposite corner pixel is covered"
  expect anchor 1 150 160 0 0 0 0 "past the box is background"
}

# Opacity 0.5 of white over black reads mid-grey.
job opacity "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#ffffff\", \"opacity\": 0.5 } ] }"
frame opacity 1 && expect opacity 1 320 180 128 128 128 1 "0.5 x 255"

# Fade in over 1 s: at 0.25 s, a quarter of the layer.
job fade "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#ffffff\",
  \"transition\": { \"in\": { \"type\": \"fade\", \"duration\": 1 } } } ] }"
frame fade 0.25 && expect fade 0.25 320 180 64 64 64 1 "0.25 x 255"

# An x keyframe animation, linear: half-way between 100 and 500 at t = 0.5 s.
job anim "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#00ff00\", \"width\": 20,
  \"height\": 20, \"y\": 180, \"animate\": { \"x\": [ { \"time\": 0, \"value\": 100 },
  { \"time\": 1, \"value\": 500 } ] } } ] }"
frame anim 0.5 && {
  expect anim 0.5 300 180 0 255 0 0 "the layer is centred on x = 300"
  expect anim 0.5 289 180 0 0 0 0 "left edge at x = 290"
  expect anim 0.5 311 180 0 0 0 0 "right edge at x = 310"
}

# Layers are visible for start <= t < start + duration.
job vis "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#0000ff\", \"start\": 0.5,
  \"duration\": 1 } ] }"
frame vis 0.4 && expect vis 0.4 320 180 0 0 0 0 "before start"
frame vis 0.5 && expect vis 0.5 320 180 0 0 255 0 "at start"
frame vis 1.5 && expect vis 1.5 320 180 0 0 0 0 "at start + duration"

# Painted bottom to top.
job order "{ $W, \"layers\": [ { \"type\": \"color\", \"color\": \"#ff0000\" },
  { \"type\": \"color\", \"color\": \"#0000ff\", \"width\": 100, \"height\": 100 } ] }"
frame order 1 && {
  expect order 1 320 180 0 0 255 0 "the upper layer covers the lower"
  expect order 1 10 10 255 0 0 0 "the lower layer shows around it"
}

echo "probes ($engine): $passes passed, $fails failed"
[ "$fails" = 0 ]
