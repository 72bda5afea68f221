"""Exact h-maxima (scikit-image's ``h_maxima``) and marker watershed (scikit-image's
``watershed``) computed with OpenCV, for the dark-field edge.

Written here rather than taken from scikit-image because its grey reconstruction visits every
pixel in sorted order in a Cython loop: 8 ms on the 256x256 image of a 1-MP frame, a quarter of
the whole RoI mask's budget. The same reconstruction is the fixed point of a 3x3 dilation clipped
by the image, which OpenCV iterates fast; the result is scikit-image's exactly (tested equal in
tests/core/test_mask_speed_equivalence.py), not an approximation of it.

The watershed (:func:`watershed_basins`) is here so that the command does not import
scikit-image's: that import brings scipy.ndimage and costs ~0.2 s of CPU per process, a sixth of
a short movie's plain JPEG2000 compression (docs/speed.md), for a flood of a few milliseconds.
"""

from __future__ import annotations

import cv2
import numpy as np


def h_maxima(
    image: np.ndarray,
    height: float,
    *,
    within: np.ndarray | None = None,
    order: np.ndarray | None = None,
) -> np.ndarray:
    """``skimage.morphology.h_maxima(image, height)`` of a float64 2-D image (3x3 neighbourhood),
    the same uint8 result; with `within` (bool), the same result on those pixels and 0 elsewhere
    (``h_maxima(image, height) & within``), sooner.

    Scikit-image reconstructs by dilation with a Cython loop over every pixel in sorted order
    (8 ms on the 256x256 image of a 1-MP frame); here the same reconstruction is the fixed point
    of a 3x3 dilation clipped by the image, iterated with OpenCV (:func:`_reconstruct`). OpenCV
    dilates float32 five times faster than float64, so each value takes its rank in the sorted
    seed and image values (exact as float32 up to 2**24 values): dilation and the clip take only
    maxima and minima, which a non-decreasing map from ranks back to values preserves, so the
    result is scikit-image's exactly (tests/core/test_mask_speed_equivalence.py), not a float32
    rounding of it. Seed, tolerance and test are scikit-image 0.26's for a float image. With
    `within`, the iterations stop once no pixel there can change (:func:`_settled_within`): the
    last ~two thirds of them only carry dim background values across the background.

    Parameters
    ----------
    image : ndarray
        float64 image.
    height : float
        Minimal height of a maximum above the pixels around it.
    within : ndarray, optional
        bool, same shape: the only pixels whose answer is wanted.
    order : ndarray, optional
        ``np.argsort(image.ravel())`` (any order of ties), when the caller has it
        (:func:`sort_float32`).

    Returns
    -------
    ndarray
        uint8, 1 on the pixels of the maxima of at least `height` (within `within`).
    """
    if 2 * image.size > 2**24:
        from skimage.morphology import h_maxima  # ranks would no longer be exact in float32

        found = h_maxima(image, height)
        return found if within is None else (found.astype(bool) & within).astype(np.uint8)
    height = np.float64(height)
    if height > np.ptp(image):
        return np.zeros(image.shape, np.uint8)
    if height == 0:
        raise ValueError("h = 0 is ambiguous, use local_maxima() instead?")  # as scikit-image

    def seed_of(values: np.ndarray) -> np.ndarray:
        # scikit-image's seed for a float image: h below the image, less a relative resolution
        # so that rounding never leaves a pixel less than h above its seed
        return values - height - 2 * np.finfo(np.float64).resolution * np.abs(values)

    seed_rank, image_rank, values = _ranks(image, seed_of, order)
    settled = None if within is None else _settled_within(image, height, values, within)
    rec = values[_reconstruct(seed_rank, image_rank, settled).astype(np.intp)]
    maxima = (image - rec) >= height
    return (maxima if within is None else maxima & within).astype(np.uint8)


