"""Binary-mask helpers shared by every RoI source (motion, appearance): clean-up, hole filling,
growing and resizing. Kept apart so that the sources import it and not each other."""

from __future__ import annotations

import cv2
import numpy as np


def _bytes(mask: np.ndarray) -> np.ndarray:
    """`mask` as uint8 0/1 for OpenCV: a bool mask's own bytes (a view, no copy), else
    ``astype(np.uint8)`` as before. OpenCV reads these masks and writes elsewhere."""
    if mask.dtype == bool and mask.flags.c_contiguous:
        return mask.view(np.uint8)
    return mask.astype(np.uint8)


def lookup(table: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """``np.take(table, labels)``: each label's entry of a table indexed by label.

    By OpenCV's table look-up (``cv2.LUT``) on the labels as bytes when there are at most 256 of
    them: 47 against 99 us on a 256x256 frame, 78 against 224 us on 350x550, one core (np.take
    converts int32 labels to its index type first, then gathers); np.take for more labels or
    other tables. The same values (tests/core/test_masks.py).

    Parameters
    ----------
    table : ndarray
        (count,) entries, bool or float32 for the fast path (any dtype otherwise).
    labels : ndarray
        Integer labels in ``0 .. count - 1``, any shape.

    Returns
    -------
    ndarray
        ``table[labels]``: the shape of `labels`, the dtype of `table`.
    """
    count = len(table)
    if count > 256 or table.dtype not in (np.bool_, np.float32):
        return np.take(table, labels)
    bytes_ = labels.astype(np.uint8)  # exact: every label is below 256
    if table.dtype == np.bool_:
        full = np.zeros(256, np.uint8)
        full[:count] = table
        return cv2.LUT(bytes_, full).view(bool)
    full = np.zeros(256, np.float32)
    full[:count] = table
    return cv2.LUT(bytes_, full)


def ellipse(size: int) -> np.ndarray:
    """An elliptic structuring element of `size` x `size` pixels."""
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def regions_with_stats(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """``cv2.connectedComponentsWithStats(mask, connectivity=8)``: (count including the
    background, int32 labels, stats), by Grana's block-based algorithm (BBDT).

    OpenCV's default (Spaghetti) took 1.5-1.7 ms with stats on a 512x512 mask however sparse,
    and BBDT 0.45-0.85 ms (without stats both take ~0.2 ms), one core; both scan 2x2 blocks in
    raster order and gave identical labels and stats on the benchmark masks
    (tests/core/test_masks.py checks it on random ones).

    A mask of an odd number of rows or columns is labelled with a row or column of background
    added (then cropped off): OpenCV 5.1's BBDT takes twice as long on a mask whose 2x2 blocks
    do not tile it (0.90 against 0.43 ms on *E. coli*'s 364x513 prepared frame; five labellings a
    frame there). The added background lies below and right of every pixel, so the blocks, their
    raster order and hence every label and every region's stats are the same; only the
    background's own stats count the pad, and are put back to the mask's."""
    mask = _bytes(mask)
    rows, cols = mask.shape
    pad_rows, pad_cols = rows % 2, cols % 2
    if pad_rows or pad_cols:
        padded = cv2.copyMakeBorder(mask, 0, pad_rows, 0, pad_cols, cv2.BORDER_CONSTANT, value=0)
        count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
            padded, 8, cv2.CV_32S, cv2.CCL_BBDT
        )
        stats[0, cv2.CC_STAT_AREA] -= padded.size - mask.size
        if stats[0, cv2.CC_STAT_AREA] > 0:  # else no background: OpenCV's own stats, below
            if (pad_cols and mask[:, -1].any()) or (pad_rows and mask[-1].any()):
                # the pad reached rows or columns the background did not: its box from the mask
                background = mask == 0
                across = np.flatnonzero(background.any(axis=0))
                down = np.flatnonzero(background.any(axis=1))
                left, top = across[0], down[0]
                stats[0, :4] = left, top, across[-1] + 1 - left, down[-1] + 1 - top
            else:  # its last row and column were background: the box only grew by the pad
                stats[0, cv2.CC_STAT_WIDTH] -= pad_cols
                stats[0, cv2.CC_STAT_HEIGHT] -= pad_rows
            return count, np.ascontiguousarray(labels[:rows, :cols]), stats
    count, labels, stats, _ = cv2.connectedComponentsWithStatsWithAlgorithm(
        mask, 8, cv2.CV_32S, cv2.CCL_BBDT
    )
    return count, labels, stats


def regions_with_areas(mask: np.ndarray) -> tuple[int, np.ndarray, np.ndarray]:
    """(count including the background, int32 labels, each label's pixels): the count, labels
    and ``stats[:, cv2.CC_STAT_AREA]`` of :func:`regions_with_stats` (as intp), for callers that
    need no bounding boxes.

    Why: OpenCV's BBDT labels without its statistics in a third to a half of the time (HeLa's
    350x550 candidates 0.29 against 0.72 ms, *E. coli*'s 364x513 0.25 against 0.96 ms unpadded,
    one core), the same algorithm and so the same labels; counting the labels of the foreground
    pixels (np.bincount) costs less than the difference, the background's area is the rest."""
    foreground = mask if mask.dtype == bool else mask != 0
    count, labels = cv2.connectedComponentsWithAlgorithm(_bytes(mask), 8, cv2.CV_32S, cv2.CCL_BBDT)
    areas = np.bincount(labels[foreground], minlength=count)
    areas[0] = mask.size - int(areas[1:].sum())
    return count, labels, areas


def drop_small(mask: np.ndarray, min_area: float) -> np.ndarray:
    """Remove 8-connected regions of fewer than `min_area` pixels."""
    if min_area <= 0 or not mask.any():
        return mask.astype(bool)
    # the areas without the bounding boxes: drop_small runs twice a frame (regions_with_areas)
    count, labels, areas = regions_with_areas(mask)
    keep = np.zeros(count, bool)
    keep[1:] = areas[1:] >= min_area
    if keep[1:].all():
        return labels > 0  # nothing to drop: a comparison instead of a lookup per pixel
    return lookup(keep, labels)  # keep[labels], 2-5x faster than numpy's fancy indexing


def clean_mask(mask: np.ndarray, opening: int, closing: int, min_area: float) -> np.ndarray:
    """Opening removes specks, closing fills small gaps, then regions under `min_area` px go."""
    out = _bytes(mask)
    if opening > 1:
        out = cv2.morphologyEx(out, cv2.MORPH_OPEN, ellipse(opening))
    if closing > 1:
        out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, ellipse(closing))
    return drop_small(out, min_area)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every background region not connected to the image border (a cell's flat inside).

    One flood fill from a padded corner (OpenCV) instead of scipy's iterative fill: 1-2 ms on a
    half-resolution megapixel frame.
    """
    mask = mask.astype(bool)
    if not mask.any():
        return mask
    # a border of background joins every pixel outside the regions; the fill marks what it
    # reaches with 2 in place (no flood mask to allocate and convert: a quarter faster)
    padded = cv2.copyMakeBorder(mask.view(np.uint8), 1, 1, 1, 1, cv2.BORDER_CONSTANT, value=0)
    cv2.floodFill(padded, None, (0, 0), 2)
    return padded[1:-1, 1:-1] != 2


def grow(mask: np.ndarray, margin: int) -> np.ndarray:
    """Dilate `mask` by `margin` pixels (a disc)."""
    if margin <= 0 or not mask.any():
        return mask
    grown = cv2.dilate(_bytes(mask), ellipse(2 * margin + 1))
    # a bool mask's 0/1 bytes dilate to 0/1 bytes: viewed as bool, not converted
    return grown.view(bool) if mask.dtype == bool else grown.astype(bool)


def to_shape(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Resize a mask computed at the flow resolution to `shape`, with smooth (interpolated, then
    re-thresholded at one half) rather than blocky outlines."""
    if mask.shape == tuple(shape):
        return mask.astype(bool)
    if not mask.any():
        # the resize of zeros is zeros: no full-size resize and threshold (the motion source's
        # mask is empty on most frames of the dark-field movies, GOWT1, HeLa and CHO, where
        # this resize was 2-2.5 % of the mask time)
        return np.zeros(tuple(shape), bool)
    rows, cols = mask.shape
    if mask.dtype == bool and tuple(shape) == (2 * rows, 2 * cols):
        # exactly twice the size (the halved frames of even-sized movies: HeLa, HSC, U373): each
        # output pixel interpolates its nearest input pixel with weight 9/16 (143 of 255, above
        # the threshold) and three others with 7/16 together (111, below it), so the thresholded
        # linear resize of a 0/1 mask is its nearest-neighbour one, every pixel repeated 2x2:
        # made by doubling each byte in a uint16 (x 257) and repeating the rows (0.04 against
        # 0.5 ms for a 350x550 mask, one core; tests/core/test_masks.py compares both)
        doubled = np.repeat(mask.view(np.uint8).astype(np.uint16) * np.uint16(257), 2, axis=0)
        return doubled.view(np.uint8).reshape(shape).view(bool)
    up = cv2.resize(
        _bytes(mask) * np.uint8(255), tuple(shape)[::-1], interpolation=cv2.INTER_LINEAR
    )
    return up > 127
