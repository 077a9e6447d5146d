#!/usr/bin/env bash
# Golden test of one example job on one engine:
#   1. render it with the CLI;
#   2. read the file back (tests/golden/golden.c) and compare format, codec, size, colour tags,
#      frame count and audio stream with the committed reference ref/<engine>/<name>.info, and the
#      frame count with the one `reel validate` computes from the job;
#   3. audio content: per 100 ms window and channel, RMS and 1/3-octave band levels against
#      ref/<engine>/<name>.audio, within AUDIO_TOL_DB (catches silence, lost or swapped channels,
#      wrong gains, fades or mix timing);
#   4. a poster (output.poster) is compared with the output's own frame at the poster time;
#   5. the frames at the sampled times, downscaled to 320 px wide, against the committed reference
#      PNGs, within the tolerance of the output's encoder (see frame_tolerance);
#   6. cpu engine only, bit for bit: the job rendered again to lossless H.264 (quality 0), every
#      decoded frame's per-plane checksum equal to ref/cpu/<name>.crc. The engine's output does
#      not depend on the host; a lossy encoder's does (its decisions follow its thread count), so
#      exactness is checked on the lossless render.
#
# Usage: run_example.sh [--update] REEL GOLDEN SOURCE_DIR EXAMPLE_NAME [ENGINE]
# --update rewrites the references instead of checking them (the golden-update target is the only
# caller); nothing else, and no environment variable, writes to tests/golden/ref.
set -euo pipefail
update=0
if [ "${1:-}" = --update ]; then
  update=1
  shift
fi
reel=$1 golden=$2 src=$3 name=$4 engine=${5:-cpu}
AUDIO_TOL_DB=0.5
POSTER_MIN_PSNR=30

# Tolerance of step 5, "MIN_PSNR MAX_DIFF", per engine and output codec. cpu: the lossy encoders
# may decide differently on another host (thread count), the exact check is step 6; GIF has no such
# freedom (reel's own palette and dithering), so it must match exactly. gl: no references are kept
# yet; parity.sh holds gl to the cpu engine.
frame_tolerance() {
  case $1/$2 in
    cpu/gif) echo "99 0" ;;
    cpu/*) echo "40 40" ;;
    *) echo "" ;;
  esac
}

job=$src/examples/$name.json
ref=$src/tests/golden/ref/$engine
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-golden-$name.XXXXXX")
trap 'rm -rf "$out"' EXIT

if [ ! -d "$src/examples/media" ]; then
  echo "FAIL: examples/media is missing; run scripts/gen-media.sh examples/media first" >&2
  exit 1
fi
if [ $update = 0 ] && [ -n "${UPDATE:-}" ]; then
  echo "note: UPDATE is ignored; references are rewritten only by the golden-update target" >&2
fi

fmt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"].get("format","mp4"))' "$job")
poster=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"].get("poster",""))' "$job")
file=$out/$name.$fmt

"$reel" render "$job" -o "$file" --engine "$engine" --progress=none
"$golden" info "$file" > "$out/info"

# frame count from the job itself
want_frames=$("$reel" validate "$job" | sed -n 's/.* \([0-9]*\) frames at .*/\1/p')
got_frames=$(sed -n 's/^frames //p' "$out/info")
if [ "$want_frames" != "$got_frames" ]; then
  echo "FAIL: $name has $got_frames frames, the job asks for $want_frames" >&2
  exit 1
fi
has_audio=0
grep -q '^audio none$' "$out/info" || has_audio=1

# The job again, lossless: the engine's own frames, bit for bit.
lossless_crc() {
  python3 - "$job" "$out/lossless.json" <<'PY'
import json, sys
job = json.load(open(sys.argv[1]))
o = job["output"]
o.update({"format": "mp4", "video_codec": "h264", "quality": 0, "preset": "ultrafast"})
o.pop("poster", None)
json.dump(job, open(sys.argv[2], "w"))
PY
  "$reel" render "$out/lossless.json" -o "$out/lossless.mp4" --engine "$engine" --progress=none \
    --asset-root "$src/examples" 2>"$out/lossless.log" || { cat "$out/lossless.log" >&2; return 1; }
  "$golden" crc "$out/lossless.mp4"
}

