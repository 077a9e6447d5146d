#!/usr/bin/env bash
# Install every Debian 12 package reel needs to build, test and run its examples.
# Idempotent; run as root or with sudo available.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config clang-format
  clang libfuzzer-14-dev libclang-rt-14-dev
  libavcodec-dev libavformat-dev libavfilter-dev libavutil-dev libswscale-dev libswresample-dev
  libegl-dev libgles-dev libegl-mesa0 libgl1-mesa-dri libgbm-dev
  libmicrohttpd-dev libcjson-dev libhiredis-dev libcurl4-openssl-dev
  libfreetype-dev libharfbuzz-dev libfontconfig-dev
  ffmpeg redis-server wrk curl python3 python3-yaml
  fonts-dejavu-core fonts-droid-fallback fonts-lohit-deva
)

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  sudo_cmd=(sudo)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
