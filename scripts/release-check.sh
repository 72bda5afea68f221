#!/usr/bin/env bash
# make release-check: what a user gets from PyPI, checked before a release.
#   1. sdist and wheel built (the wheel from the sdist, so a file missing from the sdist shows),
#      `twine check --strict`, check-manifest (the sdist holds every tracked file), README renders;
#   2. the wheel installed into a clean virtual environment (no source tree on its path):
#      `flowroi --help`, `npe2 validate napari-flowroi`, a shipped sample compressed and verified;
#   3. the core tests of the unpacked sdist run against that installed wheel.
# Usage: scripts/release-check.sh [PYTHON]   (PYTHON: the interpreter of the clean environment,
# default python3.11; the build tools come from .venv, installed by make venv, or RELEASE_TOOLS).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:-$(command -v python3.11 || command -v python3)}
TOOLS=${RELEASE_TOOLS:-.venv/bin}
WORK=build/release-check
rm -rf dist "$WORK"
mkdir -p "$WORK"

echo "== build: sdist, then the wheel from the sdist"
"$TOOLS/python" -m build --outdir dist . >"$WORK/build.log" 2>&1 || { cat "$WORK/build.log"; exit 1; }
sdist=$(ls dist/napari_flowroi-*.tar.gz)
wheel=$(ls dist/napari_flowroi-*.whl)
echo "   $sdist"
echo "   $wheel"

echo "== twine check --strict"
"$TOOLS/python" -m twine check --strict dist/*

echo "== check-manifest (every tracked file in the sdist)"
"$TOOLS/check-manifest" .

echo "== README renders on PyPI"
"$TOOLS/python" -m readme_renderer README.md -o "$WORK/README.html"

echo "== clean environment ($("$PYTHON" --version)) with the wheel and the test extra"
"$PYTHON" -m venv "$WORK/venv"
VPY="$PWD/$WORK/venv/bin/python"
"$VPY" -m pip install --quiet --upgrade pip
# the test extra without the editable source: tools and optional readers the core tests use
"$VPY" -m pip install --quiet "${wheel}[test]"
# every other extra resolves on this Python too (test already holds formats, czi, distributed)
"$VPY" -m pip install --quiet --dry-run "${wheel}[all,docs,release]" >/dev/null
installed=$("$VPY" -c 'import napari_flowroi, pathlib; print(pathlib.Path(napari_flowroi.__file__).parent)')
case "$installed" in
    "$PWD/$WORK/venv/"*) echo "   napari_flowroi $("$VPY" -c 'import napari_flowroi; print(napari_flowroi.__version__)') from $installed" ;;
    *) echo "release-check: napari_flowroi imported from $installed, not from the wheel" >&2; exit 1 ;;
esac

echo "== flowroi --help"
"$WORK/venv/bin/flowroi" --help >/dev/null
"$WORK/venv/bin/flowroi" --version

echo "== npe2 validate napari-flowroi"
"$WORK/venv/bin/npe2" validate napari-flowroi

echo "== a shipped sample compressed, verified and decompressed"
sample="$installed/sample_data/hsc_brightfield.tif"
"$WORK/venv/bin/flowroi" compress "$sample" "$WORK/sample.flowroi" --compression-rate 16 --quiet \
    >"$WORK/sample-summary.json"
"$VPY" - "$WORK/sample-summary.json" <<'EOF'
import json, sys
summary = json.load(open(sys.argv[1]))
assert summary["frames"] == 12, summary
assert abs(summary["achieved_rate"] / 16 - 1) <= 0.05, summary  # the rate within 5 %
print(f"   {summary['frames']} frames at {summary['achieved_rate']:.2f}:1")
EOF
"$WORK/venv/bin/flowroi" verify "$WORK/sample.flowroi" --quiet
"$WORK/venv/bin/flowroi" decompress "$WORK/sample.flowroi" "$WORK/sample-decoded.tif" --quiet >/dev/null

echo "== the unpacked sdist's core tests against the installed wheel"
tar -xzf "$sdist" -C "$WORK"
unpacked=$(ls -d "$WORK"/napari_flowroi-*/)
# tests that read ../shared/data find it beside the unpacked tree as they do beside a clone
[ -d ../shared/data ] && ln -sfn "$(cd ../shared && pwd)" "$WORK/shared"
# the unpacked tree's src/ is not on the path (src layout): the tests import the installed wheel
# RELEASE_TESTS=all runs the GUI tests too (they need Xvfb, see scripts/install-system-deps.sh)
if [ "${RELEASE_TESTS:-core}" = all ]; then
    tests=(tests)
    xvfb=()
else
    tests=(tests/core tests/integration tests/test_docs.py tests/test_release.py)
    xvfb=(-p no:xvfb)
fi
(cd "$unpacked" && "$VPY" -m pytest -q -ra "${xvfb[@]}" -p no:cacheprovider "${tests[@]}")
echo "release-check: passed"
