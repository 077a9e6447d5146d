#!/usr/bin/env bash
# Interlaced, wide-gamut and HDR sources, generated here with ffmpeg and checked through
# `reel frame`: an interlaced clip is deinterlaced (no combing, the top field's picture at each
# frame's time) unless the layer says "deinterlace": false; SDR sources tagged BT.2020, SMPTE 170M
# or BT.470 B/G primaries are converted to BT.709; PQ and HLG clips are tone-mapped as
# docs/engines.md states (signal.py computes the expected code values from those formulas).
#
# Usage: signal.sh REEL GOLDEN ENGINE
# ENGINE gl also compares every frame with the cpu engine's (luma PSNR, the SPEC's parity bound).
# The gl engine must be usable (install-deps provides Mesa): when it is not the test fails, unless
# REEL_TEST_NO_GL=1 is set, which skips it (exit 77) with a line saying so.
set -uo pipefail
reel=$1 golden=$2 engine=$3
here=$(cd "$(dirname "$0")" && pwd)
MIN_LUMA_PSNR=35

for tool in ffmpeg python3; do
  command -v $tool >/dev/null || {
    echo "FAIL: $tool is missing (scripts/install-deps.sh installs it)"
    exit 1
  }
done
# shellcheck source=tests/golden/skip-policy.sh
. "$here/skip-policy.sh"
[ "$engine" = gl ] && require_gl "$reel" signal
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-signal.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
ff() { ffmpeg -nostdin -hide_banner -loglevel error -y "$@"; }

# quads FILE KIND TAGS C1 C2 C3 C4: 640x360 10-bit HEVC (lossless), quadrants top left, top
# right, bottom left, bottom right in colours "R G B" as signal.py reads them for KIND.
quads() {
  local file=$1 kind=$2 tags=$3 y=() u=() v=() i c
  shift 3
  for i in 0 1 2 3; do
    # shellcheck disable=SC2086
    c=$(python3 "$here/signal.py" encode "$kind" $1) || return 1
    read -r "y[$i]" "u[$i]" "v[$i]" <<<"$c"
    shift
  done
  q() { echo "if(lt(Y,H/2),if(lt(X,W/2),$1,$2),if(lt(X,W/2),$3,$4))"; }
  # shellcheck disable=SC2086
  ff -f lavfi -i "color=black:s=640x360:r=30:d=0.2,format=yuv420p10le,geq=lum='$(q "${y[@]}")':cb='$(q "${u[@]}")':cr='$(q "${v[@]}")'" \
    -c:v libx265 -preset ultrafast -x265-params lossless=1:log-level=error $tags -color_range tv \
    -tag:v hvc1 "$dir/$file"
}

# frame NAME TIME JOBJSON: render one frame to NAME.ENGINE.png (with gl also with cpu, compared)
frame() {
  local e
  printf '%s\n' "$3" >"$dir/$1.json"
  for e in $engine $([ "$engine" = gl ] && echo cpu); do
    if ! "$reel" frame "$dir/$1.json" --at "$2" -o "$dir/$1.$e.png" --engine "$e" \
      --asset-root "$dir" 2>"$dir/err"; then
      fail "$1 did not render ($e): $(cat "$dir/err")"
      return 1
    fi
  done
  if [ "$engine" = gl ] &&
    ! "$golden" luma "$dir/$1.gl.png" "$dir/$1.cpu.png" $MIN_LUMA_PSNR >"$dir/psnr"; then
    fail "$1: gl and cpu differ: $(cat "$dir/psnr")"
  fi
}

# expect NAME X Y "R G B" TOL WHY
expect() {
  local got r g b er eg eb
  got=$("$golden" pixel "$dir/$1.$engine.png" "$2" "$3") || {
    fail "$1: no pixel ($2,$3)"
    return
  }
  read -r r g b <<<"$got"
  read -r er eg eb <<<"$4"
  if [ $(((r - er) * (r - er) > $5 * $5 || (g - eg) * (g - eg) > $5 * $5 ||
    (b - eb) * (b - eb) > $5 * $5)) = 1 ]; then
    fail "$1 pixel ($2,$3) = $r $g $b, expected $4 ±$5: $6"
  else
    passes=$((passes + 1))
  fi
}

