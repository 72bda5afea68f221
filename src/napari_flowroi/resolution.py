"""The resolution a movie's RoI is looked for at: `flow_scale`, or the full frame when the movie's
cells are too small for it; below the `flow_scale` the defaults were chosen at, the movie seen at
a smaller pixel size.

The RoI's windows and clean-up sizes work on the frame prepared at `flow_scale` (0.5: a quarter
of the pixels). Cells 2x2-binned from brightfield HSC (5-9 px across) lost 6 % of their pixels
and 45 of 1,075 cells there, and the missed-cell guard, which looks at the same resolution, read
100 % (docs/magnification.md). Whether a movie is such a movie is read off one frame: the
characteristic size of its blobs (the scale at which the scale-normalised Laplacian of Gaussian
answers most, Lindeberg's rule) on the prepared frame. Where most of its distinct blobs answer
most at the finest scale the prepared frame has, the cells are at the limit of what it resolves
and the RoI is looked for at full resolution instead.

The other way round, at twice the magnification the fluorescence movies lost cell pixels deep
inside large nuclei (GOWT1 97.78 %, HeLa 98.71 %, CHO 99.13 %): the defaults' windows, margins
and clean-up sizes are pixels, chosen at `CHOSEN_SCALE`, and a nucleus twice as wide outgrows
them. Preparing at a smaller `flow_scale` alone did not help (GOWT1 95.5 %, CHO 89.9 %: the
constants in full-resolution pixels do not shrink with it). So a `flow_scale` below
`CHOSEN_SCALE` means: the RoI is found on the movie seen at ``flow_scale / CHOSEN_SCALE`` of its
pixel size (:class:`MovieView`, area averaging) by the unchanged pipeline at `CHOSEN_SCALE`, so
every pixel size of the RoI and of the missed-cell guard counts that many more of the movie's
pixels, and the mask is brought back to the frame's size: at 0.25, movies filmed at twice the
magnification hold 99.98-100 % (docs/magnification.md). Which movies need it is not decided
here: no statistic of frame 0 tried told them apart from the movies as filmed
(docs/decisions.md, "The RoI at twice the magnification").
"""

from __future__ import annotations

import cv2
import numpy as np

from ._robust import median_and_sd
from .errors import InputError
from .preprocess import prepare_frames, resize
from .settings import FlowRoISettings

#: Gaussian scales (px of the prepared frame) of the blob search: sqrt(2) apart, from the finest
#: a prepared pixel resolves to blobs ~45 px across.
BLOB_SIGMAS = (1.0, 1.4, 2.0, 2.8, 4.0, 5.6, 8.0)
#: A blob: a pixel whose strongest normalised response is the largest within 5x5 and stands out
#: by this many robust SDs of that response over the frame (mostly background).
BLOB_Z = 8.0
#: Fewer distinct blobs than this on the prepared frame say nothing about the cells' size there:
#: either the field is nearly empty (E. coli's first frames) or its cells are finer than the
#: prepared frame resolves at all, so they are looked for again on frame 0 at full resolution
#: (:func:`working_settings`); with as few there as well the flow_scale is kept.
MIN_BLOBS = 10
#: From this share of the blobs at the finest scale on the frame the RoI is looked for at full
#: resolution. On the movies of ../shared/data the share is 0.00-0.11 as filmed and at most 0.29
#: resized down to 0.7x (HSC) or to 0.4x (U373, E. coli: 0.18, their cells held either way); HSC
#: binned 0.4-0.6x, where half resolution lost cells, gives 0.65-0.95. A share from few blobs is
#: a rough one: within two of its standard errors of FINE_SHARE (1 / sqrt(blobs)) the prepared
#: frame does not say, and frame 0 is looked at in full (:func:`too_fine`): HSC at 0.35 of its
#: size showed 10 blobs prepared, 5 of them fine, and 11 with camera noise, 5 fine, and held
#: 50.84 % and 50.56 % at half resolution; undecided, the side that keeps cells.
FINE_SHARE = 0.5

