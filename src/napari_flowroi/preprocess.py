"""Turn a raw frame into the small, clean 8-bit image that motion is measured on."""

from __future__ import annotations

import functools

import cv2
import numpy as np

from ._robust import median as _median
from ._robust import percentiles
from .lines import without_lines
from .settings import FlowRoISettings

# Percentiles for the robust 8-bit stretch: wide enough to keep cells, narrow enough that a few hot
# pixels do not squeeze the whole frame into a handful of grey levels.
LOW_PERCENTILE, HIGH_PERCENTILE = 0.5, 99.5


#: A frame whose median lies in the lowest DARK_FIELD share of its stretched range is a dark-field
#: (fluorescence-like) frame: cells are bright spots on a dark, photon-limited background. On the
#: six benchmark movies the median lies at 0.01-0.03 of the range on clean fluorescence, 0.06-0.12
#: with camera noise, 0.32-0.58 on phase contrast and 0.73-0.75 on brightfield: 0.2 lies in the
#: gap (0.1 took noisy HeLa for a light background and lost its dim nuclei' grey levels). A frame
#: the test takes for light-field is asked again less its smooth trend (flattened_position), of
#: its median and of its densest level (_mode_position, MODE_BINS).
DARK_FIELD = 0.2
#: A dark-field frame whose median lies more than TREND_SHIFT of its range above where it lies
#: less its smooth trend is stretched less the trend too (:func:`_trend_stretch`). HeLa with 400
#: or 500 counts added across the frame stays dark-field by the raw test (median at 0.17-0.19 of
#: the range, 0.02 flattened) and, stretched over the ramp, lost 3.4-3.7 % of its cell pixels;
#: on the benchmark's dark-field frames (every frame, clean and noisy) the raw median lies at most
#: 0.004 above the flattened one (GOWT1 and CHO below it), a ramp of 100 counts lifts it ~0.03.
TREND_SHIFT = 0.02
#: Blocks per side of the grid whose medians the frame's smooth background is fitted to (a
#: quadratic surface) before the dark-field test is asked again: see :func:`flattened_position`.
TREND_BLOCKS = 8
#: A frame whose median the dark-field test puts above DARK_FIELD, raw and flattened, is still
#: dark-field when its densest grey level (:func:`_mode_position`, less the trend) lies in the
#: lowest DARK_FIELD share of its range: a fluorescence field where cells cover more than half of
#: the frame, whose median is then a cell's, but whose background, dark and narrow, is still the
#: commonest level. The densest level of a histogram of MODE_BINS bins over the flattened
#: sample's LOW_PERCENTILE..HIGH_PERCENTILE, smoothed by a Gaussian of MODE_SMOOTH bins (a
#: narrow-ranged 8-bit frame fills only some of the bins). A densest level below MODE_PEAK times
#: the histogram's mean is no peak (grey levels spread evenly) and says nothing: on the crowded
#: fields where the test decides it is 1.8-17 times the mean.
MODE_BINS = 256
MODE_SMOOTH = 3.0
MODE_PEAK = 1.5
#: A single grey level at the frame's minimum holding more than PADDING_SHARE of it, with the
#: frame's other pixels starting more than PADDING_GAP of their own range above it, is padding
#: (the black border a registration, a stitch or a rotation fills with zeros), not light: it is
#: given the frame's median level before anything is measured (:func:`without_padding`).
#: PADDING_SHARE is the low percentile's: from there on the stretch's low end lands on the padding.
#: On every frame of the six benchmark movies the minimum holds at most 0.32 % of the frame, and
#: where it holds more than 0.1 % the rest starts 0.4-2.1 % of its range above it (GOWT1, CHO:
#: clipped dark backgrounds).
PADDING_SHARE = LOW_PERCENTILE / 100
PADDING_GAP = 0.25


