#!/usr/bin/env bash
# Build reel twice (release, and ASan+UBSan) and run every test suite in both.
# Usage: scripts/test.sh [ctest args...]   e.g. scripts/test.sh -L unit
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/gen-media.sh examples/media

scripts/build.sh release
scripts/build.sh asan

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
if [ -f tests/lsan.supp ]; then
  export LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp:print_suppressions=0
fi

jobs=$(nproc)
echo "== release build"
ctest --test-dir build --output-on-failure -j "$jobs" "$@"
echo "== ASan+UBSan build"
ctest --test-dir build-asan --output-on-failure -j "$jobs" "$@"

# ---- fuzzing: the job parser under libFuzzer + ASan + UBSan (build-fuzz/, clang) ----
# Replays tests/fuzz/regressions/, then fuzzes for FUZZ_SECONDS (default 60). clang and libFuzzer
# come from install-deps: without them this step fails, it is never skipped.
echo "== fuzz: job parser (${FUZZ_SECONDS:-60} s)"
scripts/fuzz.sh "${FUZZ_SECONDS:-60}"
# ---- end fuzzing ----
