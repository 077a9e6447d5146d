#!/usr/bin/env bash
# Golden test of one example job on one engine:
#   1. render it with the CLI;
#   2. read the file back (tests/golden/golden.c) and compare format, codec, size, colour tags,
#      frame count and audio stream with the committed reference ref/<engine>/<name>.info, and the
#      frame count with the one `reel validate` computes from the job;
#   3. decode the frames at the sampled times, downscale to 320 px wide and compare them with the
#      committed reference PNGs: PSNR >= MIN_PSNR dB and max difference <= MAX_DIFF code values.
# With UPDATE=1 the references are rewritten instead (the golden-update target).
# Usage: run_example.sh REEL GOLDEN SOURCE_DIR EXAMPLE_NAME [ENGINE]
set -euo pipefail
reel=$1 golden=$2 src=$3 name=$4 engine=${5:-cpu}
MIN_PSNR=${MIN_PSNR:-40}
MAX_DIFF=${MAX_DIFF:-40}

job=$src/examples/$name.json
ref=$src/tests/golden/ref/$engine
out=$(mktemp -d "${TMPDIR:-/tmp}/reel-golden-$name.XXXXXX")
trap 'rm -rf "$out"' EXIT

if [ ! -d "$src/examples/media" ]; then
  echo "SKIP: examples/media is missing; run scripts/gen-media.sh first" >&2
  exit 77
fi

fmt=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["output"].get("format","mp4"))' "$job")
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

if [ "${UPDATE:-0}" = 1 ]; then
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
  rm -f "$ref/$name"@*.png
  "$golden" frames "$file" 320 "$times" "$out"
  for t in ${times//,/ }; do cp "$out/$t.png" "$ref/$name@$t.png"; done
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

times=$(cat "$ref/$name.times")
"$golden" frames "$file" 320 "$times" "$out"
for t in ${times//,/ }; do
  "$golden" compare "$ref/$name@$t.png" "$out/$t.png" "$MIN_PSNR" "$MAX_DIFF" || status=1
done

# A job with a poster also writes <output>.jpg.
if python3 -c 'import json,sys; sys.exit(0 if "poster" in json.load(open(sys.argv[1]))["output"] else 1)' "$job"; then
  if ! "$golden" info "$out/$name.jpg" | grep -q '^video_codec mjpeg'; then
    echo "FAIL: $name asks for a poster but $name.jpg is missing or not a JPEG" >&2; status=1
  fi
fi
exit $status