def flattened_position(sample: np.ndarray) -> float:
    """Where the median of `sample` less its smooth trend lies between its LOW_PERCENTILE and
    HIGH_PERCENTILE (0..1; 0.5 for a sample too small to fit a trend): the trend is a quadratic
    surface fitted to the medians of a TREND_BLOCKS x TREND_BLOCKS grid of blocks (robust to the
    cells inside them).

    Why: uneven illumination or autofluorescence adds a ramp many times a dim nucleus's
    contrast, and the raw frame's median then lies mid-range: HeLa (nuclei 50-600 counts above
    the background) with 2,000 counts added across the frame put it at 0.38 of the range, the
    frame was taken for light-field and its dim nuclei were lost (96.6 % of the cell pixels held;
    benchmarks/illumination.py). Flattened, the same frame's median lies at 0.02. On the six
    benchmark movies (every 25th frame, clean and noisy) it lies at 0.27-0.61 on phase contrast
    and brightfield, the same side of DARK_FIELD as the raw test (fluorescence: 0.01-0.13). The
    dark-field test asks this only of frames the raw test took for light-field, so a dark-field
    frame costs nothing more."""
    return _flattened(sample)[0]


def _flattened(
    sample: np.ndarray, *, mode: bool = False
) -> tuple[float, float, np.ndarray | None, float, float]:
    """:func:`flattened_position` of `sample` and (with `mode`; 0.5 without) the flattened
    sample's densest level (:func:`_mode_position`), with what :func:`_trend_stretch` needs: the
    trend's coefficients (in units of every other pixel of `sample`; None when too small) and the
    flattened sample's LOW_PERCENTILE and HIGH_PERCENTILE."""
    # every other row and column of the sample: the trend and three percentiles need few pixels
    values = sample[::2, ::2].astype(np.float32)
    n = TREND_BLOCKS
    rows, cols = values.shape[0] // n, values.shape[1] // n
    if rows < 2 or cols < 2:
        return 0.5, 0.5, None, 0.0, 0.0
    blocks = values[: rows * n, : cols * n].reshape(n, rows, n, cols).transpose(0, 2, 1, 3)
    medians = _block_medians(blocks.reshape(n, n, -1))
    c = np.linalg.lstsq(_trend_terms(rows, cols), medians, rcond=None)[0].astype(np.float32)
    flat = values - _surface(c, values.shape)
    low, median, high = percentiles(flat, (LOW_PERCENTILE, 50, HIGH_PERCENTILE))
    if not high > low:
        return 0.5, 0.5, c, float(low), float(high)
    position = float((median - low) / (high - low))
    densest = _mode_position(flat, float(low), float(high)) if mode else 0.5
    return position, densest, c, float(low), float(high)


def _mode_position(flat: np.ndarray, low: float, high: float) -> float:
    """Where the densest grey level of the flattened sample `flat` lies between `low` and `high`
    (0..1; MODE_BINS, MODE_SMOOTH; 0.5 where it is no peak, MODE_PEAK).

    Why the mode as well as the median: when cells cover more than half of a fluorescence
    frame the median is a cell's (the shipped HeLa cut's densest 48 px tiled: 0.38-0.64 of the
    range), and the frame went to the light-field rule, which found nothing: RoI empty on 5 of 6
    frames. The background is then a minority but still the commonest level, a narrow peak at the
    dark end (0.00-0.06 of the range there and in CHO's densest 96 px tiled, 71 % nuclei). On the
    benchmark's light-field frames, and under every alteration of benchmarks/acquisition.py and a
    vignette or ramp up to four times the frame's range, the flattened mode lies at 0.23 or above
    (docs/decisions.md, "A crowded fluorescence field"). Black padding never reaches it: it was
    given the frame's median first (:func:`without_padding`)."""
    # the top edge just above `high`, so its own pixels fall in the last bin (calcHist's ranges
    # are half-open)
    top = high + (high - low) / (2 * MODE_BINS)
    counts = cv2.calcHist([flat], [0], None, [MODE_BINS], [low, top]).reshape(1, -1)
    counts = cv2.GaussianBlur(counts, (0, 0), MODE_SMOOTH).ravel()
    densest = int(np.argmax(counts))
    if counts[densest] < MODE_PEAK * counts.mean():
        return 0.5  # no peak: no level to place
    return (densest + 0.5) / MODE_BINS


@functools.lru_cache(maxsize=8)
def _trend_terms(rows: int, cols: int) -> np.ndarray:
    """The quadratic trend's design matrix at the centres of the TREND_BLOCKS x TREND_BLOCKS
    blocks of `rows` x `cols` pixels (:func:`_flattened`): the same for every frame of a movie,
    so made once (0.04 ms a frame, a tenth of the trend's fit). Read-only: shared."""
    n = TREND_BLOCKS
    y, x = np.mgrid[0:n, 0:n]
    y, x = ((y + 0.5) * rows).ravel(), ((x + 0.5) * cols).ravel()
    terms = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)
    terms.flags.writeable = False
    return terms