#: The `flow_scale` the defaults' pixel sizes (margins, windows, clean-up sizes, the guard's) were
#: chosen at. A `flow_scale` below it finds the RoI on the movie seen at ``flow_scale /
#: CHOSEN_SCALE`` of its pixel size with the pipeline at this one (:func:`view_scale`).
CHOSEN_SCALE = 0.5


def blob_scales(image: np.ndarray, sigmas=BLOB_SIGMAS, z: float = BLOB_Z) -> np.ndarray:
    """The characteristic scale (the sigma, of `sigmas`, at which its scale-normalised Laplacian
    of Gaussian answers most) of each distinct blob of `image`: a pixel whose strongest answer
    is the largest within 5x5 and stands out by `z` robust SDs of that answer over the image.

    Written here rather than taken from scikit-image's ``blob_log``: that import brings
    scipy.ndimage into the command (~0.2 s per process, reconstruction.py), and only the scale of
    the strongest answer per pixel is needed, not blob positions refined in scale space."""
    image = np.asarray(image, np.float32)
    strongest = best = None
    for i, sigma in enumerate(sigmas):
        smooth = cv2.GaussianBlur(image, (0, 0), sigma)
        response = np.abs(cv2.Laplacian(smooth, cv2.CV_32F), out=smooth)
        response *= np.float32(sigma * sigma)  # in place: the same float32 products
        if strongest is None:
            strongest, best = response, np.zeros(image.shape, np.uint8)
        else:
            # the larger answer and its scale, in place (np.where and a boolean-indexed
            # assignment were half of the search's 21 ms on a 512x512 frame; the same values)
            better = response > strongest
            np.maximum(strongest, response, out=strongest)
            np.copyto(best, np.uint8(i), where=better)
    median, spread = median_and_sd(strongest)
    peaks = (strongest == cv2.dilate(strongest, np.ones((5, 5), np.uint8))) & (
        strongest > median + z * max(spread, 1e-6)
    )
    scales = np.asarray(sigmas, np.float64)
    rows, cols = np.nonzero(peaks)
    found = scales[best[rows, cols]]
    # a blob within 3 of its sigmas of the frame's edge is an answer to the border's extension
    # (OpenCV's reflection), not to the frame: a drift correction's or a stage jitter's edge
    # (zeros, or a replicated strip) gave HSC at 0.35 of its size 10-13 broad blobs there, its
    # cells showing too few, and the rule kept half resolution (47-81 % of the cell pixels held)
    reach = 3.0 * found
    inside = (
        (rows >= reach)
        & (cols >= reach)
        & (rows < image.shape[0] - reach)
        & (cols < image.shape[1] - reach)
    )
    return found[inside]


def finest_blob_share(image: np.ndarray) -> tuple[float, int]:
    """The share of `image`'s distinct blobs (:func:`blob_scales`) whose characteristic scale is
    the finest of BLOB_SIGMAS, and how many blobs there are."""
    scales = blob_scales(image)
    return (float(np.mean(scales == BLOB_SIGMAS[0])) if scales.size else 0.0), int(scales.size)


def too_fine(image: np.ndarray, *, sure: bool = True) -> bool | None:
    """Whether the prepared frame `image` shows cells at the limit of what it resolves; None
    when it holds fewer than MIN_BLOBS blobs, too few to say, or (`sure`) when its share of fine
    blobs lies within two standard errors of FINE_SHARE (1 / sqrt(blobs), the error of a share
    of one half), too close to say.

    Why the margin: HSC at 0.35 of its size with the benchmark's camera noise showed 11 blobs on
    one clip's frame 0 prepared at 0.5, 5 of them fine (0.45), and stayed at 0.5, where the RoI
    held 50.56 % of the cell pixels; looked at in full the same frame shows 183 blobs, 99 % fine
    (docs/magnification.md)."""
    share, count = finest_blob_share(image)
    if count < MIN_BLOBS or (sure and abs(share - FINE_SHARE) < 1.0 / np.sqrt(count)):
        return None
    return share >= FINE_SHARE


