"""Robust statistics of an image, shared by the appearance score, the flow's change gate and the
motion floor."""

from __future__ import annotations

import numpy as np

#: From this many values on, :func:`median` partitions around one rank (numpy's SIMD selection)
#: instead of two: below it the second pass (a maximum) cost more than it saved (1,536 float32
#: values: 8.7 against 8.1 us; 2,048: 8.9 against 15.2 us, one core).
SINGLE_RANK_SIZE = 2048


def median(values: np.ndarray) -> float:
    """``float(np.median(values))`` (no NaN in `values`), by ``np.partition`` around one rank.

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
    part = None
    if size >= SINGLE_RANK_SIZE:
        # one rank, then the largest below it (the value of rank middle - 1): numpy partitions
        # around a single rank with its SIMD selection but around two with its plain
        # introselect, 3-5x slower on these sizes (4,096 float32 values: 12 against 35 us;
        # HeLa's 12,144-value samples: 20-27 against 88-123 us, six a frame). Where either
        # middle value is a float zero, which of -0 and +0 each selection leaves there may
        # differ: then the two-rank partition, as before, so every bit of the result is the same
        part = np.partition(flat, middle)
        high, low = part[middle], part[:middle].max()
        if part.dtype.kind == "f" and (high == 0 or low == 0):
            part = None
    if part is None:
        part = np.partition(flat, (middle - 1, middle))
        low, high = part[middle - 1], part[middle]
    if part.dtype.kind == "f" and part.dtype.itemsize >= 4:
        return float((low + high) / 2)  # np.mean of two floats: their sum, halved, in their type
    if part.dtype.kind in "iub":
        return (float(low) + float(high)) / 2  # np.mean of integers sums them in float64
    return float(np.mean(np.array([low, high], part.dtype)))  # float16: numpy's own mean


def robust_stats(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of an image.

    From every 4th pixel each way: the same median and MAD within a few per cent on a 0.4-MP
    prepared frame, and the median (a partition) is most of the cost."""
    sample = values[::4, ::4] if min(values.shape) >= 64 else values
    centre = median(sample)
    return centre, 1.4826 * median(np.abs(sample - centre))
