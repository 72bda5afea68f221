"""Lines of a frame that are not the scene: line noise, whole rows or columns offset from the
rest (an sCMOS camera's row noise, a line-scanning microscope's line-to-line jitter, a CCD's
column banding), and a sensor's defective lines (a dead or hot column, the same in every frame).

Such an offset is the same along the whole line, so the smoothing the RoI is found after (the
median and bilateral filters, the fail-safe's windows) barely reduces it, while it reduces
camera noise of the same size several times: the background's spread, which sets what counts as
"confidently background", rises, and the flat parts of cells fall under it. With rows offset by
the benchmark's camera noise and columns by half of it, anew in each frame
(`benchmarks/acquisition.py`, *line noise*), the default RoI held 98.16 % of U373's cell pixels
and 97.72 % of HeLa's (white camera noise of the same size: 99.88 % and 99.71 %); at three times
it HSC 90.83 %, U373 87.56 %, HeLa 85.63 %, while the missed-cell guard read 100 % or found no
cells. With the offsets taken out: 99.92 / 99.99 % and 99.47 / 99.43 / 98.87 %
(docs/acquisition.md, docs/decisions.md).

A defective column is still, so the RoI barely notices it, but the guard compares each frame
with its neighbours shifted by the drift, and there the still column moves: on *E. coli* one
dead column took the check's estimate from 97.98 % to 52.9 % and `flowroi compress` refused the
movie; 0.5 % of the columns hot, HeLa's guard read 36.91 % (`benchmarks/acquisition.py`,
*dead / hot columns*). Each defective line is given the mean of the lines beside it
(:func:`defective_rows`).

:func:`without_lines` takes both out of the images the RoI and the guard are measured on (never
out of the coded data), where :func:`has_line_noise` and :func:`defective_rows` find them; no
frame of the six benchmark movies has either (tests/integration/test_lines_real.py), so their
masks are unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._robust import median, robust_sd

#: Rows (columns) over which a line's neighbours are averaged; a line's offset is the median,
#: along it, of its departure from that average. Cells and smooth illumination are alike on
#: neighbouring lines and cancel; the offsets of independent lines average out.
LINE_WINDOW = 15
#: The test (:func:`has_line_noise`) looks at the frame's middle TEST_WINDOW x TEST_WINDOW px
#: (line noise runs across the whole frame), at TEST_SAMPLES lines across it; the correction
#: uses every pixel. With the defects' scan it costs ~0.9 ms a frame; a correction ~1-7 ms.
TEST_WINDOW = 256
TEST_SAMPLES = 128
#: 2 x 2 squares of pixels the pixels' noise is measured on (:func:`pixel_noise`).
NOISE_SAMPLES = 4096
#: Line noise is found where the rows' offsets, measured in SEGMENTS blocks of columns side by
#: side, share a line-to-line part (what a smooth profile of cells or light does not give) that
#: (a) exceeds LINE_Z times the blocks' disagreement with each other over sqrt(SEGMENTS), or what
#: the pixels' noise alone gives a block's median where that is larger: the lines move as a
#: whole, cells do not; (b) exceeds LINE_SHARE of the pixels' noise: it matters; and where (c)
#: the blocks disagree by at least MIN_DISAGREEMENT of what noise alone gives: independent
#: pixels (a frame tiled from one cut repeats its rows exactly). On the three coded frames of
#: the six benchmark movies, their smaller and crowded fields and white camera noise
#: (docs/acquisition.md), the ratio of (a) is at most 4.1 (the 96-px CHO cut tiled 6 x 6, whose
#: blocks repeat too); with rows offset by the benchmark's camera noise 6.5-21.0 (its columns,
#: offset by half of it, 3.9-12.5: where they are not found, the rows' test corrects both).
LINE_Z = 6.0
LINE_SHARE = 0.25
#: Line noise larger than the pixels' own noise (STRONG_SHARE of it) is found from STRONG_Z
#: instead of LINE_Z: with camera noise and line noise of the same size on HeLa (whose pixels'
#: noise is correlated along its rows, so its blocks disagree ~3x more than independent pixels
#: would) the ratio of (a) was 4.8-5.9 on every coded frame and the RoI held 97.46 % of the
#: cells; no frame without line noise reaches the pair (the largest ratio there, 4.1, at 0.51
#: of the pixels' noise: CHO's cut tiled 6 x 6; fields whose lines' offsets exceed the pixels'
#: noise, smaller or crowded, reach at most 1.9).
STRONG_SHARE = 1.0
STRONG_Z = 4.0
SEGMENTS = 4
MIN_DISAGREEMENT = 0.5
#: A row (column) whose own offset from the two lines on either side (:func:`defective_rows`)
#: lies more than DEFECT_Z robust SDs of all the lines' offsets from their median and more than
#: DEFECT_NOISE times the pixels' noise is a sensor defect (a dead or hot column: the same pixels
#: in every frame), alone or with at most DEFECT_WIDTH - 1 more beside it, and is given the
#: linear interpolation of the lines on either side; measured at DEFECT_SAMPLES points along
#: each line. A run of lines beyond those limits longer than DEFECT_RUN is structure; in a
#: shorter one the lines within DEFECT_PEAK of its largest offset are the defects.
DEFECT_Z = 10.0
DEFECT_NOISE = 5.0
DEFECT_WIDTH = 2
DEFECT_RUN = 6
DEFECT_PEAK = 0.75
DEFECT_SAMPLES = 32
#: A median of n values from a normal distribution has about this times the spread of one
#: value, divided by sqrt(n).
_MEDIAN_SPREAD = 1.2533


def _departures(image: np.ndarray, samples: int | None) -> np.ndarray:
    """Each row's departure from the mean of its LINE_WINDOW neighbouring rows, at `samples`
    columns spread over the frame (all when None), as float32."""
    columns = image.shape[1]
    step = 1 if samples is None else max(1, columns // samples)
    sample = np.ascontiguousarray(image[:, ::step], dtype=np.float32)
    around = cv2.blur(sample, (1, LINE_WINDOW), borderType=cv2.BORDER_REFLECT)
    return cv2.subtract(sample, around)


def row_offsets(image: np.ndarray) -> np.ndarray:
    """Each row's offset from its neighbours (float32, one per row): the median along the whole
    row of its departure from their mean (:func:`_departures`)."""
    departures = _departures(image, None)
    middle = departures.shape[1] // 2
    return np.partition(departures, middle, axis=1)[:, middle]


def pixel_noise(image: np.ndarray) -> float:
    """The robust SD of the pixels' own noise, from every 4th 2 x 2 square of pixels: its two
    diagonals' differences subtracted (a - b - c + d) cancel any offset of a whole row and of a
    whole column, and leave four pixels' noise (SD twice one pixel's)."""
    image = np.asarray(image)
    rows, columns = image.shape
    if rows < 2 or columns < 2:
        return 0.0
    top = image[0 : rows - 1 : 4].astype(np.float32)
    below = image[1:rows:4].astype(np.float32)[: len(top)]
    top = top[: len(below)]
    square = (top[:, :-1] - top[:, 1:]) - (below[:, :-1] - below[:, 1:])
    square = square.ravel()
    # a few thousand squares tell the spread to ~2 %; selecting among a whole frame's
    # (integers, many ties) took 0.3 ms
    square = square[:: max(1, square.size // NOISE_SAMPLES)]
    return robust_sd(square) / 2.0


def line_statistics(image: np.ndarray, noise: float) -> tuple[float, float, float]:
    """(spread, disagreement, expected) of the rows of `image` (at TEST_SAMPLES columns, in
    SEGMENTS blocks of columns side by side): the robust SD of the line-to-line part of the rows'
    offsets (each row's offset the mean of its blocks' medians, less the mean of the two rows
    beside it); the robust SD of the blocks' medians about that mean; and what pixel noise of SD
    `noise` alone gives one block's median."""
    departures = _departures(image, TEST_SAMPLES)
    rows, sampled = departures.shape
    size = sampled // SEGMENTS
    if rows < 3 * LINE_WINDOW or size < 8:
        return 0.0, 0.0, np.inf
    blocks = departures[:, : size * SEGMENTS].reshape(rows, SEGMENTS, size)
    # the same element np.partition selects; sorting 32 values a block is twice as fast here
    offsets = np.sort(blocks, axis=2)[:, :, size // 2]
    common = offsets.mean(axis=1)
    jumps = common[1:-1] - 0.5 * (common[:-2] + common[2:])
    spread = robust_sd(jumps) / np.sqrt(1.5)
    disagreement = robust_sd(offsets - common[:, None]) * np.sqrt(SEGMENTS / (SEGMENTS - 1))
    return spread, disagreement, _MEDIAN_SPREAD * noise / np.sqrt(size)


def _line_noise(image: np.ndarray, noise: float) -> bool:
    """Whether the rows of `image` hold line noise (:func:`line_statistics`): their common
    offsets stand out against the blocks' disagreement and the pixels' noise (LINE_Z,
    LINE_SHARE), and the blocks are independent measurements (MIN_DISAGREEMENT)."""
    spread, disagreement, expected = line_statistics(image, noise)
    # line noise above the pixels' own (STRONG_SHARE) needs less evidence (STRONG_Z)
    z = LINE_Z if spread < STRONG_SHARE * noise else STRONG_Z
    return bool(
        spread > z * max(disagreement, expected) / np.sqrt(SEGMENTS)
        and spread > LINE_SHARE * noise
        and disagreement > MIN_DISAGREEMENT * expected
    )


def has_line_noise(image: np.ndarray) -> tuple[bool, bool]:
    """Whether `image`'s rows, and its columns, are offset from each other beyond its pixels'
    noise (:func:`_line_noise`), from TEST_SAMPLES lines across its middle TEST_WINDOW px."""
    return _tested(image)[1:]


def _tested(image: np.ndarray) -> tuple[float, bool, bool]:
    """(the pixels' noise, line noise in the rows, in the columns) of `image`'s middle
    TEST_WINDOW x TEST_WINDOW px (:func:`has_line_noise`)."""
    image = np.asarray(image)
    rows, columns = image.shape
    top, left = max(0, (rows - TEST_WINDOW) // 2), max(0, (columns - TEST_WINDOW) // 2)
    image = image[top : top + TEST_WINDOW, left : left + TEST_WINDOW].astype(np.float32)
    noise = pixel_noise(image)
    if not noise > 0:
        return noise, False, False
    return noise, _line_noise(image, noise), _line_noise(image.T, noise)


def defective_rows(image: np.ndarray, noise: float) -> list[tuple[int, int]]:
    """The defective rows of `image` (DEFECT_Z, DEFECT_NOISE), as (first, last) rows of each
    block of them side by side (at most DEFECT_WIDTH; never at the image's edge).

    A row's own offset is the mean, at DEFECT_SAMPLES columns in SEGMENTS blocks along it
    (the smallest of the blocks' where they all lie one way, else none), of its departure from
    the middle of the two rows on either side (the mean of the middle two of four): unlike the
    15-row mean of :func:`row_offsets`, one dead row barely moves its neighbours' offsets. Two
    dead rows a few apart do move the rows between them, by half as much and the other way: of
    each run of rows beyond the limits (at most DEFECT_RUN long) those within DEFECT_PEAK of the
    run's largest offset are the defects."""
    rows, columns = image.shape
    if rows < 8 or not noise > 0:
        return []
    step = max(1, columns // DEFECT_SAMPLES)
    sample = np.asarray(image[:, ::step], np.float32)
    # the two rows on either side (mirrored at the edges): the middle two of the four values
    # are their sum less the largest and the smallest
    mirror = cv2.BORDER_REFLECT_101
    total = cv2.filter2D(sample, -1, _BESIDE_WEIGHTS, borderType=mirror)
    largest = cv2.dilate(sample, _BESIDE, borderType=mirror)
    smallest = cv2.erode(sample, _BESIDE, borderType=mirror)
    departures = sample - 0.5 * (total - largest - smallest)
    # in SEGMENTS blocks along the row: a sensor's line is off along all of it, a cell or a row
    # of aligned rods along part of it (a mean of each block: one outlying pixel moves one
    # block, and all of them must agree)
    size = departures.shape[1] // SEGMENTS
    # (OpenCV's area resize is the blocks' means, ~10x faster than numpy's on a short axis)
    offsets = cv2.resize(
        departures[:, : size * SEGMENTS], (SEGMENTS, rows), interpolation=cv2.INTER_AREA
    )
    offsets -= median(offsets[:, 0])
    blocks = [offsets[:, k] for k in range(SEGMENTS)]
    # the block least off, with its sign, where all blocks lie one way (else 0)
    low, high = np.minimum.reduce(blocks), np.maximum.reduce(blocks)
    signed = np.where(low > 0, low, np.where(high < 0, high, 0.0))
    strength = np.abs(signed)
    far = strength > max(DEFECT_Z * robust_sd(blocks[0]), DEFECT_NOISE * noise)
    if not far.any():
        return []
    found = []
    for first, last in _runs(far):
        if last - first + 1 > DEFECT_RUN:
            continue  # a wide structure, not a line of the sensor
        run = strength[first : last + 1]
        for a, b in _runs(run >= DEFECT_PEAK * run.max()):
            a, b = first + a, first + b
            # not at the image's edge: a line there has neighbours on one side only (and a
            # camera's first or last column often differs a little: E. coli's first is 3.6 noise
            # SDs bright); of one sign: a straight edge across the image, a wall, moves the lines
            # on its two sides the two ways, a defect moves its lines one way
            same_sign = np.all(signed[a : b + 1] > 0) or np.all(signed[a : b + 1] < 0)
            if b - a + 1 <= DEFECT_WIDTH and a > 0 and b < rows - 1 and same_sign:
                found.append((a, b))
    return found


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) index of each run of True in `flags`."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.view(np.int8), [0]])))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2], strict=True)]


#: The two rows on either side of a row, not the row itself.
_BESIDE = np.array([[1], [1], [0], [1], [1]], np.uint8)
_BESIDE_WEIGHTS = _BESIDE.astype(np.float32)


def _repaired_rows(values: np.ndarray, blocks: list[tuple[int, int]]) -> None:
    """Each block of rows of `values` (float32, in place; none at the edge) given the linear
    interpolation between the rows just before and after it."""
    for first, last in blocks:
        before, after = values[first - 1].copy(), values[last + 1].copy()
        count = last - first + 2
        for k, row in enumerate(range(first, last + 1), start=1):
            values[row] = before + (after - before) * (k / count)


def without_lines(image: np.ndarray) -> np.ndarray:
    """`image` itself where it has neither defective lines (:func:`defective_rows`, of its rows
    and columns) nor line noise (:func:`has_line_noise`); otherwise a copy, in its dtype
    (integers rounded and clipped), with the defective lines given their neighbours' mean, then
    less the offsets of its rows and then of its columns where it has line noise
    (:func:`row_offsets`, every pixel of each line)."""
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 3 * LINE_WINDOW or image.dtype.kind not in "uif":
        return image
    # (a float frame holding inf gives NaN statistics, which find nothing: no warning for it)
    with np.errstate(invalid="ignore", over="ignore"):
        noise, *noisy = _tested(image)
        defects = (defective_rows(image, noise), defective_rows(image.T, noise))
    if not any(noisy) and not any(defects):
        return image
    values = image.astype(np.float32)
    _repaired_rows(values, defects[0])
    _repaired_rows(values.T, defects[1])
    if any(noisy):
        values -= row_offsets(values)[:, None]
        values -= row_offsets(values.T)[None, :]
    if image.dtype.kind == "f":
        return values.astype(image.dtype)
    info = np.iinfo(image.dtype)
    np.rint(values, out=values)
    return np.clip(values, info.min, info.max).astype(image.dtype)
