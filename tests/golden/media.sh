#!/usr/bin/env bash
# Real-world sources (examples/media/real, written by scripts/gen-media.sh): each is drawn as its
# metadata says, checked through the whole CLI (`reel frame`, `reel render`) at pixels whose colour
# follows from how the file was made: the eight orientations of video display matrices and of EXIF
# (JPEG; PNG and WebP too), alpha in VP9 and VP8 WebM, an anamorphic clip fitted by its display size, the length
# of a video layer without a duration, variable and NTSC frame rates, 10-bit HEVC, full-range and
# BT.601 sources, an odd size, 5.1 and 8 kHz audio, paletted and 16-bit PNGs, and damaged files
# failing with an error that names the layer.
#
# Usage: media.sh REEL GOLDEN SOURCE_DIR ENGINE
# ENGINE gl also compares every frame with the cpu engine's (luma PSNR, the SPEC's parity bound).
# The gl engine must be usable (install-deps provides Mesa): when it is not the test fails, unless
# REEL_TEST_NO_GL=1 is set, which skips it (exit 77) with a line saying so.
set -uo pipefail
reel=$1 golden=$2 src=$3 engine=$4
media=$src/examples/media/real
MIN_LUMA_PSNR=35

if [ ! -f "$media/empty.mp4" ]; then
  echo "FAIL: $media is missing or incomplete; run scripts/gen-media.sh examples/media first"
  exit 1
fi
if [ "$engine" = gl ]; then
  if [ "${REEL_TEST_NO_GL:-}" = 1 ]; then
    echo "SKIP-OPTOUT: REEL_TEST_NO_GL=1 is set, so the gl engine is NOT tested: media skipped"
    exit 77
  fi
  if ! "$reel" probe 2>/dev/null | grep -Eq '^  gl +usable$'; then
    echo "FAIL: the gl engine is not usable on this host (install-deps provides Mesa):"
    "$reel" probe 2>&1 | awk '/^  gl /{p=1} /^  cpu /{p=0} p'
    exit 1
  fi
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-media.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }

# job NAME JSON: write a job file
job() { printf '%s\n' "$2" >"$dir/$1.json"; }

# frame NAME TIME: render one frame to NAME@TIME.png (with ENGINE gl, also with cpu, compared)
frame() {
  local e
  for e in $engine $([ "$engine" = gl ] && echo cpu); do
    if ! "$reel" frame "$dir/$1.json" --at "$2" -o "$dir/$1@$2.$e.png" --engine "$e" \
      --asset-root "$media" 2>"$dir/err"; then
      fail "$1 at $2 s did not render ($e): $(cat "$dir/err")"
      return 1
    fi
  done
  if [ "$engine" = gl ] &&
    ! "$golden" luma "$dir/$1@$2.gl.png" "$dir/$1@$2.cpu.png" $MIN_LUMA_PSNR >"$dir/psnr"; then
    fail "$1 at $2 s: gl and cpu differ: $(cat "$dir/psnr")"
  fi
}

# expect NAME TIME X Y R G B TOL WHY
expect() {
  local got r g b
  got=$("$golden" pixel "$dir/$1@$2.$engine.png" "$3" "$4") || {
    fail "$1 at $2 s: no pixel ($3,$4)"
    return
  }
  read -r r g b <<<"$got"
  if [ $(((r - $5) * (r - $5) > $8 * $8 || (g - $6) * (g - $6) > $8 * $8 ||
    (b - $7) * (b - $7) > $8 * $8)) = 1 ]; then
    fail "$1 at $2 s pixel ($3,$4) = $r $g $b, expected $5 $6 $7 ±$8: $9"
  else
    passes=$((passes + 1))
  fi
}

OUT='"output": {"width": 640, "height": 360, "fps": 30, "duration": 2, "background": "#000000"}'

