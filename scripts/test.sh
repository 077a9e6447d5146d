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
