"""`make demo`: compress the shipped real sample with FlowRoI and with plain JPEG2000 at the same
rate through the command line, then compare quality inside and outside the RoI and inside the
reference cells (a motion-independent mask shipped with the sample)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import tifffile

from napari_flowroi.container import open_container
from napari_flowroi.metrics import psnr
from napari_flowroi.sample_data import cells_path, movie_path

RATES = (8, 16, 32)
OUT = Path("demo-output")


def flowroi(*args: str) -> dict:
    result = subprocess.run([sys.executable, "-m", "napari_flowroi.cli", *args],
                            stdout=subprocess.PIPE, text=True, check=True)
    return json.loads(result.stdout)


def main() -> None:
    movie_file = movie_path("hsc_brightfield")
    original = tifffile.imread(movie_file)
    cells = tifffile.imread(cells_path("hsc_brightfield")).astype(bool)
    shutil.rmtree(OUT, ignore_errors=True)
    print(f"Sample: {movie_file.name}, {original.shape[0]} frames of "
          f"{original.shape[1]}x{original.shape[2]} {original.dtype} (HSC brightfield, BaSiC data)")
    print("Settings: the defaults (see docs/settings.md); quality = PSNR in dB\n")
    header = (f"{'rate':>5} {'method':>8} {'achieved':>9} {'kB':>7} {'in RoI':>7} "
              f"{'outside':>8} {'in cells':>9} {'s/frame':>8}")
    print(header)
    print("-" * len(header))
    for rate in RATES:
        rows = {}
        for method, extra in (("FlowRoI", []), ("plain", ["--plain"])):
            out = OUT / f"{method.lower()}_{rate}"
            summary = flowroi("compress", str(movie_file), str(out), "--compression-rate",
                              str(rate), "--quiet", *extra)
            rows[method] = (summary, open_container(out))
        roi = np.asarray(rows["FlowRoI"][1].masks())
        for method, (summary, container) in rows.items():
            decoded = np.asarray(container.frames())
            print(f"{rate:>4}: {method:>8} {summary['achieved_rate']:>9.2f} "
                  f"{summary['bytes_written'] / 1000:>7.1f} {psnr(original, decoded, roi):>7.2f} "
                  f"{psnr(original, decoded, ~roi):>8.2f} {psnr(original, decoded, cells):>9.2f} "
                  f"{summary['seconds'] / original.shape[0]:>8.3f}")
    coverage = (roi & cells).sum() / cells.sum()
    print(f"\nRoI: {roi.mean():.0%} of the frame, covering {coverage:.1%} of the reference-cell "
          f"pixels. Containers are in {OUT}/ (open one in napari, or any frame in a JPEG2000 "
          "viewer); `flowroi info` describes them.")


if __name__ == "__main__":
    main()