if [ $update = 1 ]; then
  mkdir -p "$ref"
  cp "$out/info" "$ref/$name.info"
  # sample times: just after the start, quarter points, and the last frame
  times=$(python3 - "$job" "$want_frames" <<'PY'
import json, sys
job = json.load(open(sys.argv[1])); n = int(sys.argv[2])
fps = job["output"].get("fps", 30)
if isinstance(fps, str):
    a, b = fps.split("/"); fps = float(a) / float(b)
idx = sorted({1, n // 4, n // 2, (3 * n) // 4, n - 1})
print(",".join("%.4f" % (i / fps) for i in idx))
PY
)
  echo "$times" > "$ref/$name.times"
  rm -f "$ref/$name"@*.png "$ref/$name.audio" "$ref/$name.crc"
  "$golden" frames "$file" 320 "$times" "$out"
  for t in ${times//,/ }; do cp "$out/$t.png" "$ref/$name@$t.png"; done
  if [ $has_audio = 1 ]; then "$golden" audio "$file" > "$ref/$name.audio"; fi
  if [ "$engine" = cpu ]; then lossless_crc > "$ref/$name.crc"; fi
  echo "updated references for $name ($times)"
  exit 0
fi

if [ ! -f "$ref/$name.info" ]; then
  echo "FAIL: no reference for $name; run the golden-update target" >&2
  exit 1
fi

# Facts must match exactly, except the audio duration (one AAC/Opus frame of slack).
status=0
while read -r key rest; do
  got=$(grep "^$key " "$out/info" | cut -d' ' -f2- || true)
  if [ "$key" = audio_duration_ms ]; then
    if [ -z "$got" ] || [ $(( got > rest ? got - rest : rest - got )) -gt 25 ]; then
      echo "FAIL: $name audio duration ${got:-none} ms, reference $rest ms" >&2; status=1
    fi
  elif [ "$got" != "$rest" ]; then
    echo "FAIL: $name $key is '$got', reference '$rest'" >&2; status=1
  fi
done < "$ref/$name.info"

# Audio content.
if [ $has_audio = 1 ]; then
  if [ ! -f "$ref/$name.audio" ]; then
    echo "FAIL: $name has audio but no reference levels ($ref/$name.audio); run golden-update" >&2
    status=1
  else
    "$golden" audio-compare "$ref/$name.audio" "$file" "$AUDIO_TOL_DB" || status=1
  fi
fi

# A job with a poster also writes <output>.jpg: the output's frame at the poster time.
if [ -n "$poster" ]; then
  if ! "$golden" info "$out/$name.jpg" | grep -q '^video_codec mjpeg'; then
    echo "FAIL: $name asks for a poster but $name.jpg is missing or not a JPEG" >&2; status=1
  else
    width=$(sed -n 's/^size \([0-9]*\)x.*/\1/p' "$out/info")
    at=$(printf '%.4f' "$poster")
    mkdir -p "$out/poster"
    "$golden" frames "$file" "$width" "$at" "$out/poster"
    "$golden" compare "$out/poster/$at.png" "$out/$name.jpg" "$POSTER_MIN_PSNR" 255 || {
      echo "FAIL: $name's poster is not the frame at $poster s" >&2; status=1; }
  fi
fi

# Sampled frames of the output itself.
tol=$(frame_tolerance "$engine" "$fmt")
if [ -z "$tol" ]; then
  echo "FAIL: no frame tolerance is stated for $engine/$fmt" >&2; exit 1
fi
read -r min_psnr max_diff <<<"$tol"
times=$(cat "$ref/$name.times")
"$golden" frames "$file" 320 "$times" "$out"
for t in ${times//,/ }; do
  "$golden" compare "$ref/$name@$t.png" "$out/$t.png" "$min_psnr" "$max_diff" || status=1
done

# Every frame bit for bit (cpu).
if [ "$engine" = cpu ]; then
  if [ ! -f "$ref/$name.crc" ]; then
    echo "FAIL: no frame checksums for $name ($ref/$name.crc); run golden-update" >&2
    status=1
  elif ! lossless_crc > "$out/crc"; then
    echo "FAIL: $name did not render losslessly" >&2; status=1
  elif ! cmp -s "$ref/$name.crc" "$out/crc"; then
    n=$(diff "$ref/$name.crc" "$out/crc" | grep -c '^>' || true)
    echo "FAIL: $name: $n frames differ from the cpu engine's reference (index pts size format" \
      "Y U V checksums):" >&2
    paste -d'|' "$ref/$name.crc" "$out/crc" |
      awk -F'|' '$1 != $2 { print "  reference: " $1 "\n  now:       " $2; if (++n == 3) exit }' >&2
    status=1
  else
    echo "$name: $(wc -l < "$out/crc") frames bit-exact"
  fi
fi
exit $status
