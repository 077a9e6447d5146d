# The suite's skip policy, for test scripts (tests/unit/skip.h is the same for C tests). Source it.
#
# What scripts/install-deps.sh installs (Mesa's llvmpipe, the ffmpeg tool, ...) must be there: a
# test that finds it missing fails and says what is missing. A test may skip (exit 77) only
#   - for missing hardware (a GPU, NVENC, VAAPI): skip_hardware prints "SKIP-HARDWARE: REASON", or
#   - when the gl engine's tests are turned off on purpose with REEL_TEST_NO_GL=1: require_gl
#     prints "SKIP-OPTOUT: REEL_TEST_NO_GL=1 ...".
# scripts/test.sh fails the run when a test skipped without one of those lines.

# require_gl REEL WHAT: return when the gl engine is usable. Otherwise fail (exit 1) with what
# `reel probe` says; with REEL_TEST_NO_GL=1, skip (exit 77) loudly without trying.
require_gl() {
  local reel=$1 what=$2 probe err rc=0
  if [ "${REEL_TEST_NO_GL:-}" = 1 ]; then
    echo "SKIP-OPTOUT: REEL_TEST_NO_GL=1 is set, so the gl engine is NOT tested: $what skipped"
    exit 77
  fi
  err=$(mktemp "${TMPDIR:-/tmp}/reel-probe.XXXXXX")
  probe=$("$reel" probe 2>"$err") || rc=$?
  if ! grep -Eq '^  gl +usable$' <<<"$probe"; then
    echo "FAIL: the gl engine is not usable on this host. scripts/install-deps.sh installs Mesa"
    echo "      (llvmpipe), so it must work here; set REEL_TEST_NO_GL=1 to skip the gl tests on"
    echo "      purpose."
    if [ "$rc" != 0 ]; then
      echo "      reel probe exited $rc:"
      tail -n 15 "$err" | sed 's/^/      /'
    else
      echo "      reel probe says:"
      awk '/^  gl /{p=1} /^  cpu /{p=0} p' <<<"$probe" | sed 's/^/    /'
    fi
    rm -f "$err"
    exit 1
  fi
  rm -f "$err"
}

# require_tool NAME: fail (exit 1) when a command that install-deps installs is missing.
require_tool() {
  if ! command -v "$1" >/dev/null 2>&1; then
    echo "FAIL: the $1 command is missing (scripts/install-deps.sh installs it)"
    exit 1
  fi
}

# skip_hardware REASON: skip (exit 77) because hardware the test needs is missing.
skip_hardware() {
  echo "SKIP-HARDWARE: $*"
  exit 77
}
