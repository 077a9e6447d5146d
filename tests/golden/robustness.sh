#!/usr/bin/env bash
# CLI robustness: bad inputs end with the right error code, exit status 1 (not a crash) and no file
# at the output path. Usage: robustness.sh REEL SOURCE_DIR
set -uo pipefail
reel=$1 src=$2
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-robust.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0

# run NAME WANT_STATUS WANT_CODE OUTFILE -- reel args...
run() {
  local name=$1 want_status=$2 want_code=$3 out=$4; shift 5
  "$reel" "$@" >"$dir/$name.out" 2>"$dir/$name.err"
  local st=$?
  local ok=1
  [ "$st" = "$want_status" ] || { echo "FAIL: $name exited $st, expected $want_status"; ok=0; }
  if [ -n "$want_code" ] && ! grep -q "error: $want_code " "$dir/$name.err"; then
    echo "FAIL: $name: stderr lacks '$want_code':"; cat "$dir/$name.err"; ok=0
  fi
  if [ -n "$out" ] && [ -e "$out" ]; then echo "FAIL: $name left $out behind"; ok=0; fi
  if [ -n "$out" ] && ls -a "$(dirname "$out")" 2>/dev/null | grep -q '\.partial$'; then
    echo "FAIL: $name left a temporary file in $(dirname "$out")"; ok=0
  fi
  if [ $ok = 1 ]; then passes=$((passes + 1)); else fails=$((fails + 1)); fi
}

W='"output": {"width": 320, "height": 240, "fps": 10, "duration": 1}'
mkdir -p "$dir/out"

printf '{ %s, "layers": [ { "type": "video", "src": "missing.mp4" } ] }\n' "$W" > "$dir/missing.json"
run missing_asset 1 asset_not_found "$dir/out/a.mp4" -- render "$dir/missing.json" -o "$dir/out/a.mp4"

# Noise that no demuxer takes. Fixed bytes, not /dev/urandom: now and then a fresh random buffer
# looks enough like a raw stream (H.263, MP3) to FFmpeg's probe that the job ends in
# asset_unsupported instead, which is right for that file but not the case tested here.
python3 -c 'import random, sys; random.seed(1); sys.stdout.buffer.write(random.randbytes(65536))' \
  > "$dir/corrupt.mp4"
printf '{ %s, "layers": [ { "type": "video", "src": "corrupt.mp4" } ] }\n' "$W" > "$dir/corrupt.json"
run corrupt_video 1 decode_failed "$dir/out/b.mp4" -- render "$dir/corrupt.json" -o "$dir/out/b.mp4"

# A valid MP4 whose coded pictures are scrambled: the container (moov first, +faststart) is intact,
# so `validate` and probing succeed, and the damage is met by the decoder, which must end the job
# with decode_failed naming the layer and the file, not a crash, a hang or a garbage video.
# (ffmpeg comes with install-deps: without it this case fails.)
if ! command -v ffmpeg >/dev/null; then
  echo "FAIL: scrambled_video: the ffmpeg tool is missing (scripts/install-deps.sh installs it)"
  fails=$((fails + 1))
else
  ffmpeg -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=10:duration=2 -c:v libx264 \
    -pix_fmt yuv420p -movflags +faststart "$dir/good.mp4"
  python3 - "$dir/good.mp4" "$dir/trunc.mp4" <<'PY'
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
# Walk the top-level boxes; scramble the payload of mdat only, after the moov.
off, seen = 0, []
while off + 8 <= len(data):
    size, kind = struct.unpack(">I4s", data[off:off + 8])
    seen.append(kind)
    if kind == b"mdat":
        for i in range(off + 8 + 64, off + size, 7):
            data[i] ^= 0x5A
    off += size
if b"mdat" not in seen or b"moov" not in seen or seen.index(b"moov") > seen.index(b"mdat"):
    sys.exit("the test clip does not have moov before mdat: %r" % seen)
