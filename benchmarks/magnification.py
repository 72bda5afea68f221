"""Does the default RoI hold when the cells are smaller or larger in pixels than in our movies?

    python benchmarks/magnification.py [--movies HSC,HeLa] [--docs docs]

The movies of ../shared/data were filmed at one magnification each; a movie we do not have may
show the same cells at half or twice the pixel size (a 10x against a 20x objective, binning, a
larger camera pixel). The RoI's sizes are in pixels (the prepared frame is `flow_scale` of the
frame; windows, clean-up sizes and margins are pixels of the frame), so this script resizes each
clean movie's three coded frames and their neighbours (`common.MOVIES`) by 0.5 and 2 (area
averaging down, bicubic up; the reference cells by nearest neighbour) and measures the RoI of the
defaults with the `flow_scale` asked for: the resolution it was looked for at (resolution.py
goes to full resolution when the cells are too small for `flow_scale`), the share of the
reference-cell pixels inside it (mean over the three frames and the worst), its area over the
reference cells + 2 px of the resized frame, the reference cells of >= 30 px that it holds less
than half of, and the missed-cell guard's estimate on the same frames (guard.estimate_coverage).
Rows marked *fixed* keep the `flow_scale` asked for whatever the cells' size (the rule before
resolution.py). No codec runs here: coverage first (a cell outside the RoI is smeared whatever
the gain).

Writes docs/magnification.md and benchmarks/results/magnification.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from common import ideal_mask  # noqa: E402

from napari_flowroi import guard  # noqa: E402
from napari_flowroi.readers import movie_from_array  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

#: (zoom, flow_scale asked for, whether the resolution is fixed at it): as filmed; binned 2x2 with
#: the automatic resolution, with it fixed at 0.5 (the rule before resolution.py) and at 1.0;
#: twice the magnification with 0.5 and with 0.25 (the prepared frame at the pixel size the
#: defaults were chosen at).
VARIANTS = (
    (1.0, 0.5, False),
    (0.5, 0.5, False),
    (0.5, 0.5, True),
    (0.5, 1.0, True),
    (2.0, 0.5, False),
    (2.0, 0.25, False),
)
#: Reference cells smaller than this (px of the resized frame) are not counted as lost cells.
MIN_CELL_AREA = 30


def _resized(image: np.ndarray, zoom: float, *, labels: bool = False) -> np.ndarray:
    if zoom == 1.0:
        return image
    if labels:  # nearest neighbour keeps the labels; float32 because OpenCV resizes no int32
        out = cv2.resize(image.astype(np.float32), None, fx=zoom, fy=zoom, interpolation=0)
        return out.astype(np.int32)
    method = cv2.INTER_AREA if zoom < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=method)


def measure(case, zoom: float, flow_scale: float, fixed: bool) -> dict:
    """The default RoI (with `flow_scale`, `fixed` or not) on `case`'s coded frames resized by
    `zoom`."""
    settings = FlowRoISettings(flow_scale=flow_scale)
    covered, share, lost, cells, estimates = [], [], 0, 0, []
    for t in common.MOVIES[case.movie_name][1]:
        frames = np.stack([_resized(np.asarray(case.movie[u]), zoom) for u in (t - 1, t, t + 1)])
        reference = _resized(case.cells(t), zoom, labels=True)
        extractor = RoiExtractor(movie_from_array(frames), settings, cache_frames=3, resolved=fixed)
        roi = extractor.mask(1).astype(bool)
        inside = reference > 0
        covered.append(float((roi & inside).sum() / max(1, inside.sum())))
        share.append(float(roi.mean() / max(1e-9, ideal_mask(reference).mean())))
        areas = np.bincount(reference.ravel())
        held = np.bincount(reference.ravel(), weights=roi.ravel(), minlength=areas.size)
        big = np.flatnonzero(areas >= MIN_CELL_AREA)
        big = big[big > 0]
        cells += big.size
        lost += int((held[big] < 0.5 * areas[big]).sum())
        estimates.append(guard.estimate_coverage(extractor, [1]).pixel_share)
    return {
        "zoom": zoom,
        "flow_scale": flow_scale,
        "fixed": fixed,
        "used": extractor.settings.flow_scale,
        "shape": list(frames.shape[1:]),
        "covered": float(np.mean(covered)),
        "worst_frame": float(np.min(covered)),
        "roi_over_ideal": float(np.mean(share)),
        "cells": cells,
        "cells_lost": lost,
        "guard_estimate": float(np.mean(estimates)),
    }


def table(results: dict) -> list[str]:
    header = (
        "| movie | frame size | zoom | flow_scale asked | looked at | covered (worst frame) | "
        "RoI / ideal | cells of >= 30 px less than half held | guard's estimate (difference) |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results["cases"].items():
        for r in rows:
            gap = abs(r["guard_estimate"] - r["covered"]) * 100
            lines.append(
                f"| {name} | {r['shape'][1]}x{r['shape'][0]} | {r['zoom']:g}x | "
                f"{r['flow_scale']:g}{' fixed' if r['fixed'] else ''} | {r['used']:g} | "
                f"{100 * r['covered']:.2f}% ({100 * r['worst_frame']:.2f}%) "
                f"| {r['roi_over_ideal']:.2f} | {r['cells_lost']} of {r['cells']} | "
                f"{100 * r['guard_estimate']:.2f}% ({gap:.2f} pp) |"
            )
    return lines


def write_doc(results: dict, path: Path) -> None:
    generated = (
        f"*Generated by `python benchmarks/magnification.py` (run started {results['started']}, "
        f"{results['wall_seconds'] / 60:.1f} min). Do not edit by hand.*"
    )
    about = (
        "Each clean movie of `../shared/data`, its three coded frames (`benchmarks/common.py`) "
        "and their neighbours, resized by *zoom* (0.5: area averaging, as a lower "
        "magnification or 2x2 binning gives; 2: bicubic) with the reference cells (nearest "
        "neighbour), then the RoI of the defaults with the *flow_scale asked* for (0.5 is the "
        "default; *fixed*: kept whatever the cells' size, the rule before `resolution.py`). "
        "*looked at* = the resolution the RoI was found at (`resolution.working_settings`: full "
        "resolution when most of the frame's blobs are at the finest scale `flow_scale` "
        "resolves). *covered* = share of the reference-cell pixels inside the RoI, mean over "
        "the three frames (worst frame in brackets); *RoI / ideal* = RoI area over the "
        "reference cells + 2 px of the resized frame; *guard's estimate* = the missed-cell "
        "guard's coverage on the same frames, and its distance from *covered*. Coverage only, "
        "no codec; clean movies only. The decision and what is left: docs/decisions.md, "
        '"Cells smaller or larger in pixels than in our movies".'
    )
    text = ["# The RoI at other magnifications", "", generated, "", about, "", *table(results), ""]
    path.write_text("\n".join(text), encoding="utf-8")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", default="", help="comma-separated subset of the movies")
    parser.add_argument("--docs", default=str(HERE.parent / "docs"))
    args = parser.parse_args(argv)
    movies = tuple(m for m in args.movies.split(",") if m)
    started = time.perf_counter()
    results = {"started": time.strftime("%Y-%m-%d %H:%M"), "cases": {}}
    for case in common.load_cases(False, movies):
        if case.noisy:
            continue
        rows = [measure(case, *variant) for variant in VARIANTS]
        results["cases"][case.name] = rows
        print("\n".join(table({"cases": {case.name: rows}})[2:]), flush=True)
    results["wall_seconds"] = time.perf_counter() - started
    out = HERE / "results" / "magnification.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1), encoding="utf-8")
    write_doc(results, Path(args.docs) / "magnification.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
