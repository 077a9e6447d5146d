#!/usr/bin/env bash
# --hwdec on reel render and reel frame: auto (the default) gives the same frames as none and says
# in one info line how it decodes (in software where no VAAPI render node or NVIDIA device opens,
# as on a host without a GPU), with no warning for that; a bad value exits 2 naming the option or
# its environment variable. Usage: hwdec.sh REEL
set -uo pipefail
reel=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-hwdec.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
show() { sed 's/^/    /' "$1" | head -20; }

command -v ffmpeg >/dev/null || { echo "FAIL: the ffmpeg tool is needed (scripts/install-deps.sh)"; exit 1; }
ffmpeg -nostdin -loglevel error -y -f lavfi -i testsrc2=size=320x240:rate=25:duration=2 \
  -c:v libx264 -bf 2 -g 12 -pix_fmt yuv420p "$dir/clip.mp4" || { echo "FAIL: cannot make a test clip"; exit 1; }
# Lossless output ("quality": 0): the frames compared are the decoded pictures themselves; at a
# lossy quality libx264 with frame threads may code the last frames of the same pictures differently.
cat > "$dir/job.json" <<EOF
{ "output": { "width": 320, "height": 240, "fps": 25, "duration": 2, "quality": 0 },
  "layers": [ { "type": "video", "src": "clip.mp4" } ] }
EOF

# render NAME ARGS...: exit status 0 wanted; stderr in $dir/NAME.err
render() {
  local name=$1; shift
  if ! "$reel" "$@" --asset-root "$dir" >"$dir/$name.out" 2>"$dir/$name.err"; then fail "$name: reel $* failed"; show "$dir/$name.err"; fi
}
render none render "$dir/job.json" -o "$dir/none.mp4" --engine cpu --hwdec none --log-level info
render auto render "$dir/job.json" -o "$dir/auto.mp4" --engine cpu --hwdec auto --log-level info
REEL_HWDEC=auto render env render "$dir/job.json" -o "$dir/env.mp4" --engine cpu --log-level info
render dflt render "$dir/job.json" -o "$dir/dflt.mp4" --engine cpu --log-level info

# Same frames: the decoded pictures of the outputs, frame by frame.
for v in none auto env dflt; do
  ffmpeg -nostdin -loglevel error -i "$dir/$v.mp4" -f framemd5 "$dir/$v.md5" || fail "cannot read $v.mp4"
done
n=$(grep -vc '^#' "$dir/none.md5" 2>/dev/null)
[ "${n:-0}" -ge 50 ] || fail "none.mp4 has $n frames, expected 50"
for v in auto env dflt; do
  cmp -s "$dir/none.md5" "$dir/$v.md5" || fail "--hwdec $v frames differ from --hwdec none"
done

# One info line per video source saying how it decodes; no warning or error about decoding.
if [ -e /dev/nvidiactl ] || compgen -G '/dev/dri/renderD*' >/dev/null; then
  want='video source .*clip\.mp4: decoding h264 (in software: |on (vaapi|cuda))'
else
  want='video source .*clip\.mp4: decoding h264 in software: .*no render node.*no NVIDIA device'
fi
for v in auto env dflt; do
  c=$(grep -Ec " info .*$want" "$dir/$v.err")
  [ "$c" = 1 ] || { fail "--hwdec $v: $c info lines matching /$want/, expected 1"; show "$dir/$v.err"; }
  if grep -Eq ' (warn|error) ' "$dir/$v.err"; then fail "--hwdec $v logged a warning or error"; show "$dir/$v.err"; fi
done
grep -q 'decoding h264' "$dir/none.err" && { fail "--hwdec none still logged about devices"; show "$dir/none.err"; }

# reel frame takes it too, with the same picture either way.
render fnone frame "$dir/job.json" --at 1.2 -o "$dir/fnone.png" --engine cpu --hwdec none
render fauto frame "$dir/job.json" --at 1.2 -o "$dir/fauto.png" --engine cpu --hwdec auto
cmp -s "$dir/fnone.png" "$dir/fauto.png" || fail "reel frame: --hwdec auto and none differ"

# Bad values: exit 2 naming the flag or the variable.
for cmd in render frame; do
  "$reel" "$cmd" "$dir/job.json" --at 1 -o "$dir/x.out" --hwdec vaapi >/dev/null 2>"$dir/bad.err"
  st=$?
  [ "$st" = 2 ] || fail "reel $cmd --hwdec vaapi exited $st, expected 2"
  grep -q -- '--hwdec' "$dir/bad.err" || { fail "reel $cmd --hwdec vaapi: the error does not name --hwdec"; show "$dir/bad.err"; }
done
REEL_HWDEC=gpu "$reel" render "$dir/job.json" -o "$dir/x.mp4" >/dev/null 2>"$dir/badenv.err"
st=$?
[ "$st" = 2 ] || fail "REEL_HWDEC=gpu exited $st, expected 2"
grep -q 'REEL_HWDEC' "$dir/badenv.err" || { fail "REEL_HWDEC=gpu: the error does not name REEL_HWDEC"; show "$dir/badenv.err"; }
"$reel" render --help | grep -q -- '--hwdec auto|none' || fail "reel render --help lacks --hwdec"
"$reel" frame --help | grep -q -- '--hwdec auto|none' || fail "reel frame --help lacks --hwdec"

[ "$fails" = 0 ] && echo "hwdec: all passed" || { echo "hwdec: $fails failed"; exit 1; }
