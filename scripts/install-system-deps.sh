#!/usr/bin/env bash
# Debian packages the headless GUI tests (tests/napari) need: an X server (Xvfb) and the xcb
# libraries Qt 6 loads. The core tests need none of them.
# Exit 0: all present (as root, missing ones are installed). Exit 1: some are missing and this user
# cannot install them; the exact apt command is printed (make test then runs the core tests only
# and fails clearly, see the Makefile).
set -euo pipefail
packages=(xvfb xauth libxcb-icccm4 libxcb-keysyms1 libxcb-xinerama0 libxcb-cursor0 libxcb-image0
          libxcb-render-util0 libxcb-shape0 libxcb-randr0 libxkbcommon-x11-0 libgl1 libegl1
          libgl1-mesa-dri libglx-mesa0 libegl-mesa0 libglib2.0-0 libfontconfig1 libdbus-1-3)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for p in "${packages[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
else
    command -v Xvfb >/dev/null 2>&1 || missing+=("xvfb (and the xcb libraries Qt 6 needs)")
fi
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Debian packages for headless GUI tests: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    exit 0
fi
echo "The GUI tests (tests/napari) need these Debian packages; install them with:" >&2
echo "  sudo apt-get install -y ${missing[*]}" >&2
exit 1
