"""Robust statistics of an image, shared by the appearance score, the flow's change gate and the
motion floor."""

from __future__ import annotations

import cv2
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
    return median_and_sd(values[::4, ::4] if min(values.shape) >= 64 else values)


def median_and_sd(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of all of `values`, of any shape
    (:func:`robust_stats` samples an image first)."""
    centre = median(values)
    return centre, 1.4826 * median(np.abs(values - centre))


def robust_sd(values: np.ndarray) -> float:
    """The robust standard deviation (1.4826 MAD) of all of `values`, of any shape."""
    return median_and_sd(values)[1]


def percentiles(values: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """``np.percentile(values, q)`` (the default, linear method): the same float64 values, from a
    histogram when `values` are unsigned integers of at most 16 bits, from the sorted values when
    they are wider integers (regions' areas), by a partition per rank when they are float32.

    Written here because ``np.percentile`` partitions the values around eight ranks (the three
    percentiles' two neighbours, the first and the last), 0.7 ms on the 0.06-MP prepared
    frame of a small 8-bit movie (CHO, GOWT1), 6-7 % of its whole RoI mask; counting the grey
    levels (``np.bincount``) finds any rank in one pass. The ranks and the interpolation
    between them are numpy's own (``_quantile``'s virtual index ``(n - 1) * q / 100`` and
    ``_lerp``), so the result is the same to the bit (tests/core/test_mask_speed_equivalence.py
    compares them on real and random frames). numpy 2's ``np.percentile`` (and ``np.median``)
    also import ``numpy.ma`` on their first call, 16 ms of a command's start-up."""
    values = np.asarray(values)
    if not values.size:
        return np.percentile(values, q)  # numpy's warning and NaN
    if values.dtype == np.float32:
        return _float_percentiles(values, q)
    if values.dtype.kind == "u" and values.dtype.itemsize <= 2:
        return _histogram_percentiles(values, q)
    if values.dtype.kind in "iu":
        return _sorted_percentiles(np.sort(values, axis=None), q)
    return np.percentile(values, q)


def _histogram_percentiles(values: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """:func:`percentiles` of unsigned integers of at most 16 bits: each rank's value from the
    cumulative count of the grey levels."""
    count = values.size
    # rank k's value: the first grey level whose cumulative count exceeds k; 8-bit levels counted
    # by OpenCV (float32 counts, exact below 2**24 pixels; 0.02-0.06 against 0.05-0.14 ms for
    # np.bincount, which converts every value to an index first, on the prepared frames)
    if values.dtype == np.uint8 and count < 2**24:
        counts = cv2.calcHist([values], [0], None, [256], [0, 256]).ravel().astype(np.int64)
    else:
        counts = np.bincount(values.ravel())
    cumulative = np.cumsum(counts)
    ranks = _numpy_ranks(count, q)
    previous, following = ranks[1], ranks[2]
    low = np.searchsorted(cumulative, previous, side="right").astype(values.dtype)
    high = np.searchsorted(cumulative, following, side="right").astype(values.dtype)
    return _numpy_lerp(low, high, ranks)


def _float_percentiles(values: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """:func:`percentiles` of float32 `values`: numpy's ranks and interpolation on the values
    at those ranks, each rank found by a partition around it alone and its successor as the
    smallest value above it. Written here because ``np.percentile`` partitions around all of
    them at once, which numpy does with its plain introselect, and a single rank with its SIMD
    selection: 0.08 against 0.15 ms on U373's 5,655-value flattened sample, 0.10 against 0.31
    on *E. coli*'s 11,739 (``preprocess._flattened``, every light-field frame). With a NaN, or a zero among the values taken (which of -0 and +0
    a selection leaves there may differ), ``np.percentile`` itself: the same bits always."""
    flat = values.ravel()
    count = flat.size
    if np.isnan(flat.max()):
        return np.percentile(values, q)
    ranks = _numpy_ranks(count, q)
    previous = ranks[1]
    low, high = np.empty(len(previous), flat.dtype), np.empty(len(previous), flat.dtype)
    for i, rank in enumerate(previous):
        part = np.partition(flat, rank)
        low[i] = part[rank]
        high[i] = part[rank] if rank == count - 1 else part[rank + 1 :].min()
    if not (low.all() and high.all()):
        return np.percentile(values, q)
    return _numpy_lerp(low, high, ranks)


def _sorted_percentiles(ascending: np.ndarray, q: tuple[float, ...]) -> np.ndarray:
    """:func:`percentiles` of integer values already sorted ascending (flat): numpy's ranks
    (virtual index ``(n - 1) * q / 100``, the last value for both ends above it) and its
    ``_lerp`` between the values there, in float64 as numpy computes it for integers."""
    ranks = _numpy_ranks(ascending.size, q)
    return _numpy_lerp(ascending[ranks[1]], ascending[ranks[2]], ranks)


def _numpy_ranks(count: int, q: tuple[float, ...]) -> tuple:
    """numpy's ranks for the percentiles `q` of `count` values (``_quantile``'s virtual index
    ``(n - 1) * q / 100``): (virtual index, the rank below it, the rank above it, whether it lies
    at the last value, where numpy takes that value for both)."""
    virtual = (count - 1) * np.true_divide(np.asarray(q, np.float64), 100)
    previous = np.floor(virtual).astype(np.intp)
    following = previous + 1
    above = virtual >= count - 1  # numpy takes the last value for both
    previous[above] = following[above] = count - 1
    return virtual, previous, following, above


def _numpy_lerp(low: np.ndarray, high: np.ndarray, ranks: tuple) -> np.ndarray:
    """numpy's ``_lerp`` between the values `low` and `high` at the ranks of
    :func:`_numpy_ranks`, in float64 whatever their type: a + (b - a) t, or b - (b - a) (1 - t)
    from t = 0.5 on."""
    virtual, previous, _, above = ranks
    gamma = virtual - np.where(above, -1, previous)  # numpy's, with its index -1 for the last
    difference = high - low
    out = low + difference * gamma
    np.subtract(high, difference * (1 - gamma), out=out, where=gamma >= 0.5)
    return out
