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
(The rate-distortion curve of a frame is in :mod:`napari_flowroi.rd_curve`.)
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import cv2
import numpy as np

from ._cache import LRUCache
from .codec import decode_frame, encode_frame, encode_plain, prioritised_codes
from .errors import CancelledError, InputError
from .guard import BAND, FrameCoverage, frame_coverage, reference_cells
from .metrics import compression_rate, psnr, psnr_inside_outside, psnr_peak
from .readers import Movie, movie_from_array
from .roi import FramePool, RoiExtractor
from .settings import (
    RATE_SETTINGS,
    READOUT_SETTINGS,
    FlowRoISettings,
    mask_key,
    preview_key,
    reset,
)


@dataclass(frozen=True)
class FramePreview:
    """Everything shown for one frame under one set of settings."""

    t: int
    settings: FlowRoISettings
    mask: np.ndarray  # (Y, X) bool, the RoI the frame was coded with
    flow: np.ndarray | None  # (h, w, 2) flow at the flow resolution, None for plain settings
    magnitude: np.ndarray | None  # (h, w) flow magnitude in pixels per frame
    saliency: np.ndarray | None  # (h, w) motion saliency in [0, 1]
    flowroi: np.ndarray | None  # (Y, X) frame decoded after FlowRoI coding (None when coarse)
    plain: np.ndarray | None  # (Y, X) decoded after plain JPEG2000 at the same rate (idem)
    raw_bytes: int
    flowroi_bytes: int
    plain_bytes: int
    roi_fraction: float
    psnr_roi_flowroi: float
    psnr_outside_flowroi: float
    psnr_roi_plain: float
    psnr_outside_plain: float
    seconds: float  # wall time spent on this preview (cached parts count as 0)
    coverage: FrameCoverage | None = None  # the missed-cell guard; None in plain mode
    value_range: tuple[float, float] = (0.0, 0.0)  # darkest and brightest value of the frame
    coarse: bool = False  # True: mask, flow and guard only; not coded yet (figures are nan)
    #: the flow_scale the RoI was found at: settings.flow_scale, or 1.0 where the movie's cells
    #: were too small for it (resolution.working_settings); 0.0 for plain settings
    looked_at: float = 0.0

    @property
    def flowroi_rate(self) -> float:
        return (
            compression_rate(self.raw_bytes, self.flowroi_bytes)
            if self.flowroi_bytes
            else float("nan")
        )

    @property
    def plain_rate(self) -> float:
        return (
            compression_rate(self.raw_bytes, self.plain_bytes) if self.plain_bytes else float("nan")
        )

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
        return {
            "frame": self.t,
            "roi_fraction": self.roi_fraction,
            "seconds": self.seconds,
            "raw_bytes": self.raw_bytes,
            "cell_coverage": None if self.coverage is None else self.coverage.pixel_share,
            "flowroi": {
                "bytes": self.flowroi_bytes,
                "rate": self.flowroi_rate,
                "psnr_roi": self.psnr_roi_flowroi,
                "psnr_outside": self.psnr_outside_flowroi,
            },
            "plain": {
                "bytes": self.plain_bytes,
                "rate": self.plain_rate,
                "psnr_roi": self.psnr_roi_plain,
                "psnr_outside": self.psnr_outside_plain,
            },
        }