def _block_medians(blocks: np.ndarray) -> np.ndarray:
    """``np.median(blocks, axis=-1).ravel()`` of a float32 (rows, cols, n) array: the same float32
    values, by one ``np.partition`` around the middle rank along the last axis (numpy's SIMD
    selection, where ``np.median`` partitions around several ranks with its plain introselect),
    the largest value below it for an even `n` and the two middle values' float32 sum halved, as
    ``np.mean`` of two float32 values is. With a NaN, or a zero as a middle value (which of -0
    and +0 a selection leaves there may differ), ``np.median`` itself: the same bits always.
    On the 64 blocks of :func:`_flattened`: 0.07 against 0.18 ms on *E. coli*'s light-field
    frames, 0.08 against 0.27 on HSC's (tests/core/test_mask_speed_equivalence.py)."""
    size = blocks.shape[-1]
    middle = size // 2
    if np.isnan(blocks.max()):
        return np.median(blocks, axis=-1).ravel()
    part = np.partition(blocks, middle, axis=-1)
    high = part[..., middle]
    low = high if size % 2 else part[..., :middle].max(axis=-1)
    if not (low.all() and high.all()):
        return np.median(blocks, axis=-1).ravel()
    if size % 2:
        return high.ravel()
    return ((low + high) / np.float32(2)).ravel()


def _surface(c: np.ndarray, shape: tuple[int, int], step: float = 1.0) -> np.ndarray:
    """The quadratic trend `c` over an image of `shape` whose pixels lie `step` units of the
    trend's coordinates apart, by broadcasting a column of its terms in y against a row of those
    in x (one pass over the image instead of six)."""
    y = np.arange(shape[0], dtype=np.float32)[:, None]
    x = np.arange(shape[1], dtype=np.float32)[None, :]
    if step != 1.0:
        y, x = y * np.float32(step), x * np.float32(step)
    return (c[0] + c[2] * y + c[4] * y * y) + (c[1] + c[5] * y) * x + c[3] * x * x


def _trend_stretch(frame: np.ndarray, c: np.ndarray, step: float, low: float, high: float):
    """The square-root 8-bit stretch of `frame` less its trend `c` (pixels `step` trend units
    apart), between the flattened sample's percentiles `low` and `high`.

    Why: a frame only the flattened test finds dark-field carries a background trend many times
    its dim cells' contrast; stretched as it is, the trend takes the 256 grey levels (HeLa with
    8,000 counts added across the frame: nuclei 50-600 counts high kept ~1 grey level and 2.7 %
    of the cell pixels were lost). Frames the raw test finds dark-field, every fluorescence frame
    of the benchmark movies among them, are stretched as before."""
    flat = np.asarray(frame, np.float32) - _surface(c, frame.shape, step)
    return _stretched(flat, low, high, True)[1]


def to_uint8(frame: np.ndarray, *, stabilise: bool = False) -> np.ndarray:
    """Robustly stretch any grey-level frame (uint8, uint16, float) to uint8.

    With `stabilise`, a dark-field frame is stretched by the square root of its intensity above
    the low percentile (the variance-stabilising transform of photon-limited light, as in
    Anscombe's), so dim cells keep grey levels: on HeLa (uint16) a linear stretch put the
    brightest nuclei at 255 and dim whole nuclei 1-5 grey levels above the background, where
    no contrast rule can find them.
    """
    linear, stabilised = _stretches(frame, stabilise=stabilise)
    return stabilised if stabilise else linear