video_job() {
  echo "{ \"output\": {\"width\": 640, \"height\": 360, \"fps\": 30, \"duration\": 1},
  \"layers\": [ { \"type\": \"video\", \"src\": \"$1\", \"fit\": \"fill\" ${2:-} } ] }"
}

# 1. Interlaced: 30 fps, top field first, made from 60 fps vertical stripes (16 px white, 16 px
# black) moving 4 px right per field, so the fields of a frame are 4 px apart. Frame n's top
# field has the stripes at offset 8n: white where (x - 8n) mod 32 < 16. Rows 330 and below are
# grey at luma 16 + 6n in both fields, which tells the frame shown.
ff -f lavfi -i "color=black:s=640x360:r=60:d=1.2,format=yuv420p,geq=lum='if(gte(Y,330),16+6*floor(N/2),if(lt(mod(X-4*N,32),16),235,16))':cb=128:cr=128" \
  -vf "tinterlace=mode=interleave_top" -c:v libx264 -preset ultrafast -qp 0 -threads 1 \
  -flags +ildct+ilme -x264-params tff=1 -field_order tt -pix_fmt yuv420p \
  "$dir/interlaced.mp4" || fail "cannot make interlaced.mp4"

# Mean absolute difference between neighbouring rows (0..255): combing makes it large.
comb() {
  ffmpeg -nostdin -hide_banner -loglevel error -i "$1" -filter_complex \
    "[0]format=yuv444p,split[a][b];[a]crop=iw:ih-1:0:0[x];[b]crop=iw:ih-1:0:1[y];[x][y]blend=all_mode=difference,signalstats,metadata=print:key=lavfi.signalstats.YAVG:file=-" \
    -f null - | sed -n 's/.*YAVG=//p' | head -1
}

if frame deint 0.5 "$(video_job interlaced.mp4)" &&
  frame woven 0.5 "$(video_job interlaced.mp4 ', "deinterlace": false')"; then
  c_on=$(comb "$dir/deint.$engine.png") c_off=$(comb "$dir/woven.$engine.png")
  echo "row-to-row difference: deinterlaced $c_on, \"deinterlace\": false $c_off"
  if awk -v a="$c_off" 'BEGIN { exit !(a > 30) }'; then
    passes=$((passes + 1))
  else
    fail "\"deinterlace\": false should leave the fields woven (combing ~50), got $c_off"
  fi
  if awk -v a="$c_on" -v b="$c_off" 'BEGIN { exit !(a < 4 && a * 10 < b) }'; then
    passes=$((passes + 1))
  else
    fail "combing left after deinterlacing: $c_on (woven $c_off)"
  fi
  # Frame 15 (t = 0.5 s), top field: stripes at offset 120 mod 32 = 24. The bottom field (28)
  # or frames 14 (16) and 16 (0) would put black or white elsewhere.
  # Frame 15 itself: grey 16 + 6 x 15 = 106 (RGB 105); frames 14 and 16 are 7 away.
  expect deint 320 345 "105 105 105" 3 "the frame at 0.5 s is source frame 15"
  expect woven 320 345 "105 105 105" 3 "the frame at 0.5 s is source frame 15"
  for y in 101 180 259; do
    expect deint 26 $y "255 255 255" 40 "frame 15, top field: white at x 26"
    expect deint 32 $y "255 255 255" 40 "frame 15, top field: white at x 32"
    expect deint 42 $y "0 0 0" 40 "frame 15, top field: black at x 42"
    expect deint 48 $y "0 0 0" 40 "frame 15, top field: black at x 48"
  done
fi

