"""What the napari widget shows for one frame, computed with the core and without Qt.

:class:`Previewer` holds one movie and computes, for a frame and a :class:`FlowRoISettings`, a
:class:`FramePreview`: the RoI mask, the flow magnitude and motion saliency, the frame decoded
after FlowRoI coding and after plain JPEG2000 coding at the same rate, their sizes and achieved
rates, PSNR inside and outside the RoI for both, the RoI fraction and the time taken.

Results are cached per (settings, frame), and the expensive parts are shared between settings
that do not change them: the flow of a frame is reused when only the threshold, the clean-up or
the coding settings change, and the plain JPEG2000 frame depends on the compression rate alone.
So a threshold change recomputes the mask and one FlowRoI encode of the visible frame, nothing else.

:func:`preview_stack` turns a previewer into lazy dask arrays (one chunk per frame) for scripts;
:func:`rate_distortion` measures PSNR inside the RoI against the compression rate for one frame.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import cv2
import numpy as np

from .codec import decode_frame, encode_frame, encode_plain
from .inputs import Movie, movie_from_array
from .metrics import psnr
from .guard import FrameCoverage, frame_coverage
from .roi import MOTION_SETTINGS, RoiExtractor
from .settings import FlowRoISettings


#: Compression rates of the rate-distortion curve (the current rate is added to them).
DEFAULT_RD_RATES = (10.0, 20.0, 40.0, 80.0, 160.0, 320.0)


def motion_key(settings: FlowRoISettings) -> tuple:
    return tuple(getattr(settings, name) for name in MOTION_SETTINGS)


def _db(*args) -> float:
    return float(psnr(*args))


def psnr_peak(frame: np.ndarray) -> float | None:
    """The PSNR peak: the dtype maximum for integers, the frame's value range for floats."""
    if frame.dtype.kind == "f":
        span = float(frame.max() - frame.min())
        return span if span > 0 else 1.0
    return None


@dataclass(frozen=True)
class FramePreview:
    """Everything shown for one frame under one set of settings."""

    t: int
    settings: FlowRoISettings
    mask: np.ndarray             # (Y, X) bool, the RoI the frame was coded with
    flow: np.ndarray | None      # (h, w, 2) flow at the flow resolution, None for plain settings
    magnitude: np.ndarray | None  # (h, w) flow magnitude in pixels per frame
    saliency: np.ndarray | None   # (h, w) motion saliency in [0, 1]
    flowroi: np.ndarray          # (Y, X) frame decoded after FlowRoI coding
    plain: np.ndarray            # (Y, X) frame decoded after plain JPEG2000 at the same rate
    raw_bytes: int
    flowroi_bytes: int
    plain_bytes: int
    roi_fraction: float
    psnr_roi_flowroi: float
    psnr_outside_flowroi: float
    psnr_roi_plain: float
    psnr_outside_plain: float
    seconds: float               # wall time spent on this preview (cached parts count as 0)
    coverage: FrameCoverage | None = None  # the missed-cell guard; None in plain mode

    @property
    def flowroi_rate(self) -> float:
        return self.raw_bytes / self.flowroi_bytes

    @property
    def plain_rate(self) -> float:
        return self.raw_bytes / self.plain_bytes

    def full_size(self, what: str) -> np.ndarray:
        """'magnitude' or 'saliency' resized to the frame (zeros for plain settings)."""
        image = getattr(self, what)
        shape = self.mask.shape
        if image is None:
            return np.zeros(shape, np.float32)
        if image.shape != shape:
            image = cv2.resize(image, shape[::-1], interpolation=cv2.INTER_LINEAR)
        return image.astype(np.float32, copy=False)

    def readout(self) -> dict[str, Any]:
        """The figures of the readout, as plain numbers (for reports and tests)."""
        return {"frame": self.t, "roi_fraction": self.roi_fraction, "seconds": self.seconds,
                "raw_bytes": self.raw_bytes,
                "cell_coverage": None if self.coverage is None else self.coverage.pixel_share,
                "flowroi": {"bytes": self.flowroi_bytes, "rate": self.flowroi_rate,
                            "psnr_roi": self.psnr_roi_flowroi,
                            "psnr_outside": self.psnr_outside_flowroi},
                "plain": {"bytes": self.plain_bytes, "rate": self.plain_rate,
                          "psnr_roi": self.psnr_roi_plain, "psnr_outside": self.psnr_outside_plain}}


class _Cache:
    """A small thread-safe LRU cache."""

    def __init__(self, size: int):
        self.size = size
        self._data: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                return self._data[key]
        return None

    def put(self, key, value):
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
        return value

    def __contains__(self, key) -> bool:
        with self._lock:
            return key in self._data

    def clear(self):
        with self._lock:
            self._data.clear()


