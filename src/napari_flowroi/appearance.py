"""Cell-like structure found from one frame's appearance, independently of motion.

Used three ways: as the outline of the cells the motion source selects (``roi.py``, rule
``cells``), as an extra RoI source (cells that do not move are kept) and by the missed-cell guard
(how much of what looks like a cell the RoI holds).

A pixel stands out when its local contrast (standard deviation in a 7-pixel window) or its
departure from the background is large compared with what the frame's background shows,
measured in robust standard deviations (median and MAD over the frame, which is mostly
background): the threshold is referenced to the movie's own noise, not to a grey level. That finds
textured brightfield cells and bright fluorescent nuclei alike. The departure is the smaller of
two: from a 6-px blur (an edge-like cue: a smooth glow does not depart from it) and from the
frame's coarse background (a median over ~40 px: the pixels just outside a cell, where the blur
of the cell spills, do not depart from it). Either alone put a 5-10 px band around every cell.

Both cues still spread a few pixels past a cell's edge (a window straddling the edge has
contrast). So a pixel must also reach LOCAL_PEAK_SHARE of the strongest score within
LOCAL_PEAK_RADIUS (or stand out by twice the cell contrast): the faint skirt of a cell is cut
where a lone faint cell, whose own peak is low, is kept. That halved the RoI's excess over the reference cells + 2 px (HSC 2.2x -> 1.35x,
GOWT1 5.0x -> 2.6x, HeLa 2.3x -> 1.6x, first benchmark frames) for 1-2 % of the reference
cells' pixels (their outer edge, which the codec's feather still half protects).

On dark-field frames a bright object is also cut at its own edge before that trim: each
brightness maximum (a dome above its surroundings) claims its watershed basin within the
candidates, and the basin keeps the pixels reaching DARK_EDGE_SHARE of its own peak, plus a band
of EDGE_BAND px. The dim, textured cell body around a fluorescent nucleus (GOWT1), which stands
out from the background by many robust standard deviations and reaches past LOCAL_PEAK_RADIUS,
is cut where the nucleus ends; a dim nucleus keeps its own, lower peak, and the skirt trim
judges it against that peak, not against a brighter neighbour's (DARK_PEAK_TRIM). An object's
highest score is its rim's contrast, while its flat inside stands out only by its departure from
the background, which camera noise spreads more: so the trim also keeps an object's pixels above
half its own peak brightness (OWN_BRIGHT_SHARE), when that peak stands out like a cell's.
Domes and peaks are counted in robust SDs of the frame's brightness; where nuclei crowd the frame
that SD is theirs, not the background's, so it counts at most CROWDED_SPREAD times the spread of
the brightness clear of every candidate (:func:`dome_stats`).

Fail-safe (issue 21): the rules above find what stands out *strongly*; the flat, low-contrast
parts of cells (lamellipodia and spread cytoplasm in phase contrast, nuclei's dark nucleoli) do
not, and a missed cell costs far more than a kept background pixel. So a pixel is also kept
unless it is *confidently background*: its local contrast (CONTRAST_WINDOW px, eroded by
FAILSAFE_CONTRAST_TRIM px so it does not spill past a textured cell's edge) and the
departure of its local mean from the coarse background (at CONTRAST_WINDOW and FAILSAFE_WINDOW) lie
within ``background_z`` robust standard deviations of the background's own, measured on the
pixels the rules above leave out. Those kept pixels join the candidates (holes filled); a piece
touching a confident cell becomes part of it (the cell's flat margin), a lone piece stays a
candidate that the motion source keeps only when it moves (a moving margin or a faint cell, not
still debris). On dark-field frames the threshold is DARK_Z_SHARE of ``background_z``: there each
piece is cut at its own object's edge, so a lower threshold costs little area, and the dim nuclei
of a noisy fluorescence movie (HeLa) depart from the background by less than a phase-contrast
movie's flat texture does; and the local mean's departure is taken both on the square-root
stretched frame and on the linear one, the smaller counting (DARK_TWO_LEVELS): the square root
spreads the camera's additive noise where the background is a few raw counts deep.

Regions come in two strengths (hysteresis): *candidate* regions are connected pixels above half
the cell contrast; a candidate holding a pixel above the full cell contrast is a *confident*
cell. The appearance source protects confident cells; the motion source protects candidates that
move, so a faint cell is kept when it moves and a faint speck of background is not. With
``cell_peak_share`` a confident cell must also reach that share of the frame's strongest cell's
score: on a calm frame (E. coli on an agarose pad) the pad's texture stands out by a few robust
standard deviations of that calm, the cells by ten times more (benchmarks/roi_excess.py).

Still debris (DEBRIS_SHARE, off by default; docs/decisions.md): on light-field frames a confident
region far smaller than the frame's typical cell can be made a candidate, kept only when the
motion source sees it move.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np

from ._robust import median_and_sd, percentiles, robust_stats
from .masks import clean_mask, ellipse, fill_holes, grow, lookup, regions_with_areas
from .reconstruction import h_maxima, sort_float32, watershed_basins
from .settings import FlowRoISettings

#: Window of the local contrast, in full-resolution pixels.
CONTRAST_WINDOW = 7
#: Scale of the smooth background a cell must stand out from, in full-resolution pixels. Small
#: enough that the broad, dim glow around fluorescent nuclei (GOWT1) counts as background: at 16 px
#: the guard read 88 % where the nuclei were 97 % covered; at 6 px 95-97 %, and the brightfield
#: cells found rose from 95.6 to 96-97 % of the HSC reference.
BACKGROUND_SCALE = 6.0
#: Candidate regions need half the cell contrast (hysteresis low threshold).
CANDIDATE_SHARE = 0.5
#: Scale of the coarse background (median), in full-resolution pixels: several cells wide.
COARSE_BACKGROUND = 40.0
#: A pixel must reach this share of the highest score within LOCAL_PEAK_RADIUS (full-resolution
#: pixels, about a cell diameter) to belong to a cell.
LOCAL_PEAK_SHARE = 0.25
LOCAL_PEAK_RADIUS = 16.0
#: ... unless it stands out by this many times the cell contrast: then it is cell whatever its
#: neighbours (keeps dim nuclei next to bright ones whole; docs/decisions.md).
STRONG_SHARE = 2.0
#: On dark-field frames each bright object is cut at its own edge: where its brightness above the
#: coarse background reaches this share of its own peak (0 = off; docs/decisions.md).
DARK_EDGE_SHARE = 0.15
#: An object is a brightness maximum rising this many times the cell contrast (in robust standard
#: deviations of the frame's brightness) above the pixels around it; its pixels are its watershed
#: basin, so a dim nucleus touching a bright one keeps its own, lower peak. 0.5 (was 1): under
#: camera noise a dim CHO nucleus beside a bright one rose less than 1x above their saddle, fell
#: into its neighbour's basin and was cut at 15 % of the neighbour's peak (noisy CHO's worst frame
#: 96.8 % -> 99.85 % of the cell pixels); chosen by leave-one-movie-out (docs/benchmarks-roi.md).
#: 0.35 (was 0.5, issue 21's priority 1): under camera noise two dim HeLa nuclei still fell into
#: a bright neighbour's basin and were cut whole (noisy HeLa 8 -> 1 cells more than 1 dB worse than
#: plain JPEG2000; GOWT1 pays 2.33 -> 2.19 at 8:1: more of its cytoplasm's maxima count).
DOME_Z = 0.35
#: The dark-field objects (h-maxima and their watershed basins, :func:`_basins`) are found on the
#: brightness image reduced this many times (area averaging) and brought back by nearest
#: neighbour: 2 since session 4; 4 is a mask-time candidate of benchmarks/generalise.py (``b``).
BASIN_SHRINK = 2
#: The reduction is undone (the objects found again on the brightness as it is) where the typical
#: object it found (the basin holding the median basin pixel) covers fewer than this many pixels
#: of the reduced image, a disc ~6 px across: smaller domes merge there and a dim nucleus falls
#: into a bright neighbour's basin. HeLa at 0.35 of its size (25-28 px reduced) held 98.49 % of
#: its cell pixels reduced, 99.15 % not; at 0.5x (39-43 px, kept reduced) 99.63 and 99.78 %. As
#: filmed the benchmark's dark-field frames give 93-385 px (a 4x reduction of HeLa, ~25 px, had
#: lost noisy HeLa's dim nuclei: docs/decisions.md), at 0.35-2x of their size 39-853 px but HeLa
#: at 0.35x (benchmarks/magnification.py's clips).
MIN_BASIN_AREA = 32
#: The cut keeps this band (full-resolution pixels) of what it removes around each object's core
#: (2 px beat 0 and 6 on every dark-field clip; docs/decisions.md). Still 2: leave-one-movie-out
#: now picks the flush cut (0) on the benchmark's movies, but on movies it has not seen (twice
#: the magnification, other camera noise) that cut loses the rims of blurred nuclei (HeLa at 2x
#: 99.09 -> 98.94 % of the cell pixels), and uncertain means keep; flush at 0.1 of the peak held
#: the rims but made a covered noisy CHO nucleus 1 dB worse than plain (docs/decisions.md).
EDGE_BAND = 2.0


#: The fail-safe's second scale (full-resolution px): the local mean's departure from the coarse
#: background is measured at the cell score's CONTRAST_WINDOW (a thin dark margin stands out
#: there, and the score's local mean and contrast are reused) and at this wider window (a broad,
#: flat cytoplasm).
FAILSAFE_WINDOW = 13
#: The fail-safe's pieces are cleaned like candidates at these full-resolution sizes: an opening
#: that removes noise specks, a closing that joins a margin to its cell, pieces smaller than
#: FAILSAFE_MIN_AREA dropped.
FAILSAFE_OPENING = 6
FAILSAFE_CLOSING = 10
FAILSAFE_MIN_AREA = 100
#: Background statistics come from the pixels farther than this (full-resolution px) from any
#: candidate, so dense fields do not raise the background's own spread.
FAILSAFE_CLEARANCE = 8
#: Closing (pixels at the prepared resolution) that seals a channel into a hole of the confident
#: cells before it is filled.
HOLE_SEAL = 5
#: The fail-safe's threshold on dark-field frames, as a share of ``background_z`` (chosen by
#: leave-one-movie-out with the settings: benchmarks/generalise.py, docs/benchmarks-roi.md).
#: 0.5: noisy HeLa's dim nuclei 98.1 -> 98.7 % of the cell pixels, worst frame 96.8 -> 97.9 %.
DARK_Z_SHARE = 0.5
#: The fail-safe's contrast cue is eroded by this many full-resolution px (a minimum filter)
#: before its threshold: a window straddling a cell's edge has contrast, so the cue spilled about
#: half its window past every textured cell (the largest part of the RoI's excess on HSC and U373,
#: benchmarks/roi_excess.py). The flat margins the fail-safe is for are caught by the local mean's
#: departure, which is not eroded. Chosen by leave-one-movie-out (docs/benchmarks-roi.md).
FAILSAFE_CONTRAST_TRIM = 4
#: On dark-field frames the fail-safe's lone pieces (cut at their own object's edge) are kept as
#: cells, not left as candidates for the motion source (chosen by leave-one-movie-out), when they
#: are no larger than the frame's typical cell: 1 = its median confident region, 2 = the upper
#: fence of the confident regions' areas (third quartile + 1.5 interquartile ranges, Tukey's
#: "larger than usual"); 0 = off. A larger piece is the glow or cytoplasm around nuclei (GOWT1).
#: 2, not 1: a small field holds few nuclei, and a dim nucleus a little larger than their median
#: was left out (HeLa cut to 256 px: a 249-px piece against a median of 198, 97.17 % of the cell
#: pixels); on the benchmark's movies the two differ by 0.2 % of HeLa's gain (docs/decisions.md).
DARK_FAILSAFE_KEEP = 2
#: On dark-field frames the fail-safe's departure of the local mean from the dark floor is taken
#: at two levels, the square-root stretched frame and the linear one (its square), each in robust
#: SDs of the background's own, and the smaller counts (False = the stretched level alone,
#: before). Why: the square root steadies photon (Poisson) noise, whose spread grows with the
#: level, but where the background is a few raw counts the camera's additive noise dominates and
#: the square root spreads it (raw 1 -> 2 is 16 grey levels of the 8-bit frame, 4 -> 5 is 4):
#: GOWT1's darker lower-left (raw background 1-3, elsewhere 4-5) departed by 2-3 robust SDs of
#: the frame's background, pure noise kept as dim nuclei (24,473 of frame 15's 66,035 RoI px).
#: The linear level reads additive noise alike at every level, but photon noise grows with the
#: level there: each level overstates the departure where its noise model is wrong, so a
#: pixel that stands out at one level only is noise; a dim nucleus stands out at both. GOWT1's
#: RoI 4.03 -> 3.34x the reference + 2 px, every dark-field clip's coverage unchanged; chosen by
#: leave-one-movie-out (``l``, docs/decisions.md). The linear level alone kept more of CHO's and
#: noisy GOWT1's glow (1.31 -> 1.34x, 3.05 -> 3.21x).
DARK_TWO_LEVELS = True
#: How the skirt trim (LOCAL_PEAK_SHARE of the highest score within LOCAL_PEAK_RADIUS) treats
#: the objects of a dark-field frame, each already cut at its own edge (:func:`_own_edge`):
#: 0 = against the window's peak, whatever object it belongs to (before issue 21's priority 1);
#: 1 = against its own object's (watershed basin's) highest score where that is lower, so a dim
#: nucleus beside a bright one is judged against its own peak, not its neighbour's; 2 = no trim
#: on dark-field frames (the own-edge cut alone). With 0, HeLa's dim nuclei (45-80 counts above
#: a background of ~33,060, a score 4-8x lower than the bright nucleus 10 px away) lost
#: 30-87 % of their pixels to the trim after every other rule had kept them: all 7 of clean
#: HeLa's cells more than 1 dB worse than plain JPEG2000. 1 only ever keeps more than 0 (the
#: fail-safe's "uncertain means keep"); 0 is reported, never chosen, like DARK_FAILSAFE_KEEP off
#: (benchmarks/generalise.py REPORTED_ONLY; docs/decisions.md).
DARK_PEAK_TRIM = 1
#: ... and keeps, whatever its score, a dark-field object's pixels whose brightness reaches this
#: share of the object's own peak brightness (0 = off, before). A dark-field object's highest
#: score is its rim's contrast; its flat inside stands out only by its departure from the
#: background, a cue camera noise spreads more, so on noisy frames a dim nucleus's inside fell
#: below LOCAL_PEAK_SHARE of its own rim (noisy HeLa frame 10: a 774-px nucleus on the frame's
#: bottom edge beside a bright one, rim 22-27 robust SDs, inside 3-8, brightness 20-40 counts
#: above the coarse background with its peak at 38: 70.5 % of it in the RoI). Half the peak is
#: the object's body by the usual measure of a blob's extent (full width at half maximum), so
#: the glow and cytoplasm around a nucleus, which the trim is for, stay cut (GOWT1's RoI is
#: unchanged at 0.5 and grows by 17 % at 0.25). Chosen by leave-one-movie-out (``b``).
OWN_BRIGHT_SHARE = 0.5
#: On light-field frames (phase contrast, bright field) a confident region smaller than this share
#: of the frame's typical cell is only a candidate: the motion source keeps it when it moves (a
#: small cell migrating), still debris (U373's bright specks, E. coli's beads) is dropped. 0 = off
#: (before). Debris is as confident as cells by its peak score, but much smaller than the frame's
#: cells and it does not move; a small cell that does not move is what this loses, so the
#: leave-one-movie-out procedure decides it (benchmarks/generalise.py, docs/decisions.md).
DEBRIS_SHARE = 0.0
#: ... judged only when the frame has at least this many confident regions (a typical cell of one
#: or two regions says nothing: uncertain means keep).
DEBRIS_MIN_CELLS = 4
#: On dark-field frames the domes' height (DOME_Z) and the own-brightness keep (OWN_BRIGHT_SHARE)
#: are counted in robust SDs of the frame's brightness, which its background sets when cells are
#: a minority. Where nuclei crowd the frame that SD is the nuclei's own (a colony or a dense
#: culture filling the field): a dim nucleus beside bright ones then rose too little to be a dome
#: of its own, fell into a bright neighbour's basin and was cut at its edge share, though the
#: fail-safe had found it whole (HeLa's densest 160 px tiled 4 x 4: a 436-px nucleus 25 robust SDs
#: of the background above it, dropped). So the SD counts at most this many times the spread of
#: the brightness clear of every candidate (the fail-safe's background), itself at least one grey
#: level (the prepared frame is 8-bit: below that the spread measures its rounding, not noise;
#: clean GOWT1's flat background, raw 1-5 counts, reads 0.2). On every frame of GOWT1, HeLa and
#: CHO, clean and noisy, the whole frame's SD is at most 2.81 times that (GOWT1 frame 17; the
#: coded frames 1.6-2.4), so the benchmark's masks are unchanged; in the crowded cuts and tiled
#: fields of benchmarks/acquisition.py it is 3.4-18 times (docs/decisions.md, "A crowded field").
#: The same test decides a dark-field frame's score (:func:`score_stats`).
CROWDED_SPREAD = 3.0


def _own_stats(values: np.ndarray, background: np.ndarray) -> tuple[float, float]:
    """Median and robust spread of `values` over the `background` pixels, the spread at least
    one grey level (the prepared frame is 8-bit: below that it measures rounding, not noise)."""
    median, spread = _stats_where(values, background)
    return median, max(spread, 1.0)


def dome_stats(brightness: np.ndarray, background: np.ndarray) -> tuple[float, float]:
    """Median and robust spread of a dark-field frame's `brightness` for its domes and
    own-brightness keep: the whole frame's, the spread at most CROWDED_SPREAD times the
    background's own (:func:`_own_stats`)."""
    median, spread = robust_stats(brightness)
    return median, min(spread, CROWDED_SPREAD * _own_stats(brightness, background)[1])