def _stretches(frame: np.ndarray, *, stabilise: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The linear 8-bit stretch of `frame` and (with `stabilise`) the square-root one of
    :func:`to_uint8`, from one pass over the frame's percentiles; the same array twice when the
    frame is not dark-field (or `stabilise` is off)."""
    # padding first: a border at one grey level is no line's offset
    frame = without_lines(without_padding(np.asarray(frame)))
    sample = frame[::2, ::2] if frame.size > 65536 else frame
    integer = frame.dtype.kind in "ui" and frame.dtype.itemsize <= 2
    if integer:
        # one pass for the three: on integers the 50th percentile is the median exactly
        # (the mean of two integers, or the one in the middle)
        low, median, high = percentiles(sample, (LOW_PERCENTILE, 50, HIGH_PERCENTILE))
    else:
        low, high = percentiles(sample, (LOW_PERCENTILE, HIGH_PERCENTILE))
    if high <= low:
        blank = np.zeros(frame.shape, np.uint8)
        return blank, blank
    dark = False
    if stabilise:
        if not integer:
            # np.median's value (a frame holding a NaN, which reading refuses, has NaN percentiles
            # and stays light-field either way)
            median = _median(sample)
        raw_position = (float(median) - low) / (high - low)
        dark = raw_position < DARK_FIELD
    # dark-field only under its trend, or dark-field with a trend that lifts the median by more
    # than TREND_SHIFT: stretched less the trend (a flattened position is never below 0, so a
    # dark-field frame whose median lies within TREND_SHIFT of its low end needs no fit: every
    # GOWT1 frame, clean and noisy)
    if stabilise and (not dark or raw_position > TREND_SHIFT):
        position, mode, trend, flat_low, flat_high = _flattened(sample, mode=not dark)
        # dark-field under its trend (its median, or when cells crowd the frame its densest
        # level, in the lowest DARK_FIELD of the range), or with a trend that lifts its median
        under_trend = not dark and (position < DARK_FIELD or mode < DARK_FIELD)
        if under_trend or (dark and raw_position - position > TREND_SHIFT):
            linear = _stretched(frame, low, high, False)[0]
            # the trend's unit is every other pixel of the sample, itself every other of a frame
            # above 65536 pixels
            step = 0.5 if sample is frame else 0.25
            return linear, _trend_stretch(frame, trend, step, flat_low, flat_high)
    if not integer:
        return _stretched(frame, low, high, dark)
    # an integer pixel's 8-bit values depend on its grey level alone: the same arithmetic on each
    # level the frame holds once, then a table look-up (the same bytes; 3.0 -> 1.6 ms with the one
    # partition above, on the 512x512 uint16 frame a 1-MP frame is prepared from)
    first = int(frame.min())
    levels = np.arange(first, int(frame.max()) + 1).astype(frame.dtype)
    linear, stabilised = _stretched(levels, low, high, dark)
    if frame.dtype == np.uint8:
        table = np.zeros(256, np.uint8)
        table[first : first + len(levels)] = linear
        linear_frame = cv2.LUT(frame, table)
        if stabilised is linear:
            return linear_frame, linear_frame
        table[first : first + len(levels)] = stabilised
        return linear_frame, cv2.LUT(frame, table)
    index = frame.astype(np.intp) - first if frame.dtype.kind == "i" else frame - first
    linear_frame = np.take(linear, index)  # twice as fast as linear[index]
    return linear_frame, (linear_frame if stabilised is linear else np.take(stabilised, index))


def padding(frame: np.ndarray) -> tuple[np.ndarray, float] | None:
    """The padding of `frame` (PADDING_SHARE, PADDING_GAP): (bool mask of its pixels, with the
    pixels beside them that are more padding than light; the median of the other pixels), or
    None when it has none.

    The pixels beside the padding are left out of "the other pixels" and given the fill too:
    where the frame was resized (a lower magnification, binning, the half-size frame the RoI is
    found on) or shifted by a fraction of a pixel they mix the padding with the light, and a
    column of them is more than PADDING_SHARE of a small frame. HeLa at 0.35 of its size with a
    registration's black strip (its half-size frame 192 px wide, the strip's mixed edge column
    0.52 % of it at ~3 % of the light) was not taken for padding and held 85.52 % of its cell
    pixels (worst frame 61.83 %)."""
    sample = frame[::2, ::2] if frame.size > 65536 else frame
    if sample.size == 0 or frame.dtype.kind not in "uif":
        return None
    lowest = sample.min()
    if not np.isfinite(lowest):
        return None
    at = sample == lowest
    if np.count_nonzero(at) <= PADDING_SHARE * sample.size or at.all():
        return None
    beside = cv2.dilate(at.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
    rest = sample[~beside]
    if not rest.size:
        return None
    low, median, high = percentiles(rest, (LOW_PERCENTILE, 50, HIGH_PERCENTILE))
    if low - lowest <= PADDING_GAP * (high - low):
        return None
    found = frame == lowest
    # the mixed pixels beside it (within 2 px: one pixel of the sample, which takes every other),
    # more padding than light: below halfway between it and the other pixels' low end
    near = cv2.dilate(found.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool)
    found |= near & (frame < (float(lowest) + float(low)) / 2)
    return found, float(median)


def without_padding(frame: np.ndarray) -> np.ndarray:
    """`frame`, or where it holds padding (:func:`padding`) a copy with the padding at the
    median of the other pixels: flat background to every later step (stretch, dark-field test,
    cells, flow, the guard's change), where zeros far below the light had set the stretch's low
    end.

    Why: HeLa (a 33,000-count camera offset) with 2 % of each frame zero, as a drift correction
    leaves it, was stretched from 0: its nuclei, 50-600 counts above the offset, fell into the
    top few grey levels, the frame was taken for light-field, and the RoI held 24 % of the cell
    pixels (docs/acquisition.md, *black border*)."""
    found = padding(frame)
    return frame if found is None else filled(frame, *found)


def filled(frame: np.ndarray, mask: np.ndarray, level: float) -> np.ndarray:
    """A copy of `frame` with the pixels of `mask` at `level` (rounded for an integer frame)."""
    out = frame.copy()
    out[mask] = np.round(level) if frame.dtype.kind in "ui" else level
    return out


def _stretched(
    values: np.ndarray, low: float, high: float, dark: bool
) -> tuple[np.ndarray, np.ndarray]:
    """The linear and (when `dark`) square-root 8-bit stretches of `values` between the
    percentiles `low` and `high` (:func:`_stretches`); the same array twice when not `dark`."""
    scaled = (values.astype(np.float32) - low) * (1.0 / (high - low))
    # clipped in place: numpy's clip into a new array took 1.7 ms on a 0.26-MP frame, in place 0.1
    linear = scaled * 255.0
    np.clip(linear, 0, 255, out=linear)
    linear = linear.astype(np.uint8)
    if not dark:
        return linear, linear
    np.clip(scaled, 0, None, out=scaled)
    cv2.sqrt(scaled, dst=scaled)
    scaled *= 255.0
    np.clip(scaled, 0, 255, out=scaled)
    return linear, scaled.astype(np.uint8)


def resize(image: np.ndarray, scale: float) -> np.ndarray:
    if scale == 1.0:
        return image
    height, width = image.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if (
        image.ndim == 2
        and image.dtype in (np.uint8, np.uint16)
        and image.flags.c_contiguous
        and width == 2 * size[0]
        and height % size[1]
        and size[1] < height
    ):
        return _area_halved_columns(image, size[1])
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _area_halved_columns(image: np.ndarray, rows: int) -> np.ndarray:
    """``cv2.resize(image, (width // 2, rows), interpolation=cv2.INTER_AREA)`` of a uint8 or
    uint16 image of even width whose height is not a multiple of `rows`: the same values.

    Why written here: where one side does not divide, OpenCV's area resize takes its generic
    path, which weighs every source pixel of a row by a table in a scalar loop: 1.4 ms on
    *E. coli*'s 727x1026 uint16 frame (6 % of its mask), 0.4 ms on CHO's 443x512 (4 %). Its
    arithmetic is reproduced step for step (float32, no fused multiply-add): each row's pairs of
    columns summed with weight 1/2 each, ``(a * 0.5) + b * 0.5``, which is ``(a + b) * 0.5``
    exactly (below 2**24); then each output row ``sum = beta0 * row0``, ``sum += beta * row``
    in the table's order (:func:`_area_rows`), rounded to nearest even (``saturate_cast``). The
    pairs are summed as the two halves of each 2- or 4-byte word (the image's bytes viewed
    wider: no strided float copies); the 1/2 is folded into the row weights (a power of two:
    ``beta * (s * 0.5)`` and ``(beta * 0.5) * s`` round the same real number). Bitwise equal to
    OpenCV on every frame of *E. coli* and CHO and on random images
    (tests/core/test_mask_speed_equivalence.py)."""
    wide = np.uint16 if image.dtype == np.uint8 else np.uint32
    bits = 8 * image.dtype.itemsize
    packed = image.view(wide)  # each word: one pair of columns, the first in the low half
    pairs = packed >> wide(bits)
    pairs += packed & wide((1 << bits) - 1)
    # numpy converts int32 to float32 faster than uint32 (the sums are below 2**17)
    pairs = (pairs.view(np.int32) if wide is np.uint32 else pairs).astype(np.float32)
    out = None
    for sources, weights in _area_rows(image.shape[0], rows):
        part = pairs[sources]
        part *= weights
        if out is None:
            out = part
        else:
            out += part
    np.rint(out, out=out)
    # saturate_cast's clamp (the weights of a row add up to 1, so only a rounding could pass
    # the top; never seen, but a uint16 65536.0 would wrap to 0)
    np.minimum(out, np.float32(np.iinfo(image.dtype).max), out=out)
    return out.astype(image.dtype)


@functools.lru_cache(maxsize=8)
def _area_rows(height: int, rows: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """OpenCV's area-resize table (``computeResizeAreaTab``, in double, weights cast to float32)
    for `height` source rows to `rows`, as slots: slot k holds each output row's k-th source row
    and weight (halved: :func:`_area_halved_columns`). An output row with fewer source rows gets
    weight 0 in the slots beyond them (with its first source row): it adds +0.0 to a sum that
    is never negative, which leaves the sum's bits as they are, and every slot is one gather and
    one addition over the whole output (a scattered addition to the rows that have one took
    twice as long). Made once per frame size."""
    scale = height / rows
    entries = []  # (output row, source row, weight) in OpenCV's order
    for row in range(rows):
        start = row * scale
        end = start + scale
        cell = min(scale, height - start)
        first, last = int(np.ceil(start)), int(np.floor(end))
        last = min(last, height - 1)
        first = min(first, last)
        if first - start > 1e-3:
            entries.append((row, first - 1, np.float32((first - start) / cell)))
        entries += [(row, source, np.float32(1.0 / cell)) for source in range(first, last)]
        if end - last > 1e-3:
            entries.append((row, last, np.float32(min(min(end - last, 1.0), cell) / cell)))
    slots: list[list[tuple[int, int, np.float32]]] = []
    seen: dict[int, int] = {}
    for row, source, weight in entries:
        k = seen.get(row, 0)
        seen[row] = k + 1
        if k == len(slots):
            slots.append([])
        slots[k].append((row, source, weight))
    if [row for row, _, _ in slots[0]] != list(range(rows)):
        raise AssertionError("every output row has a first source row")
    out = []
    for slot in slots:
        sources = np.array([source for _, source, _ in slots[0]], np.intp)
        weights = np.zeros(rows, np.float32)
        for row, source, weight in slot:
            sources[row], weights[row] = source, weight
        weights *= np.float32(0.5)
        weights = weights[:, None]
        for array in (sources, weights):
            array.flags.writeable = False
        out.append((sources, weights))
    return tuple(out)


def denoise(image: np.ndarray) -> np.ndarray:
    """Median then bilateral filter (the paper's denoising), on an 8-bit image."""
    smoothed = cv2.medianBlur(image, 3)
    return cv2.bilateralFilter(smoothed, d=5, sigmaColor=25, sigmaSpace=5)


def _as_float32(frame: np.ndarray) -> np.ndarray:
    """A wide float frame in float32, divided by its largest magnitude first where float32 could
    not hold its values (beyond ~1e30 they became inf, below ~1e-30 zero or subnormal, and the
    RoI came out empty); the stretch is by percentiles, so a common factor changes nothing."""
    peak = float(np.max(np.abs(frame))) if frame.size else 0.0
    if np.isfinite(peak) and peak > 0 and not 1e-30 <= peak <= 1e30:
        frame = frame / peak
    return frame.astype(np.float32)


def prepare_frames(frame: np.ndarray, settings: FlowRoISettings) -> tuple[np.ndarray, np.ndarray]:
    """The 8-bit, downscaled, optionally denoised images a frame's motion and appearance are
    measured on: (linear stretch, :func:`to_uint8`'s stabilised stretch). They share the
    downscale, the percentiles and, on frames that are not dark-field (where both are the same
    image), the denoising."""
    frame = np.asarray(frame)
    if frame.dtype == np.float64 or frame.dtype.itemsize > 4:
        frame = _as_float32(frame)
    # shrink first: 4x fewer pixels to stretch
    linear, stabilised = _stretches(resize(frame, settings.flow_scale))
    if not settings.denoise:
        return linear, stabilised
    linear_clean = denoise(linear)
    return linear_clean, (linear_clean if stabilised is linear else denoise(stabilised))
