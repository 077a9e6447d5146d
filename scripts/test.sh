#!/usr/bin/env bash
# Build reel twice (release, and ASan+UBSan) and run every test suite in both.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
#
# Ends with a summary per build (tests ran, passed, failed, skipped; scripts/ctest-summary.py) and
# exits non-zero when a test failed or skipped without an allowed reason. What
# scripts/install-deps.sh installs (Mesa's llvmpipe, ffmpeg, ...) must be there, so the only
# allowed skips are tests that print "SKIP-HARDWARE: reason" (a GPU, NVENC or VAAPI is missing) and,
# while REEL_TEST_NO_GL=1 is set, gl tests that print "SKIP-OPTOUT: REEL_TEST_NO_GL=1 ..." (see
# tests/unit/skip.h and tests/golden/skip-policy.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/gen-media.sh examples/media

scripts/build.sh release
scripts/build.sh asan

# Leak detection is on for every test. intercept_tls_get_addr=0: GCC 12's sanitizer runtime
# guesses the bounds of a thread's dynamically allocated TLS block from a glibc <= 2.24 header when
# the block happens to start 16 bytes past a page boundary; glibc 2.36 has no such header, the
# guess is garbage, and LeakSanitizer's tracer then crashes at exit ("Tracer caught signal 11").
# Those blocks are heap allocations reached from the thread's DTV, so leak checking still sees them.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:intercept_tls_get_addr=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ -f tests/lsan.supp ]; then
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
fi

jobs=$(nproc)
status=0
summaries=()

# suite NAME BUILD_DIR: run ctest there with this script's arguments and keep its summary.
suite() {
  local name=$1 dir=$2 junit
  junit=$PWD/$dir/Testing/reel-results.xml
  rm -f "$junit"
  echo "== $name"
  ctest --test-dir "$dir" --output-on-failure -j "$jobs" --output-junit "$junit" "${ctest_args[@]}" ||
    status=1
  summaries+=("$(scripts/ctest-summary.py "$name" "$junit")") || status=1
}

ctest_args=("$@")
suite "release build" build
suite "ASan+UBSan build" build-asan

# Further steps: run them here, add a line to summaries and set status=1 when they fail.

# ---- fuzzing: the job parser under libFuzzer + ASan + UBSan (build-fuzz/, clang) ----
# Replays tests/fuzz/regressions/, then fuzzes for FUZZ_SECONDS (default 60). clang and libFuzzer
# come from install-deps: without them this step fails, it is never skipped.
echo "== fuzz: job parser (${FUZZ_SECONDS:-60} s)"
if scripts/fuzz.sh "${FUZZ_SECONDS:-60}"; then
  summaries+=("== fuzz: job parser, ${FUZZ_SECONDS:-60} s: passed")
else
  summaries+=("== fuzz: job parser, ${FUZZ_SECONDS:-60} s: FAILED")
  status=1
fi
# ---- end fuzzing ----

echo
echo "== summary"
printf '%s\n' "${summaries[@]}"
if [ "$status" != 0 ]; then
  echo "test.sh: FAILED (a test failed, or skipped without an allowed reason)"
fi
exit "$status"