# The same through a whole render (frames decoded in order, not sought): frames 3, 15 and 27 show
# grey 16 + 6n (RGB 21, 105, 189).
video_job interlaced.mp4 >"$dir/deint-render.json"
if "$reel" render "$dir/deint-render.json" -o "$dir/deint-render.mp4" --engine "$engine" \
  --asset-root "$dir" --progress=none 2>"$dir/err" && mkdir -p "$dir/frames" &&
  "$golden" frames "$dir/deint-render.mp4" 640 0.1167,0.5167,0.9167 "$dir/frames" >/dev/null; then
  for nv in "0.1167 21" "0.5167 105" "0.9167 189"; do
    # shellcheck disable=SC2086
    set -- $nv
    cp "$dir/frames/$1.png" "$dir/render-$1.$engine.png"
    expect "render-$1" 320 345 "$2 $2 $2" 4 "render: the frame at $1 s is source frame $((${1#0.} * 30 / 10000))"
  done
else
  fail "the interlaced clip did not render: $(cat "$dir/err")"
fi

# 2. SDR wide-gamut and BT.601 primaries to BT.709.
pixel_cases() { # NAME KIND "C1" "C2" "C3" "C4" TOL
  local name=$1 kind=$2 tol=$7 cols=("$3" "$4" "$5" "$6") i=0 xy
  for xy in "160 90" "480 90" "160 270" "480 270"; do
    # shellcheck disable=SC2086
    expect "$name" $xy "$(python3 "$here/signal.py" expect "$kind" ${cols[$i]})" "$tol" \
      "$kind source colour ${cols[$i]}"
    i=$((i + 1))
  done
}
sdr2020=("192 64 32" "192 64 32" "40 160 200" "230 230 230")
quads sdr2020.mp4 sdr2020 "-color_primaries bt2020 -color_trc bt2020-10 -colorspace bt2020nc" \
  "${sdr2020[@]}" || fail "cannot make sdr2020.mp4"
frame sdr2020 0.05 "$(video_job sdr2020.mp4)" &&
  pixel_cases sdr2020 sdr2020 "${sdr2020[@]}" 3
# #C04020 once more on its own: a BT.2020 source drawn without conversion comes out about #9F522F.
[ -f "$dir/sdr2020.$engine.png" ] && expect sdr2020 160 90 "192 64 32" 3 "BT.2020 #C04020"

c170m=("0 255 0" "255 0 0" "0 0 255" "128 128 128")
quads 170m.mp4 170m "-color_primaries smpte170m -color_trc smpte170m -colorspace smpte170m" \
  "${c170m[@]}" || fail "cannot make 170m.mp4"
frame 170m 0.05 "$(video_job 170m.mp4)" && pixel_cases 170m 170m "${c170m[@]}" 3

c470bg=("64 192 64" "255 0 0" "0 0 255" "200 100 50")
quads 470bg.mp4 470bg "-color_primaries bt470bg -color_trc smpte170m -colorspace bt470bg" \
  "${c470bg[@]}" || fail "cannot make 470bg.mp4"
frame 470bg 0.05 "$(video_job 470bg.mp4)" && pixel_cases 470bg 470bg "${c470bg[@]}" 3

# 3. HDR, tone-mapped to SDR BT.709: PQ colours in cd/m2, HLG colours in scene light 0..1.
pq=("200 50 20" "1000 1000 1000" "20 20 20" "10 80 300")
quads pq.mp4 pq "-color_primaries bt2020 -color_trc smpte2084 -colorspace bt2020nc" "${pq[@]}" ||
  fail "cannot make pq.mp4"
frame pq 0.05 "$(video_job pq.mp4)" && pixel_cases pq pq "${pq[@]}" 3

hlg=("0.5 0.1 0.05" "1 1 1" "0.05 0.05 0.05" "0.02 0.2 0.4")
quads hlg.mp4 hlg "-color_primaries bt2020 -color_trc arib-std-b67 -colorspace bt2020nc" \
  "${hlg[@]}" || fail "cannot make hlg.mp4"
frame hlg 0.05 "$(video_job hlg.mp4)" && pixel_cases hlg hlg "${hlg[@]}" 3

echo "signal ($engine): $passes checks passed, $fails failed"
[ "$fails" = 0 ]