def _central_quarter(frame: np.ndarray) -> np.ndarray:
    """The middle half of `frame` each way: as many pixels as the frame prepared at 0.5, so
    the look at full resolution costs what the prepared one does (27 against 149 ms on the
    1-MP HeLa movie of docs/speed.md, one thread)."""
    rows, cols = frame.shape[:2]
    return frame[
        rows // 4 : rows // 4 + max(1, rows // 2), cols // 4 : cols // 4 + max(1, cols // 2)
    ]


def too_fine_at_full(image: np.ndarray, flow_scale: float) -> bool | None:
    """Whether frame 0 prepared at full resolution (`image`: its middle, :func:`_central_quarter`)
    shows cells the frame prepared at `flow_scale` could not resolve: FINE_SHARE of its blobs or
    more no wider than the prepared frame's finest scale (BLOB_SIGMAS[0] prepared px); None with
    fewer than MIN_BLOBS blobs, too few to say.

    Why: cells smaller still than those :func:`too_fine` finds vanish from the prepared frame
    altogether, so it held too few blobs to say. HSC at 0.35 of its size (cells 3-5 px) showed 8
    blobs prepared at 0.5, and its RoI there held 47 % of the cell pixels (498 of 825 cells
    lost); at full resolution 532 blobs, 99 % of them at sigma 2 px or less, and the RoI held
    99.08 % (none lost). On the six movies as filmed only CHO's frame 0 asks this (no blob
    prepared: its nuclei are broad, not fine): 19-20 % of its 120-135 blobs there, no change."""
    scales = blob_scales(image)
    if scales.size < MIN_BLOBS:
        return None
    return float(np.mean(scales <= BLOB_SIGMAS[0] / flow_scale)) >= FINE_SHARE


def view_scale(settings: FlowRoISettings) -> float:
    """The share of the movie's pixel size its RoI is found at by the pipeline at CHOSEN_SCALE:
    1.0 for a `flow_scale` of CHOSEN_SCALE or above (the frame itself), ``flow_scale /
    CHOSEN_SCALE`` below it."""
    return min(1.0, settings.flow_scale / CHOSEN_SCALE)


class MovieView:
    """Frames of a movie seen at `scale` of their pixel size (area averaging, as a lower
    magnification or binning gives), read through `read` (t -> full frame)."""

    def __init__(self, read, shape: tuple[int, int, int], scale: float, source: str = "movie"):
        frames, rows, cols = shape
        self._read, self.scale, self.source = read, scale, f"{source} at {scale:g} of its size"
        self.shape = (frames, max(1, round(rows * scale)), max(1, round(cols * scale)))

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        frame = np.asarray(self._read(t))
        if frame.dtype not in (np.uint8, np.uint16, np.int16, np.float32):
            frame = frame.astype(np.float32)  # the types OpenCV's area resize takes
        return resize(frame, self.scale)


def checks_resolution(settings: FlowRoISettings) -> bool:
    """Whether the resolution is checked at all: an RoI is looked for, below full resolution."""
    return bool(settings.roi_sources) and settings.flow_scale < 1.0


def fine_in_full(frame: np.ndarray, settings: FlowRoISettings) -> bool | None:
    """:func:`too_fine_at_full` of `frame`'s middle (:func:`_central_quarter`) prepared in full."""
    middle = _central_quarter(np.asarray(frame))
    return too_fine_at_full(
        prepare_frames(middle, settings.replace(flow_scale=1.0))[1], settings.flow_scale
    )


