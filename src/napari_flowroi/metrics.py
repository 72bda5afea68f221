"""Quality, coverage and rate figures, the same in tests, benchmarks, the CLI and napari."""

from __future__ import annotations

import cv2
import numpy as np


def peak_value(dtype) -> float:
    """PSNR peak: the dtype's maximum for integers, 1.0 for floats (assumed in [0, 1])."""
    dtype = np.dtype(dtype)
    return float(np.iinfo(dtype).max) if dtype.kind in "ui" else 1.0


def psnr(original: np.ndarray, decoded: np.ndarray, where: np.ndarray | None = None,
         peak: float | None = None) -> float:
    """PSNR in dB over the pixels `where` is true (all pixels when None); inf when identical."""
    original = np.asarray(original)
    diff = original.astype(np.float64) - np.asarray(decoded, np.float64)
    if where is not None:
        where = np.asarray(where, bool)
        if not where.any():
            return float("nan")
        diff = diff[where]
    mse = float(np.mean(diff * diff))
    peak = peak_value(original.dtype) if peak is None else peak
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def pixel_coverage(roi: np.ndarray, cells: np.ndarray) -> float:
    """Share of cell pixels inside the RoI (1.0 when there are no cells)."""
    cells = np.asarray(cells, bool)
    total = int(cells.sum())
    return 1.0 if total == 0 else float((np.asarray(roi, bool) & cells).sum() / total)


def object_coverage(roi: np.ndarray, cells: np.ndarray, min_inside: float = 0.5) -> float:
    """Share of cells (connected components, or instance labels) with at least `min_inside` of
    their pixels inside the RoI (1.0 when there are no cells)."""
    cells = np.asarray(cells)
    if cells.dtype == bool or cells.max() <= 1:
        _, labels = cv2.connectedComponents(cells.astype(np.uint8), connectivity=8)
    else:
        labels = cells.astype(np.int64)
    labels = labels.ravel()
    count = int(labels.max())
    if count == 0:
        return 1.0
    area = np.bincount(labels, minlength=count + 1)[1:]
    inside = np.bincount(labels, weights=np.asarray(roi, bool).ravel(), minlength=count + 1)[1:]
    present = area > 0
    return float(np.mean(inside[present] / area[present] >= min_inside))


def rate_for_quality(rates, qualities, target: float) -> float:
    """The rate at which a rate-quality curve reaches `target`, interpolating log(rate).

    Outside the measured range the nearest end is returned (the caller reports the gain as a
    bound there)."""
    rates = np.asarray(rates, float)
    qualities = np.asarray(qualities, float)
    order = np.argsort(qualities)
    log_rate = np.interp(target, qualities[order], np.log(rates[order]))
    return float(np.exp(log_rate))


def gain_at_matched_quality(rate: float, quality: float, baseline_rates, baseline_qualities) -> float:
    """How many times smaller a file coded at `rate` with `quality` is than the baseline's file of
    the same quality (> 1: better than the baseline)."""
    return rate / rate_for_quality(baseline_rates, baseline_qualities, quality)