class Previewer:
    """Per-frame previews of one movie, cached per (settings, frame).

    Thread-safe: the widget computes in worker threads and reads the cache from the GUI thread.
    `computed` lists every (settings, frame) whose preview was actually computed, in order, so a
    test can prove that only the visible frame was.
    """

    def __init__(self, movie: Any, cache_frames: int = 24, extra_roi=None):
        self.movie: Movie = movie if isinstance(movie, Movie) else movie_from_array(movie)
        self.extra_roi = extra_roi
        self._previews = LRUCache(cache_frames)
        self._plain = LRUCache(cache_frames)
        self._extractors = LRUCache(8)  # settings -> RoiExtractor (its mask cache)
        # the movie's one cache of prepared frames, flows and cells, shared by every extractor
        self._pool = FramePool(capacity=32)
        self._frames = LRUCache(8)
        self._coarse = LRUCache(3 * cache_frames)
        self._prioritised = LRUCache(4)  # (priority_key, t) -> codes before the encoder
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
            self._coarse.clear()
            self._prioritised.clear()
            self._extractors.clear()  # the pool stays: flows do not depend on the user's masks

    # --- pieces ------------------------------------------------------------------------------------
    def frame(self, t: int) -> np.ndarray:
        frame = self._frames.get(t)
        if frame is None:
            frame = np.asarray(self.movie[t])
            if frame.dtype.kind == "f" and not np.isfinite(frame).all():
                bad = int(np.count_nonzero(~np.isfinite(frame)))
                raise InputError(
                    f"Frame {t} holds {bad} pixels that are not numbers (NaN or infinity); "
                    "JPEG2000 cannot code them. Replace them (for example with 0 or the frame's "
                    "median) before compressing."
                )
            frame = self._frames.put(t, frame)
        return frame

    def extractor(self, settings: FlowRoISettings) -> RoiExtractor:
        """An extractor for `settings`; all share the movie's FramePool, so flows, prepared frames
        and cells are computed once for all settings that agree on what they depend on."""
        settings = mask_key(settings)
        with self._lock:
            extractor = self._extractors.get(settings)
            if extractor is not None:
                return extractor
            extractor = RoiExtractor(
                self.movie, settings, extra_roi=self.extra_roi, pool=self._pool
            )
            return self._extractors.put(settings, extractor)

    def plain(self, compression_rate: float, t: int):
        """(EncodedFrame, decoded frame) of plain JPEG2000 at `compression_rate`, cached."""
        key = (float(compression_rate), t)
        result = self._plain.get(key)
        if result is None:
            encoded = encode_plain(self.frame(t), rate=float(compression_rate))
            result = self._plain.put(key, (encoded, decode_frame(encoded)))
        return result

    # --- the preview -------------------------------------------------------------------------------
    def cached(self, settings: FlowRoISettings, t: int) -> FramePreview | None:
        """The preview if it was computed already, else None (never computes)."""
        return self._previews.get((preview_key(settings), int(t)))

    def cached_coarse(self, settings: FlowRoISettings, t: int) -> FramePreview | None:
        """The full preview, else the coarse one (mask, flow, guard; also that of other coding
        settings with the same mask), else None; never computes."""
        found = self.cached(settings, t)
        if found is not None:
            return found
        key, t = preview_key(settings), int(t)
        found = self._coarse.get((key, t))
        if found is None and settings.uses_roi:
            same_mask = self._coarse.get((mask_key(settings), t))
            if same_mask is not None:
                found = self._coarse.put((key, t), replace(same_mask, settings=key, seconds=0.0))
        return found

    def coarse(self, settings: FlowRoISettings, t: int) -> FramePreview:
        """The cheap part of a preview: RoI mask, flow and missed-cell guard, not coded
        (cached; the full preview reuses it)."""
        t = int(t)
        if not 0 <= t < self.shape[0]:
            raise IndexError(f"frame {t} outside 0..{self.shape[0] - 1}")
        key = preview_key(settings)
        found = self._coarse.get((key, t))
        if found is not None:
            return found
        same_mask = self._coarse.get((mask_key(settings), t))  # a coding change: mask reused
        if same_mask is not None and settings.uses_roi:
            return self._coarse.put((key, t), replace(same_mask, settings=key, seconds=0.0))
        started = time.perf_counter()
        frame = self.frame(t)
        flow = magnitude = saliency = None
        looked_at = 0.0
        if settings.uses_roi:
            extractor = self.extractor(settings)
            mask = extractor.mask(t)
            looked_at = extractor.settings.flow_scale
            if settings.motion_roi:
                motion = extractor.motion(t)
                flow, magnitude, saliency = motion.flow, motion.magnitude, motion.saliency
        else:
            mask = np.zeros(frame.shape, bool)
        nan = float("nan")
        coarse = FramePreview(
            t=t,
            settings=key,
            mask=mask,
            flow=flow,
            magnitude=magnitude,
            saliency=saliency,
            flowroi=None,
            plain=None,
            raw_bytes=frame.nbytes,
            flowroi_bytes=0,
            plain_bytes=0,
            roi_fraction=float(mask.mean()),
            psnr_roi_flowroi=nan,
            psnr_outside_flowroi=nan,
            psnr_roi_plain=nan,
            psnr_outside_plain=nan,
            seconds=time.perf_counter() - started,
            coverage=None,
            value_range=(float(frame.min()), float(frame.max())),
            coarse=True,
            looked_at=looked_at,
        )
        if settings.uses_roi:
            self._coarse.put((mask_key(settings), t), coarse)
        return self._coarse.put((key, t), coarse)

    def preview(
        self,
        settings: FlowRoISettings,
        t: int,
        cancel: threading.Event | None = None,
        on_coarse: Callable[[FramePreview], None] | None = None,
    ) -> FramePreview:
        """The preview of frame `t` under `settings` (computed once, then cached).

        In two steps: the RoI mask, flow and missed-cell guard (cheap), handed to `on_coarse`,
        then the FlowRoI and plain JPEG2000 codings, run side by side. `cancel` (set when the
        user has moved on) stops between the steps with CancelledError. A frame outside the
        movie raises IndexError (from `coarse`)."""
        t = int(t)
        key = preview_key(settings)
        found = self._previews.get((key, t))
        if found is not None:
            return found
        started = time.perf_counter()
        coarse = self.coarse(settings, t)
        if on_coarse is not None:
            on_coarse(coarse)
        if cancel is not None and cancel.is_set():
            raise CancelledError("superseded")
        frame, mask = self.frame(t), coarse.mask
        flow, magnitude, saliency = coarse.flow, coarse.magnitude, coarse.saliency
        peak = psnr_peak(frame)
        from concurrent.futures import ThreadPoolExecutor

        # the codec, OpenCV and numpy release the GIL: the guard and the plain coding run beside
        # the FlowRoI coding
        with ThreadPoolExecutor(2) as pool:
            coverage = (
                pool.submit(
                    lambda: frame_coverage(
                        t, mask, reference_cells(self.extractor(settings), t), band=BAND
                    )
                )
                if settings.uses_roi
                else None
            )
            encoded, flowroi, plain_encoded, plain = self._code(frame, mask, settings, t, pool)
            plain_psnr = pool.submit(psnr_inside_outside, frame, plain, mask, peak)
            roi_flowroi, outside_flowroi = psnr_inside_outside(frame, flowroi, mask, peak)
            roi_plain, outside_plain = plain_psnr.result()
            coverage = None if coverage is None else coverage.result()
        result = FramePreview(
            t=t,
            settings=key,
            mask=mask,
            flow=flow,
            magnitude=magnitude,
            saliency=saliency,
            flowroi=flowroi,
            plain=plain,
            raw_bytes=encoded.raw_bytes,
            flowroi_bytes=encoded.bytes_written,
            plain_bytes=plain_encoded.bytes_written,
            roi_fraction=float(mask.mean()),
            psnr_roi_flowroi=roi_flowroi,
            psnr_outside_flowroi=outside_flowroi,
            psnr_roi_plain=roi_plain,
            psnr_outside_plain=outside_plain,
            seconds=coarse.seconds + time.perf_counter() - started,
            coverage=coverage,
            value_range=coarse.value_range,
            looked_at=coarse.looked_at,
        )
        with self._lock:
            self.computed.append((key, t))
        return self._previews.put((key, t), result)

    def size_factor(
        self,
        preview: FramePreview,
        inside: np.ndarray,
        steps: int = 3,
        cancel: threading.Event | None = None,
    ) -> float | None:
        """How many times smaller FlowRoI is than plain JPEG2000 at the same PSNR inside the
        pixels `inside` (the widget passes the cells): plain JPEG2000 is coded at rates halving or
        doubling from the preview's until its PSNR there crosses FlowRoI's, then the rate is
        interpolated in log scale (None if not crossed, or nothing is inside)."""
        if preview.coarse or not preview.settings.uses_roi or not inside.any():
            return None
        frame = self.frame(preview.t)
        peak = psnr_peak(frame)
        target = float(psnr(frame, preview.flowroi, inside, peak))
        rate, quality = preview.plain_rate, float(psnr(frame, preview.plain, inside, peak))
        step = 0.5 if target > quality else 2.0
        for _ in range(steps):
            if cancel is not None and cancel.is_set():
                return None
            next_rate = rate * step
            if next_rate <= 1.05:
                return None
            encoded, decoded = self.plain(round(next_rate, 2), preview.t)
            next_rate = compression_rate(encoded.raw_bytes, encoded.bytes_written)
            next_quality = float(psnr(frame, decoded, inside, peak))
            if (next_quality - target) * (quality - target) <= 0 and next_quality != quality:
                w = (target - quality) / (next_quality - quality)
                matched = float(np.exp(np.log(rate) + w * (np.log(next_rate) - np.log(rate))))
                return preview.flowroi_rate / matched
            rate, quality = next_rate, next_quality
        return None

    def prioritised(self, frame, mask, settings: FlowRoISettings, t: int) -> np.ndarray:
        """Frame t with the RoI priority given (codec.prioritised_codes), kept for the last few
        (settings, frame): it does not depend on the rate, so a new compression rate re-codes
        without recomputing it (~25 ms on 1.4 MP)."""
        key = (reset(settings, RATE_SETTINGS + READOUT_SETTINGS), t)
        found = self._prioritised.get(key)
        if found is None:
            found = self._prioritised.put(key, prioritised_codes(frame, mask, settings))
        return found

    def _code(self, frame, mask, settings: FlowRoISettings, t: int, pool):
        """(FlowRoI encoded, decoded, plain encoded, decoded); both codings at once when the
        plain rate is known in advance."""
        if settings.target_psnr > 0:  # the baseline is plain JPEG2000 at the size reached
            encoded = (
                encode_frame(frame, mask, settings)
                if settings.uses_roi
                else encode_plain(frame, settings)
            )
            flowroi = decode_frame(encoded)
            rate = round(compression_rate(encoded.raw_bytes, encoded.bytes_written), 1)
            plain_encoded, plain = self.plain(rate, t)
            return encoded, flowroi, plain_encoded, plain
        rate = settings.compression_rate
        if not settings.uses_roi:
            plain_encoded, plain = self.plain(rate, t)
            return plain_encoded, plain, plain_encoded, plain
        plain_future = pool.submit(self.plain, rate, t)  # two encodes at once
        encoded = encode_frame(
            frame, mask, settings, prioritised=self.prioritised(frame, mask, settings, t)
        )
        flowroi = decode_frame(encoded)
        plain_encoded, plain = plain_future.result()
        return encoded, flowroi, plain_encoded, plain


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


def lazy_stack(shape: tuple[int, int, int], dtype, frame: Callable[[int], np.ndarray], name: str):
    """A (T, Y, X) dask array with one chunk per frame; chunk t is `frame(t)`, computed on demand."""
    import dask.array as da

    def block(block_id=None):
        return np.asarray(frame(block_id[0]))[np.newaxis]

    return da.map_blocks(
        block,
        dtype=dtype,
        chunks=((1,) * shape[0], (shape[1],), (shape[2],)),
        name=name,
        meta=np.empty((0, 0, 0), dtype),
    )


def preview_stack(previewer: Previewer, settings: FlowRoISettings, what: str):
    """A lazy stack of one preview view ('mask', 'magnitude', 'saliency', 'flowroi', 'plain');
    indexing a frame computes (or reuses) that frame's preview only."""
    getter = LAYER_VIEWS[what][1]
    name = f"flowroi-preview-{what}-{id(previewer):x}-{hash(settings) & 0xFFFFFFFF:x}"
    return lazy_stack(
        previewer.shape,
        view_dtype(what, previewer.dtype),
        lambda t: getter(previewer.preview(settings, t)),
        name,
    )
