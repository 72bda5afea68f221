"""`make demo`: compress the shipped real sample (HSC brightfield, 12 frames of 512x512) through the
command line, with the default settings, with the settings `flowroi tune` suggests for each rate,
and with plain JPEG2000 at the same rate; then compare the quality inside the RoI, outside it and
inside the reference cells (a motion-independent mask shipped with the sample). A last row per
rate codes the reference cells themselves (+ 2 px) as the only RoI: the ceiling of any RoI
extraction on this clip, so a tie with plain JPEG2000 can be told from a miss."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import tifffile

from napari_flowroi.container import open_container
from napari_flowroi.metrics import psnr
from napari_flowroi.readers import open_movie
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.sample_data import cells_path, movie_path
from napari_flowroi.settings import FlowRoISettings

RATES = (8, 16, 32)
OUT = Path("demo-output")
#: The ideal RoI: the reference cells grown by this many px (as in docs/benchmarks.md).
IDEAL_MARGIN = 2


def flowroi(*args: str, notes: bool = True) -> dict:
    """Run the command line; its JSON summary. `notes=False` keeps its stderr notes back (the
    ideal run, whose hand-made RoI the missed-cell guard rightly finds narrower than the cells it
    sees) but still shows them when the command fails."""
    result = subprocess.run(
        [sys.executable, "-m", "napari_flowroi.cli", *args],
        stdout=subprocess.PIPE,
        stderr=None if notes else subprocess.PIPE,
        text=True,
    )
    if result.returncode != 0:
        sys.stderr.write(result.stderr or "")
        raise SystemExit(f"flowroi {args[0]} failed (exit {result.returncode})")
    return json.loads(result.stdout)


def exact_roi(movie_file: Path, settings: FlowRoISettings, n_frames: int) -> np.ndarray:
    """The RoI the frames were coded with (the container stores it on a coarse block grid)."""
    if settings.plain:
        return np.zeros((n_frames, *open_movie(movie_file).shape[1:]), bool)
    extractor = RoiExtractor(open_movie(movie_file), settings)
    return np.stack([extractor.mask(t) for t in range(n_frames)])


def main() -> None:
    movie_file = movie_path("hsc_brightfield")
    original = tifffile.imread(movie_file)
    cells = tifffile.imread(cells_path("hsc_brightfield")).astype(bool)
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir()
    ideal = OUT / "reference_cells_2px.tif"
    tifffile.imwrite(ideal, ideal_roi(cells))
    print(
        f"Sample: {movie_file.name}, {original.shape[0]} frames of {original.shape[1]}x"
        f"{original.shape[2]} {original.dtype} (HSC brightfield, BaSiC data). Quality: PSNR in dB "
        "inside the RoI, outside it, and inside the reference cells; the RoI is that of the "
        "FlowRoI row above it. The last row of each rate codes the reference cells + 2 px as "
        "the RoI: what a perfect RoI would give here.\n"
    )
    header = (
        f"{'rate':>4}  {'method':<40} {'achieved':>8} {'kB':>7} {'in RoI':>7} "
        f"{'outside':>8} {'in cells':>9} {'s/frame':>8}"
    )
    print(header)
    print("-" * len(header))
    for rate in RATES:
        preset = OUT / f"suggested_{rate}.json"
        tune = flowroi(
            "tune",
            str(movie_file),
            "--compression-rate",
            str(rate),
            "--save",
            str(preset),
            "--quiet",
        )
        suggested = FlowRoISettings.from_json(preset)
        runs = [
            ("defaults", []),
            ("suggested: " + _describe(suggested), ["--preset", str(preset)]),
            ("plain JPEG2000", ["--plain"]),
            (
                "ideal: reference cells + 2 px",
                ["--no-motion-roi", "--no-appearance-roi", "--roi-mask", str(ideal)],
            ),
        ]
        roi = None
        for label, extra in runs:
            out = OUT / f"{label.split(':')[0].replace(' ', '_')}_{rate}"
            summary = flowroi(
                "compress",
                str(movie_file),
                str(out),
                "--compression-rate",
                str(rate),
                "--quiet",
                *extra,
                notes=not label.startswith("ideal"),
            )
            container = open_container(out)
            if label == "defaults":
                roi = exact_roi(movie_file, container.settings, original.shape[0])
            decoded = np.asarray(container.frames())
            print(
                f"{rate:>3}:  {label:<40} {summary['achieved_rate']:>8.2f} "
                f"{summary['bytes_written'] / 1000:>7.1f} {psnr(original, decoded, roi):>7.2f} "
                f"{psnr(original, decoded, ~roi):>8.2f} {psnr(original, decoded, cells):>9.2f} "
                f"{summary['seconds'] / original.shape[0]:>8.3f}"
            )
        print(f"      tune: {tune['summary']} ({tune['seconds']:.0f} s)")
    coverage = (roi & cells).sum() / cells.sum()
    print(
        f"\nDefault RoI: {roi.mean():.0%} of the frame, holding {coverage:.1%} of the "
        f"reference-cell pixels. Containers are in {OUT}/ (open one in napari, or any frame "
        "in a JPEG2000 viewer); `flowroi info` describes them."
    )


def ideal_roi(cells: np.ndarray) -> np.ndarray:
    """The reference cells of every frame dilated IDEAL_MARGIN px (a disc), as uint8 0/1."""
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * IDEAL_MARGIN + 1,) * 2)
    return np.stack([cv2.dilate(frame.astype(np.uint8), disc) for frame in cells])


def _describe(settings: FlowRoISettings) -> str:
    if settings.plain:
        return "plain"
    return f"{'+'.join(settings.roi_sources)}, scaling {settings.scaling_factor:g}"


if __name__ == "__main__":
    main()
