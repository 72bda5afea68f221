"""Line noise: whole rows or columns of a frame offset from the rest (an sCMOS camera's row
noise, a line-scanning microscope's line-to-line jitter, a CCD's column banding).

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

:func:`without_lines` takes the offsets out of the images the RoI and the guard are measured on
(never out of the coded data), where :func:`has_line_noise` finds them; no frame of the six
benchmark movies has them (tests/integration/test_lines_real.py), so their masks are unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

from ._robust import median

#: Rows (columns) over which a line's neighbours are averaged; a line's offset is the median,
#: along it, of its departure from that average. Cells and smooth illumination are alike on
#: neighbouring lines and cancel; the offsets of independent lines average out.
LINE_WINDOW = 15
#: The test (:func:`has_line_noise`) looks at the frame's middle TEST_WINDOW x TEST_WINDOW px
#: (line noise runs across the whole frame), at TEST_SAMPLES lines across it; the correction
#: uses every pixel. It costs ~0.5 ms a frame, a correction ~3-7 ms.
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
#: blocks repeat too); with line noise of the benchmark's camera noise 4.2-62.8.
LINE_Z = 6.0
LINE_SHARE = 0.25
SEGMENTS = 4
MIN_DISAGREEMENT = 0.5
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


def row_offsets(image: np.ndarray, samples: int | None = None) -> np.ndarray:
    """Each row's offset from its neighbours (float32, one per row): the median along the row
    of its departure from their mean (:func:`_departures`)."""
    departures = _departures(image, samples)
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
    return _robust_sd(square) / 2.0


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
    spread = _robust_sd(jumps) / np.sqrt(1.5)
    disagreement = _robust_sd(offsets - common[:, None]) * np.sqrt(SEGMENTS / (SEGMENTS - 1))
    return spread, disagreement, _MEDIAN_SPREAD * noise / np.sqrt(size)


def _robust_sd(values: np.ndarray) -> float:
    """1.4826 times the median absolute deviation (the SD of normal values)."""
    values = np.ascontiguousarray(values).ravel()
    return 1.4826 * median(np.abs(values - median(values)))


def _line_noise(image: np.ndarray, noise: float) -> bool:
    """Whether the rows of `image` hold line noise (:func:`line_statistics`): their common
    offsets stand out against the blocks' disagreement and the pixels' noise (LINE_Z,
    LINE_SHARE), and the blocks are independent measurements (MIN_DISAGREEMENT)."""
    spread, disagreement, expected = line_statistics(image, noise)
    return bool(
        spread > LINE_Z * max(disagreement, expected) / np.sqrt(SEGMENTS)
        and spread > LINE_SHARE * noise
        and disagreement > MIN_DISAGREEMENT * expected
    )


def has_line_noise(image: np.ndarray) -> tuple[bool, bool]:
    """Whether `image`'s rows, and its columns, are offset from each other beyond its pixels'
    noise (:func:`_line_noise`), from TEST_SAMPLES lines across its middle TEST_WINDOW px."""
    image = np.asarray(image)
    rows, columns = image.shape
    top, left = max(0, (rows - TEST_WINDOW) // 2), max(0, (columns - TEST_WINDOW) // 2)
    image = image[top : top + TEST_WINDOW, left : left + TEST_WINDOW].astype(np.float32)
    noise = pixel_noise(image)
    if not noise > 0:
        return False, False
    return _line_noise(image, noise), _line_noise(image.T, noise)


def without_lines(image: np.ndarray) -> np.ndarray:
    """`image` itself where it has no line noise (:func:`has_line_noise`); otherwise a copy,
    in its dtype (integers rounded and clipped), less the offsets of its rows and then of its
    columns (:func:`row_offsets`, every pixel of each line)."""
    image = np.asarray(image)
    if image.ndim != 2 or min(image.shape) < 3 * LINE_WINDOW or image.dtype.kind not in "uif":
        return image
    if not any(has_line_noise(image)):
        return image
    values = image.astype(np.float32)
    values -= row_offsets(values)[:, None]
    values -= row_offsets(values.T)[None, :]
    if image.dtype.kind == "f":
        return values.astype(image.dtype)
    info = np.iinfo(image.dtype)
    np.rint(values, out=values)
    return np.clip(values, info.min, info.max).astype(image.dtype)
