"""The missed-cell guard: how much of the cells the RoI holds, seen by a reference that does not
share the RoI's principle.

The RoI finds cells by local contrast and by departure from a coarse background at half
resolution; a guard built on the same detector reported 100 % where the RoI held 74 % of the cell
pixels (issue 21). The guard's reference is instead *change over time* in the raw frames
(:func:`change_cells`, measured on them halved by area averaging, CHANGE_SCALE): pixels that
differ from BOTH neighbouring frames (after removing the drift; at either end of the movie, the
two nearest frames) by CHANGE_Z robust standard deviations of the frame's own differences. A
pixel that
differs from the frame before and the frame after belongs to something at frame t that moves or
changes (a cell's margin, texture, a dividing nucleus); the wake a cell leaves (background at t,
cell at t-1 only) and the place it goes (cell at t+1 only) differ from one neighbour, not both.
On dark-field frames the reference is further restricted to pixels above the frame's Otsu
threshold (the moving dim cytoplasm around fluorescent nuclei is not what the RoI must hold).
When the appearance source is off, the appearance cells (independent of a motion-only RoI) join
the reference, so still cells a motion RoI misses show here too. docs/guard.md gives the
estimate's agreement with the reference masks of every benchmark movie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ._robust import median as sample_median
from ._robust import median_and_sd
from .lines import without_lines
from .metrics import object_coverage, pixel_coverage
from .preprocess import filled, padding
from .resolution import CHOSEN_SCALE
from .roi import FramePool


@dataclass(frozen=True)
class FrameCoverage:
    t: int
    pixel_share: float  # of detected cell pixels inside the RoI
    object_share: float  # of detected cells with at least half their pixels inside
    cell_fraction: float  # detected cells' share of the frame
    missed: np.ndarray = field(repr=False)  # (N, 2) centroids (y, x) of cells left outside

    @property
    def found_cells(self) -> bool:
        """Whether the reference holds any cell here: without one, ``pixel_share`` is 1.0 by
        the definition of a share of nothing, not because every cell is held."""
        return self.cell_fraction > 0

    @property
    def judged_share(self) -> float | None:
        """``pixel_share`` where :attr:`found_cells`, else None (nothing to judge): what a run
        records and reports (a blank movie's summary said "Cells 100.0 % inside the RoI" beside
        "no cells found")."""
        return self.pixel_share if self.found_cells else None


@dataclass(frozen=True)
class MovieCoverage:
    frames: tuple[FrameCoverage, ...]

    @property
    def judged(self) -> tuple[FrameCoverage, ...]:
        """The frames on which the reference found cells: the only ones the estimate can judge."""
        return tuple(f for f in self.frames if f.found_cells)

    @property
    def pixel_share(self) -> float:
        """The mean share over the :attr:`judged` frames (1.0 when there are none).

        Why not over every frame: a frame without cells reads 1.0 by definition, and averaged in
        it lifted the estimate (a movie whose cells enter late: one judged frame at 85 % among
        four empty ones read 97 %, the check's target), where a finished run's summary, from
        the same frames, averages the judged ones (`container.coverage_of`)."""
        judged = self.judged
        return float(np.mean([f.pixel_share for f in judged])) if judged else 1.0

    @property
    def object_share(self) -> float:
        judged = self.judged
        return float(np.mean([f.object_share for f in judged])) if judged else 1.0

    @property
    def worst(self) -> FrameCoverage | None:
        return min(self.frames, key=lambda f: f.pixel_share, default=None)

    def as_dict(self) -> dict:
        return {
            "pixel_share": round(self.pixel_share, 4),
            "object_share": round(self.object_share, 4),
            "frames_checked": [f.t for f in self.frames],
            "worst_frame": None if self.worst is None else self.worst.t,
        }


#: In the check before a batch (:func:`estimate_coverage`), cell pixels within this many px of the
#: RoI count as held: the codec keeps the detail of
#: structure within DETAIL_BAND (3) px of the RoI (codec/_priority.py, the soft edge), and the
#: change reference marks a moving edge a pixel or two on either side of it (a blurred edge that
#: shifts). Without it a RoI holding every cell of a small synthetic movie read 97.7 % (a 2-13 px
#: rim per frame outside discs of ~250 px) and the check before a batch refused it.
BAND = 2


def frame_coverage(t: int, roi: np.ndarray, cells: np.ndarray, *, band: int = 0) -> FrameCoverage:
    """How much of `cells` frame t's `roi` holds, counting cell pixels within `band` px of it.

    Parameters
    ----------
    t : int
        The frame (kept in the result).
    roi : ndarray
        bool (Y, X), the RoI.
    cells : ndarray
        bool (Y, X), the cells to hold (the guard's reference, or the appearance cells).
    band : int
        Cell pixels within this many px of the RoI count as held (:func:`estimate_coverage`, the
        check before a batch, passes BAND).

    Returns
    -------
    FrameCoverage
    """
    from .masks import grow

    roi = grow(roi, band)
    outside = cells & ~roi
    missed = np.zeros((0, 2))
    if outside.any():
        count, _labels, stats, centroids = cv2.connectedComponentsWithStats(
            outside.astype(np.uint8), connectivity=8
        )
        big = stats[1:, cv2.CC_STAT_AREA] >= 4
        missed = centroids[1:][big][:, ::-1]
    return FrameCoverage(
        t, pixel_coverage(roi, cells), object_coverage(roi, cells), float(cells.mean()), missed
    )


#: Robust standard deviations (of the frame's own smaller-of-two differences) a pixel must change
#: by to join the guard's reference. Chosen on the benchmark movies (docs/guard.md): at 4 the
#: reference took the changing phase halo around E. coli's growing colony and the estimate read
#: 77 % where the RoI held 100 % of the cell pixels, at 12 97.2 %, at 16 98.9 % (the other movies
#: within 0.2 points at 12 and 16, noisy HeLa 1.5); at 16 the reference still holds hundreds of
#: pixels of a U373 cell's moving margin (tests/integration/test_guard_real.py).
CHANGE_Z = 16.0
#: Smoothing (full-resolution px) before the differences, so camera noise does not change pixels.
CHANGE_SIGMA = 1.5
#: Opening (full-resolution px) and smallest piece (full-resolution px) of the reference: thin
#: rims of change (a shifted edge, a halo) and specks go.
CHANGE_OPENING = 5
CHANGE_MIN_AREA = 30
#: The change is measured on the raw frames halved by area averaging (the smoothing, opening and
#: smallest piece scaled with it; the reference brought back to full resolution with smooth
#: outlines): the estimate within 0.11 points of the full-resolution one on every benchmark clip
#: (docs/decisions.md) for a quarter of the pixels to smooth, shift and compare.
CHANGE_SCALE = 0.5


def change_cells(extractor, t: int, *, shared: dict | None = None) -> np.ndarray:
    """The guard's reference cells of frame t, at full resolution (see the module docstring).

    Parameters
    ----------
    extractor : RoiExtractor
        The movie's extractor (its frame cache and prepared frames are reused).
    t : int
        The frame.
    shared : dict, optional
        Frames made ready for the comparison (smoothed, standardised), kept between calls for
        frames in increasing order (:func:`estimate_coverage`): checked frames a few apart
        share neighbours. Entries more than two frames before `t` are dropped.

    Returns
    -------
    ndarray
        bool (Y, X); all False for a one-frame movie (nothing to compare with).
    """
    from .flow import coarse_drift, shift_image
    from .masks import clean_mask, to_shape

    view = getattr(extractor, "view", None)
    if view is not None:  # a movie seen at a smaller pixel size: its reference as well
        return to_shape(change_cells(view, t, shared=shared), extractor.shape)
    n = len(extractor.movie)
    # the frames before and after; at either end of the movie the two nearest on the one side
    # (against a single neighbour, the place a cell moves to counts as changed too)
    neighbours = [t - 1, t + 1] if 0 < t < n - 1 else [t - 2, t - 1, t + 1, t + 2]
    neighbours = [u for u in neighbours if 0 <= u < n][:2]
    if not neighbours:
        return np.zeros(extractor.shape, bool)
    shared = {} if shared is None else shared
    for u in [u for u in shared if u < t - 2]:  # no later frame of the check compares with it
        del shared[u]

    rows, cols = extractor.shape
    size = (max(1, round(cols * CHANGE_SCALE)), max(1, round(rows * CHANGE_SCALE)))

    def standardised(u: int) -> tuple[np.ndarray, np.ndarray | None]:
        if u not in shared:
            shared[u] = _standardised(extractor.frame(u), size)
        return shared[u]

    current, blank = standardised(t)
    # prepared-frame px per px of the change
    scale = extractor.settings.flow_scale / CHANGE_SCALE
    change = None
    for u in neighbours:
        # the drift from the prepared (downscaled) frames halved again: the same translation, a
        # quarter of the phase correlation (a third of the reference's time went to it), and the
        # change is smoothed over more than the fraction of a pixel this gives away
        dy, dx = coarse_drift(extractor.prepared(t), extractor.prepared(u))
        other, other_blank = standardised(u)
        other = shift_image(other, -dy / scale, -dx / scale)
        difference = cv2.absdiff(current, other)
        change = difference if change is None else np.minimum(change, difference, out=change)
        if other_blank is not None:
            other_blank = shift_image(other_blank, -dy / scale, -dx / scale)
            blank = other_blank if blank is None else np.maximum(blank, other_blank)
    sample = change[::2, ::2]  # every 4th full-resolution row and column
    median, spread = median_and_sd(sample)
    spread = max(spread, 1e-6)
    reference = change > median + CHANGE_Z * spread
    if extractor.dark_field(t):
        reference &= current >= _otsu(current)
    if blank is not None:
        # no change is measured where either frame compared is padding (preprocess.padding): a
        # registration's black border moves from frame to frame, and its edge is no cell
        reference &= blank == 0
    reference = clean_mask(
        reference,
        max(1, int(np.ceil(CHANGE_OPENING * CHANGE_SCALE))),  # at least as wide
        1,
        CHANGE_MIN_AREA * CHANGE_SCALE**2,
    )
    return to_shape(reference, extractor.shape)


def _standardised(frame: np.ndarray, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray | None]:
    """A frame halved to `size` (width, height) by area averaging, smoothed (CHANGE_SIGMA) and
    brought to zero median and unit robust spread; and where it holds padding
    (:func:`~napari_flowroi.preprocess.padding`, given the median level first), a float32 map
    at the same size, non-zero within the smoothing's reach of it (else None).

    Frames compared in these units need no brightness match per pair: E. coli's exposure jumps
    (median 10,000 -> 13,000 -> 4,000 over frames 4-6) made whole bright objects change until
    each frame was brought to its neighbour's level and contrast; standardising each frame once
    does the same (the change threshold is in robust spreads of the change itself, so the unit
    cancels) and lets checked frames share their neighbours."""
    frame = np.asarray(frame)
    found = padding(frame)
    blank = None
    if found is not None:
        frame = filled(frame, *found)
        # the padding at the change's size, grown by the smoothing's reach (3 sigma)
        reach = int(np.ceil(3 * CHANGE_SIGMA * CHANGE_SCALE)) + 1
        blank = cv2.dilate(
            cv2.resize(
                found[0].view(np.uint8).astype(np.float32), size, interpolation=cv2.INTER_AREA
            ),
            np.ones((2 * reach + 1,) * 2, np.uint8),
        )
    # the outliers at full resolution, where a hot pixel is one pixel (halving by a factor that
    # is not exactly 2 spreads it over two)
    frame = _without_outliers(frame)
    if frame.shape[::-1] != size:
        frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
    # line noise new in every frame would be change on every line (lines.py)
    frame = without_lines(frame)
    smoothed = cv2.GaussianBlur(frame, (0, 0), CHANGE_SIGMA * CHANGE_SCALE)
    level, spread = _level(smoothed)
    smoothed -= level
    smoothed *= 1.0 / spread
    return smoothed, blank


#: Robust SDs (of a frame's departures from its 3x3 median) beyond which a lone pixel is a camera
#: outlier (:func:`_without_outliers`).
OUTLIER_Z = 10.0


def _without_outliers(frame: np.ndarray) -> np.ndarray:
    """`frame` as float32 with each lone pixel that departs from its 3x3 median by more than
    OUTLIER_Z robust SDs of those departures (at most one of its 8 neighbours does) replaced by
    that median.

    Why: a hot or saturated camera pixel (or a cosmic-ray hit) is one or two pixels, and the
    halving and smoothing spread it into a blob above the change threshold wherever the
    drift correction moved it or it came and went, outside any RoI: with 0.05 % of the pixels
    saturated, *E. coli*'s estimate read 75-78 % where the RoI held every cell pixel, and the
    check refused the run. A median of every pixel (tried) also lowered the change's noise, and
    with it the threshold, so the estimate moved on the benchmark movies (*E. coli*'s check 2.02
    -> 2.49 points off); replacing only the outliers leaves every other pixel as it was (the
    same "remove outliers" as ImageJ's, its threshold in robust SDs instead of grey levels)."""
    if min(frame.shape[:2]) < 3:
        # narrower than the 3x3 median: no pixel has the neighbours to be told from (and OpenCV
        # takes a 1x1 or 1x4 array for a scalar, in the comparisons below)
        return frame.astype(np.float32)
    if frame.dtype not in (np.uint8, np.uint16, np.float32):
        frame = frame.astype(np.float32)  # the types OpenCV's 3x3 median takes
    # in the frame's own type: a 16-bit frame is half a float32 one to read and write
    median = cv2.medianBlur(frame, 3)
    # OpenCV's operations on the whole frame, one partition of a sample of every 8th pixel each
    # way: the whole command spent 4.5 % more CPU with numpy's arithmetic and two medians here
    # (8 ms a 1-MP frame, ~15 frames a check)
    departure = cv2.absdiff(frame, median)  # a 3x3 median's departures centre on 0
    low, high = cv2.minMaxLoc(median)[:2]
    spread = max(1.4826 * sample_median(departure[::8, ::8]), 1e-6 * max(abs(low), high, 1.0))
    outliers = cv2.compare(departure, OUTLIER_Z * spread, cv2.CMP_GT)  # 255 where outlying
    out = frame.astype(np.float32)  # what the change is measured on; a copy (the frame is shared)
    found = cv2.findNonZero(outliers)
    if found is None:
        return out
    # lone ones only (at most one outlying neighbour: a hit may take two pixels): on a frame
    # without noise (the spread ~0) the pixels of a small object all depart from their median,
    # in touching groups, and the guard's reference lost the synthetic movies' small cells
    cols, rows = found.reshape(-1, 2).T  # (x, y) pairs: (n, 1, 2) or (n, 2) by OpenCV version
    lone = _outlying_around(outliers, rows, cols) <= 2  # itself and at most one neighbour
    rows, cols = rows[lone], cols[lone]
    out[rows, cols] = median[rows, cols]
    return out


def _outlying_around(outliers: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """How many pixels of the 3x3 window around each (row, col) are outlying (non-zero in
    `outliers`), the image's edge mirrored as OpenCV's box filter mirrors it (BORDER_REFLECT_101).

    Why not the box filter itself: it counts every pixel of the frame for the few outliers there
    are (0.05 % even with a hot-pixel camera): 1.2 ms of the 1-MP frame's 2.5 ms for the
    outliers, ~15 frames a check; looked up at the outliers alone, the same counts."""
    height, width = outliers.shape
    total = np.zeros(rows.size, np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            total += outliers[_mirrored(rows + dy, height), _mirrored(cols + dx, width)] > 0
    return total


def _mirrored(index: np.ndarray, size: int) -> np.ndarray:
    """`index` one step outside ``0 .. size - 1`` mirrored without repeating the edge (OpenCV's
    BORDER_REFLECT_101: -1 -> 1, size -> size - 2; a side of one pixel stays 0)."""
    if size == 1:
        return np.zeros_like(index)
    index = np.abs(index)
    return np.where(index >= size, 2 * (size - 1) - index, index)


def _otsu(image: np.ndarray) -> float:
    """Otsu's threshold of a float image: values at or above it are the bright class.

    OpenCV's Otsu on the image stretched to 256 grey levels (the 256 bins scikit-image's
    ``threshold_otsu`` also uses), so the guard needs no scikit-image (nor its scipy.ndimage)."""
    low, high = float(image.min()), float(image.max())
    if high <= low:
        return np.inf
    step = (high - low) / 255.0
    # truncated: grey level k holds the values from low + k * step up to low + (k + 1) * step
    levels = ((image - low) * (1.0 / step)).astype(np.uint8)
    k, _ = cv2.threshold(levels, 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)
    return low + (k + 1) * step  # OpenCV's bright class is the levels above k


def _level(image: np.ndarray) -> tuple[float, float]:
    """Median and robust spread (1.4826 MAD, at least a millionth of the median) of an image."""
    median, spread = median_and_sd(image[::4, ::4])
    return median, max(spread, 1e-6 * max(abs(median), 1.0))


def reference_cells(extractor, t: int, *, shared: dict | None = None) -> np.ndarray:
    """What the guard counts as cells in frame t: :func:`change_cells` (`shared` as there), plus
    the appearance cells when the appearance source is not part of the RoI (then they are
    independent of it)."""
    from .settings import PREPARE_SETTINGS

    settings = extractor.settings
    # cached with the movie's frames: the preview's coverage and the verdict's cells ask for the
    # same frame; they depend on the frames' preparation (the drift) only
    key = (t, tuple(getattr(settings, n) for n in PREPARE_SETTINGS))
    cells = extractor.pool.get(
        "change_cells", key, lambda: change_cells(extractor, t, shared=shared)
    )
    if not settings.appearance_roi:
        cells = cells | extractor.cells(t)
    return cells


def quality_cells(extractor, t: int) -> np.ndarray:
    """The cells a verdict measures quality in: every cell the guard's reference or the
    appearance finds in frame t. The guard's part makes cells the RoI leaves out count (they pay
    for it); the appearance part keeps still cells, which show no change, in the measure."""
    return reference_cells(extractor, t) | extractor.cells(t)


def sample_frames(n_frames: int, count: int = 5) -> list[int]:
    """`count` frames spread evenly over the movie, its first and last among them (all of them
    for short movies)."""
    if n_frames <= count:
        return list(range(n_frames))
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, count)})


def checked_frames(n_frames: int, count: int = 5) -> list[int]:
    """The frames the guard's check measures: :func:`sample_frames` of the frames between the
    movie's first and last (a movie of two frames: both).

    The change reference of an end frame compares it with two frames on one side, so where a
    cell will be (or was) counts as changed too: on *E. coli*'s growing colony the first frame
    read 79 % of the cell pixels held where the reference masks held 100 %, and the check
    refused the defaults. A frame between two others is compared with both, which rules that
    out."""
    if n_frames <= 2:
        return list(range(n_frames))
    return [t + 1 for t in sample_frames(n_frames - 2, count)]


def estimate_coverage(extractor, frames=None, *, rois=None, made=None) -> MovieCoverage:
    """Coverage of the guard's reference cells (:func:`reference_cells`) by the RoI on `frames`
    (default: :func:`checked_frames`); `rois` (frame -> RoI) when the caller has them already;
    the RoIs computed here are put in `made` (a dict) when given."""
    frames = checked_frames(len(extractor.movie)) if frames is None else frames
    rois = rois or {}
    shared: dict = {}  # frames ready for comparing, shared by neighbouring checked frames
    coverages = []
    for t in sorted(frames):
        # the RoI and then the reference of one frame at a time: the reference reads the frame
        # and its neighbours, which the RoI has just read (the extractor keeps the last three
        # raw frames); all RoIs first read each again (the 12-frame 1-MP command read 35 raw
        # frames, now 25)
        roi = rois[t] if t in rois else extractor.mask(t)
        if made is not None:
            made[t] = roi
        coverages.append(
            frame_coverage(t, roi, reference_cells(extractor, t, shared=shared), band=BAND)
        )
    return MovieCoverage(tuple(coverages))


def checked_coverage(extractor, frames=None) -> tuple[dict, MovieCoverage]:
    """What the check before a batch measures with `extractor`: each of `frames`' RoI (default:
    :func:`checked_frames`) and :func:`estimate_coverage` of them. :func:`preflight` and
    ``tune.compress_check`` (a candidate's figure through the grid's frame pool) alike."""
    masks: dict = {}
    coverage = estimate_coverage(extractor, frames, made=masks)
    return masks, coverage


#: What the check's verdict and a finished run's summary (a note) say when the guard's reference
#: holds no cell on any frame it checks: there is no estimate, and without a word a user read a
#: missing one as nothing measured for no reason (a blank movie's summary had said "Cells 100.0 %
#: inside the RoI").
NO_CELLS_FOUND = (
    "the missed-cell guard found no cells on the frames it checks (it sees what changes between "
    "frames: still cells, or cells too small to change at its scale): no coverage estimate"
)


def few_cells_found(found: list[int], checked: int) -> str | None:
    """What the check and a run's summary say when the guard found cells on some only of the
    `checked` frames it checks (`found`): its estimate rests on those; None when it found cells
    on all of them, or on none (:data:`NO_CELLS_FOUND` says that). A colony cropped from a
    movie, empty until it grows into the crop, read "cells 100 %" from the one frame of five
    where the guard saw change, and nothing said that the other four told it nothing."""
    if not 0 < len(found) < checked:
        return None
    frames = ", ".join(map(str, found))
    return (
        f"the missed-cell guard found cells on {len(found)} of the {checked} frames it checks "
        f"(frame{'s' if len(found) > 1 else ''} {frames}): its estimate rests on "
        f"{'those' if len(found) > 1 else 'that one'}; on the others it saw nothing change "
        "(no cells, still cells, or cells too small to change at its scale)"
    )


def percent_below(share: float) -> str:
    """`share` as a percentage rounded DOWN to a tenth, so an estimate below the target never
    reads as reaching it (97.98 % against 98 % printed "98.0%")."""
    return f"{np.floor(share * 1000) / 10:.1f}%"


@dataclass(frozen=True)
class Preflight:
    """The verdict of the missed-cell guard before a batch.

    `ok` False means: stop and ask (the message says what to do); `coverage` is None when no
    check was needed (plain JPEG2000, or the user accepted these settings already).

    `masks` holds what the check computed for each checked frame: its RoI at full resolution
    (bool), made under `settings` from `movie` (with `extra_roi` given
    or not, `user_masks`). ``batch.compress_movie(..., preflight=verdict)`` codes these instead
    of computing them a second time (on a 12-frame movie, 5 of the 12 masks were computed
    twice), and starts from the frames the check prepared (`prepared`, the pool entries of
    :class:`HandOverPool`). Empty when no check ran or the check said stop."""

    ok: bool
    message: str
    coverage: MovieCoverage | None = None
    masks: dict = field(default_factory=dict, repr=False, compare=False)
    settings: Any = field(default=None, repr=False, compare=False)
    movie: Any = field(default=None, repr=False, compare=False)
    user_masks: bool = field(default=False, repr=False, compare=False)
    prepared: dict = field(default_factory=dict, repr=False, compare=False)


#: What a check's frame pool hands to the batch's (:class:`HandOverPool`): the prepared frames
#: (8-bit, half-size, denoised), small and read by the flow of the frames next to the checked
#: ones, and the resolution the movie's RoI is looked for at (resolution.working_settings, which
#: the batch's plan would otherwise decide again from frame 0). (FramePool kinds of
#: roi.RoiExtractor; the bigger per-frame results stay behind.)
HANDED_OVER = ("prepared", "working settings")


def handed_frame(kind: str, key) -> int | None:
    """The frame a hand-over entry (:data:`HANDED_OVER` kind, pool key) was made from, or None
    for an entry of the whole movie ("working settings"). A prepared frame's key is (t, settings
    key), a movie view's ("view", scale, (t, settings key)) (roi._ViewPool). A batch on a dask
    cluster sends each task only the prepared frames near its own (``batch._run``)."""
    if kind != "prepared":
        return None
    while isinstance(key, tuple) and key and key[0] == "view":
        key = key[2]
    return key[0] if isinstance(key, tuple) and key and isinstance(key[0], int) else None


class HandOverPool(FramePool):
    """A :class:`~napari_flowroi.roi.FramePool` that starts from entries another pool
    made (`seeds`, (kind, key) -> value) and, with `keep`, keeps what it makes of the kinds
    in HANDED_OVER for another pool to start from (:attr:`kept`).

    The check before a batch (:func:`preflight`) prepares every frame it reads (each
    checked frame, its flow partner, the reference's neighbours: all 12 of a 12-frame
    movie); the batch's extractor starts from those instead of preparing them again. The
    pool's keys hold the frame and the settings the entry depends on, so an entry is only
    ever used where the batch would have computed the same one."""

    def __init__(self, capacity: int = 32, seeds: dict | None = None, keep: bool = False):
        super().__init__(capacity)
        self.seeds = dict(seeds or {})
        self.kept: dict = {} if keep else None

    def get(self, kind, key, compute):
        seeded = self.seeds.get((kind, key))
        value = super().get(kind, key, compute if seeded is None else lambda: seeded)
        if self.kept is not None and kind in HANDED_OVER:
            self.kept[(kind, key)] = value
        return value

    def clear(self) -> None:
        """Drop the cached entries and the seeds (what was kept stays: it is handed on)."""
        super().clear()
        self.seeds.clear()


def preflight(movie, settings, *, extra_roi=None, accepted: bool = False, frames=None) -> Preflight:
    """Check, before compressing `movie` with `settings`, that the RoI keeps the cells.

    Parameters
    ----------
    movie : Movie or (T, Y, X) array
    settings : FlowRoISettings
        Its ``coverage_target`` is the threshold.
    extra_roi : (T, Y, X) masks, optional
        The user's masks, protected on top of motion and appearance.
    accepted : bool
        The user chose to go ahead with these settings anyway (the widget's second click, the
        command line's ``--force``): no check, ``ok`` True.
    frames : sequence of int, optional
        Frames to check (default: :func:`checked_frames`, five spread between the movie's
        first and last frame).

    Returns
    -------
    Preflight
        ``ok`` False with a message saying what to do when the estimated share of cell pixels
        inside the RoI is below ``settings.coverage_target``; when ``ok`` after a check, its
        ``masks`` hold the checked frames' RoI and cells for ``compress_movie(preflight=)``.
    """
    if not settings.uses_roi:
        return Preflight(True, "Plain JPEG2000: no region of interest to check.")
    if accepted:
        return Preflight(True, "Going ahead although the RoI may leave cells out (accepted).")
    if not settings.roi_sources:  # motion and appearance off: the user's own masks are the RoI
        return Preflight(True, "Only your own masks make the RoI: nothing to check.")
    from .roi import RoiExtractor

    pool = HandOverPool(keep=True)
    extractor = RoiExtractor(movie, settings, extra_roi=extra_roi, pool=pool)
    # each checked frame's RoI is kept for the batch (Preflight.masks)
    masks, coverage = checked_coverage(extractor, frames)
    extractor.clear()
    made = {
        "masks": masks,
        "settings": settings,
        "movie": movie,
        "user_masks": extra_roi is not None,
        "prepared": pool.kept,
    }
    if coverage.pixel_share < settings.coverage_target:
        # nothing in a movie told twice the magnification from ours (docs/magnification.md), so
        # the refusal names the setting that finds such cells as the defaults were chosen
        larger = (
            " If the cells are much larger in pixels than usual (a high magnification), a flow "
            "scale of 0.25 finds them as the defaults were chosen (docs/magnification.md)."
            if settings.flow_scale >= CHOSEN_SCALE
            else ""
        )
        return Preflight(
            False,
            (
                f"The RoI is estimated to hold only {percent_below(coverage.pixel_share)} of the "
                f"cell pixels (target {100 * settings.coverage_target:g}%; worst frame "
                f"{coverage.worst.t}). Cells left "
                "outside are smeared. Use suggested settings (Suggest settings / flowroi tune) that "
                f"keep them, lower the coverage target, or compress anyway.{larger}"
            ),
            coverage,
        )
    # frames without cells are not judged (MovieCoverage.judged): with none anywhere, say so;
    # with some only, say on which the estimate rests
    judged = [f.t for f in coverage.judged]
    rests = few_cells_found(judged, len(coverage.frames))
    partly = f" ({rests})" if rests else ""
    return Preflight(
        True,
        f"The RoI holds an estimated {coverage.pixel_share:.1%} of the cell pixels{partly}."
        if judged
        else f"{NO_CELLS_FOUND[0].upper()}{NO_CELLS_FOUND[1:]}.",
        coverage,
        **made,
    )