def working_settings(
    movie, settings: FlowRoISettings, *, prepared=None, in_full=None
) -> FlowRoISettings:
    """The settings the RoI of `movie` is computed with: `settings`, or the same with
    ``flow_scale=1.0`` when the movie's first frame, prepared at `flow_scale`, shows cells too
    small for it (:func:`too_fine`). Decided once per movie on its first frame and its middle
    one (:func:`spare_frames`): where frame 0 says nothing at either resolution, the middle
    frame is asked the same; where frame 0 says "not too fine", the middle frame prepared is
    asked too, and either saying "too fine" decides (a defocused first frame shows fine cells
    as broad blobs). So a preview, the check before a batch, every chunk of the batch and
    ``roi_masks`` agree.
    `prepared`: a callable giving frame t's (linear, appearance) images at `flow_scale` (an
    extractor's pool entry); default: read and prepare frame t. `in_full`: a callable giving
    :func:`fine_in_full` of frame t (an extractor's pool entry), asked only where the prepared
    frame does not say; default: read frame t and look."""
    if not checks_resolution(settings):
        return settings

    def prepared_frame(t: int) -> tuple[np.ndarray, np.ndarray]:
        return prepare_frames(np.asarray(movie[t]), settings)

    def look_in_full(t: int) -> bool | None:
        return fine_in_full(movie[t], settings)

    prepared, in_full = prepared or prepared_frame, in_full or look_in_full
    # too few blobs prepared, or a share too close to FINE_SHARE, to say: the frame is looked at
    # in full (MIN_BLOBS). Not where a smaller view is asked for (cells said to be large): there
    # every blob up to 1 / the flow_scale px counts as fine, the texture inside large nuclei too
    # (CHO at twice the magnification, asked at 0.25, went to full resolution), and the prepared
    # frame's share decides as it stands
    looks = settings.flow_scale >= CHOSEN_SCALE

    def says(t: int) -> bool | None:
        fine = too_fine(prepared(t)[1], sure=looks)
        return in_full(t) if fine is None and looks else fine

    try:
        fine = says(0)
    except (InputError, OSError, ValueError):
        # frame 0 cannot be read or prepared (a Movie refuses NaN frames when read,
        # readers.movie.check_frame; a truncated file): the flow_scale asked for; that frame's
        # own mask reports the problem, and the other frames still preview and code
        return settings
    for t in [] if fine else spare_frames(len(movie)):
        # frame 0 says nothing at either resolution (a dark or blank first frame, a field empty
        # at first): the middle frame is asked the same; frame 0 says "not fine": the middle
        # frame prepared is asked too (a defocused first frame shows fine cells as broad ones)
        try:
            spare = says(t) if fine is None else too_fine(prepared(t)[1], sure=looks)
        except (InputError, OSError, ValueError):
            continue  # that frame's own mask reports it
        fine = spare if fine is None else bool(spare)
    return settings.replace(flow_scale=1.0) if fine else settings


def spare_frames(count: int) -> list[int]:
    """The frames :func:`working_settings` asks besides frame 0 of a `count`-frame movie: the
    middle one (none in a one-frame movie), in full where frame 0 says nothing about its cells'
    size, prepared only where frame 0 says they are not too fine.

    Why: a movie whose first frame is dark or blank (a shutter opened late, a field filmed
    before the cells were added, a dropped frame written as zeros) kept the flow_scale asked for
    whatever its cells' size: HSC at 0.35 of its size with frame 0 black held 44 % of the cell
    pixels (99.08 % as filmed). And a defocused first frame (autofocus still settling) shows
    fine cells as broad blobs: HSC at 0.5 of its size with frame 0 blurred by 3 px kept half
    resolution and held 94.15 % (with camera noise 91.17 %), asking the middle frame prepared
    99.98 % (99.95 %). Only prepared there: a look in full as well cost the whole 1-MP command
    ~2 % of plain JPEG2000's time (docs/decisions.md). One frame, not more: its preparation is
    kept for its mask."""
    return [count // 2] if count > 1 else []
