"""Motion saliency and the region-of-interest mask of each frame.

Two rules turn motion into a mask (setting ``roi_rule``):

- ``cells`` (default): motion *selects* cells whose outline comes from appearance. The frame's
  cell-like regions (``appearance.cell_regions``: connected pixels that stand out from the
  frame's own background by half the cell contrast, holes filled) are candidates; a candidate is
  protected when at least ``1 - roi_threshold`` of its pixels move faster than the movie's noise
  floor (the robust spread of the flow magnitude over the frame, at least ``min_motion``). Only
  candidates that changed between the two frames are asked (the change gate, CHANGE_GATE_Z). The
  mask then follows cell outlines, not the smeared edge of a flow field, whatever share of the
  frame the cells take (sparse or dense fields).
- ``quantile`` (the paper's rule): the top ``roi_threshold`` share of the frame's motion saliency,
  above ``min_motion``, cleaned by opening, closing and dropping small regions.

:class:`RoiExtractor` strings the steps together for a movie and caches what it computed, so the
mask of frame t needs only frames t-1-k .. t+1+k, a frame is prepared and its cells found once
(frames t and t+1 share them) and no flow is computed twice.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from ._cache import LRUCache
from ._robust import median_and_sd
from .appearance import CellRegions, regions_for
from .errors import InputError
from .flow import (
    FARNEBACK_ITERATIONS,
    SAMPLE_SHARE,
    aligned_flow,
    aligned_flow_in,
    boxes_exceed,
    changed_regions,
    flow_boxes,
    sample_boxes,
    shift_image,
)
from .masks import clean_mask, grow, to_shape
from .masks import ellipse as _ellipse  # noqa: F401  (kept for callers of the old name)
from .preprocess import prepare_frames
from .resolution import (
    CHOSEN_SCALE,
    MovieView,
    checks_resolution,
    fine_in_full,
    view_scale,
    working_settings,
)
from .settings import CELL_SETTINGS, MOTION_SETTINGS, PREPARE_SETTINGS, FlowRoISettings

__all__ = [
    "Motion",
    "RoiExtractor",
    "MOTION_SETTINGS",
    "CELL_SETTINGS",
    "motion_saliency",
    "threshold_saliency",
    "motion_floor",
    "moving_regions",
    "clean_mask",
    "grow",
    "partner_frame",
]

#: Raw frames an extractor keeps (frame t and the one before, plus one for the encoder's turn).
RAW_FRAMES = 3
#: Robust standard deviations above the median flow magnitude that count as motion.
NOISE_FLOOR_Z = 3.0
#: Farnebäck iterations for rule `cells`: on the benchmark's first frames 2 selected the same
#: regions as the paper's 5 (motion-only coverage within 0.2 pp on all six cases) in half the time.
CELLS_FLOW_ITERATIONS = 2
#: Context (pixels at the flow resolution) around the regions whose motion rule `cells` measures:
#: the same RoI as the whole frame's flow at a fraction of the cost (docs/decisions.md).
FLOW_CONTEXT = 12
#: The change gate of rule `cells` (0 = off): a region that did not change between the frame
#: and its partner beyond this many robust SDs of the frame's differences (flow.changed_regions)
#: cannot have moved, so it is not asked, and the flow is measured only around the others. It
#: runs on a frame whose boxes around the asked regions exceed flow.SAMPLE_SHARE of it.
#: With the gate on, the drift is measured on the flow in a grid of small boxes spread over the
#: frame (flow.sample_boxes), not on the boxes around the asked regions: those then hold mostly
#: moving cells, whose median flow is their own motion. The floor is the higher of the boxes'
#: and the sample's. docs/decisions.md has the measurements behind the value.
CHANGE_GATE_Z = 3.0


def motion_saliency(magnitude: np.ndarray, weight: float) -> np.ndarray:
    """weight * normalised flow magnitude + (1 - weight) * its normalised Scharr gradient, in [0, 1]."""
    peak = float(magnitude.max())
    if peak <= 0:
        return np.zeros_like(magnitude, dtype=np.float32)
    mag = (magnitude / peak).astype(np.float32)
    gx = cv2.Scharr(mag, cv2.CV_32F, 1, 0)
    gy = cv2.Scharr(mag, cv2.CV_32F, 0, 1)
    grad = cv2.magnitude(gx, gy)
    grad_peak = float(grad.max())
    if grad_peak > 0:
        grad /= grad_peak
    saliency = weight * mag + (1.0 - weight) * grad
    return saliency / max(float(saliency.max()), 1e-12)


def threshold_saliency(
    saliency: np.ndarray, magnitude: np.ndarray, keep_fraction: float, min_motion: float
) -> np.ndarray:
    """Keep the top `keep_fraction` of saliency, but never pixels moving less than `min_motion`."""
    cut = np.quantile(saliency, 1.0 - keep_fraction)
    return (saliency >= cut) & (magnitude >= min_motion) & (saliency > 0)


def motion_floor(magnitude: np.ndarray, *, min_motion: float) -> float:
    """The speed above which a pixel counts as moving: the median flow magnitude plus
    NOISE_FLOOR_Z robust standard deviations (MAD), never below `min_motion`.

    The frame is mostly still background, so the median and MAD of the magnitude measure how much
    the flow of this movie wanders where nothing moves (camera noise, texture, residual drift).
    `magnitude` is a frame (subsampled 4x4) or a 1-D sample of one.
    """
    if magnitude.size == 0:
        return float(min_motion)
    if magnitude.ndim == 1:
        sample = magnitude[::16] if magnitude.size >= 4096 else magnitude
    else:
        sample = magnitude[::4, ::4] if min(magnitude.shape) >= 64 else magnitude
    median, spread = median_and_sd(sample)
    return max(float(min_motion), median + NOISE_FLOOR_Z * spread)


def moving_regions(
    regions: CellRegions, magnitude: np.ndarray, *, floor: float, share: float
) -> np.ndarray:
    """Which candidate regions move: at least `share` of their pixels faster than `floor`.

    Returns a ``(count + 1,)`` bool array indexed by region label (label 0, background, False).
    """
    labels = regions.labels
    area = regions.areas  # counted once per frame where cell_regions needed them already
    if area is None:
        area = np.bincount(labels.ravel(), minlength=regions.count + 1)
    moving = np.bincount(labels[magnitude > floor], minlength=regions.count + 1)
    keep = moving >= share * np.maximum(area, 1)
    keep &= area > 0
    keep[0] = False
    return keep


@dataclass(frozen=True)
class Motion:
    """What the flow step found for one frame (arrays at the flow resolution)."""

    flow: np.ndarray  # (h, w, 2) displacement dx, dy in full-resolution pixels per frame
    magnitude: np.ndarray  # (h, w) |flow|, full-resolution pixels per frame
    saliency: np.ndarray | None  # (h, w) in [0, 1]; None for flow measured around regions
    drift: tuple[float, float]  # global (dy, dx) removed before the flow, full-resolution pixels
    floor: float = 0.0  # speed (full-resolution px/frame) above which a pixel moves
    asked: np.ndarray | None = None  # (n + 1,) bool: regions whose motion was measured (gate)


def _key(settings: FlowRoISettings, names: tuple[str, ...]) -> tuple:
    return tuple(getattr(settings, n) for n in names)


def partner_frame(t: int, n_frames: int) -> int:
    """Frame t is compared with t-1; the first frame with frame 1 (the paper's pairing)."""
    return t - 1 if t > 0 else 1


class FramePool:
    """The one cache of per-frame work for a movie, shared by every extractor made from it.

    Entries are keyed by what they depend on (frame index plus the settings named in
    PREPARE_SETTINGS / MOTION_SETTINGS / CELL_SETTINGS), so extractors for settings that differ
    only in threshold, sources or coding reuse prepared frames, flows and cell regions, and frame
    t's prepared image serves both its own flow and frame t+1's. Each kind keeps at most
    `capacity` entries (least recently used dropped). Thread-safe; two threads asking for the same
    missing entry at once may both compute it.
    """

    def __init__(self, capacity: int = 32):
        self.capacity = max(1, int(capacity))
        self._lock = threading.Lock()
        self._kinds: dict[str, LRUCache] = {}

    def get(self, kind: str, key, compute):
        with self._lock:
            store = self._kinds.setdefault(kind, LRUCache(self.capacity))
        return store.get_or_compute(key, compute)

    def clear(self) -> None:
        with self._lock:
            self._kinds.clear()


class _ViewPool:
    """A movie's :class:`FramePool` as the pool of its view at `scale` (:class:`MovieView`): the
    same store (so a check hands the view's prepared frames to the batch as it does the movie's),
    keys told apart by the scale."""

    def __init__(self, pool: FramePool, scale: float):
        self.pool, self.scale = pool, scale

    @property
    def capacity(self) -> int:
        return self.pool.capacity

    def get(self, kind: str, key, compute):
        return self.pool.get(kind, ("view", self.scale, key), compute)

    def clear(self) -> None:
        self.pool.clear()


def _motion_at(motion: Motion, scale: float) -> Motion:
    """`motion` of a view at `scale` of the movie's pixel size in the movie's pixels."""
    return Motion(
        motion.flow / scale,
        motion.magnitude / scale,
        motion.saliency,
        (motion.drift[0] / scale, motion.drift[1] / scale),
        motion.floor / scale,
        motion.asked,
    )


class RoiExtractor:
    """Masks, flow, saliency and cells of the frames of one movie under one set of settings.

    The RoI is the union of the sources switched on: motion (``motion_mask``), appearance
    (``cells`` grown by the margin) and the user's masks (`extra_roi`). Per-frame work lives in a
    :class:`FramePool` that :meth:`with_settings` shares.
    """

    def __init__(
        self,
        movie,
        settings: FlowRoISettings,
        cache_frames: int = 32,
        extra_roi=None,
        *,
        pool: FramePool | None = None,
        resolved: bool = False,
    ):
        """`extra_roi`: optional (T, Y, X) masks or labels (array or Movie) that are always
        protected, e.g. a segmentation or shapes drawn by the user. `pool`: a :class:`FramePool`
        to share with other extractors of the same movie (default: a new one). The RoI is
        looked for at full resolution when the movie's cells are too small for `flow_scale`
        (:func:`resolution.working_settings`, on frame 0); :attr:`settings` are the settings
        used, :attr:`requested` those given. `resolved`: `settings` are already the ones to use
        (a batch's chunks get them from its plan, so no chunk reads frame 0 again)."""
        if settings.motion_roi and len(movie) < 2:  # the flow pairs each frame with another
            # (inputs are checked where they are opened, readers.require_motion; this guards
            # callers that build an extractor themselves)
            raise InputError(
                f"{getattr(movie, 'source', 'The movie')} has one frame; motion "
                "needs at least two frames. Use --plain to compress it with plain "
                "JPEG2000."
            )
        self.movie = movie
        self.requested = settings
        self.extra_roi = extra_roi
        self.shape = tuple(movie.shape[1:])
        self.pool = pool if pool is not None else FramePool(cache_frames)
        # Per-extractor views of the pool (lru caches holding the same arrays, so callers can
        # still ask for cache_info() and tests can wrap one); clear() empties both.
        # the last frames read: frame t feeds its prepared image, its appearance image and (in a
        # batch) the encoder, so it is read and decoded once instead of three times
        self.frame = lru_cache(maxsize=RAW_FRAMES)(self._read)
        self.prepared = lru_cache(maxsize=cache_frames)(self._pooled_prepared)
        self.motion = lru_cache(maxsize=cache_frames)(self._pooled_motion)
        self.regions = lru_cache(maxsize=cache_frames)(self._pooled_regions)
        self.cells = lru_cache(maxsize=cache_frames)(self._pooled_cells)
        self.region_motion = lru_cache(maxsize=cache_frames)(self._pooled_region_motion)
        self.frame_mask = lru_cache(maxsize=cache_frames)(self._frame_mask)
        self.moved = lru_cache(maxsize=cache_frames)(self._moved)
        self.moved_small = lru_cache(maxsize=cache_frames)(self._moved_small)
        # after the caches: the decision reads frame 0 through the frame cache, so a mask of
        # frame 0 or 1 made next does not read it again
        self.settings = settings if resolved else self._working_settings(settings)
        #: below resolution.CHOSEN_SCALE, the extractor of the movie seen at view_scale of its
        #: pixel size (frames read through this one's frame cache) that finds the RoI; this one
        #: brings its masks back to the frame's size (None: the RoI is found on the frames)
        self.view = self._view(cache_frames)

    def _view(self, cache_frames: int) -> RoiExtractor | None:
        scale = view_scale(self.settings)
        if scale >= 1.0:
            return None
        movie = MovieView(
            self.frame, (len(self.movie), *self.shape), scale, getattr(self.movie, "source", "")
        )
        view = RoiExtractor(
            movie,
            self.settings.replace(flow_scale=CHOSEN_SCALE),
            cache_frames,
            pool=_ViewPool(self.pool, scale),
            resolved=True,
        )
        # the per-frame work is the view's; what is at the frame's size is brought back to it
        # (a view's arrays at the flow resolution are those of this movie at flow_scale)
        self.prepared, self.regions = view.prepared, view.regions
        for name, back in (
            ("motion", lambda m: _motion_at(m, scale)),
            ("region_motion", lambda m: _motion_at(m, scale)),
            ("cells", self._full),
            ("frame_mask", self._full),
            ("moved", self._full),
        ):
            made = getattr(view, name)
            setattr(self, name, lru_cache(maxsize=cache_frames)(lambda t, m=made, b=back: b(m(t))))
        return view

    def _full(self, mask: np.ndarray) -> np.ndarray:
        """A mask of the view at the frame's size (linear, threshold at one half)."""
        return to_shape(mask, self.shape)

    def _working_settings(self, settings: FlowRoISettings) -> FlowRoISettings:
        """:func:`resolution.working_settings` of this movie, decided once per pool and settings
        from frame 0 prepared at `flow_scale` (the pool's entry a mask of frame 0 or 1 uses; where
        frame 0 says nothing, the spare frames' entries likewise)."""
        if not checks_resolution(settings):
            return settings
        key = _key(settings, PREPARE_SETTINGS)

        def prepared(t: int) -> tuple[np.ndarray, np.ndarray]:
            return self.pool.get(
                "prepared", (t, key), lambda: prepare_frames(self.frame(t), settings)
            )

        def in_full(t: int) -> bool | None:  # frame t looked at in full, once per pool
            return self.pool.get(
                "fine in full", (t, key), lambda: fine_in_full(self.frame(t), settings)
            )

        return self.pool.get(
            "working settings",
            settings,
            lambda: working_settings(self.movie, settings, prepared=prepared, in_full=in_full),
        )

    def with_settings(self, settings: FlowRoISettings) -> RoiExtractor:
        """An extractor for other settings sharing this one's pool: prepared frames, flows and
        cells are reused wherever the settings they depend on agree (a threshold change
        recomputes masks only)."""
        other = RoiExtractor(
            self.movie, settings, self.pool.capacity, self.extra_roi, pool=self.pool
        )
        if _key(other.settings, PREPARE_SETTINGS) == _key(self.settings, PREPARE_SETTINGS):
            other.prepared = self.prepared
        if _key(other.settings, MOTION_SETTINGS) == _key(self.settings, MOTION_SETTINGS):
            other.motion = self.motion
        if _key(other.settings, CELL_SETTINGS) == _key(self.settings, CELL_SETTINGS):
            other.regions, other.cells = self.regions, self.cells
            if (
                _key(other.settings, MOTION_SETTINGS) == _key(self.settings, MOTION_SETTINGS)
                and other.tests_every_region == self.tests_every_region
            ):
                other.region_motion = self.region_motion
        return other

    def clear(self) -> None:
        """Drop every cached frame, flow and mask now, so a finished chunk's arrays go at once.
        (The caches refer back to the extractor, so without this its arrays wait for Python's
        cycle collector: a batch grew by ~5 MB per 1-MP frame before this was called at the end
        of each chunk.)"""
        self.pool.clear()
        for cached in (
            self.frame,
            self.prepared,
            self.motion,
            self.regions,
            self.cells,
            self.region_motion,
            self.frame_mask,
            self.moved,
            self.moved_small,
        ):
            if hasattr(cached, "cache_clear"):
                cached.cache_clear()
        if self.view is not None:
            self.view.clear()

    # --- per-frame work, pooled -----------------------------------------------------------------
    def _read(self, t: int) -> np.ndarray:
        """Frame t of the movie as an array (see :attr:`frame`)."""
        return np.asarray(self.movie[t])

    def _pooled_prepared(self, t: int) -> np.ndarray:
        """Frame t as the 8-bit, downscaled, optionally denoised image motion is measured on."""
        return self._prepared_pair(t)[0]

    def _prepared_pair(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Frame t prepared for flow and for the appearance score, made together (one read,
        one downscale; one image when the frame is not dark-field)."""
        return self.pool.get(
            "prepared",
            (t, _key(self.settings, PREPARE_SETTINGS)),
            lambda: prepare_frames(self.frame(t), self.settings),
        )

    def _pooled_motion(self, t: int) -> Motion:
        """Flow of frame t towards its partner frame (drift removed), its magnitude, saliency and
        the movie's motion noise floor."""
        return self.pool.get(
            "motion", (t, _key(self.settings, MOTION_SETTINGS)), lambda: self._motion(t)
        )

    def appearance_image(self, t: int) -> np.ndarray:
        """Frame t prepared for the appearance score: like :meth:`prepared`, but a dark-field frame
        is stretched by a square root so dim cells keep grey levels. (Flow keeps the linear
        stretch: the square root also lifts the noise of a dark background, where Farnebäck then
        reads 1.6 px of random motion and the noise floor rises above the cells' own.)"""
        if self.view is not None:
            return self.view.appearance_image(t)
        return self._prepared_pair(t)[1]

    def dark_field(self, t: int) -> bool:
        """Whether frame t is dark-field, as its preparation decided from the raw frame (it then
        made a second, square-root stretched image for the appearance score)."""
        if self.view is not None:
            return self.view.dark_field(t)
        linear, stabilised = self._prepared_pair(t)
        return stabilised is not linear

    def _pooled_regions(self, t: int) -> CellRegions:
        """Candidate and confident cell regions of frame t from its appearance (flow resolution)."""
        return self.pool.get(
            "regions",
            (t, _key(self.settings, CELL_SETTINGS)),
            lambda: regions_for(
                self.appearance_image(t), self.settings, dark_field=self.dark_field(t)
            ),
        )

    def _pooled_cells(self, t: int) -> np.ndarray:
        """Confident cell-like structure of frame t from its appearance alone, full resolution."""
        return self.pool.get(
            "cells",
            (t, _key(self.settings, CELL_SETTINGS)),
            lambda: to_shape(self.regions(t).mask(), self.shape),
        )

    @property
    def tests_every_region(self) -> bool:
        """Whether rule `cells` asks every candidate region whether it moves. When the
        appearance source is on and no neighbouring frame is unioned (adjacent factor 0), the
        confident regions of frame t are protected whatever they do, so only the others are
        asked: their motion is the only motion that can change the RoI."""
        s = self.settings
        return not (s.appearance_roi and s.adjacent_factor == 0)

    def regions_to_test(self, t: int) -> np.ndarray:
        """(count + 1,) bool: the candidate regions of frame t whose motion rule `cells` asks."""
        regions = self.regions(t)
        test = np.ones(regions.count + 1, bool) if self.tests_every_region else ~regions.confident
        test[0] = False
        return test

    def _pooled_region_motion(self, t: int) -> Motion:
        """Flow of frame t measured only around the regions :meth:`regions_to_test` names (rule
        `cells`), zero elsewhere; its floor comes from the measured pixels; no saliency (the rule
        does not use it). On the benchmark
        movies the RoI is the same as with the whole frame's flow, at a fraction of the cost
        (docs/decisions.md)."""
        key = (
            t,
            _key(self.settings, MOTION_SETTINGS + CELL_SETTINGS),
            self.tests_every_region,
            CHANGE_GATE_Z,
        )
        return self.pool.get("region_motion", key, lambda: self._region_motion(t))

    def _region_motion(self, t: int) -> Motion:
        s = self.settings
        regions = self.regions(t)
        asked = self.regions_to_test(t)
        current = self.prepared(t)
        drift, noise, aligned = None, None, None
        sample = sample_boxes(current.shape)
        if len(sample) < 2:
            # a frame too small to hold a sample spread over it: its one sample box, and the
            # boxes around the asked regions, lie on the moving cells, whose flow then set the
            # noise floor (a 128x160 synthetic movie: 3.9 px a frame, where the whole frame's
            # flow gives 1.0; motion kept none of its discs moving 2.5 px). The whole frame's
            # flow measures the floor where nothing moves, and costs little at this size; none
            # when no region is asked
            whole = [(slice(0, current.shape[0]), slice(0, current.shape[1]))]
            gate, boxes = False, whole if asked.any() else []
        elif CHANGE_GATE_Z > 0:
            gate, boxes = boxes_exceed(regions.mask(asked), FLOW_CONTEXT, SAMPLE_SHARE)
        else:
            gate, boxes = False, None
        if gate:
            # the gate's own cost is about the flow in its sample (up to SAMPLE_SHARE of the
            # frame): it pays only where the flow around the asked regions would cover more
            # (E. coli's whole frame, U373's 35-43 %, GOWT1's 21-32 %; HSC, HeLa and CHO at
            # most 7 %, where it cost 3-12 % of the mask time)
            other = self.prepared(partner_frame(t, len(self.movie)))
            # the drift and the flow's noise from a grid of small boxes over the frame, as the
            # whole frame's flow would give them (the boxes around changed regions hold mostly
            # moving cells); the gate needs the drift to the fraction of a pixel
            sampled, where, drift = aligned_flow_in(
                current,
                other,
                sample,
                s.flow_method,
                iterations=CELLS_FLOW_ITERATIONS,
            )
            # the magnitude of the sampled pixels only (raster order, as indexing the frame's
            # magnitude would give them): the whole frame's took 1 ms on HSC's halved frame
            noise = cv2.magnitude(sampled[..., 0][where], sampled[..., 1][where])
            noise = noise.ravel() / s.flow_scale
            aligned = shift_image(other, -drift[0], -drift[1])
            asked = asked & changed_regions(
                current, aligned, regions.labels, regions.count, drift, CHANGE_GATE_Z
            )
            boxes = None
        if boxes is None:
            boxes = flow_boxes(regions.mask(asked), FLOW_CONTEXT)
        scale = s.flow_scale
        if boxes:
            other = self.prepared(partner_frame(t, len(self.movie)))
            flow, measured, (dy, dx) = aligned_flow_in(
                current,
                other,
                boxes,
                s.flow_method,
                iterations=CELLS_FLOW_ITERATIONS,
                drift=drift,
                aligned=aligned,
            )
            flow /= scale  # in place: the same float32 quotients as flow / scale, no new array
            magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
            floor = motion_floor(magnitude[measured], min_motion=s.min_motion)
        else:
            # nothing asked (most frames of the dark-field movies once the gate has run): the
            # flow aligned_flow_in returns without boxes, zero, and the floor of no measured
            # pixel, without the division, magnitude and gather over the whole frame
            flow = np.zeros(current.shape + (2,), np.float32)
            magnitude = np.zeros(current.shape, np.float32)
            dy, dx = 0.0, 0.0
            floor = float(s.min_motion)  # motion_floor of no measured pixel
        if drift is not None:
            dy, dx = drift
        if noise is not None:
            # the higher of the boxes' floor (as without the gate) and the background sample's:
            # the sample's alone was lower and kept flow noise on E. coli's colony as motion
            # (RoI 6.9 -> 8.1 % of the frame with the gate at 3); the sample's keeps the floor
            # at the flow's noise where a frame has few boxes
            floor = max(floor, motion_floor(noise, min_motion=s.min_motion))
        return Motion(flow, magnitude, None, (dy / scale, dx / scale), floor, asked)

    def _motion(self, t: int) -> Motion:
        s = self.settings
        current = self.prepared(t)
        other = self.prepared(partner_frame(t, len(self.movie)))
        iterations = CELLS_FLOW_ITERATIONS if s.roi_rule == "cells" else FARNEBACK_ITERATIONS
        flow, (dy, dx) = aligned_flow(current, other, s.flow_method, iterations=iterations)
        scale = s.flow_scale
        flow = flow / scale
        magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
        saliency = motion_saliency(magnitude, s.saliency_weight)
        floor = motion_floor(magnitude, min_motion=s.min_motion)
        return Motion(flow, magnitude, saliency, (dy / scale, dx / scale), floor)

    def _frame_mask(self, t: int) -> np.ndarray:
        """The motion mask of frame t alone, at full resolution, before the adjacent union."""
        return grow(self.moved(t), self.settings.roi_margin)

    def _moved(self, t: int) -> np.ndarray:
        """:meth:`frame_mask` before it is grown by the margin (see :meth:`mask`)."""
        return to_shape(self.moved_small(t), self.shape)

    def _moved_small(self, t: int) -> np.ndarray:
        """:meth:`moved` at the flow resolution (before :func:`~.masks.to_shape`)."""
        s = self.settings
        if s.roi_rule == "cells":
            regions = self.regions(t)
            motion = self.region_motion(t)
            asked = motion.asked if motion.asked is not None else self.regions_to_test(t)
            keep = (
                moving_regions(
                    regions, motion.magnitude, floor=motion.floor, share=1.0 - s.roi_threshold
                )
                & asked
            )
            return regions.mask(keep)
        motion = self.motion(t)
        mask = threshold_saliency(motion.saliency, motion.magnitude, s.roi_threshold, s.min_motion)
        return clean_mask(
            mask,
            max(1, round(s.opening_size * s.flow_scale)),
            max(1, round(s.closing_size * s.flow_scale)),
            s.min_component_area * s.flow_scale**2,
        )

    def _sources_small(self, t: int) -> np.ndarray | None:
        """The union of frame t's moved regions and confident cells at the flow resolution, when
        bringing it to the frame's size gives the union of :meth:`moved` and :meth:`cells`
        (those two brought each on its own), else None: when the two masks have no 8-adjacent
        (or shared) pixels.

        Why: :func:`~.masks.to_shape` interpolates each output pixel from the 2x2 input pixels
        around it; pixels of the same 2x2 block are 8-adjacent, so where the masks do not touch
        every output pixel reads one of them only, and the union's resize is the resizes'
        union. One resize instead of two: on *E. coli*, whose frames are not halved exactly
        (727 rows), each is a linear resize of 0.5 ms, and its moving regions (candidates) never
        touch its confident cells (other regions of the same labelling)."""
        moved, cells = self.moved_small(t), self.regions(t).mask()
        if moved.shape != cells.shape:
            return None
        if moved.any() and cells.any():
            reach = cv2.dilate(moved.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
            if (reach & cells).any():
                return None
        return moved | cells

    # --- the RoI ------------------------------------------------------------------------------------
    def motion_mask(self, t: int) -> np.ndarray:
        """What moved in frames t-k .. t+k (k = adjacent factor), the FlowRoI mask."""
        if self.view is not None:
            return self._full(self.view.motion_mask(t))
        k = self.settings.adjacent_factor
        union = np.zeros(self.shape, bool)
        for u in range(max(0, t - k), min(len(self.movie), t + k + 1)):
            union |= self.frame_mask(u)
        return union

    def appearance_mask(self, t: int) -> np.ndarray:
        """The appearance source: confident cells of frame t grown by the margin."""
        if self.view is not None:
            return self._full(self.view.appearance_mask(t))
        return grow(self.cells(t), self.settings.roi_margin)

    def user_mask(self, t: int) -> np.ndarray | None:
        """The user's mask of frame t (any non-zero label), or None when there is none."""
        if self.extra_roi is None:
            return None
        extra = np.asarray(self.extra_roi[t])
        if extra.shape != self.shape:
            raise InputError(
                f"The RoI mask for frame {t} is {extra.shape[1]}x{extra.shape[0]}"
                f" pixels but the movie's frames are {self.shape[1]}x"
                f"{self.shape[0]}; give masks of the movie's size."
            )
        return extra != 0

    def mask(self, t: int) -> np.ndarray:
        """The RoI of frame t: the union of the sources switched on (motion, appearance) and the
        user's masks."""
        s = self.settings
        if self.view is not None:  # the margin too is in pixels of the view
            union = self._full(self.view.mask(t))
            user = self.user_mask(t)
            return union if user is None else union | user
        # the sources' masks before the margin, grown once: a dilation of a union is the union
        # of the dilations (the same pixels as motion_mask | appearance_mask), one full-resolution
        # dilation per frame instead of one per source and frame
        small = None
        if s.motion_roi and s.appearance_roi and s.adjacent_factor == 0:
            # one resize of the two sources' union where that is their resizes' union
            small = self._sources_small(t)
        if small is not None:
            union = to_shape(small, self.shape)
        else:
            union = np.zeros(self.shape, bool)
            if s.motion_roi:
                k = s.adjacent_factor
                for u in range(max(0, t - k), min(len(self.movie), t + k + 1)):
                    union |= self.moved(u)
            if s.appearance_roi:
                union |= self.cells(t)
        union = grow(union, s.roi_margin)
        user = self.user_mask(t)
        if user is not None:
            union |= user
        return union

    def frames_needed(self, t: int) -> range:
        """Input frames the mask of frame t reads (for planning chunks and lazy viewers)."""
        if not self.settings.motion_roi:
            return range(t, t + 1)
        k = self.settings.adjacent_factor
        first, last = max(0, t - k), min(len(self.movie) - 1, t + k)
        return range(max(0, first - 1), max(last, 1) + 1)