open(sys.argv[2], "wb").write(data)
PY
  printf '{ %s, "layers": [ { "type": "video", "src": "trunc.mp4" } ] }\n' "$W" > "$dir/trunc.json"
  run scrambled_validates 0 "" "" -- validate "$dir/trunc.json"
  # The error must name layer $2's index, the file and the decoding.
  names_layer() {
    if grep -q "error: decode_failed (stage [a-z]*) at layers\[$2\]: .*trunc.mp4: decoding failed" \
        "$dir/$1.err"; then
      passes=$((passes + 1))
    else
      echo "FAIL: $1: the error does not name layers[$2], the file and the decoding:"
      grep 'error:' "$dir/$1.err"; fails=$((fails + 1))
    fi
  }
  run scrambled_video 1 decode_failed "$dir/out/c.mp4" -- render "$dir/trunc.json" -o "$dir/out/c.mp4"
  names_layer scrambled_video 0
  # The same damage in a later video layer, whose source prepare opens ahead on a thread of its
  # own while it opens the first: the error is still that layer's.
  printf '{ %s, "layers": [ { "type": "video", "src": "good.mp4" }, { "type": "video", "src": "trunc.mp4", "start": 0.5 } ] }\n' \
    "$W" > "$dir/trunc2.json"
  run scrambled_second 1 decode_failed "$dir/out/d.mp4" -- render "$dir/trunc2.json" -o "$dir/out/d.mp4"
  names_layer scrambled_second 1
  # The gl engine (Mesa's llvmpipe here) opens ahead the same way.
  run scrambled_second_gl 1 decode_failed "$dir/out/e.mp4" -- render "$dir/trunc2.json" --engine gl -o "$dir/out/e.mp4"
  names_layer scrambled_second_gl 1
fi

printf '{ %s, "layers": [ { "type": "color", "color": "#123456" } ] }\n' "$W" > "$dir/ok.json"
run unwritable_dir 1 output_failed "" -- render "$dir/ok.json" -o "$dir/no/such/dir/out.mp4"
run ok_render 0 "" "" -- render "$dir/ok.json" -o "$dir/out/ok.mp4" --stats-json "$dir/stats.json"
if python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["frames"] == 10 and s["engine"] and s["stages_s"]["total"] > 0 else 1)' "$dir/stats.json"; then
  passes=$((passes + 1))
else
  echo "FAIL: --stats-json did not describe the 10-frame render"; cat "$dir/stats.json"; fails=$((fails + 1))
fi
[ -s "$dir/out/ok.mp4" ] || { echo "FAIL: ok_render wrote nothing"; fails=$((fails + 1)); }

printf '{ "output": { "width": 321 }, "layers": [ ] ' > "$dir/bad.json"
run invalid_json 1 invalid_json "" -- render "$dir/bad.json" -o "$dir/out/d.mp4"
printf '{ "output": { "width": 321, "duration": 1 }, "layers": [ { "type": "color", "color": "#zzz" } ] }\n' > "$dir/bad2.json"
run validate_bad 1 "" "" -- validate "$dir/bad2.json"
grep -q "output.width" "$dir/validate_bad.err" && grep -q "layers\[0\].color" "$dir/validate_bad.err" \
  && passes=$((passes + 1)) || { echo "FAIL: validate did not list every problem"; cat "$dir/validate_bad.err"; fails=$((fails + 1)); }
run validate_ok 0 "" "" -- validate "$dir/ok.json"
run usage_no_output 2 "" "" -- render "$dir/ok.json"
run usage_bad_engine 2 "" "" -- render "$dir/ok.json" -o "$dir/out/e.mp4" --engine vulkan
run no_job_file 1 not_found "" -- render "$dir/nope.json" -o "$dir/out/f.mp4"
run nvenc_missing 1 encoder_unavailable "$dir/out/g.mp4" -- render "$dir/ok.json" -o "$dir/out/g.mp4" --encoder nvenc

# merge fields from --data, and the JSON progress lines
printf '{ "output": { "width": 320, "height": 240, "fps": 10, "duration": "{{d}}" }, "layers": [ { "type": "color", "color": "{{c|#00ff00}}" } ] }\n' > "$dir/merge.json"
run merge_missing 1 invalid_job "" -- render "$dir/merge.json" -o "$dir/out/h.mp4"
run merge_ok 0 "" "" -- render "$dir/merge.json" -o "$dir/out/h.mp4" --data d=2 --progress=json
if ! grep -q '"frames_total":20' "$dir/merge_ok.out"; then
  echo "FAIL: --progress=json printed no line with frames_total 20"; cat "$dir/merge_ok.out"; fails=$((fails + 1))
else passes=$((passes + 1)); fi

echo "robustness: $passes passed, $fails failed"
[ "$fails" = 0 ]
