"""Robust statistics of an image, shared by the appearance score, the flow's change gate and the
motion floor."""

from __future__ import annotations

import numpy as np


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` (no NaN in `values`), by one ``np.partition``.

    Written here because the RoI takes about twenty medians of a few thousand values per frame,
    where ``np.median``'s own overhead (its reduction machinery, about 35 us a call) was as
    large as the selection: 36 against 76 us on 4,096 float32 values, one core, 0.5-0.8 ms of a
    small dark-field frame's ~12 ms. The same value: the middle element, or for an even count
    ``np.mean`` of the two middle ones, computed as ``np.mean`` does (tests/core/
    test_mask_speed_equivalence.py compares them). Unlike ``np.median`` a NaN is not propagated
    (the prepared frames and flows hold none)."""
    flat = values.ravel()
    size = flat.size
    if size == 0:
        return float(np.median(flat))  # numpy's warning and NaN, as before
    middle = size // 2
    if size % 2:
        return float(np.partition(flat, middle)[middle])
    part = np.partition(flat, (middle - 1, middle))
    low, high = part[middle - 1], part[middle]
    if part.dtype.kind == "f" and part.dtype.itemsize >= 4:
        return float((low + high) / 2)  # np.mean of two floats: their sum, halved, in their type
    if part.dtype.kind in "iub":
        return (float(low) + float(high)) / 2  # np.mean of integers sums them in float64
    return float(np.mean(part[middle - 1 : middle + 1]))


def robust_stats(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of an image.

    From every 4th pixel each way: the same median and MAD within a few per cent on a 0.4-MP
    prepared frame, and the median (a partition) is most of the cost."""
    sample = values[::4, ::4] if min(values.shape) >= 64 else values
    centre = median(sample)
    return centre, 1.4826 * median(np.abs(sample - centre))