# The stored pattern: quadrants red (top left), green (top right), blue (bottom left), white.
quad_rgb() {
  case $1$2 in
  00) echo "255 0 0" ;; 10) echo "0 255 0" ;; 01) echo "0 0 255" ;; *) echo "255 255 255" ;;
  esac
}
# stored_quad O QX QY: the stored quadrant shown at display quadrant (QX, QY) for EXIF
# orientation O (2 mirror, 3 half turn, 4 flip, 5 transpose, 6 quarter turn clockwise,
# 7 transverse, 8 quarter turn counter-clockwise).
stored_quad() {
  local o=$1 x=$2 y=$3
  case $o in
  1) echo "$x $y" ;; 2) echo "$((1 - x)) $y" ;; 3) echo "$((1 - x)) $((1 - y))" ;;
  4) echo "$x $((1 - y))" ;; 5) echo "$y $x" ;; 6) echo "$y $((1 - x))" ;;
  7) echo "$((1 - y)) $((1 - x))" ;; 8) echo "$((1 - y)) $x" ;;
  esac
}

# cell I: layer geometry of cell I of a 4 x 2 grid of 160 x 180 boxes, filled
cell() {
  echo "\"x\": $((80 + 160 * ($1 % 4))), \"y\": $((90 + 180 * ($1 / 4))), \"width\": 160, \"height\": 180, \"fit\": \"fill\""
}

# expect_quads NAME TIME CELL ORIENTATION WHY: the four quadrant centres of a grid cell
expect_quads() {
  local cx=$((80 + 160 * ($3 % 4))) cy=$((90 + 180 * ($3 / 4))) qx qy s
  for qy in 0 1; do
    for qx in 0 1; do
      # shellcheck disable=SC2046
      s=$(quad_rgb $(stored_quad "$4" $qx $qy))
      # shellcheck disable=SC2086
      expect "$1" "$2" $((cx - 40 + 80 * qx)) $((cy - 45 + 90 * qy)) $s 40 \
        "$5, quadrant ($qx,$qy)"
    done
  done
}

