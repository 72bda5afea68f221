#!/usr/bin/env bash
# Debian packages the benchmark's "other codecs" part needs: ffmpeg built with libx265 (HEVC)
# and libsvtav1 (AV1).
# As root they are installed; otherwise the exact apt command is printed. The benchmark runs
# without them and marks the HEVC rows as skipped, so this script never fails the build.
set -uo pipefail
packages=(ffmpeg)  # Debian's ffmpeg carries libx265 (HEVC) and libsvtav1 (AV1)
if command -v ffmpeg >/dev/null 2>&1 && ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libx265 \
        && ffmpeg -hide_banner -encoders 2>/dev/null | grep -q libsvtav1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    echo "Installing Debian packages for the benchmark: ${packages[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null \
        || echo "Could not install ${packages[*]}; HEVC rows will be skipped." >&2
else
    echo "The benchmark's HEVC comparison needs ffmpeg with libx265; install it with:" >&2
    echo "  sudo apt-get install -y ${packages[*]}" >&2
fi
exit 0
