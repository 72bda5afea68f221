"""Motion saliency and the region-of-interest mask of each frame.

Plain functions do one step each; :class:`RoiExtractor` strings them together for a movie and
caches what it computed, so the mask of frame t needs only frames t-1-k .. t+1+k and no flow is
computed twice (the batch runs a chunk of frames through one extractor; napari keeps one per
settings).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from .flow import aligned_flow
from .inputs import require_motion
from .preprocess import prepare_frame
from .settings import FlowRoISettings


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


def threshold_saliency(saliency: np.ndarray, magnitude: np.ndarray, keep_fraction: float,
                       min_motion: float) -> np.ndarray:
    """Keep the top `keep_fraction` of saliency, but never pixels moving less than `min_motion`."""
    cut = np.quantile(saliency, 1.0 - keep_fraction)
    return (saliency >= cut) & (magnitude >= min_motion) & (saliency > 0)


def _ellipse(size: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))


def clean_mask(mask: np.ndarray, opening: int, closing: int, min_area: float) -> np.ndarray:
    """Opening removes specks, closing fills holes, then components under `min_area` px go."""
    out = mask.astype(np.uint8)
    if opening > 1:
        out = cv2.morphologyEx(out, cv2.MORPH_OPEN, _ellipse(opening))
    if closing > 1:
        out = cv2.morphologyEx(out, cv2.MORPH_CLOSE, _ellipse(closing))
    if min_area > 0 and out.any():
        count, labels, stats, _ = cv2.connectedComponentsWithStats(out, connectivity=8)
        keep = np.zeros(count, bool)
        keep[1:] = stats[1:, cv2.CC_STAT_AREA] >= min_area
        out = keep[labels].astype(np.uint8)
    return out.astype(bool)


def grow(mask: np.ndarray, margin: int) -> np.ndarray:
    if margin <= 0 or not mask.any():
        return mask
    return cv2.dilate(mask.astype(np.uint8), _ellipse(2 * margin + 1)).astype(bool)


@dataclass(frozen=True)
class Motion:
    """What the flow step found for one frame (arrays at the flow resolution)."""

    flow: np.ndarray        # (h, w, 2) displacement dx, dy in full-resolution pixels per frame
    magnitude: np.ndarray   # (h, w) |flow|, full-resolution pixels per frame
    saliency: np.ndarray    # (h, w) in [0, 1]
    drift: tuple[float, float]  # global (dy, dx) removed before the flow, full-resolution pixels


#: Settings the flow of a frame depends on; extractors that agree on them can share flows.
MOTION_SETTINGS = ("denoise", "flow_scale", "flow_method", "saliency_weight")
#: Settings the appearance cells of a frame depend on (with the frame preparation).
CELL_SETTINGS = ("denoise", "flow_scale", "cell_contrast", "min_component_area")


def partner_frame(t: int, n_frames: int) -> int:
    """Frame t is compared with t-1; the first frame with frame 1 (the paper's pairing)."""
    return t - 1 if t > 0 else 1


class RoiExtractor:
    """Masks, flow and saliency of the frames of one movie under one set of settings."""

    def __init__(self, movie, settings: FlowRoISettings, cache_frames: int = 32,
                 extra_roi=None):
        """`extra_roi`: optional (T, Y, X) masks or labels (array or Movie) that are always
        protected, e.g. a segmentation or shapes drawn by the user."""
        if settings.motion_roi:
            require_motion(movie)
        self.movie = movie
        self.settings = settings
        self.extra_roi = extra_roi
        self.shape = tuple(movie.shape[1:])
        self.prepared = lru_cache(maxsize=cache_frames)(self._prepared)
        self.motion = lru_cache(maxsize=cache_frames)(self._motion)
        self.frame_mask = lru_cache(maxsize=cache_frames)(self._frame_mask)
        self.cells = lru_cache(maxsize=cache_frames)(self._cells)

    def with_settings(self, settings: FlowRoISettings) -> "RoiExtractor":
        """An extractor for other settings that reuses this one's frames and flows when the
        settings they depend on are the same (a threshold change recomputes masks only)."""
        other = RoiExtractor(self.movie, settings, self.prepared.cache_parameters()["maxsize"],
                             self.extra_roi)
        if all(getattr(settings, n) == getattr(self.settings, n) for n in MOTION_SETTINGS):
            other.prepared, other.motion = self.prepared, self.motion
        if all(getattr(settings, n) == getattr(self.settings, n) for n in CELL_SETTINGS):
            other.prepared, other.cells = self.prepared, self.cells
        return other

    def clear(self) -> None:
        """Drop every cached frame, flow and mask now. (The caches refer back to the extractor,
        so without this its arrays wait for Python's cycle collector: a batch grew by ~5 MB per
        1-MP frame before this was called at the end of each chunk.)"""
        for cached in (self.prepared, self.motion, self.frame_mask, self.cells):
            cached.cache_clear()

    def _prepared(self, t: int) -> np.ndarray:
        return prepare_frame(self.movie[t], self.settings)

    def _motion(self, t: int) -> Motion:
        s = self.settings
        current = self.prepared(t)
        other = self.prepared(partner_frame(t, len(self.movie)))
        flow, (dy, dx) = aligned_flow(current, other, s.flow_method)
        flow = flow / s.flow_scale
        magnitude = cv2.magnitude(flow[..., 0], flow[..., 1])
        saliency = motion_saliency(magnitude, s.saliency_weight)
        return Motion(flow, magnitude, saliency, (dy / s.flow_scale, dx / s.flow_scale))

    def _frame_mask(self, t: int) -> np.ndarray:
        """The mask of frame t from its own motion, at full resolution, before the adjacent union."""
        s = self.settings
        motion = self.motion(t)
        mask = threshold_saliency(motion.saliency, motion.magnitude, s.roi_threshold, s.min_motion)
        mask = clean_mask(mask, max(1, round(s.opening_size * s.flow_scale)),
                          max(1, round(s.closing_size * s.flow_scale)),
                          s.min_component_area * s.flow_scale ** 2)
        return grow(self._full_size(mask), s.roi_margin)

    def _cells(self, t: int) -> np.ndarray:
        """Cell-like structure of frame t from its appearance alone, at full resolution."""
        from .appearance import cell_mask_small

        return self._full_size(cell_mask_small(self.prepared(t), self.settings))

    def _full_size(self, mask: np.ndarray) -> np.ndarray:
        if mask.shape != self.shape:
            mask = cv2.resize(mask.astype(np.uint8), self.shape[::-1],
                              interpolation=cv2.INTER_NEAREST).astype(bool)
        return mask

    def motion_mask(self, t: int) -> np.ndarray:
        """What moved in frames t-k .. t+k (k = adjacent factor), the FlowRoI mask."""
        k = self.settings.adjacent_factor
        union = np.zeros(self.shape, bool)
        for u in range(max(0, t - k), min(len(self.movie), t + k + 1)):
            union |= self.frame_mask(u)
        return union

    def mask(self, t: int) -> np.ndarray:
        """The RoI of frame t: the union of the sources switched on (motion, appearance) and the
        user's masks."""
        s = self.settings
        union = self.motion_mask(t) if s.motion_roi else np.zeros(self.shape, bool)
        if s.appearance_roi:
            union |= grow(self.cells(t), s.roi_margin)
        if self.extra_roi is not None:
            extra = np.asarray(self.extra_roi[t])
            if extra.shape != self.shape:
                from .errors import InputError

                raise InputError(f"The RoI mask for frame {t} is {extra.shape[1]}x{extra.shape[0]}"
                                 f" pixels but the movie's frames are {self.shape[1]}x"
                                 f"{self.shape[0]}; give masks of the movie's size.")
            union |= extra != 0
        return union

    def frames_needed(self, t: int) -> range:
        """Input frames the mask of frame t reads (for planning chunks and lazy viewers)."""
        if not self.settings.motion_roi:
            return range(t, t + 1)
        k = self.settings.adjacent_factor
        first, last = max(0, t - k), min(len(self.movie) - 1, t + k)
        return range(max(0, first - 1), max(last, 1) + 1)
