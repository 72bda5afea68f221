"""Does the default RoI hold when the cells are smaller or larger in pixels than in our movies?

    python benchmarks/magnification.py [--movies HSC,HeLa] [--docs docs]

The movies of ../shared/data were filmed at one magnification each; a movie we do not have may
show the same cells at half or twice the pixel size (a 10x against a 20x objective, binning, a
larger camera pixel). The RoI's sizes are in pixels (the prepared frame is `flow_scale` of the
frame; windows, clean-up sizes and margins are pixels of the frame), so this script resizes each
clean movie's three coded frames and their neighbours (`common.MOVIES`) by 0.35, 0.5, 1.4 and 2 (area
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
from napari_flowroi.preprocess import prepare_frames  # noqa: E402
from napari_flowroi.readers import movie_from_array  # noqa: E402
from napari_flowroi.resolution import blob_scales, finest_blob_share, view_scale  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

#: (zoom, flow_scale asked for, whether the resolution is fixed at it): as filmed; binned 2x2
#: with the automatic resolution, with it fixed at 0.5 (the rule before resolution.py) and at
#: 1.0; at 0.35 of the size (a 10x against a 30x objective; binning 3x3) with the automatic
#: resolution and fixed at 0.5; 1.4x and twice the magnification with the automatic resolution and with it fixed at 0.5
#: (the rule before the view at half the pixel size); twice the magnification with 0.25 asked
#: for (the movie seen at half its pixel size by hand).
VARIANTS = (
    (1.0, 0.5, False),
    (0.5, 0.5, False),
    (0.5, 0.5, True),
    (0.5, 1.0, True),
    (0.35, 0.5, False),
    (0.35, 0.5, True),
    (1.4, 0.5, False),
    (1.4, 0.5, True),
    (2.0, 0.5, False),
    (2.0, 0.5, True),
    (2.0, 0.25, False),
)
#: The variants measured on each movie with the benchmark's camera noise, added after the resize
#: as a camera adds it (the same noise per pixel at every magnification): the lower ones, where a
#: cell is a few pixels, and twice the magnification, automatic, fixed at 0.5 and with 0.25 asked.
NOISY_VARIANTS = (
    (0.5, 0.5, False),
    (0.5, 0.5, True),
    (0.35, 0.5, False),
    (0.35, 0.5, True),
    (2.0, 0.5, False),
    (2.0, 0.5, True),
    (2.0, 0.25, False),
)
#: Zooms of the cell-size statistics' table (frame 0 of each movie, clean and with the
#: benchmark's camera noise added after the resize, as a camera adds it).
STAT_ZOOMS = (0.5, 0.7, 1.0, 1.4, 2.0)
#: Reference cells smaller than this (px of the resized frame) are not counted as lost cells.
MIN_CELL_AREA = 30
#: The statistic tried for "cells twice as large as the defaults were chosen on" (not in the
#: product: docs/decisions.md, "The RoI at twice the magnification"): the 10th percentile of the
#: characteristic scale (px of the frame prepared at 0.5) of a frame's blobs, found as
#: resolution.finest_blob_share finds them but over wider scales and down to a lower contrast
#: (at its 8 robust SDs CHO's and GOWT1's large smooth nuclei gave 0-3 blobs).
WIDE_SIGMAS = tuple(2 ** (k / 2) for k in range(10))  # 1 ... 22.6
WIDE_Z = 3.0
#: The frames (beside 0) the statistic is also read on, to see how much it varies in a movie.
STAT_FRAMES = (0, 3, 4, 9, 14, 15, 24)


def _resized(image: np.ndarray, zoom: float, *, labels: bool = False) -> np.ndarray:
    if zoom == 1.0:
        return image
    if labels:  # nearest neighbour keeps the labels; float32 because OpenCV resizes no int32
        out = cv2.resize(image.astype(np.float32), None, fx=zoom, fy=zoom, interpolation=0)
        return out.astype(np.int32)
    method = cv2.INTER_AREA if zoom < 1 else cv2.INTER_CUBIC
    return cv2.resize(image, None, fx=zoom, fy=zoom, interpolation=method)


def _noisy(image: np.ndarray, sigma: float, seed: int) -> np.ndarray:
    """`image` with Gaussian noise of `sigma` (seeded), rounded and clipped to its type."""
    info = np.iinfo(image.dtype)
    rng = np.random.default_rng(seed)
    noisy = image + rng.normal(0.0, sigma, image.shape)
    return np.clip(np.rint(noisy), info.min, info.max).astype(image.dtype)


def _frames(case, t: int, zoom: float) -> np.ndarray:
    """Frames t - 1, t, t + 1 of `case` resized by `zoom`; for a +noise case its clean frames
    resized, then the benchmark's camera noise (seeded by the frame)."""
    if not case.noisy:
        return np.stack([_resized(np.asarray(case.movie[u]), zoom) for u in (t - 1, t, t + 1)])
    sigma = common.noise_sigma(case.clean)
    return np.stack(
        [
            _noisy(_resized(np.asarray(case.clean[u]), zoom), sigma, common.NOISE_SEED + u)
            for u in (t - 1, t, t + 1)
        ]
    )