class Previewer:
    """Per-frame previews of one movie, cached per (settings, frame).

    Thread-safe: the widget computes in worker threads and reads the cache from the GUI thread.
    `computed` lists every (settings, frame) whose preview was actually computed, in order, so a
    test can prove that only the visible frame was.
    """

    def __init__(self, movie: Any, cache_frames: int = 24, extra_roi=None):
        self.movie: Movie = movie if isinstance(movie, Movie) else movie_from_array(movie)
        self.extra_roi = extra_roi
        self._previews = _Cache(cache_frames)
        self._plain = _Cache(cache_frames)
        self._extractors = _Cache(8)       # settings -> RoiExtractor (mask caches)
        self._motion_sources = _Cache(4)   # motion key -> RoiExtractor (flow caches)
        self._frames = _Cache(8)
        self._lock = threading.Lock()
        self.computed: list[tuple[FlowRoISettings, int]] = []

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.movie.shape)

    @property
    def dtype(self) -> np.dtype:
        return self.movie.dtype

    def set_extra_roi(self, extra_roi) -> None:
        """Protect these (T, Y, X) masks too (None: no user masks); drops what depended on them."""
        with self._lock:
            self.extra_roi = extra_roi
            self._previews.clear()
            self._extractors.clear()
            self._motion_sources.clear()

    # --- pieces ------------------------------------------------------------------------------------
    def frame(self, t: int) -> np.ndarray:
        frame = self._frames.get(t)
        if frame is None:
            frame = self._frames.put(t, self.movie[t])
        return frame

    def extractor(self, settings: FlowRoISettings) -> RoiExtractor:
        """An extractor for `settings` that shares the flow of earlier settings with the same motion."""
        with self._lock:
            extractor = self._extractors.get(settings)
            if extractor is not None:
                return extractor
            source = self._motion_sources.get(motion_key(settings))
            if source is None:
                extractor = self._motion_sources.put(
                    motion_key(settings), RoiExtractor(self.movie, settings,
                                                       extra_roi=self.extra_roi))
            else:
                extractor = source.with_settings(settings)
            return self._extractors.put(settings, extractor)

    def plain(self, compression_rate: float, t: int):
        """(EncodedFrame, decoded frame) of plain JPEG2000 at `compression_rate`, cached."""
        key = (float(compression_rate), t)
        result = self._plain.get(key)
        if result is None:
            settings = FlowRoISettings(compression_rate=float(compression_rate), plain=True)
            encoded = encode_plain(self.frame(t), settings)
            result = self._plain.put(key, (encoded, decode_frame(encoded)))
        return result

    # --- the preview -------------------------------------------------------------------------------
    def cached(self, settings: FlowRoISettings, t: int) -> FramePreview | None:
        """The preview if it was computed already, else None (never computes)."""
        return self._previews.get((settings, t))

    def preview(self, settings: FlowRoISettings, t: int) -> FramePreview:
        """The preview of frame `t` under `settings` (computed once, then cached)."""
        t = int(t)
        if not 0 <= t < self.shape[0]:
            raise IndexError(f"frame {t} outside 0..{self.shape[0] - 1}")
        found = self.cached(settings, t)
        if found is not None:
            return found
        started = time.perf_counter()
        frame = self.frame(t)
        coverage = None
        flow = magnitude = saliency = None
        if settings.uses_roi:
            extractor = self.extractor(settings)
            mask = extractor.mask(t)
            if settings.motion_roi:
                motion = extractor.motion(t)
                flow, magnitude, saliency = motion.flow, motion.magnitude, motion.saliency
            encoded = encode_frame(frame, mask, settings)
            flowroi = decode_frame(encoded)
            coverage = frame_coverage(t, mask, extractor.cells(t))
        else:
            mask = np.zeros(frame.shape, bool)
            if settings.target_psnr > 0:
                encoded = encode_plain(frame, settings)
                flowroi = decode_frame(encoded)
        rate = settings.compression_rate
        if settings.target_psnr > 0:  # the baseline is plain JPEG2000 at the size reached
            rate = round(encoded.raw_bytes / encoded.bytes_written, 1)
        plain_encoded, plain = self.plain(rate, t)
        if not settings.uses_roi and settings.target_psnr == 0:
            encoded, flowroi = plain_encoded, plain
        peak = psnr_peak(frame)
        outside = ~mask
        result = FramePreview(
            t=t, settings=settings, mask=mask, flow=flow, magnitude=magnitude, saliency=saliency,
            flowroi=flowroi, plain=plain, raw_bytes=encoded.raw_bytes,
            flowroi_bytes=encoded.bytes_written, plain_bytes=plain_encoded.bytes_written,
            roi_fraction=float(mask.mean()),
            psnr_roi_flowroi=_db(frame, flowroi, mask, peak),
            psnr_outside_flowroi=_db(frame, flowroi, outside, peak),
            psnr_roi_plain=_db(frame, plain, mask, peak),
            psnr_outside_plain=_db(frame, plain, outside, peak),
            seconds=time.perf_counter() - started, coverage=coverage)
        with self._lock:
            self.computed.append((settings, t))
        return self._previews.put((settings, t), result)