def _settled_within(image: np.ndarray, height: float, values: np.ndarray, within: np.ndarray):
    """A test for :func:`_reconstruct`: whether the h-maxima test ``image - rec >= height`` of
    every pixel in `within` is already what it will be once the reconstruction converges.

    Why it holds: the reconstruction only rises, so a pixel that fails the test fails it for
    good. A pixel changes in an iteration only when a neighbour changed in the one before, and
    then takes at most the neighbour's new value (or its own old one), so no pixel will ever
    exceed max(its value now, the highest value that changed in the last iteration). A pixel
    that passes the test even at that bound passes it at the end."""
    alive = np.flatnonzero(within)  # pixels of `within` that pass the test so far
    pixels = image.ravel()

    def settled(rec_rank: np.ndarray, highest_change: float) -> bool:
        nonlocal alive
        level = values[rec_rank.ravel()[alive].astype(np.intp)]
        passing = (pixels[alive] - level) >= height
        alive, level = alive[passing], level[passing]
        bound = np.maximum(level, values[int(highest_change)])
        return bool(np.all((pixels[alive] - bound) >= height))

    return settled


def _ranks(
    image: np.ndarray, seed_of, order: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each value's position in the sorted values of the seed ``seed_of(image)`` and `image`
    together, and those sorted values (so ``values[rank] == value``): (seed ranks, image ranks,
    values). `seed_of` is elementwise and non-decreasing (h_maxima's seed). Equal values get
    distinct but adjacent ranks, which maps back to the same values through any maximum or
    minimum. The ranks are uint16 when they fit (at most 2**16 of them: an image of up to 32,768
    pixels, the halved frame of a 0.5-MP movie), float32 otherwise: OpenCV dilates and clips
    16-bit integers ~1.5x faster than float32 (12-14 against 20-23 us per 3x3 step on a 175x275
    image, one core), and both are exact integers. `order`: the image's sorting order, when the
    caller has it (:func:`h_maxima`).

    One sort of the image orders both: the seed of the sorted values is the sorted seed (the
    same elementwise arithmetic, so the same values), and the two sorted runs are merged by a
    stable sort (timsort) in linear time (an argsort of the two together took 1.4 ms)."""
    count = image.size
    flat = image.ravel()
    # any order of the image's ties gives sorted runs; of the values as float32 where they are
    # all float32 numbers (the dark-field brightness is) by one sort of integer keys
    # (_argsort_float32), otherwise numpy's default argsort (0.6 ms on 65k values) rather than a
    # stable one (4.4 ms)
    if order is not None:
        by_image = order
    else:
        narrow = flat.astype(np.float32)
        by_image = _argsort_float32(narrow) if np.array_equal(narrow, flat) else np.argsort(flat)
    image_sorted = flat[by_image]
    merged = np.concatenate([seed_of(image_sorted), image_sorted])
    order = np.argsort(merged, kind="stable")
    dtype = np.uint16 if 2 * count <= 2**16 else np.float32
    rank = np.empty(2 * count, dtype)
    rank[order] = np.arange(2 * count, dtype=dtype)
    seed_rank, image_rank = np.empty(count, dtype), np.empty(count, dtype)
    seed_rank[by_image], image_rank[by_image] = rank[:count], rank[count:]
    return seed_rank.reshape(image.shape), image_rank.reshape(image.shape), merged[order]


_SIGN = np.uint32(1 << 31)


def sort_float32(image: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """The sorting order of a float32 image's pixels (``np.argsort(image.ravel())``, ties in
    index order) and the image's dense ranks, for :func:`h_maxima` (`order`) and
    :func:`watershed_basins` (`image`): uint16 from 1, equal values equal ranks, the same order
    (None when the image holds more than 65,535 distinct values). One sort serves both.

    The flood compares levels only (larger, equal), so on ranks that keep the values' order and
    ties it gives the same basins as on the values, and OpenCV dilates and clips 16-bit integers
    faster than float32 (the watershed's levels: 1.34 -> 0.74 ms on HeLa's 175x275 reduced
    brightness, one core)."""
    flat = image.ravel()
    order = _argsort_float32(flat)
    ascending = flat[order]
    rising = np.empty(flat.size, np.uint32)
    rising[0] = 1
    np.not_equal(ascending[1:], ascending[:-1], out=rising[1:])
    dense = np.cumsum(rising, dtype=np.uint32)
    if dense[-1] > np.iinfo(np.uint16).max:
        return order, None
    ranks = np.empty(flat.size, np.uint16)
    ranks[order] = dense
    return order, ranks.reshape(image.shape)


def _argsort_float32(values: np.ndarray) -> np.ndarray:
    """``np.argsort`` of up to 2**32 float32 values without NaN, ties in index order: one sort
    of 64-bit keys, the value's bits (made to sort as unsigned integers in the float order:
    negative numbers' bits inverted, positive ones' sign bit set; -0 before +0) above its index.

    Written here because numpy sorts integers with its SIMD sort but argsorts without it on
    this machine (AVX2, no AVX-512): the h-maxima's argsort was 0.38 ms of a ~10 ms GOWT1 mask
    (16,384 values), the key sort 0.15 ms."""
    bits = values.view(np.uint32)
    key = (bits ^ ((bits >> 31) * np.uint32(0x7FFFFFFF) | _SIGN)).astype(np.uint64)
    key <<= np.uint64(32)
    key |= np.arange(values.size, dtype=np.uint64)
    key.sort()
    return (key & np.uint64(0xFFFFFFFF)).astype(np.intp)


#: Iterations of the reconstruction between checks for its fixed point (8: 5.4 ms per 256x256
#: image, 16: 4.5 ms, 32: 5.3 ms; checks cost a copy and a comparison, late blocks overshoot).
RECONSTRUCT_STEP = 16


def _reconstruct(
    seed: np.ndarray, mask: np.ndarray, settled=None, kernel: np.ndarray | None = None
) -> np.ndarray:
    """Grey reconstruction by dilation of `seed` under `mask` (float32 or uint16, seed <= mask, 3x3
    neighbourhood, or `kernel`'s): dilations each clipped by `mask`, until nothing changes, or until
    ``settled(rec, highest value changed in the last iteration)`` says what the caller asks no
    longer can.

    A pixel changes only if a neighbour changed in the iteration before, so each block of
    RECONSTRUCT_STEP iterations runs on the window that can still change: the pixels within
    RECONSTRUCT_STEP + 1 of those the block before changed in its last iteration (pixels at the
    window's edge cannot change in the block, so cropping them from their outer neighbours
    changes nothing), and the reconstruction has converged when that last iteration changed
    nothing. About 100 iterations on the 256x256 image of a 1-MP frame."""
    rec = seed.copy()
    rows, cols = rec.shape
    window = (slice(0, rows), slice(0, cols))
    kernel = np.ones((3, 3), np.uint8) if kernel is None else kernel
    while True:
        part, part_mask = rec[window].copy(), np.ascontiguousarray(mask[window])
        grown = np.empty_like(part)
        for _ in range(RECONSTRUCT_STEP - 1):
            cv2.dilate(part, kernel, dst=grown)
            cv2.min(grown, part_mask, dst=part)
        last = part.copy()
        cv2.dilate(part, kernel, dst=grown)
        cv2.min(grown, part_mask, dst=part)
        rec[window] = part
        changed = part != last
        if not changed.any() or (settled is not None and settled(rec, part[changed].max())):
            return rec
        window = _grown_window(changed, window, RECONSTRUCT_STEP + 1, rec.shape)


def _grown_window(
    changed: np.ndarray, window: tuple[slice, slice], margin: int, shape: tuple[int, int]
) -> tuple[slice, slice]:
    """The bounding box of `changed` (a bool image of `window`), grown by `margin`, in the
    coordinates of the whole image of `shape` (clipped to it)."""
    changed_rows = np.flatnonzero(changed.any(axis=1)) + window[0].start
    changed_cols = np.flatnonzero(changed.any(axis=0)) + window[1].start
    return (
        slice(max(0, changed_rows[0] - margin), min(shape[0], changed_rows[-1] + 1 + margin)),
        slice(max(0, changed_cols[0] - margin), min(shape[1], changed_cols[-1] + 1 + margin)),
    )


def watershed_basins(image: np.ndarray, markers: np.ndarray, within: np.ndarray) -> np.ndarray:
    """``skimage.segmentation.watershed(-image, markers, mask=within)`` (connectivity 1, no
    compactness, no watershed line): the basins of `image`'s bright markers, flooded downhill
    within `within`, as int32 labels (0 = unreached or outside), computed with OpenCV.

    Written here because scikit-image's import brings scipy.ndimage (~0.2 s of CPU per process,
    module docstring) and neither OpenCV's watershed (it floods by the colour difference of
    neighbours, not by the image's value) nor another dependency floods by value. It is not a
    priority queue: scikit-image's flood pops pixels in the order of their flood level, and each
    takes the label of the neighbour that reaches it first, which can be read off the levels:

    - The level of a pixel (here in brightness: the highest, over 4-connected paths within
      `within` from a marker, of the lowest value on the path) is the grey reconstruction by
      dilation of the markers' values under the image (a cross kernel: 4-connected), which
      OpenCV iterates (:func:`_reconstruct`). The queue pops pixels in the order of these levels.
    - A pixel below its best neighbour's level is reached first from that neighbour: it takes
      its label. A pixel at its best neighbour's level lies beyond the pass that flooded it (it
      is brighter than that pass): every pixel of that connected plateau of levels was flooded
      from the plateau's entry (a pixel of the same level that climbs, or a marker) and takes its
      label.
    - Labels follow these parents to a marker by pointer jumping.

    Where two different neighbours are at exactly the same level (equal values where two floods
    meet), scikit-image's queue order (the age of its entries) decides and this choice may
    differ: tested equal on smooth float images and on the dark-field frames of the benchmark
    movies (tests/core/test_mask_speed_equivalence.py); on images of a few integer levels a few
    per cent of the pixels differ.

    Parameters
    ----------
    image : ndarray
        float32 2-D image; markers flood towards lower values. Or its dense ranks
        (:func:`sort_float32`, uint16 from 1): the same basins, sooner.
    markers : ndarray
        int32 labels of the markers (0 elsewhere), same shape.
    within : ndarray
        bool, same shape: the pixels that may be flooded.

    Returns
    -------
    ndarray
        int32 labels, same shape.
    """
    # below every value: -inf, or 0 below ranks from 1 (:func:`sort_float32`)
    integer = image.dtype == np.uint16
    low = image.dtype.type(0) if integer else np.float32(-np.inf)
    # a border of `low`, so that every neighbour of an image pixel has a valid flat index
    ceiling = np.pad(
        np.where(within, image, low).astype(image.dtype if integer else np.float32, copy=False),
        1,
        constant_values=low,
    )
    seeds = np.pad(markers.astype(np.int32), 1)
    level = np.where(seeds > 0, ceiling, low)
    level = _reconstruct(level, ceiling, kernel=cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3)))
    width, flat_level, seeds = level.shape[1], level.ravel(), seeds.ravel()
    reached = np.flatnonzero((flat_level > low) & (seeds == 0))
    steps = (-width, width, -1, 1)
    around = [flat_level[reached + step] for step in steps]
    best = np.maximum(np.maximum(around[0], around[1]), np.maximum(around[2], around[3]))
    # the first neighbour at the best level (where several are, see the docstring)
    towards = reached + steps[-1]
    for step, value in zip(steps[-2::-1], around[-2::-1], strict=True):
        towards = np.where(value == best, reached + step, towards)
    parent = np.arange(flat_level.size)
    climbs = best > flat_level[reached]
    parent[reached[climbs]] = towards[climbs]
    plateau = reached[~climbs]
    if plateau.size:
        on_plateau = np.zeros(flat_level.size, np.uint8)
        on_plateau[plateau] = 1
        count, pieces = cv2.connectedComponents(on_plateau.reshape(level.shape), connectivity=4)
        pieces = pieces.ravel()
        # each plateau's entry: a neighbour of the same level off the plateau (it climbs, or is a
        # marker); none (equal levels met, see above): the border pixel 0, i.e. no basin
        entry = np.zeros(count, np.intp)
        plateau_level = flat_level[plateau]
        for step in steps:
            beside = plateau + step
            found = (on_plateau[beside] == 0) & (flat_level[beside] == plateau_level)
            entry[pieces[plateau[found]]] = beside[found]
        parent[plateau] = entry[pieces[plateau]]
    # pointer jumping: each round halves every path to its marker; only the reached pixels
    # have parents other than themselves, so only they are jumped (the same fixed point as
    # jumping the whole image, on the part of it the flood reached)
    jumping = parent[reached]
    while True:
        jumped = parent[jumping]
        if np.array_equal(jumped, jumping):
            break
        parent[reached] = jumping = jumped
    return seeds[parent].reshape(level.shape)[1:-1, 1:-1].copy()