def measure(case, zoom: float, flow_scale: float, fixed: bool) -> dict:
    """The default RoI (with `flow_scale`, `fixed` or not) on `case`'s coded frames resized by
    `zoom` (a +noise case: with the camera noise added after the resize, :func:`_frames`)."""
    settings = FlowRoISettings(flow_scale=flow_scale)
    covered, share, lost, cells, estimates, seconds, used = [], [], 0, 0, [], 0.0, set()
    for t in common.MOVIES[case.movie_name][1]:
        frames = _frames(case, t, zoom)
        reference = _resized(case.cells(t), zoom, labels=True)
        started = time.process_time()
        extractor = RoiExtractor(movie_from_array(frames), settings, cache_frames=3, resolved=fixed)
        roi = extractor.mask(1).astype(bool)
        seconds += time.process_time() - started
        used.add(extractor.settings.flow_scale)  # each clip (three frames) decides its own
        inside = reference > 0
        covered.append(float((roi & inside).sum() / max(1, inside.sum())))
        ideal = ideal_mask(reference)
        other = case.unannotated(t)  # counted neither way, as in the other benchmarks
        if other is not None:
            ideal |= _resized(other.astype(np.uint8), zoom) > 0
        share.append(float(roi.mean() / max(1e-9, ideal.mean())))
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
        "mask_cpu_seconds": seconds,
        "used": sorted(used),
        "shape": list(frames.shape[1:]),
        "covered": float(np.mean(covered)),
        "worst_frame": float(np.min(covered)),
        "roi_over_ideal": float(np.mean(share)),
        "cells": cells,
        "cells_lost": lost,
        "guard_estimate": float(np.mean(estimates)),
    }


def large_blob_scale(image: np.ndarray) -> tuple[float | None, int]:
    """The 10th percentile of the characteristic scale (WIDE_SIGMAS, px of `image`) of `image`'s
    distinct blobs (resolution.blob_scales, WIDE_Z), and how many there are."""
    scales = blob_scales(image, WIDE_SIGMAS, WIDE_Z)
    return (float(np.percentile(scales, 10)) if scales.size else None), int(scales.size)


def frame_statistics(case) -> dict:
    """large_blob_scale of `case`'s frames STAT_FRAMES at 1x and 2x, and its CPU time."""
    out = {}
    frames = [t for t in STAT_FRAMES if t < len(case.movie)]
    for zoom in (1.0, 2.0):
        values, seconds = [], 0.0
        for t in frames:
            appearance = prepare_frames(_resized(np.asarray(case.movie[t]), zoom), SETTINGS)[1]
            started = time.process_time()
            values.append(large_blob_scale(appearance)[0])
            seconds += time.process_time() - started
        out[f"{zoom:g}"] = {"frames": frames, "p10": values, "seconds": seconds / len(frames)}
    return out


SETTINGS = FlowRoISettings()
#: The streamed mask time at 2x: this many frames after the first two, in rounds.
STREAM_FRAMES, STREAM_ROUNDS = 7, 3


def stream_cost(case) -> dict:
    """CPU s per megapixel of the mask of STREAM_FRAMES frames streamed at 2x (from the middle
    coded frame; the first two masks made before the clock starts, the resolution given, so the
    per-movie decision is left out), at flow_scale 0.5 and 0.25, median of STREAM_ROUNDS
    interleaved rounds."""
    first = common.MOVIES[case.movie_name][1][1] - 1
    frames = np.stack(
        [_resized(np.asarray(case.movie[u]), 2.0) for u in range(first, first + STREAM_FRAMES + 3)]
    )
    megapixels = frames.shape[1] * frames.shape[2] / 1e6
    seconds: dict = {0.5: [], 0.25: []}
    for _ in range(STREAM_ROUNDS):
        for flow_scale in seconds:
            settings = FlowRoISettings(flow_scale=flow_scale)
            extractor = RoiExtractor(movie_from_array(frames), settings, 4, resolved=True)
            extractor.mask(1)
            started = time.process_time()
            for t in range(2, STREAM_FRAMES + 2):
                extractor.mask(t)
            elapsed = time.process_time() - started
            seconds[flow_scale].append(elapsed / STREAM_FRAMES / megapixels)
    return {f"{k:g}": float(np.median(v)) for k, v in seconds.items()}