# --- lazy stacks -------------------------------------------------------------------------------------

#: What a preview stack can show: name -> (dtype of the layer or None for the movie's, getter).
LAYER_VIEWS: dict[str, tuple[Any, Callable[[FramePreview], np.ndarray]]] = {
    "mask": (np.uint8, lambda p: p.mask.astype(np.uint8)),
    "magnitude": (np.float32, lambda p: p.full_size("magnitude")),
    "saliency": (np.float32, lambda p: p.full_size("saliency")),
    "flowroi": (None, lambda p: p.flowroi),
    "plain": (None, lambda p: p.plain),
}


def view_dtype(what: str, movie_dtype) -> np.dtype:
    dtype = LAYER_VIEWS[what][0]
    return np.dtype(movie_dtype if dtype is None else dtype)


def lazy_stack(shape: tuple[int, int, int], dtype, frame: Callable[[int], np.ndarray],
               name: str):
    """A (T, Y, X) dask array with one chunk per frame; chunk t is `frame(t)`, computed on demand."""
    import dask.array as da

    def block(block_id=None):
        return np.asarray(frame(block_id[0]))[np.newaxis]

    return da.map_blocks(block, dtype=dtype, chunks=((1,) * shape[0], (shape[1],), (shape[2],)),
                         name=name, meta=np.empty((0, 0, 0), dtype))


def preview_stack(previewer: Previewer, settings: FlowRoISettings, what: str):
    """A lazy stack of one preview view ('mask', 'magnitude', 'saliency', 'flowroi', 'plain');
    indexing a frame computes (or reuses) that frame's preview only."""
    getter = LAYER_VIEWS[what][1]
    name = f"flowroi-preview-{what}-{id(previewer):x}-{hash(settings) & 0xFFFFFFFF:x}"
    return lazy_stack(previewer.shape, view_dtype(what, previewer.dtype),
                      lambda t: getter(previewer.preview(settings, t)), name)


# --- rate-distortion ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RateDistortion:
    """PSNR inside the RoI against the achieved compression rate for one frame."""

    t: int
    roi_fraction: float
    flowroi_rates: np.ndarray
    flowroi_psnr_roi: np.ndarray
    plain_rates: np.ndarray
    plain_psnr_roi: np.ndarray


def rate_distortion(previewer: Previewer, settings: FlowRoISettings, t: int,
                    rates: Sequence[float] = DEFAULT_RD_RATES,
                    cancel: threading.Event | None = None) -> RateDistortion:
    """Code frame `t` at each rate with FlowRoI and plain JPEG2000; PSNR inside this frame's RoI.

    The RoI is the mask of `settings` (the same for every rate and both codings), so the two
    curves compare like with like."""
    rates = sorted({float(r) for r in rates} | {float(settings.compression_rate)})
    frame = previewer.frame(t)
    if settings.uses_roi:
        mask = previewer.extractor(settings).mask(t)
    else:
        mask = np.ones(frame.shape, bool)
    peak = psnr_peak(frame)
    out = {"fr": [], "fp": [], "pr": [], "pp": []}
    for rate in rates:
        if cancel is not None and cancel.is_set():
            break
        plain_encoded, plain = previewer.plain(rate, t)
        out["pr"].append(plain_encoded.raw_bytes / plain_encoded.bytes_written)
        out["pp"].append(_db(frame, plain, mask, peak))
        if settings.uses_roi:
            encoded = encode_frame(frame, mask, settings.replace(compression_rate=rate))
            decoded = decode_frame(encoded)
        else:
            encoded, decoded = plain_encoded, plain
        out["fr"].append(encoded.raw_bytes / encoded.bytes_written)
        out["fp"].append(_db(frame, decoded, mask, peak))
    return RateDistortion(t=t, roi_fraction=float(mask.mean()),
                          flowroi_rates=np.array(out["fr"]), flowroi_psnr_roi=np.array(out["fp"]),
                          plain_rates=np.array(out["pr"]), plain_psnr_roi=np.array(out["pp"]))
