"""Drift alignment and dense optical flow between two prepared (8-bit) frames."""

from __future__ import annotations

import cv2
import numpy as np

from ._robust import median as _median
from ._robust import robust_stats
from .masks import regions_with_stats


def estimate_drift(reference: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """Global translation (dy, dx) that maps `reference` onto `moving`, by phase correlation.

    OpenCV's ``phaseCorrelate`` (2 ms on a half-resolution megapixel frame, against 7 ms for
    scikit-image's ``phase_cross_correlation``), on a central crop whose sides OpenCV's DFT takes
    as they are. The half-pixel bias once noted here comes from OpenCV padding a side to its
    optimal DFT size: on a 192x224 frame (224 is padded to 225) identical images gave an x shift
    of 0.5 px and a (3, -5) shift read (3.04, -4.49); cropped to 192x216 they give (0, 0) and
    (3.01, -5.01). tests/core/test_flow.py checks both.
    """
    if reference.min() == reference.max() or moving.min() == moving.max():
        return 0.0, 0.0  # a blank frame (an empty well) has no drift to find
    if min(reference.shape) < MIN_DRIFT_SIDE:
        return 0.0, 0.0  # a frame a few pixels wide has no drift worth finding
    window = _dft_window(reference.shape)
    (dx, dy), _response = cv2.phaseCorrelate(
        reference[window].astype(np.float32), moving[window].astype(np.float32)
    )
    return float(dy), float(dx)


#: Frames narrower than this (at the flow resolution) are not registered.
MIN_DRIFT_SIDE = 8


def _dft_window(shape: tuple[int, int]) -> tuple[slice, slice]:
    """The central crop whose sides are OpenCV optimal DFT sizes (so nothing is padded)."""

    def fit(n: int) -> int:
        m = n
        while m > 1 and cv2.getOptimalDFTSize(m) != m:
            m -= 1
        return m

    return tuple(slice((n - fit(n)) // 2, (n - fit(n)) // 2 + fit(n)) for n in shape)


def shift_image(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Translate an image by (dy, dx), replicating the border so no false edge appears."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(
        image, matrix, image.shape[::-1], flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


#: Farnebäck iterations per pyramid level (the paper's value).
FARNEBACK_ITERATIONS = 5


def dense_flow(
    current: np.ndarray,
    other: np.ndarray,
    method: str = "farneback",
    *,
    iterations: int = FARNEBACK_ITERATIONS,
) -> np.ndarray:
    """Per-pixel displacement (H, W, 2: dx, dy) of `current`'s content towards `other`.

    Computed at the current frame's pixels, so motion marks cells where they are in this frame.
    `iterations`: Farnebäck iterations per level (the RoI rule `cells` uses 2: it only asks which
    region moves, and 2 selected the same cells as 5 in half the time).
    """
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return dis.calc(current, other, None)
    # The paper's Farnebäck parameters (pyramid 0.5, 3 levels, window 11, 5 iterations, poly 5/1.2).
    return cv2.calcOpticalFlowFarneback(
        current, other, None, 0.5, 3, 11, int(iterations), 5, 1.2, cv2.OPTFLOW_FARNEBACK_GAUSSIAN
    )


def aligned_flow(
    current: np.ndarray, other: np.ndarray, method: str, *, iterations: int = FARNEBACK_ITERATIONS
) -> tuple[np.ndarray, tuple[float, float]]:
    """Flow of `current` towards `other` after removing the global drift between them."""
    dy, dx = estimate_drift(current, other)
    aligned_other = shift_image(other, -dy, -dx)
    flow = dense_flow(current, aligned_other, method, iterations=iterations)
    # Phase correlation is off by a few tenths of a pixel on small or smooth frames, enough to
    # make a drifting background look like motion; the median flow is that residual, since most
    # pixels are background (a scene where most pixels move one way would lose that motion).
    sample = flow[::4, ::4] if min(flow.shape[:2]) >= 64 else flow
    residual = np.median(sample.reshape(-1, 2), axis=0)
    flow -= residual
    _clear_uncovered_border(flow, dy, dx)
    return flow, (dy + float(residual[1]), dx + float(residual[0]))


def _clear_uncovered_border(flow: np.ndarray, dy: float, dx: float) -> None:
    """Zero the flow where the shifted frame has no data (its replicated edge), since the
    content that entered the field there is new, not moving."""
    rows, cols = int(np.ceil(abs(dy))) + 1, int(np.ceil(abs(dx))) + 1
    if dy > 0.05:
        flow[-rows:] = 0
    elif dy < -0.05:
        flow[:rows] = 0
    if dx > 0.05:
        flow[:, -cols:] = 0
    elif dx < -0.05:
        flow[:, :cols] = 0


def flow_boxes(
    mask: np.ndarray, margin: int, *, spread: int | None = None
) -> list[tuple[slice, slice]]:
    """Boxes (row and column slices) that hold every region of `mask` with `margin` pixels of
    context: one box per region, or one per group of regions whose contexts touch, whichever
    adds up to fewer pixels (scattered regions overlap less in their own boxes, clustered ones
    share one); the whole frame as one box when even that is more than WHOLE_FRAME_SHARE of it."""
    if not mask.any():
        return []
    height, width = mask.shape
    whole = [(slice(0, height), slice(0, width))]
    # A bound that settles a dense frame (E. coli's colony) with one dilation instead of the two
    # labellings below (0.07 against 1.5 ms on a 513x363 frame): both groupings' boxes hold
    # every region dilated by 2 * (margin // 2) px (a region's own box by `margin`; a group's box
    # by margin // 2 around the regions dilated by margin // 2), so their areas add up to at
    # least the area of that dilation; when it exceeds WHOLE_FRAME_SHARE so do both, and the
    # answer is the whole frame, as below.
    # (`spread`: that count, when the caller already made it: boxes_exceed)
    spread = _spread(mask, margin) if spread is None else spread
    if spread > WHOLE_FRAME_SHARE * height * width:
        return whole
    own = _boxes(mask.astype(np.uint8), margin)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((margin + 1,) * 2, np.uint8))
    grouped = _boxes(grown, margin // 2)
    # the first of the two when their areas tie, as min() chose before the boxes were arrays
    boxes = own if _area(own) <= _area(grouped) else grouped
    if _area(boxes) > WHOLE_FRAME_SHARE * height * width:
        return whole
    return [
        (slice(int(top), int(bottom)), slice(int(left), int(right)))
        for top, bottom, left, right in boxes
    ]


def _boxes(mask: np.ndarray, margin: int) -> np.ndarray:
    """The bounding box of each 8-connected region of `mask`, grown by `margin` (clipped), as
    rows (top, bottom, left, right) of an int64 array: computed for all regions at once, since
    a dense frame (E. coli's colony) has thousands of regions and flow_boxes only needs the
    areas of both groupings before it picks one (a Python loop per region took ~0.3 ms)."""
    count, _labels, stats = regions_with_stats(mask)
    height, width = mask.shape
    x, y, w, h = (stats[1:count, k].astype(np.int64) for k in range(4))
    return np.stack(
        [
            np.maximum(0, y - margin),
            np.minimum(height, y + h + margin),
            np.maximum(0, x - margin),
            np.minimum(width, x + w + margin),
        ],
        axis=1,
    )


def boxes_exceed(
    mask: np.ndarray, margin: int, share: float
) -> tuple[bool, list[tuple[slice, slice]] | None]:
    """Whether the boxes ``flow_boxes(mask, margin)`` cover more than `share` of the frame
    (:func:`boxes_area`), and those boxes when they had to be found to tell (else None). The
    lower bound flow_boxes itself uses (the regions dilated by 2 * (margin // 2) px) settles it
    with one dilation where it already exceeds `share` (roi.py's change gate asks this of U373's
    frames, 35-43 %); the dilation is handed to flow_boxes otherwise, not made twice."""
    if not mask.any():
        return False, []
    spread = _spread(mask, margin)
    if spread > share * mask.size:
        return True, None
    boxes = flow_boxes(mask, margin, spread=spread)
    return boxes_area(boxes) > share * mask.size, boxes


def _spread(mask: np.ndarray, margin: int) -> int:
    """Pixels of `mask` dilated by 2 * (margin // 2) px: see flow_boxes."""
    reach = 2 * (margin // 2)
    return cv2.countNonZero(
        cv2.dilate(mask.astype(np.uint8), np.ones((2 * reach + 1,) * 2, np.uint8))
    )


def boxes_area(boxes: list[tuple[slice, slice]]) -> int:
    """Pixels in the boxes :func:`flow_boxes` returns (overlaps counted twice)."""
    return sum((rows.stop - rows.start) * (cols.stop - cols.start) for rows, cols in boxes)


def _area(boxes: np.ndarray) -> int:
    return int(((boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])).sum())


#: See flow_boxes.
WHOLE_FRAME_SHARE = 0.7


#: Boxes narrower than this (pixels) are widened to it, so Farnebäck's window (11 px) and
#: polynomial (5 px) have context on every side. OpenCV's Farnebäck builds no pyramid level
#: narrower than 32 px, so a box under 64 px is flowed at its own resolution alone whatever the
#: levels asked (the same flow with 0 and 3 extra levels on 32-63 px boxes); its cost is per pixel
#: (0.09-0.12 us a pixel on 32-64 px boxes, one thread); 24 px cut E. coli's mask time by 2.5 % in
#: one interleaved run (docs/decisions.md).
MIN_BOX_SIDE = 32


def aligned_flow_in(
    current: np.ndarray,
    other: np.ndarray,
    boxes: list[tuple[slice, slice]],
    method: str,
    *,
    iterations: int = FARNEBACK_ITERATIONS,
    drift: tuple[float, float] | None = None,
    aligned: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, tuple[float, float]]:
    """Like :func:`aligned_flow`, but the flow is computed only inside `boxes`.

    Returns the flow (zero outside the boxes), a bool mask of the pixels where it was measured,
    and the drift. The drift is still found on the whole frame (phase correlation is cheap and
    needs the whole field); the residual drift is the median flow over the measured pixels.
    With `drift` (dy, dx) given, that drift is removed and no residual: the caller measured it
    (roi.py's change gate: this function's drift on a sample of the frame, :func:`sample_boxes`),
    and the boxes may hold mostly moving cells (:func:`changed_regions`), whose median flow would
    be their own motion, not a residual drift; `aligned`, `other` already shifted by -`drift`.
    Written here rather than taken from a library because the saving comes from knowing which
    pixels the RoI rule will ask about (roi.py): on brightfield frames the regions whose motion
    can still change the RoI cover a few per cent of the frame.
    """
    flow = np.zeros(current.shape + (2,), np.float32)
    measured = np.zeros(current.shape, bool)
    if not boxes:
        return flow, measured, (0.0, 0.0)
    dy, dx = coarse_drift(current, other) if drift is None else drift
    # `aligned`: `other` already shifted by -drift (the change gate made it), not shifted twice
    aligned_other = shift_image(other, -dy, -dx) if aligned is None else aligned
    height, width = current.shape
    for rows, cols in boxes:
        rows, cols = _widen(rows, height), _widen(cols, width)
        if measured[rows, cols].all():
            continue
        flow[rows, cols] = dense_flow(
            np.ascontiguousarray(current[rows, cols]),
            np.ascontiguousarray(aligned_other[rows, cols]),
            method,
            iterations=iterations,
        )
        measured[rows, cols] = True
    if drift is not None:
        _clear_uncovered_border(flow, dy, dx)
        return flow, measured, (dy, dx)
    residual = _median_flow(flow, measured)
    # OpenCV's masked subtraction: 0.1 ms where numpy's boolean-indexed `-=` took 2.9 ms on a
    # 512x512 frame 37 % measured (the same float32 differences; unmeasured pixels stay 0)
    cv2.subtract(
        flow,
        (float(residual[0]), float(residual[1]), 0.0, 0.0),
        dst=flow,
        mask=measured.view(np.uint8),
    )
    _clear_uncovered_border(flow, dy, dx)
    return flow, measured, (dy + float(residual[1]), dx + float(residual[0]))


def _median_flow(flow: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """(2,) float32 median of `flow` over the `measured` pixels, every 4th of them (in raster
    order) when there are 4096 or more: ``np.median(flow[measured][::4], axis=0)``, but from
    the indices of every 4th pixel and a median per component (0.6 ms instead of 1.6 ms on a
    512x512 frame 37 % measured, where the boolean gather copied every measured pixel)."""
    if measured.all():
        # the flow of the whole frame (E. coli's colony): every 4th pixel is a strided view, no
        # index array and no gather (0.7 instead of 1.4 ms on a 513x363 frame)
        sample = flow.reshape(-1, 2)
        sample = sample[::4] if len(sample) >= 4096 else sample
    else:
        where = np.flatnonzero(measured)
        if len(where) >= 4096:
            where = where[::4]
        sample = flow.reshape(-1, 2)[where]
    return np.array([_median(sample[:, 0]), _median(sample[:, 1])], np.float32)


def coarse_drift(current: np.ndarray, other: np.ndarray) -> tuple[float, float]:
    """:func:`estimate_drift` on the frames halved (a quarter of the phase correlation's cost);
    what it misses by a fraction of a pixel the residual (median flow) removes."""
    if min(current.shape) < 4 * MIN_DRIFT_SIDE:
        return estimate_drift(current, other)
    size = (current.shape[1] // 2, current.shape[0] // 2)
    dy, dx = estimate_drift(
        cv2.resize(current, size, interpolation=cv2.INTER_AREA),
        cv2.resize(other, size, interpolation=cv2.INTER_AREA),
    )
    return 2 * dy, 2 * dx


def _widen(span: slice, size: int) -> slice:
    """`span` grown to MIN_BOX_SIDE (as far as the frame allows), centred where it was."""
    start, stop = span.start, span.stop
    missing = MIN_BOX_SIDE - (stop - start)
    if missing > 0:
        start = max(0, start - missing // 2 - missing % 2)
        stop = min(size, start + MIN_BOX_SIDE)
        start = max(0, stop - MIN_BOX_SIDE)
    return slice(start, stop)


#: A region counts as changed when one pixel of it (or of its CHANGE_BAND-px band) differs
#: between the frame and its aligned partner by more than the median difference plus this many
#: robust SDs of the differences (the noise of the prepared frames, measured on the frame).
CHANGE_BAND = 2
#: The robust SD of the differences is at least this (grey levels of the 8-bit prepared frames:
#: a denoised, still background differs by 0 or 1 level, whose MAD can be 0).
MIN_CHANGE_SPREAD = 1.0


def changed_regions(
    current: np.ndarray,
    aligned: np.ndarray,
    labels: np.ndarray,
    count: int,
    drift: tuple[float, float],
    z: float,
) -> np.ndarray:
    """(count + 1,) bool: which labelled regions of `current` changed towards its partner frame
    once the global `drift` (dy, dx) is removed (`aligned`: the partner shifted by -`drift`,
    :func:`shift_image`): a pixel of the region or of its CHANGE_BAND-px band
    differs by more than the noise (median absolute difference over the frame plus `z` robust
    SDs, at least MIN_CHANGE_SPREAD grey levels).

    A region whose pixels and edges did not change between two frames did not move between them
    (a moving region changes at least at its edges), so the flow need not be asked about it
    (roi.py's change gate). The band catches a uniform region that moves: its inside may not
    change, its outline does. A drift read a fraction of a pixel off makes textured still
    regions look changed: the gate then asks them, as without it (it errs towards the flow).

    Parameters
    ----------
    current, aligned : ndarray
        uint8 frames of the same shape: the frame and its partner shifted by -`drift`.
    labels : ndarray
        int32 labels of the regions of `current` (0 = none), same shape.
    count : int
        The highest label.
    drift : tuple of float
        (dy, dx) removed from the partner; its uncovered edge counts as no change.
    z : float
        Robust SDs of the frame's differences above their median that count as change.

    Returns
    -------
    ndarray
        (count + 1,) bool, indexed by label; label 0 False.
    """
    difference = cv2.absdiff(current, aligned)
    # the noise of a mostly still frame (robust_stats samples every 4th row and column)
    median, spread = robust_stats(difference)
    spread = max(MIN_CHANGE_SPREAD, spread)
    changed = (difference > median + z * spread).view(np.uint8)
    _clear_uncovered_border(changed, *drift)  # the replicated edge is new content, not change
    band = 2 * CHANGE_BAND + 1
    near = cv2.dilate(changed, np.ones((band, band), np.uint8))
    hits = np.bincount(labels[near.view(bool)], minlength=count + 1)
    found = hits > 0
    found[0] = False
    return found


#: Background sample of the change gate: SAMPLE_GRID x SAMPLE_GRID boxes of MIN_BOX_SIDE px
#: spread evenly over the frame (at most SAMPLE_SHARE of it; fewer on a small frame).
SAMPLE_GRID = 4
SAMPLE_SHARE = 0.15


def sample_boxes(shape: tuple[int, int]) -> list[tuple[slice, slice]]:
    """Boxes of MIN_BOX_SIDE px on an even grid over a frame of `shape`: a sample of the frame
    that does not depend on where the cells are, for the residual drift and the motion noise
    floor when the flow is otherwise measured only around changed regions (roi.py's change
    gate). At most SAMPLE_SHARE of the frame (one box at least): the halved frame of a 0.36-MP
    movie gets a 3x3 grid, of a 0.44-MP one or larger 4x4."""
    height, width = shape
    side = MIN_BOX_SIDE
    per_side = SAMPLE_GRID
    while per_side > 1 and (per_side * side) ** 2 > SAMPLE_SHARE * height * width:
        per_side -= 1
    tops = np.linspace(0, max(0, height - side), per_side + 2)[1:-1].astype(int)
    lefts = np.linspace(0, max(0, width - side), per_side + 2)[1:-1].astype(int)
    return [
        (
            slice(int(top), int(min(height, top + side))),
            slice(int(left), int(min(width, left + side))),
        )
        for top in tops
        for left in lefts
    ]