def statistics(case) -> list[dict]:
    """Frame 0 of `case` (its clean movie resized, then the camera noise of the +noise case)
    prepared as the defaults prepare it: the product's finest-blob share and large-blob scale, per zoom of STAT_ZOOMS."""
    frame = np.asarray((case.clean if case.noisy else case.movie)[0])
    rows = []
    for zoom in STAT_ZOOMS:
        image = _resized(frame, zoom)
        if case.noisy:
            image = _noisy(image, common.noise_sigma(case.clean), common.NOISE_SEED)
        appearance = prepare_frames(image, FlowRoISettings())[1]
        share, count = finest_blob_share(appearance)
        scale, wide = large_blob_scale(appearance)
        rows.append(
            {
                "zoom": zoom,
                "finest_share": share,
                "blobs": count,
                "wide_blobs": wide,
                "scale_p10": scale,
            }
        )
    return rows


def _looked_at(row: dict) -> str:
    return ", ".join(_looked_at_scale(scale) for scale in row["used"])


def _looked_at_scale(scale: float) -> str:
    view = view_scale(FlowRoISettings(flow_scale=scale))
    return f"{scale:g}" + (f" (the movie at {view:g} of its size)" if view < 1 else "")


def table(results: dict) -> list[str]:
    header = (
        "| movie | frame size | zoom | flow_scale asked | looked at | covered (worst frame) | "
        "RoI / ideal | cells of >= 30 px less than half held | guard's estimate (difference) | "
        "mask CPU / at 0.5 fixed |"
    )
    lines = [header, "|---|---|---|---|---|---|---|---|---|---|"]
    for name, rows in results["cases"].items():
        base = {r["zoom"]: r["mask_cpu_seconds"] for r in rows if r["flow_scale"] == 0.5}
        base.update(
            {
                r["zoom"]: r["mask_cpu_seconds"]
                for r in rows
                if r["flow_scale"] == 0.5 and r["fixed"]
            }
        )
        for r in rows:
            gap = abs(r["guard_estimate"] - r["covered"]) * 100
            lines.append(
                f"| {name} | {r['shape'][1]}x{r['shape'][0]} | {r['zoom']:g}x | "
                f"{r['flow_scale']:g}{' fixed' if r['fixed'] else ''} | {_looked_at(r)} | "
                f"{100 * r['covered']:.2f}% ({100 * r['worst_frame']:.2f}%) "
                f"| {r['roi_over_ideal']:.2f} | {r['cells_lost']} of {r['cells']} | "
                f"{100 * r['guard_estimate']:.2f}% ({gap:.2f} pp) | "
                f"{r['mask_cpu_seconds'] / base[r['zoom']]:.2f} |"
            )
    return lines