# 1. Orientation: video display matrices and JPEG EXIF, all eight, each filling one cell.
for kind in mp4:video jpg:image; do
  ext=${kind%%:*} type=${kind##*:}
  layers=""
  for o in 1 2 3 4 5 6 7 8; do
    layers="$layers${layers:+,} { \"type\": \"$type\", \"src\": \"orient-$o.$ext\", $(cell $((o - 1))) }"
  done
  job "orient-$ext" "{ $OUT, \"layers\": [ $layers ] }"
  if frame "orient-$ext" 0.1; then
    for o in 1 2 3 4 5 6 7 8; do
      expect_quads "orient-$ext" 0.1 $((o - 1)) $o "orient-$o.$ext (orientation $o)"
    done
  fi
done

# 2. PNGs: EXIF orientation 6 in an eXIf chunk, paletted, 16 bits per channel; a WebP with EXIF
# orientation 8.
job png "{ $OUT, \"layers\": [
  { \"type\": \"image\", \"src\": \"orient-6.png\", $(cell 0) },
  { \"type\": \"image\", \"src\": \"palette.png\", $(cell 1) },
  { \"type\": \"image\", \"src\": \"deep.png\", $(cell 2) },
  { \"type\": \"image\", \"src\": \"orient-8.webp\", $(cell 3) } ] }"
if frame png 0.5; then
  expect_quads png 0.5 0 6 "orient-6.png (eXIf orientation 6)"
  expect_quads png 0.5 1 1 "palette.png"
  expect_quads png 0.5 2 1 "deep.png (16-bit)"
  expect_quads png 0.5 3 8 "orient-8.webp (EXIF orientation 8)"
fi

# 3. Alpha in WebM: the left half of each clip is transparent and shows the blue below.
job alpha "{ $OUT, \"layers\": [ { \"type\": \"color\", \"color\": \"#0000ff\" },
  { \"type\": \"video\", \"src\": \"alpha-vp9.webm\", \"x\": 160, \"width\": 320, \"height\": 360, \"fit\": \"fill\" },
  { \"type\": \"video\", \"src\": \"alpha-vp8.webm\", \"x\": 480, \"width\": 320, \"height\": 360, \"fit\": \"fill\" } ] }"
if frame alpha 0.1; then
  expect alpha 0.1 60 180 0 0 255 30 "VP9: transparent half shows the layer below"
  expect alpha 0.1 260 180 255 0 0 30 "VP9: opaque half"
  expect alpha 0.1 380 180 0 0 255 30 "VP8: transparent half shows the layer below"
  expect alpha 0.1 580 180 255 0 0 30 "VP8: opaque half"
fi

# 4. Sample aspect ratio: 180x144 at 64:45 shows as 256x144 (16:9) and fills 640x360 with
# contain; left half red, right half green.
job sar "{ $OUT, \"layers\": [ { \"type\": \"video\", \"src\": \"anamorphic.mp4\", \"fit\": \"contain\" } ] }"
if frame sar 0.1; then
  expect sar 0.1 20 180 255 0 0 40 "contain fills the width (display size 16:9, not 5:4)"
  expect sar 0.1 300 180 255 0 0 40 "left half"
  expect sar 0.1 340 180 0 255 0 40 "right half"
  expect sar 0.1 620 180 0 255 0 40 "contain fills the width on the right"
fi
# Natural size (fit none) in a smaller box: 256x144 centred, cropped to the 200x100 box.
job sar-none "{ $OUT, \"layers\": [ { \"type\": \"video\", \"src\": \"anamorphic.mp4\", \"fit\": \"none\",
  \"width\": 200, \"height\": 100 } ] }"
if frame sar-none 0.1; then
  expect sar-none 0.1 225 180 255 0 0 40 "natural size: red up to the middle"
  expect sar-none 0.1 310 180 255 0 0 40 "natural size: red just left of the middle"
  expect sar-none 0.1 330 180 0 255 0 40 "natural size: green just right of the middle"
  expect sar-none 0.1 415 180 0 255 0 40 "natural size: green to the box's edge"
  expect sar-none 0.1 215 180 0 0 0 0 "outside the box"
fi

# 5. Frame rates: variable (red 0.5 s at 10 fps, then green at 25 fps) and 23.976 fps (red for
# 1 s, then green) into a 30 fps output.
job rates "{ $OUT, \"layers\": [
  { \"type\": \"video\", \"src\": \"vfr.mp4\", $(cell 0) },
  { \"type\": \"video\", \"src\": \"ntsc.mp4\", $(cell 1) } ] }"
for t in 0.3 0.8 0.9 1.1; do frame rates $t; done
expect rates 0.3 80 90 255 0 0 40 "VFR: first part"
expect rates 0.8 80 90 0 255 0 40 "VFR: second part"
expect rates 0.9 240 90 255 0 0 40 "23.976 fps: before 1 s"
expect rates 1.1 240 90 0 255 0 40 "23.976 fps: after 1 s"

# 6. Colour: #C04020 through 10-bit HEVC, full-range H.264 and BT.601-tagged 720p H.264.
job colour "{ $OUT, \"layers\": [
  { \"type\": \"video\", \"src\": \"hevc10.mp4\", $(cell 0) },
  { \"type\": \"video\", \"src\": \"full-range.mp4\", $(cell 1) },
  { \"type\": \"video\", \"src\": \"bt601-720p.mp4\", $(cell 2) } ] }"
if frame colour 0.05; then
  expect colour 0.05 80 90 192 64 32 6 "10-bit HEVC"
  expect colour 0.05 240 90 192 64 32 6 "full range"
  expect colour 0.05 400 90 192 64 32 6 "BT.601 at 720p"
fi

# 7. An odd size (63x35 VP9) at its natural size, centred: x 288.5..351.5, y 162.5..197.5.
job odd "{ $OUT, \"layers\": [ { \"type\": \"video\", \"src\": \"odd.webm\", \"fit\": \"none\" } ] }"
if frame odd 0.1; then
  expect odd 0.1 290 164 255 0 0 30 "top-left inside"
  expect odd 0.1 350 196 255 0 0 30 "bottom-right inside"
  expect odd 0.1 286 180 0 0 0 0 "left of the picture"
  expect odd 0.1 353 180 0 0 0 0 "right of the picture"
  expect odd 0.1 320 160 0 0 0 0 "above the picture"
  expect odd 0.1 320 199 0 0 0 0 "below the picture"
fi

# render NAME: render the job to NAME.mp4 with ENGINE
render() {
  "$reel" render "$dir/$1.json" -o "$dir/$1.mp4" --engine "$engine" --progress none \
    --asset-root "$media" >/dev/null 2>"$dir/err" ||
    { fail "$1 did not render: $(cat "$dir/err")"; return 1; }
}

# 8. A video layer without a duration lasts as long as its frames: 10 frames at 30 fps cover
# exactly 10 output frames at 30 fps, 1 frame 1 (the MP4's own duration is rounded up to the ms).
for clip in ten-frames:10 one-frame:1; do
  name=${clip%%:*} n=${clip##*:}
  job "$name" "{ \"output\": {\"width\": 64, \"height\": 36, \"fps\": 30},
    \"layers\": [ { \"type\": \"video\", \"src\": \"$name.mp4\" } ] }"
  if render "$name"; then
    got=$("$golden" info "$dir/$name.mp4" | sed -n 's/^frames //p')
    if [ "$got" = "$n" ]; then passes=$((passes + 1)); else
      fail "$name.mp4 ($n frames at 30 fps) without a duration rendered $got frames, expected $n"
    fi
  fi
done

# 9. Audio: 5.1 AAC and 8 kHz mono, mixed to the output's stereo 48 kHz at their level.
for a in surround.m4a phone.wav; do
  job "audio-$a" "{ \"output\": {\"width\": 64, \"height\": 36, \"fps\": 10, \"duration\": 1},
    \"layers\": [ { \"type\": \"color\", \"color\": \"#000000\" }, { \"type\": \"audio\", \"src\": \"$a\" } ] }"
  if render "audio-$a"; then
    info=$("$golden" info "$dir/audio-$a.mp4")
    if grep -q '^audio aac 48000 Hz 2 ch' <<<"$info"; then passes=$((passes + 1)); else
      fail "$a: the output's audio is not 48 kHz stereo AAC: $(grep '^audio' <<<"$info")"
    fi
    # RMS of the middle window, both channels: the tone is there, not silence.
    levels=$("$golden" audio "$dir/audio-$a.mp4" | awk '$1 == 5 { print $3 }')
    for rms in $levels; do
      if awk -v v="$rms" 'BEGIN { exit !(v > -40) }'; then passes=$((passes + 1)); else
        fail "$a: the mixed tone is at $rms dBFS in 0.5..0.6 s, expected above -40"
      fi
    done
    [ -n "$levels" ] || fail "$a: no audio levels in the output"
  fi
done

# 10. Damaged files fail the job with an error naming the layer's source.
for bad in truncated.mp4:video truncated.jpg:image empty.mp4:video; do
  f=${bad%%:*} type=${bad##*:}
  job bad "{ $OUT, \"layers\": [ { \"type\": \"$type\", \"src\": \"$f\" } ] }"
  "$reel" frame "$dir/bad.json" --at 0.1 -o "$dir/bad.png" --engine "$engine" \
    --asset-root "$media" >/dev/null 2>"$dir/err"
  rc=$?
  if [ $rc = 1 ] && grep -q "error: decode_failed .*at layers\[0\]\.src" "$dir/err"; then
    passes=$((passes + 1))
  else
    fail "$f: expected exit 1 with decode_failed at layers[0].src, got $rc: $(cat "$dir/err")"
  fi
done

echo "media ($engine): $passes passed, $fails failed"
[ "$fails" = 0 ]