def dark_class(prepared: np.ndarray) -> np.ndarray:
    """bool: the pixels of a dark-field frame at or below Otsu's threshold of it (its dark
    class, where the background lies however many cells crowd the frame)."""
    level = cv2.threshold(prepared, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    return cv2.compare(prepared, level, cv2.CMP_LE) > 0


def calm_class(contrast: np.ndarray) -> np.ndarray:
    """bool: the pixels of a light-field frame whose local contrast lies at or below Otsu's
    threshold of it (scaled to 8 bits by its 99th percentile): its low-texture class, where the
    background lies however many cells crowd the frame."""
    top = max(float(percentiles(contrast[::4, ::4], (99,))[0]), 1e-3)  # np.percentile's value
    scaled = cv2.convertScaleAbs(contrast, alpha=255.0 / top)
    level = cv2.threshold(scaled, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    return cv2.compare(scaled, level, cv2.CMP_LE) > 0


def score_stats(values: np.ndarray, background) -> tuple[float, float]:
    """The median and robust spread a frame's score counts `values` in (its local contrast, its
    departures from the background): the whole frame's, or on a crowded frame the `background`
    pixels' own (:func:`dark_class` on dark-field frames, :func:`calm_class` on light-field
    ones; an array, or a function that makes it, called only when needed): where the whole
    frame's spread is more than CROWDED_SPREAD times theirs (itself at least one grey level).

    Why: when cells cover half the frame or more, its median is a cell's and its spread the
    cells', so in those units no cell stood out. The shipped HeLa cut's densest 48 px tiled 4 x 4
    (55 % nuclei) held 82 % of the nuclei's pixels, one frame 4 %; in the background's units
    99.85 % (every frame 99.09 %). HSC's densest 96 px tiled 6 x 6 (41-49 % cells) held 70.12 %
    (one frame 10.50 %); in the background's units 99.99 %. Not a cap as for the domes
    (:func:`dome_stats`): the whole frame's median, a cell's level, would leave the fainter cells
    below zero. On every frame of the six benchmark movies, clean and noisy, the whole frame's
    spread is at most 2.0 times the background's, so no benchmark mask changes."""
    median, spread = robust_stats(values)
    if spread <= CROWDED_SPREAD:  # the background's own is at least 1: not crowded, whatever it is
        return median, spread
    own = _own_stats(values, background() if callable(background) else background)
    return own if spread > CROWDED_SPREAD * own[1] else (median, spread)


def _robust_z(values: np.ndarray, stats: tuple[float, float] | None = None) -> np.ndarray:
    """`values` in robust SDs from their median: the whole image's, or `stats` (median, spread)."""
    median, spread = robust_stats(values) if stats is None else stats
    out = values - median
    out /= max(spread, 1e-3)  # in place: one temporary fewer, the same float32 arithmetic
    return out


def cell_score(
    prepared: np.ndarray,
    scale: float,
    *,
    coarse: np.ndarray | None = None,
    dark_field: bool | None = None,
) -> np.ndarray:
    """How many robust standard deviations each pixel stands out (at the prepared resolution).

    Parameters
    ----------
    prepared : ndarray
        The 8-bit frame motion is measured on (``preprocess.prepare_frames``).
    scale : float
        Its size relative to the full frame (the flow scale), so windows keep their full-size
        meaning.
    coarse : ndarray, optional
        :func:`coarse_background` of `prepared`, when the caller has it already.
    dark_field : bool, optional
        Whether the frame is dark-field (the frame preparation decides it from the raw frame;
        default: :func:`is_dark_field` of `prepared`).

    Returns
    -------
    ndarray
        float32 score, same shape as `prepared`.
    """
    return _score(prepared, scale, coarse, dark_field)[0]


def _local(image: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Local mean and standard deviation of a float32 image in a `window` x `window` box."""
    mean = cv2.boxFilter(image, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    mean_sq = cv2.boxFilter(image * image, -1, (window, window), borderType=cv2.BORDER_REFLECT)
    # sqrt(max(mean_sq - mean * mean, 0)), the same float32 steps in mean_sq's own buffer
    square = mean * mean
    np.subtract(mean_sq, square, out=mean_sq)
    np.maximum(mean_sq, 0, out=mean_sq)
    return mean, cv2.sqrt(mean_sq, dst=mean_sq)


def _score(
    prepared: np.ndarray,
    scale: float,
    coarse: np.ndarray | None,
    dark_field: bool | None,
    *,
    image: np.ndarray | None = None,
    above: np.ndarray | None = None,
    dark: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`cell_score` and the local mean and contrast (CONTRAST_WINDOW) it was made from,
    which the fail-safe reuses. `image`: `prepared` as float32, `above`: ``image - coarse``,
    `dark`: :func:`dark_class` of a dark-field `prepared`, when the caller made them
    (:func:`regions_for`)."""
    image = prepared.astype(np.float32) if image is None else image
    mean, contrast = _local(image, max(3, int(round(CONTRAST_WINDOW * scale)) | 1))
    if dark_field is None:
        dark_field = is_dark_field(prepared)
    if coarse is None:
        coarse = coarse_background(prepared, scale, dark_field=dark_field)
    if above is None:
        above = image - coarse
    # each cue in the whole frame's units, or in the background's where cells crowd the frame
    # (score_stats): on dark-field frames the background is the dark class, on light-field
    # frames the low-texture class, made only for a frame that may be crowded
    if dark_field:
        background = dark_class(prepared) if dark is None else dark
        departure = _robust_z(above, score_stats(above, background))
    else:
        background = functools.cache(lambda: calm_class(contrast))
        # the 6-px blur only serves brightfield frames (0.8 ms on a 512x512 dark-field frame)
        blur = cv2.GaussianBlur(image, (0, 0), max(1.0, BACKGROUND_SCALE * scale))
        fine = np.abs(image - blur)
        fine = _robust_z(fine, score_stats(fine, background))
        far = np.abs(above)
        departure = np.minimum(fine, _robust_z(far, score_stats(far, background)), out=fine)
    texture = _robust_z(contrast, score_stats(contrast, background))
    return np.maximum(texture, departure, out=departure), mean, contrast


def is_dark_field(prepared: np.ndarray) -> bool:
    """Cells bright on a dark background (fluorescence): the median of the prepared frame lies
    in the lowest third of its grey levels. A fallback for callers without the raw frame: the
    RoI takes the decision :func:`~napari_flowroi.preprocess.prepare_frames` makes on the raw
    frame (this test flipped from frame to frame on phase-contrast U373 and E. coli, whose
    prepared medians lie at 74-149)."""
    return float(np.median(prepared[::4, ::4])) < 255 / 3


def coarse_background(
    prepared: np.ndarray, scale: float, *, dark_field: bool | None = None
) -> np.ndarray:
    """The frame's background at COARSE_BACKGROUND scale: a 5x5 median on a grid of
    COARSE_BACKGROUND / 5 px, interpolated back (cells are a minority in any 5x5 neighbourhood of
    that grid, so they do not lift it). A millisecond on a half-resolution megapixel frame. On
    dark-field frames a grey opening instead, with the floor under objects wider than it
    (:func:`_dark_floor`)."""
    step = max(1, int(round(COARSE_BACKGROUND * scale / 5)))
    height, width = prepared.shape
    small = cv2.resize(
        prepared, (max(1, width // step), max(1, height // step)), interpolation=cv2.INTER_AREA
    )
    if small.dtype != np.uint8:
        small = np.clip(small, 0, 255).astype(np.uint8)
    if min(small.shape) >= 5:
        if is_dark_field(prepared) if dark_field is None else dark_field:
            return _dark_floor(prepared, small)
        small = cv2.medianBlur(small, 5)
    return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)


def _dark_floor(prepared: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """A dark-field frame's coarse background from its coarse `grid` (:func:`coarse_background`):
    the dim floor between bright cells (a grey opening of the grid, not a median that dense
    clusters of nuclei lift); where the opening lies in the frame's bright class (Otsu's
    threshold of the grid), the element fitted inside an object and took it for background, so
    the frame's bright-class pixels there get the floor around the object instead (the opening
    outside the bright class filled in from around, ring by ring; the lower of the two).

    Why: inside a nucleus wider than the element (CHO's, ~80 px; any nucleus at a higher
    magnification) the departure from the background, the brightness and the fail-safe all read
    ~0, and only the nucleus's texture kept it. Defocused by 1.5 px, a 5,000-px CHO nucleus kept
    a ring, 66 % of it; GOWT1 at twice the magnification kept 97.78 % of the cell pixels. Pixels
    outside the bright class, and frames whose opening stays below it, keep the opening."""
    height, width = prepared.shape
    opened = cv2.morphologyEx(grid, cv2.MORPH_OPEN, ellipse(5))
    up = cv2.resize(opened, (width, height), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    level = cv2.threshold(grid, 0, 1, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    outside = (opened <= level).astype(np.float32)
    if outside.all() or not outside.any():  # nothing swallowed, or nothing to fill it from
        return up
    # filled from around, ring by ring: each cell next to known ones takes their mean (two 3x3
    # box filters on the small grid a ring; OpenCV's inpainting, which does the same with
    # weights, took 0.4-0.6 ms a frame)
    fill = opened.astype(np.float32) * outside
    known = outside.copy()
    while True:
        weight = cv2.boxFilter(known, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        ring = cv2.compare(weight, 0.5, cv2.CMP_GT) & cv2.compare(known, 0.5, cv2.CMP_LT)
        if not cv2.countNonZero(ring):
            break
        total = cv2.boxFilter(fill, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        cv2.copyTo(total / np.maximum(weight, 1.0), ring, fill)
        known[ring > 0] = 1
    floor = cv2.resize(cv2.min(opened.astype(np.float32), fill), (width, height))
    cv2.copyTo(floor, cv2.compare(prepared, level, cv2.CMP_GT), up)  # bright pixels only
    return up


def _stats_where(values: np.ndarray, where: np.ndarray) -> tuple[float, float]:
    """Median and robust spread (1.4826 MAD) of `values` over the pixels in `where` (from every
    4th pixel each way, as :func:`robust_stats`; from every pixel of `where` when that sample is
    too small, on a small or crowded frame); of the whole image only when `where` itself holds
    too few pixels to say.

    Why every pixel before the whole image: on a small frame the strided sample of the
    background is a few hundred pixels, and the whole image's spread, cells included, is larger
    than the background's, so the fail-safe kept less. Crops of 192x192 px of our movies, where
    the cells cover 20-45 % of the frame, always took that fall-back: the worst frame of HSC held
    92.58 % of the cell pixels (every cell lost its rim), of HeLa 95.39 % (two dim nuclei lost),
    of CHO 99.10 %; from every background pixel 99.79 %, 100 %, 100 % (docs/acquisition.md)."""
    # every 4th pixel each way, as robust_stats (the gather and the medians were the cost)
    sample = values[::4, ::4][where[::4, ::4]] if min(values.shape) >= 64 else None
    if sample is None or sample.size < 256:
        sample = values[where]
    if sample.size < 256:
        median, spread = robust_stats(values)
        return median, max(spread, 1e-3)  # a blank frame has no spread: no 0/0
    median, spread = median_and_sd(sample)
    return median, max(spread, 1e-3)


def background_departure(
    prepared: np.ndarray,
    scale: float,
    known: np.ndarray,
    *,
    coarse: np.ndarray | None = None,
    local: tuple[np.ndarray, np.ndarray] | None = None,
    brighter: bool = True,
    image: np.ndarray | None = None,
    two_levels: bool = False,
    background: np.ndarray | None = None,
) -> np.ndarray:
    """How many robust standard deviations of the background's own each pixel departs from it,
    the largest over the fail-safe's cues (at the prepared resolution).

    Parameters
    ----------
    prepared : ndarray
        The frame the appearance score is measured on.
    scale : float
        Its size relative to the full frame.
    known : ndarray
        Pixels already taken for cells (candidates): the background's statistics come from the
        pixels FAILSAFE_CLEARANCE px or more away from them.
    coarse : ndarray, optional
        :func:`coarse_background` of `prepared`, when the caller has it.
    local : (ndarray, ndarray), optional
        The local mean and contrast at CONTRAST_WINDOW (the cell score's), when the caller has
        them: the fail-safe's first scale.
    brighter : bool
        Whether a local mean brighter than the background counts (default); when False only a
        darker one does (the bright phase halo around a dark cell is then left to the contrast
        cue).
    image : ndarray, optional
        `prepared` as float32, when the caller has it.
    two_levels : bool
        A dark-field frame stretched by a square root (DARK_TWO_LEVELS): each local mean's
        departure is the smaller of its departures at that level and at the linear level (the
        square of the stretched frame), each in robust SDs of the background's own.
    background : ndarray, optional
        The pixels the background's statistics come from, when the caller made them from
        `known` already (FAILSAFE_CLEARANCE px or more from it).

    Returns
    -------
    ndarray
        float32: the local contrast (above the background's; eroded by FAILSAFE_CONTRAST_TRIM
        px) and the local mean's departure from
        the coarse background (either sign, or darker only) at CONTRAST_WINDOW and at
        FAILSAFE_WINDOW, each in robust standard deviations, the largest of them per pixel.
    """
    image = prepared.astype(np.float32) if image is None else image
    if coarse is None:
        coarse = coarse_background(prepared, scale)
    if local is None:
        local = _local(image, max(3, int(round(CONTRAST_WINDOW * scale)) | 1))
    mean, contrast = local
    if background is None:
        background = clear_of(known, scale)
    median, spread = _stats_where(contrast, background)
    out = contrast - median
    out /= spread  # in place, the same float32 quotient
    trim = int(round(FAILSAFE_CONTRAST_TRIM * scale))
    if trim > 0:
        out = cv2.erode(out, np.ones((2 * trim + 1,) * 2, np.uint8))
    wide = max(3, int(round(FAILSAFE_WINDOW * scale)) | 1)
    levels = [mean, cv2.boxFilter(image, -1, (wide, wide), borderType=cv2.BORDER_REFLECT)]
    if two_levels:
        # the linear level: the stretched frame squared (255**2 u for the frame's share u of its
        # range; the departure is in robust SDs, so no scale is needed), its local means, and the
        # floor squared likewise (an opening commutes with a rising transform). The local mean of
        # the square at CONTRAST_WINDOW is the local mean squared plus the local variance, both
        # made already (no box filter more). Their departures are made in the same buffers (no
        # temporaries); the whole costs a HeLa frame ~2 ms (mask_ab: HeLa 1.08, GOWT1 0.95)
        floor = cv2.multiply(coarse, coarse)
        near = cv2.multiply(contrast, contrast)
        cv2.accumulateSquare(mean, near)
        far = cv2.multiply(image, image)
        cv2.boxFilter(far, -1, (wide, wide), dst=far, borderType=cv2.BORDER_REFLECT)
        pairs = [(levels[0], near), (levels[1], far)]
    else:
        pairs = [(level, None) for level in levels]
    for level, linear in pairs:
        departure = _departure(level, coarse, background, brighter)
        if linear is not None:
            linear = _departure(linear, floor, background, brighter, out=linear)
            np.minimum(departure, linear, out=departure)
        np.maximum(out, departure, out=out)
    return out


def clear_of(known: np.ndarray, scale: float) -> np.ndarray:
    """The pixels FAILSAFE_CLEARANCE full-resolution px or more from every `known` pixel: where
    the background's own statistics are measured."""
    return ~grow(known, max(1, int(round(FAILSAFE_CLEARANCE * scale))))


def background_pixels(
    prepared: np.ndarray,
    known: np.ndarray,
    scale: float,
    *,
    dark_field: bool,
    dark: np.ndarray | None = None,
) -> np.ndarray:
    """Where the background's own statistics are measured (the fail-safe's and the crowded
    frame's, :func:`dome_stats`): the pixels clear of the candidates `known` (:func:`clear_of`);
    on a dark-field frame only those in its dark class as well (at most Otsu's threshold of the
    prepared frame).

    Why the dark class: when nuclei crowd a fluorescence frame, its whole-frame statistics are
    theirs, the score finds few of them, and the pixels clear of so few candidates are mostly
    nuclei: the fail-safe then measured the nuclei against themselves and kept none. The shipped
    HeLa cut's densest 64 px tiled 4 x 4 (43 % nuclei): 83.6 % of the nuclei's pixels in the
    RoI, one frame 1.6 %; with the dark class 100 %. On an ordinary frame the pixels clear of
    the candidates lie in the dark class already: no benchmark mask changes
    (benchmarks/mask_hash.py). `dark`: :func:`dark_class` of `prepared`, when the caller has it."""
    clear = clear_of(known, scale)
    if dark_field:
        clear &= dark_class(prepared) if dark is None else dark
    return clear


def _departure(
    level: np.ndarray,
    floor: np.ndarray,
    background: np.ndarray,
    brighter: bool,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """How many robust SDs of the `background` pixels' own the local mean `level` departs from
    `floor` (either sign, or darker only when not `brighter`); in `out` when given."""
    departure = np.subtract(level, floor, out=out)
    median, spread = _stats_where(departure, background)
    departure -= median
    if brighter:
        np.abs(departure, out=departure)
    else:
        np.negative(departure, out=departure)  # darker than the background: positive
    # in place: the same float32 values as (|departure| / spread), two temporaries fewer
    departure /= spread
    return departure


def failsafe_pieces(departure: np.ndarray, z: float, scale: float) -> np.ndarray:
    """The pixels of :func:`background_departure` above `z`, cleaned (FAILSAFE_OPENING,
    FAILSAFE_CLOSING, FAILSAFE_MIN_AREA at full resolution): what is not confidently background."""
    return clean_mask(
        departure > z,
        max(1, int(round(FAILSAFE_OPENING * scale))),
        max(1, int(round(FAILSAFE_CLOSING * scale))),
        FAILSAFE_MIN_AREA * scale**2,
    )


@dataclass(frozen=True)
class CellRegions:
    """Candidate cell regions of one frame at the prepared resolution."""

    labels: np.ndarray  # (h, w) int32, 0 = background, 1..n = candidate regions
    confident: np.ndarray  # (n + 1,) bool, regions that hold a pixel above the cell contrast
    count: int  # n
    #: (n + 1,) pixels of each label (cell_regions has them from the labelling; None: count
    #: them), for the motion source's share of moving pixels (roi.moving_regions)
    areas: np.ndarray | None = None

    def mask(self, keep: np.ndarray | None = None) -> np.ndarray:
        """Pixels of the regions flagged in `keep` ((n + 1,) bool; default: confident ones)."""
        keep = self.confident if keep is None else keep
        if not keep[0] and not keep[1:].any():  # no region: no per-pixel look-up
            return np.zeros(self.labels.shape, bool)
        # masks.lookup, not keep[labels]: the same pixels, 2.5-5x faster than numpy's fancy
        # indexing (np.take: 0.18 against 0.44 ms on a half-resolution 1-MP frame; called 3-4
        # times per frame)
        return lookup(keep, self.labels)


def cell_regions(
    score: np.ndarray,
    *,
    contrast: float,
    opening: int,
    closing: int,
    min_area: float,
    peak_radius: int = 0,
    brightness: np.ndarray | None = None,
    edge_band: int = 0,
    failsafe: np.ndarray | None = None,
    peak_share: float = 0.0,
    brightness_stats: tuple[float, float] | None = None,
) -> CellRegions:
    """Candidate and confident cell regions from a :func:`cell_score` image.

    Parameters
    ----------
    score : ndarray
        Robust z-score of each pixel.
    contrast : float
        Confident cells hold a pixel above it; candidates are connected pixels above
        ``CANDIDATE_SHARE * contrast``.
    opening, closing : int
        Sizes (pixels at this resolution) of the opening and closing that clean candidates.
    min_area : float
        Candidates smaller than this (pixels at this resolution) are dropped.
    peak_radius : int
        When > 0, a pixel must also reach LOCAL_PEAK_SHARE of the highest score within this
        radius (pixels at this resolution).
    brightness : ndarray, optional
        Dark-field frames: the smoothed brightness above the coarse background. Each bright
        object is then cut at its own edge first (DARK_EDGE_SHARE of its own peak; objects are
        the watershed basins of maxima rising ``DOME_Z * contrast`` robust standard deviations),
        and the skirt trim keeps its pixels above OWN_BRIGHT_SHARE of that peak.
    edge_band : int
        Pixels (at this resolution) of what that cut removes kept around each object.
    failsafe : ndarray, optional
        The pixels that are not confidently background (:func:`failsafe_pieces` of
        :func:`background_departure`, as :func:`regions_for` makes them): they join the
        candidates (holes filled), so a piece touching a confident cell is part of it and a lone
        piece is a candidate.
    peak_share : float
        When > 0, a confident cell must also reach this share of the frame's strongest score
        among confident cells; weaker ones stay candidates (kept when they move).
    brightness_stats : (float, float), optional
        The median and robust spread of `brightness` the domes and the own-brightness keep are
        counted in (:func:`dome_stats`); default: the whole frame's (:func:`robust_stats`).

    Returns
    -------
    CellRegions
    """
    candidates = clean_mask(score > CANDIDATE_SHARE * contrast, opening, closing, min_area)
    dark_field_cut = brightness is not None and DARK_EDGE_SHARE > 0
    if failsafe is not None and dark_field_cut:
        # on dark-field frames the fail-safe's pieces are cut at their object's own edge like
        # every candidate: the dim cytoplasm around a nucleus (GOWT1) is above the background
        # but is not what the RoI pays for; what stays is what it lacked (the dark nucleoli of
        # CHO's nuclei, enclosed and filled)
        candidates |= failsafe
    basins = peaks = None
    if dark_field_cut:
        # the brightness's median and robust SD, for the domes' height and the own-brightness keep
        stats = robust_stats(brightness) if brightness_stats is None else brightness_stats
        candidates, basins, peaks = _own_edge(
            brightness, candidates, DOME_Z * contrast, stats, edge_band
        )
    if peak_radius > 0 and not (basins is not None and DARK_PEAK_TRIM == 2):
        # trim the skirts after the clean-up, so the thin rims of textured cells survive it
        # a square window: OpenCV dilates by a rectangle in separable passes, 4x faster than a disc
        local_peak = cv2.dilate(score, np.ones((2 * peak_radius + 1,) * 2, np.uint8))
        if basins is not None and DARK_PEAK_TRIM == 1:
            local_peak = _own_peaks(score, basins, len(peaks), local_peak)
        kept = (score >= LOCAL_PEAK_SHARE * local_peak) | (score > STRONG_SHARE * contrast)
        if basins is not None and OWN_BRIGHT_SHARE > 0:
            kept |= _own_bright(brightness, basins, peaks, contrast, stats)
        candidates &= kept
    if failsafe is not None and not dark_field_cut:
        # after the trim, which would cut a flat margin off its textured body again
        candidates |= failsafe
    candidates = fill_holes(candidates)
    # the labels with each one's area (masks.regions_with_areas: BBDT without its statistics
    # and the foreground's labels counted; with the statistics it cost 0.2-0.4 ms more a frame);
    # the motion source's share needs them too
    count, labels, areas = regions_with_areas(candidates)
    # seeds are opened like the candidates, so a lone noisy pixel above the contrast seeds nothing
    seeds = clean_mask(score > contrast, opening, 1, 0)
    confident = np.bincount(labels[seeds], minlength=count) > 0
    confident[0] = False
    if peak_share > 0 and confident[1:].any():
        # a faint speck of texture on a calm frame stands out by a few robust SDs of that calm
        # frame, a real cell of the same frame by ten times more (roi_excess.py): relative to the
        # frame's strongest cell, not to the noise, such specks are told apart
        # seeds & confident[labels]: every region holding a seed is confident here, so the
        # seeds in any region (a comparison, not a look-up per pixel)
        held = seeds & (labels > 0)
        top = float(score[held].max()) if held.any() else 0.0
        strong = seeds & (score >= peak_share * top)
        confident &= np.bincount(labels[strong], minlength=count) > 0
    if DEBRIS_SHARE > 0 and brightness is None:
        confident &= ~_small_pieces(labels, confident, count)
    if failsafe is not None and dark_field_cut and DARK_FAILSAFE_KEEP:
        # on dark-field frames a lone fail-safe piece, already cut at its own object's edge, is a
        # dim bright object: uncertain means keep (noisy HeLa's dim nuclei, which neither the
        # cell contrast nor the motion source found)
        promoted = (np.bincount(labels[failsafe & (labels > 0)], minlength=count) > 0) & ~confident
        promoted[0] = False
        if promoted.any() and confident[1:].any():
            # no larger than the frame's typical cell: a larger dim piece is the glow or cytoplasm
            # around nuclei (GOWT1), not a nucleus the cell contrast missed
            cell_areas = areas[confident]
            if DARK_FAILSAFE_KEEP == 2:
                low, high = percentiles(cell_areas, (25, 75))  # np.percentile's values
                promoted &= areas <= high + 1.5 * (high - low)
            else:
                promoted &= areas <= np.median(cell_areas)
        confident |= promoted
    if failsafe is not None:
        # the fail-safe's last step: what confident cells enclose is part of them (the dark
        # nucleoli of CHO's nuclei: 2-7 % of their pixels were left out, coded as background),
        # also behind a channel of a pixel or two (between two touching nuclei): a small closing
        # seals it before the fill
        held = lookup(confident, labels)
        sealed = cv2.morphologyEx(held.view(np.uint8), cv2.MORPH_CLOSE, ellipse(HOLE_SEAL))
        enclosed = fill_holes(sealed) & ~held
        if enclosed.any():
            # the labels present by counting, not by np.unique's sort of every enclosed pixel
            confident |= np.bincount(labels[enclosed], minlength=count) > 0
            confident[0] = False
            hollow = enclosed & (labels == 0)
            if hollow.any():  # background pixels enclosed: one confident region more
                labels[hollow] = count
                confident = np.append(confident, True)
                count += 1
                filled = np.count_nonzero(hollow)  # from label 0 to its own
                areas[0] -= filled
                areas = np.append(areas, filled)
    return CellRegions(labels, confident, count - 1, areas)


def _small_pieces(labels: np.ndarray, confident: np.ndarray, count: int) -> np.ndarray:
    """(count,) bool: the confident regions smaller than DEBRIS_SHARE of the frame's typical cell,
    the area of the region that holds the median confident pixel (an area-weighted median).

    Weighted by area, not a median over regions: on U373 the specks of debris outnumber the
    cells (18 of 23 confident regions, 24-1100 px at the prepared resolution, the cells
    1400-4900), so the plain median was a speck's size; the median pixel lies in a cell."""
    out = np.zeros(count, bool)
    if np.count_nonzero(confident) < DEBRIS_MIN_CELLS:
        return out
    areas = np.bincount(labels.ravel(), minlength=count)
    out[confident] = areas[confident] < DEBRIS_SHARE * _typical_area(areas[confident])
    return out


def _own_edge(
    brightness: np.ndarray,
    candidates: np.ndarray,
    dome: float,
    stats: tuple[float, float],
    band: int = 0,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Trim each bright object of `candidates` to the pixels reaching DARK_EDGE_SHARE of its own
    peak brightness. Objects are the catchment basins (watershed) of the brightness maxima that
    rise `dome` robust standard deviations above their surroundings, so a dim nucleus touching a
    bright one keeps its own, lower peak, and the glow around a nucleus (no maximum of its own)
    falls to the nucleus's edge. Returns the trimmed candidates, the basins' labels and each
    basin's peak (both None when there is at most one basin: `candidates` are returned whole),
    which the skirt trim reuses (:func:`_own_peaks`). `stats`: the median and robust SD of
    `brightness` (:func:`robust_stats`)."""
    count, basins, peak = _basins(brightness, candidates, max(dome * stats[1], 1e-3))
    if count <= 1:
        return candidates, None, None
    # each basin's cut as one table looked up once; -inf keeps the pixels without a basin whole
    cut = DARK_EDGE_SHARE * peak
    cut[0] = -np.inf
    keep = brightness >= lookup(cut, basins)  # cut[basins], 2.5x faster
    keep = fill_holes(candidates & keep)
    if band > 0:
        keep = candidates & grow(keep, band)
    return keep, basins, peak


def _own_peaks(
    score: np.ndarray, basins: np.ndarray, count: int, local_peak: np.ndarray
) -> np.ndarray:
    """The skirt trim's reference on a dark-field frame (DARK_PEAK_TRIM 1): `local_peak` (the
    highest score within the trim's radius), lowered to the highest score of the pixel's own
    object (watershed basin of :func:`_own_edge`, `count` labels with 0) where that is lower.

    No share of the neighbour's brightness tells a dim nucleus from the textured cytoplasm
    beside a bright one: on the coded frames the nucleus pixels this keeps on HeLa lie at
    8-30 % of the brightest object within the radius, the pixels outside the reference it
    keeps on GOWT1 at 5-32 %."""
    # each object's highest score: ufunc.at over every pixel (label 0 too, overwritten below;
    # 3x faster than gathering the basins' pixels first). scipy.ndimage's labelled maximum is
    # the library call, but the command imports no scipy.ndimage (tests/core/test_speed_imports.py)
    own = np.zeros(count, np.float32)
    np.maximum.at(own, basins.ravel(), score.ravel())
    own[0] = np.inf  # no basin: the window's peak stays
    return np.minimum(lookup(own, basins), local_peak, out=local_peak)


def _own_bright(
    brightness: np.ndarray,
    basins: np.ndarray,
    peaks: np.ndarray,
    contrast: float,
    stats: tuple[float, float],
) -> np.ndarray:
    """The pixels whose brightness reaches OWN_BRIGHT_SHARE of their own object's peak
    brightness (the watershed basins and peaks of :func:`_own_edge`), in objects whose peak
    stands out by `contrast` robust SDs of the brightness: the skirt trim keeps them, whatever
    their score.

    The trim compares a pixel's score with its object's highest score, but a dark-field
    object's highest score is its rim's contrast, while its flat inside stands out by its
    departure from the background alone, in robust SDs of a cue that camera noise spreads far
    more: on noisy HeLa a dim nucleus's rim stood out by 22-27, its inside (20-40 counts above
    the coarse background, its peak 38) by 3-8, below a quarter of the rim, and a band through
    it was cut. Brightness against the object's own peak brightness is the same cue on both
    sides. `stats`: the median and robust SD of `brightness` (:func:`robust_stats`)."""
    median, spread = stats
    share = OWN_BRIGHT_SHARE * peaks
    # only objects that are cells by their own brightness: a faint dome of glow (CHO's, 2.5-3.4
    # robust SDs, beside its nuclei) would be kept whole, its own half maximum being so low
    share[peaks < median + contrast * spread] = np.inf
    share[0] = np.inf  # no basin: the score alone decides
    return brightness >= lookup(share, basins)


def regions_for(
    prepared: np.ndarray, settings: FlowRoISettings, *, dark_field: bool | None = None
) -> CellRegions:
    """:func:`cell_regions` of a prepared frame under `settings` (clean-up sizes, contrast);
    `dark_field` as in :func:`cell_score`."""
    scale = settings.flow_scale
    if dark_field is None:
        dark_field = is_dark_field(prepared)
    coarse = coarse_background(prepared, scale, dark_field=dark_field)
    # the frame in float32 and its departure from the coarse background, made once for the
    # brightness, the score and the fail-safe (each made its own before)
    image = prepared.astype(np.float32)
    above = image - coarse
    brightness = dark = None
    if dark_field:
        brightness = cv2.GaussianBlur(above, (0, 0), max(1.0, 2.0 * scale))
        dark = dark_class(prepared)  # the score's and the fail-safe's background
    score, mean, contrast = _score(
        prepared, scale, coarse, dark_field, image=image, above=above, dark=dark
    )
    failsafe = None
    z = settings.background_z * (DARK_Z_SHARE if dark_field else 1.0)
    known = background = None
    if z > 0 or dark_field:
        # clear of the candidates: the fail-safe's background and the crowded frame's measure
        known = score > CANDIDATE_SHARE * settings.cell_contrast
        background = background_pixels(prepared, known, scale, dark_field=dark_field, dark=dark)
    if z > 0:
        departure = background_departure(
            prepared,
            scale,
            known,
            coarse=coarse,
            local=(mean, contrast),
            image=image,
            two_levels=dark_field and DARK_TWO_LEVELS,
            background=background,
        )
        failsafe = failsafe_pieces(departure, z, scale)
    return cell_regions(
        score,
        contrast=settings.cell_contrast,
        brightness=brightness,
        edge_band=int(round(EDGE_BAND * scale)),
        opening=max(1, round(settings.opening_size * scale)),
        closing=max(1, round(settings.closing_size * scale)),
        min_area=settings.min_component_area * scale**2,
        peak_radius=max(1, int(round(LOCAL_PEAK_RADIUS * scale))),
        failsafe=failsafe,
        peak_share=settings.cell_peak_share,
        brightness_stats=None if brightness is None else dome_stats(brightness, background),
    )


def cell_mask_small(prepared: np.ndarray, settings: FlowRoISettings) -> np.ndarray:
    """Confident cell pixels at the prepared (flow) resolution."""
    return regions_for(prepared, settings).mask()


def _basins(
    brightness: np.ndarray, candidates: np.ndarray, height: float, *, shrink: int | None = None
) -> tuple[int, np.ndarray, np.ndarray]:
    """Catchment basins, within `candidates`, of the maxima of `brightness` that rise `height`
    above their surroundings (h-maxima as scikit-image defines them, by
    :func:`~napari_flowroi.reconstruction.h_maxima`; scikit-image's watershed, as
    :func:`~napari_flowroi.reconstruction.watershed_basins` floods it): (number of labels
    including 0, intp labels with 0 = no basin, (count,) float32 peak brightness of each basin,
    the brightness at its maximum).

    Found on the image reduced BASIN_SHRINK times (halved), then brought back by nearest
    neighbour: at full size h-maxima (then scikit-image's) and the watershed were two thirds of
    the mask time on a dense megapixel frame, while a dome worth a nucleus is several pixels wide
    after the smoothing `brightness` had (reduced 4x, noisy HeLa's dim nuclei merged into
    brighter neighbours' basins: docs/decisions.md); found again on `brightness` as it is where
    the typical object found on the reduced image is smaller than MIN_BASIN_AREA there (a low
    magnification's nuclei). Candidate pixels the reduced basins miss join the basin beside
    them (one 3x3 step per pixel of the reduction); any still without one get label 0 (kept
    whole by the caller, as objects without a maximum are). `shrink`: the reduction (default
    BASIN_SHRINK)."""
    rows, cols = brightness.shape
    shrink = BASIN_SHRINK if shrink is None else shrink
    reduce = shrink > 1 and min(rows, cols) >= 32 * shrink
    small, inside = brightness.astype(np.float32), candidates.astype(np.uint8)
    if reduce:
        size = (cols // shrink, rows // shrink)
        small = cv2.resize(small, size, interpolation=cv2.INTER_AREA)
        inside = cv2.resize(inside, size, interpolation=cv2.INTER_NEAREST)
    within = inside.view(bool)  # 0/1 bytes, also after the nearest-neighbour resize: no copy
    # one sort for both: the h-maxima's ranks and the flood's levels as 16-bit ranks
    order, ranks = sort_float32(small)
    maxima = h_maxima(small.astype(np.float64), height, within=within, order=order).view(bool)
    count, markers = cv2.connectedComponents(maxima.astype(np.uint8), connectivity=8)
    if count <= 1:
        return count, np.zeros(brightness.shape, np.intp), np.zeros(max(count, 1), np.float32)
    peak = np.zeros(count, np.float32)
    np.maximum.at(peak, markers[maxima], small[maxima])  # a few hundred pixels: the dome tops
    basins = watershed_basins(small if ranks is None else ranks, markers, within)
    if reduce and _typical_area(np.bincount(basins.ravel(), minlength=count)[1:]) < MIN_BASIN_AREA:
        # objects too small for the reduction (a low magnification): found again as they are
        return _basins(brightness, candidates, height, shrink=1)
    if reduce:
        # labels as uint16 where they fit (OpenCV resizes and dilates them 2x faster than float32)
        up = cv2.resize(
            basins.astype(np.uint16 if count < 2**16 else np.float32),
            (cols, rows),
            interpolation=cv2.INTER_NEAREST,
        )
        # the rim pixels the reduced candidates lost join the basin next to them (one 3x3 step
        # per pixel of the reduction)
        kernel = np.ones((3, 3), np.uint8)
        for _ in range(shrink):
            missing = candidates & (up == 0)
            if not missing.any():
                break
            np.copyto(up, cv2.dilate(up, kernel), where=missing)
        up *= candidates  # 0 outside the candidates (on the 16-bit labels: half the bytes)
        # intp, numpy's index type: the callers' look-ups by basin (ufunc.at; np.take where
        # masks.lookup has more than 256 basins) would each convert int32 labels first (65
        # against 37 us per np.take on 65k pixels)
        return count, up.astype(np.intp), peak
    basins *= candidates  # 0 outside the candidates
    return count, basins.astype(np.intp), peak


def _typical_area(areas: np.ndarray) -> int:
    """The area of the object that holds the median pixel of objects of `areas` (pixels each,
    any order; empty ones ignored): an area-weighted median, so a few large objects are typical
    even among many specks (:func:`_small_pieces`' typical cell, :func:`_basins`' typical
    object); 0 without any."""
    areas = np.sort(areas[areas > 0])
    if not areas.size:
        return 0
    return int(areas[np.searchsorted(np.cumsum(areas), areas.sum() / 2)])
