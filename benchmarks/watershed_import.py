"""A proposal for appearance.py (not this script's to change): the dark-field rule's watershed
without importing scipy.ndimage.

``appearance._basins`` calls ``skimage.segmentation.watershed``, whose module imports
``scipy.ndimage`` and ``skimage.morphology`` (scipy.spatial, scipy.linalg, scipy.special, numpy's
f2py through scipy's array-API layer, and scipy's parsing of ~170 docstrings): 0.2-0.3 s of CPU
once per process, a tenth of the whole 12-frame 1-MP command. The flood itself is scikit-image's
compiled ``_watershed_cy.watershed_raveled``, which imports nothing else (~2 ms). This script

1. measures both imports, each in fresh interpreters (numpy, OpenCV and the package loaded
   first, as in the command), alternated;
2. checks that :func:`watershed_4` — the ~15 lines of ``skimage.segmentation.watershed`` that
   prepare the flood for a 2-D image with connectivity 1, no compactness and no watershed line —
   gives scikit-image's labels bitwise: on random images and on the cell regions of the dark-field
   frames of every movie in ../shared/data (clean and noisy), comparing ``appearance.regions_for``
   with each watershed.

    python benchmarks/watershed_import.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def watershed_4(image: np.ndarray, markers: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """``skimage.segmentation.watershed(image, markers, mask=mask)`` of a 2-D image (the default
    connectivity 1) by scikit-image's compiled flood, without its module's imports."""
    from skimage.segmentation import _watershed_cy

    mask = np.asarray(mask, bool)
    padded = np.pad(np.asarray(image, np.float64), 1)
    output = np.pad(np.asarray(markers) * mask, 1)
    width = padded.shape[1]
    # the 4 neighbours in scikit-image's order (by distance, then raveled offset)
    neighbours = np.array([-width, -1, 1, width], np.intp)
    _watershed_cy.watershed_raveled(
        padded.ravel(),
        np.flatnonzero(output),
        neighbours,
        np.pad(mask.astype(np.int8), 1).ravel(),
        np.array(padded.strides, np.intp) // padded.itemsize,
        0.0,
        output.ravel(),
        False,
    )
    return output[1:-1, 1:-1].copy()


IMPORTS = {
    "skimage.segmentation.watershed": "from skimage.segmentation import watershed",
    "_watershed_cy only": "from skimage.segmentation import _watershed_cy",
}


def import_cost(rounds: int) -> dict:
    """Median CPU seconds of each import in fresh interpreters, after numpy, cv2 and the
    package's RoI modules."""
    code = (
        "import time, numpy, cv2, napari_flowroi.roi, napari_flowroi.batch\n"
        "t = time.process_time()\n{stmt}\nprint(time.process_time() - t)\n"
    )
    spent = {name: [] for name in IMPORTS}
    for r in range(rounds):
        for name, stmt in list(IMPORTS.items()) if r % 2 == 0 else list(IMPORTS.items())[::-1]:
            done = subprocess.run(
                [sys.executable, "-c", code.format(stmt=stmt)],
                check=True,
                capture_output=True,
                text=True,
            )
            spent[name].append(float(done.stdout.strip()))
    return {name: statistics.median(v) for name, v in spent.items()}


def same_on_random(seeds: int = 20) -> bool:
    import cv2
    from skimage.segmentation import watershed

    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        image = cv2.GaussianBlur(rng.normal(0, 1, (97, 131)).astype(np.float32), (0, 0), 2)
        image = np.round(image * 4) / 4  # plateaus: ties decided by the flood's order
        mask = image > np.quantile(image, 0.3)
        count, markers = cv2.connectedComponents(
            (image > np.quantile(image, 0.95)).astype(np.uint8), connectivity=8
        )
        if not np.array_equal(
            watershed(-image, markers, mask=mask), watershed_4(-image, markers, mask)
        ):
            return False
    return True


def same_on_movies() -> list[tuple[str, int, bool]]:
    """regions_for with scikit-image's watershed and with watershed_4, on each dark-field movie's
    coded frames (benchmarks/common.py)."""
    sys.path.insert(0, str(HERE))
    import common
    import skimage.segmentation

    from napari_flowroi.appearance import regions_for
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    real = skimage.segmentation.watershed
    out = []
    for case in common.load_cases(quick=False):
        extractor = RoiExtractor(case.movie, FlowRoISettings())
        for t in case.frames:
            if not extractor.dark_field(t):
                continue
            image = extractor.appearance_image(t)
            results = []
            calls = []

            def proposed(image, markers, mask, calls=calls):
                calls.append(1)
                return watershed_4(image, markers, mask)

            for flood in (real, proposed):
                skimage.segmentation.watershed = flood
                try:
                    regions = regions_for(image, extractor.settings, dark_field=True)
                finally:
                    skimage.segmentation.watershed = real
                results.append(regions)
            a, b = results
            same = (
                np.array_equal(a.labels, b.labels)
                and np.array_equal(a.confident, b.confident)
                and a.count == b.count
            )
            same = same and bool(calls)  # the proposed flood did run
            out.append((case.name, t, same))
            print(
                case.name, t, "same" if same else "DIFFERENT", f"({len(calls)} floods)", flush=True
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print("random images, bitwise the same labels:", same_on_random())
    frames = same_on_movies()
    print(f"dark-field frames with the same regions: {sum(s for *_, s in frames)} of {len(frames)}")
    for name, seconds in import_cost(args.rounds).items():
        print(f"import {name}: {seconds:.3f} CPU s (median of {args.rounds} fresh interpreters)")


if __name__ == "__main__":
    main()