def stats_table(results: dict) -> list[str]:
    zooms = " | ".join(f"{z:g}x" for z in STAT_ZOOMS)
    lines = [f"| movie | {zooms} |", "|---|" + "---|" * len(STAT_ZOOMS)]
    for name, rows in results["statistics"].items():
        cells = []
        for r in rows:
            p10 = "-" if r["scale_p10"] is None else f"{r['scale_p10']:.1f}"
            cells.append(f"{r['finest_share']:.2f} of {r['blobs']}; {p10} of {r['wide_blobs']}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return lines


def frames_table(results: dict) -> list[str]:
    lines = ["| movie | zoom | frames | 10th percentile of the blob scales | CPU ms a frame |"]
    lines.append("|---|---|---|---|---|")
    for name, zooms in results["frame_statistics"].items():
        for zoom, r in zooms.items():
            values = ", ".join("-" if v is None else f"{v:.1f}" for v in r["p10"])
            frames = ", ".join(str(t) for t in r["frames"])
            lines.append(f"| {name} | {zoom}x | {frames} | {values} | {1000 * r['seconds']:.0f} |")
    return lines


def stream_table(results: dict) -> list[str]:
    lines = ["| movie | mask CPU at 0.25 / at 0.5 (2x, streamed) |", "|---|---|"]
    for name, r in results["stream"].items():
        lines.append(f"| {name} | {r['0.25'] / r['0.5']:.2f} |")
    return lines


def write_doc(results: dict, path: Path) -> None:
    generated = common.generated_line("`python benchmarks/magnification.py`", results)
    about = (
        "Each clean movie of `../shared/data`, its three coded frames (`benchmarks/common.py`) "
        "and their neighbours, resized by *zoom* (below 1: area averaging, as a lower "
        "magnification or 2x2 binning gives; above 1: bicubic) with the reference cells "
        "(nearest neighbour), then the RoI of the defaults with the *flow_scale asked* for (0.5 "
        "is the default; *fixed*: kept whatever the cells' size, the rules of `resolution.py` "
        "off). *looked at* = the flow_scale the RoI was found with "
        "(`resolution.working_settings`: 1 when most of frame 0's blobs are at the finest "
        "scale `flow_scale` resolves, or, where it shows fewer than 10 blobs or a share "
        "within two standard errors of one half, when most of frame 0's blobs at full "
        "resolution are no wider than that scale; each clip of three frames decides its own, "
        "and where they differ both are listed; below 0.5 the movie is seen at "
        "`flow_scale / 0.5` of its pixel size by area averaging, "
        "the unchanged pipeline and guard run on that at 0.5 and the mask comes back to the "
        "frame's size). *covered* = share of the reference-cell pixels inside the RoI, mean "
        "over the three frames (worst frame in brackets); *RoI / ideal* = RoI area over the "
        "reference cells + 2 px of the resized frame; *guard's estimate* = the missed-cell "
        "guard's coverage on the same frames, and its distance from *covered*; *mask CPU* = "
        "process time of the three frames' extractor (its decision included) and mask, over "
        "the same zoom's at 0.5 fixed (at 1x: at 0.5), one OpenCV thread. Coverage only, no "
        "codec. The +noise rows: each movie at 0.5x, 0.35x and 2x with the benchmark's camera "
        "noise added after the resize, as a camera adds it (the same noise per pixel at every "
        'magnification). The decisions: docs/decisions.md, "Cells smaller or '
        'larger in pixels than in our movies" and "The RoI at twice the magnification".'
    )
    stats_about = (
        "## Cell-size statistics of frame 0, per zoom\n\n"
        "Frame 0 of each movie resized by the zoom (the +noise rows: the benchmark's camera "
        "noise added after the resize) and prepared as the defaults prepare it (0.5). Each "
        "cell: *the product's finest-blob share* (`resolution.finest_blob_share`: the share of "
        "the distinct blobs at the finest scale; above 0.5 with 10 blobs or more the RoI is "
        "looked for at full resolution) *of* its number of blobs; then "
        "the statistic tried for cells twice as large (`large_blob_scale`): the 10th percentile of the blobs' characteristic "
        "scale (sigma, px of the prepared frame, scales 1-22.6 sqrt(2) apart, blobs 3 robust "
        "SDs above the frame's response) *of* its number of blobs."
    )
    common.write_page(
        path,
        "# The RoI at other magnifications",
        generated,
        about,
        table(results),
        stats_about,
        stats_table(results),
        (
            "The same statistic on other frames of the clean movies, at 1x and 2x (frame 0 is the "
            "one the product decides on; CPU: one OpenCV thread, the prepared frame's search "
            "alone):"
        ),
        frames_table(results),
        "## The mask's time at twice the magnification",
        (
            f"CPU time of the masks of {STREAM_FRAMES} frames streamed after the middle coded frame "
            "of each clean movie at 2x (the first two masks made before the clock starts and the "
            "resolution given, so the once-per-movie decision is left out; one OpenCV thread; "
            f"median of {STREAM_ROUNDS} interleaved rounds), `flow_scale` 0.25 over 0.5:"
        ),
        stream_table(results),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", default="", help="comma-separated subset of the movies")
    parser.add_argument("--docs", default=str(HERE.parent / "docs"))
    args = parser.parse_args(argv)
    movies = tuple(m for m in args.movies.split(",") if m)
    cv2.setNumThreads(1)  # the mask CPU column: one thread, as docs/speed.md measures
    started = time.perf_counter()
    results = {
        "started": time.strftime("%Y-%m-%d %H:%M"),
        "cases": {},
        "statistics": {},
        "frame_statistics": {},
        "stream": {},
    }
    for case in common.load_cases(False, movies):
        results["statistics"][case.name] = statistics(case)
        if case.noisy:
            rows = [measure(case, *variant) for variant in NOISY_VARIANTS]
        else:
            results["frame_statistics"][case.name] = frame_statistics(case)
            results["stream"][case.name] = stream_cost(case)
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
