#!/usr/bin/env bash
# Build the job-parser fuzz target with clang (libFuzzer + ASan + UBSan) in build-fuzz/, replay
# every input kept in tests/fuzz/regressions/, then fuzz for SECONDS (default 60).
# Exits non-zero when the build fails, a regression input fails, or fuzzing finds a crash, leak,
# timeout or undefined behaviour (the input is left in build-fuzz/artifacts/).
#
# Usage: scripts/fuzz.sh [--regress-only] [SECONDS] [-- extra libFuzzer options]
#   FUZZ_DIR   build folder (default build-fuzz); the growing corpus lives in $FUZZ_DIR/corpus
#   CC         compiler (default clang)
set -euo pipefail
cd "$(dirname "$0")/.."

regress_only=0
seconds=60
extra=()
while [ $# -gt 0 ]; do
  case "$1" in
    --regress-only) regress_only=1 ;;
    --) shift; extra=("$@"); break ;;
    ''|*[!0-9]*) echo "fuzz.sh: unknown argument '$1'" >&2; exit 2 ;;
    *) seconds=$1 ;;
  esac
  shift
done

cc=${CC:-clang}
if ! command -v "$cc" >/dev/null; then
  echo "fuzz.sh: FAIL: $cc not found; scripts/install-deps.sh installs clang and libFuzzer" >&2
  exit 1
fi

dir=${FUZZ_DIR:-build-fuzz}
bin=$dir/fuzz_timeline
mkdir -p "$dir/corpus" "$dir/artifacts"

srcs=(tests/fuzz/fuzz_timeline.c src/timeline/*.c src/core/err.c)
# Rebuild when any source or header the target reads is newer than the binary.
if [ ! -x "$bin" ] || [ -n "$(find "${srcs[@]}" src/timeline src/core scripts/fuzz.sh \
                                -newer "$bin" -print -quit)" ]; then
  echo "fuzz.sh: building $bin with $cc"
  # shellcheck disable=SC2046
  "$cc" -std=c11 -g -O1 -fno-omit-frame-pointer \
    -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -DREEL_VERSION='"fuzz"' \
    -DREEL_SOURCE_DIR="\"$PWD\"" -Isrc -I. $(pkg-config --cflags libcjson libavutil) \
    "${srcs[@]}" -o "$bin.tmp" $(pkg-config --libs libcjson libavutil) -lm
  mv "$bin.tmp" "$bin"
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# Limits that make a slow or memory-hungry input a finding rather than a stall.
limits=(-timeout=10 -rss_limit_mb=2048 -max_len=16384)

mapfile -t regressions < <(find tests/fuzz/regressions -type f ! -name README.md 2>/dev/null | sort)
if [ ${#regressions[@]} -gt 0 ]; then
  echo "fuzz.sh: replaying ${#regressions[@]} regression inputs"
  if ! "$bin" "${limits[@]}" "${regressions[@]}" >"$dir/regressions.log" 2>&1; then
    cat "$dir/regressions.log" >&2
    echo "fuzz.sh: FAIL: a regression input failed (log above)" >&2
    exit 1
  fi
fi
[ "$regress_only" = 1 ] && { echo "fuzz.sh: regressions passed"; exit 0; }

echo "fuzz.sh: fuzzing for $seconds s (corpus $dir/corpus, seeds tests/fuzz/corpus)"
if ! "$bin" "${limits[@]}" -max_total_time="$seconds" -print_final_stats=1 \
     -dict=tests/fuzz/json.dict -artifact_prefix="$dir/artifacts/" "${extra[@]}" \
     "$dir/corpus" tests/fuzz/corpus; then
  echo "fuzz.sh: FAIL: fuzzing found a problem; the input is in $dir/artifacts/;" \
       "fix it and keep the input in tests/fuzz/regressions/" >&2
  exit 1
fi
echo "fuzz.sh: no problem found in $seconds s"
