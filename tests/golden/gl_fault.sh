#!/usr/bin/env bash
# The gl engine's fallback when EGL cannot be used, through the whole CLI:
#   - no EGL vendor library at all (glvnd pointed at a file that does not exist), and
#   - an EGL vendor whose driver cannot be loaded (Mesa pointed at an empty driver folder):
# `--engine auto` still renders, on cpu, and logs why gl was passed over; `--engine gl` fails
# with exit status 1 and engine_unavailable; `reel probe` reports gl as not usable.
# Usage: gl_fault.sh REEL
set -uo pipefail
reel=$1
dir=$(mktemp -d "${TMPDIR:-/tmp}/reel-gl-fault.XXXXXX")
trap 'rm -rf "$dir"' EXIT
fails=0 passes=0

fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
pass() { passes=$((passes + 1)); }

cat >"$dir/job.json" <<'EOF'
{ "output": { "width": 320, "height": 180, "fps": 10, "duration": 1 },
  "layers": [ { "type": "color", "color": "#3366cc", "width": 100, "height": 60 } ] }
EOF

# case NAME ENV...: run the checks with ENV set.
case_() {
  local name=$1
  shift
  rm -f "$dir/out.mp4" "$dir/out.png"
  env "$@" "$reel" render "$dir/job.json" -o "$dir/out.mp4" --engine auto --progress=none \
    >"$dir/auto.out" 2>"$dir/auto.err"
  local rc=$?
  if [ $rc != 0 ] || [ ! -s "$dir/out.mp4" ]; then
    fail "$name: --engine auto exited $rc: $(tail -n 3 "$dir/auto.err")"
  elif ! grep -q 'engine cpu' "$dir/auto.err"; then
    fail "$name: --engine auto did not report the cpu engine: $(tail -n 2 "$dir/auto.err")"
  elif ! grep -Eq 'gl engine unavailable|gl: no' "$dir/auto.err"; then
    fail "$name: --engine auto logged no reason for passing over gl: $(cat "$dir/auto.err")"
  else
    pass
  fi

  env "$@" "$reel" render "$dir/job.json" -o "$dir/out.mp4" --engine gl --progress=none \
    >"$dir/gl.out" 2>"$dir/gl.err"
  rc=$?
  if [ $rc != 1 ]; then
    fail "$name: --engine gl exited $rc, expected 1"
  elif ! grep -q 'engine_unavailable' "$dir/gl.err"; then
    fail "$name: --engine gl did not say engine_unavailable: $(cat "$dir/gl.err")"
  else
    pass
  fi

  env "$@" "$reel" frame "$dir/job.json" --at 0.5 -o "$dir/out.png" --engine gl \
    >/dev/null 2>"$dir/frame.err"
  rc=$?
  if [ $rc != 1 ] || ! grep -q 'engine_unavailable' "$dir/frame.err"; then
    fail "$name: reel frame --engine gl exited $rc: $(tail -n 2 "$dir/frame.err")"
  else
    pass
  fi

  if ! env "$@" "$reel" probe 2>/dev/null | grep -Eq '^  gl +not usable'; then
    fail "$name: reel probe does not report gl as not usable"
  else
    pass
  fi
}

case_ "no EGL vendor" __EGL_VENDOR_LIBRARY_FILENAMES=/nonexistent.json
case_ "no EGL driver" LIBGL_DRIVERS_PATH=/nonexistent GBM_BACKENDS_PATH=/nonexistent

echo "gl fault cases: $passes passed, $fails failed"
[ "$fails" = 0 ]
