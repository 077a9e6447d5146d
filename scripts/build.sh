#!/usr/bin/env bash
# Configure and build reel. Usage: scripts/build.sh [release|debug|asan] (default release).
# Build folders: build/ (release), build-debug/, build-asan/.
set -euo pipefail
cd "$(dirname "$0")/.."

preset=${1:-release}
case "$preset" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  debug) dir=build-debug; args=(-DCMAKE_BUILD_TYPE=Debug) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DREEL_SANITIZE=ON) ;;
  *) echo "build.sh: unknown preset '$preset' (release, debug, asan)" >&2; exit 2 ;;
esac

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$dir" "${generator[@]}" "${args[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)"
