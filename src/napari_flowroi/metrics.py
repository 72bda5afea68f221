"""Quality, coverage and rate figures, the same in tests, benchmarks, the CLI and napari.

One vocabulary for every figure the project reports:

- `compression_rate`: raw bytes divided by every byte written;
- `psnr` with the peak `psnr_peak` chooses (the dtype's maximum for integers; for floats the
  value range of the frame, which is what the codec maps onto its 16-bit codes);
- coverage of the cells by a RoI, and the gain at matched quality from rate/quality pairs.

The plain-JPEG2000 rate ladder that gains are measured against codes frames, so it lives in
ladders.py (this module stays below the codec, which measures PSNR with it).
"""

from __future__ import annotations

import cv2
import numpy as np


def compression_rate(raw_bytes: float, bytes_written: float) -> float:
    """Raw bytes divided by every byte written for them (> 1 means smaller than raw).

    Parameters
    ----------
    raw_bytes : float
        Bytes of the uncompressed frames (their arrays' ``nbytes``).
    bytes_written : float
        Every byte written for them: codestreams, masks, the manifest's share.

    Returns
    -------
    float
        The rate; inf when nothing was written.
    """
    return float(raw_bytes) / bytes_written if bytes_written else float("inf")


def psnr_peak(original: np.ndarray, value_range: tuple[float, float] | None = None) -> float:
    """The PSNR peak of `original`: one rule for the CLI, napari, tune and the benchmarks.

    Integers: the dtype's maximum (255, 65535), whatever the frame holds, so figures compare
    across frames and movies. Floats: the value range, by default of `original` itself (`max -
    min`, 1.0 for a constant frame). The codec maps each float frame's own range onto its 16-bit
    codes, so with this peak a float frame's PSNR equals the PSNR of its codes against 65535, and
    a target PSNR means the same for float and uint16 inputs (docs/decisions.md).

    Parameters
    ----------
    original : ndarray
        The uncompressed frame (or region) the PSNR is measured against.
    value_range : (low, high), optional
        For floats, a range to use instead of the frame's (e.g. the movie's); ignored for
        integers.

    Returns
    -------
    float
    """
    original = np.asarray(original)
    if original.dtype.kind in "uib":
        return float(np.iinfo(original.dtype).max) if original.dtype.kind != "b" else 1.0
    if value_range is None:
        value_range = (
            (float(np.min(original)), float(np.max(original))) if original.size else (0, 1)
        )
    span = float(value_range[1]) - float(value_range[0])
    return span if span > 0 else 1.0


def psnr(
    original: np.ndarray,
    decoded: np.ndarray,
    where: np.ndarray | None = None,
    peak: float | None = None,
) -> float:
    """PSNR in dB over the pixels `where` is true.

    Parameters
    ----------
    original, decoded : ndarray
        Same shape; `decoded` is compared with `original`.
    where : ndarray of bool, optional
        The pixels to measure (all when None).
    peak : float, optional
        Defaults to `psnr_peak(original)` (of the whole frame, not of the region).

    Returns
    -------
    float
        dB; inf when identical, nan when `where` selects nothing.
    """
    original = np.asarray(original)
    diff = original.astype(np.float64) - np.asarray(decoded, np.float64)
    if where is not None:
        where = np.asarray(where, bool)
        if not where.any():
            return float("nan")
        diff = diff[where]
    mse = float(np.mean(diff * diff))
    peak = psnr_peak(original) if peak is None else peak
    return float("inf") if mse == 0 else 10.0 * np.log10(peak * peak / mse)


def psnr_inside_outside(
    original: np.ndarray, decoded: np.ndarray, where: np.ndarray, peak: float | None = None
) -> tuple[float, float]:
    """(PSNR inside `where`, PSNR outside it) in dB from one error map: the figures of two
    :func:`psnr` calls for half the work (the preview measures every frame both ways).

    Parameters
    ----------
    original, decoded : ndarray
        Same shape; `decoded` is compared with `original`.
    where : ndarray of bool
        The pixels inside (e.g. the RoI).
    peak : float, optional
        Defaults to `psnr_peak(original)`.

    Returns
    -------
    tuple of float
        dB each; inf when identical there, nan when that side has no pixel.
    """
    original = np.asarray(original)
    where = np.asarray(where, bool)
    diff = original.astype(np.float64) - np.asarray(decoded, np.float64)
    err = diff * diff
    total, inside = float(err.sum()), float(err[where].sum())
    n_in = int(np.count_nonzero(where))
    n_out = where.size - n_in
    peak = psnr_peak(original) if peak is None else peak

    def db(sq: float, n: int) -> float:
        if n == 0:
            return float("nan")
        mse = sq / n
        return float("inf") if mse == 0 else float(10.0 * np.log10(peak * peak / mse))

    return db(inside, n_in), db(max(total - inside, 0.0), n_out)


def pixel_coverage(roi: np.ndarray, cells: np.ndarray) -> float:
    """Share of cell pixels inside the RoI (1.0 when there are no cells)."""
    cells = np.asarray(cells, bool)
    total = int(cells.sum())
    return 1.0 if total == 0 else float((np.asarray(roi, bool) & cells).sum() / total)


def object_coverage(roi: np.ndarray, cells: np.ndarray, min_inside: float = 0.5) -> float:
    """Share of cells (connected components, or instance labels) with at least `min_inside` of
    their pixels inside the RoI (1.0 when there are no cells)."""
    cells = np.asarray(cells)
    roi = np.asarray(roi, bool)
    if not np.any(cells.astype(bool, copy=False) > roi):
        # every cell pixel inside the RoI (the batch's usual case: the appearance source protects
        # the cells the guard counts): no labelling needed
        return 1.0
    # integer counts of the labels under the RoI (a weighted bincount over every pixel converted
    # the frame to float64: 12 ms a frame at 1 MP in every batch run, through the guard); areas
    # come with the labelling for binary masks
    if cells.dtype == bool or cells.max() <= 1:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(
            cells.astype(np.uint8), connectivity=8
        )
        count -= 1
        area = stats[1:, cv2.CC_STAT_AREA]
    else:
        labels = cells.astype(np.int64)
        count = int(labels.max())
        area = np.bincount(labels.ravel(), minlength=count + 1)[1:]
    if count == 0:
        return 1.0
    inside = np.bincount(labels[roi], minlength=count + 1)[1:]
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


def gain_at_matched_quality(
    rate: float, quality: float, baseline_rates, baseline_qualities
) -> float:
    """How many times smaller a file coded at `rate` with `quality` is than the baseline's file of
    the same quality (> 1: better than the baseline)."""
    return rate / rate_for_quality(baseline_rates, baseline_qualities, quality)
