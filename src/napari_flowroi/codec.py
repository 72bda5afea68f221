"""RoI-aware JPEG2000 coding of single frames.

OpenJPEG has no spatial RoI coding (see docs/codec.md), so the priority of RoI pixels is made
before the encoder: outside the RoI the fine detail around a low-pass base is divided by the
scaling factor, with a feathered edge, and the frame is then coded as standard JPEG2000 at the
target rate. The encoder spends the bytes the background no longer needs on the cells, and any
JPEG2000 reader shows the result with nothing to undo.
"""

from __future__ import annotations

import math
import os
import tempfile
import uuid
from dataclasses import dataclass

import cv2
import numpy as np

from ._openjpeg import ensure_openjpeg
from .container._masks import MASK_SHARE, encode_mask  # the stored-mask format is the container's
from .settings import FlowRoISettings

#: Largest number of wavelet resolutions used (OpenJPEG's default is 6).
MAX_RESOLUTIONS = 6
#: How close to the byte budget a frame must land before rate control stops re-encoding.
RATE_TOLERANCE = 0.02
MAX_RATE_ATTEMPTS = 4
FLOAT_CODE_MAX = 65535


@dataclass(frozen=True)
class EncodedFrame:
    """One coded frame: the JP2 file, its RoI mask (PNG) and what is needed to decode it exactly."""

    jp2: bytes
    mask_png: bytes | None
    raw_bytes: int
    shape: tuple[int, int]
    dtype: str
    value_range: tuple[float, float] | None  # float inputs: the range mapped onto 16-bit codes
    roi_fraction: float

    @property
    def bytes_written(self) -> int:
        return len(self.jp2) + (len(self.mask_png) if self.mask_png else 0)


# --- RoI priority ------------------------------------------------------------------------------------

def roi_weight(mask: np.ndarray, feather: float) -> np.ndarray:
    """1 inside the RoI, falling linearly to 0 over `feather` pixels outside it."""
    mask = np.asarray(mask, bool)
    if feather <= 0 or not mask.any() or mask.all():
        return mask.astype(np.float32)
    distance = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    return np.clip(1.0 - distance / feather, 0.0, 1.0)


def prioritise_roi(image: np.ndarray, mask: np.ndarray, settings: FlowRoISettings) -> np.ndarray:
    """Divide background detail (image minus its low-pass base) by the scaling factor."""
    if settings.scaling_factor == 1 or mask.all():
        return image
    values = image.astype(np.float32)
    base = cv2.GaussianBlur(values, (0, 0), settings.background_sigma,
                            borderType=cv2.BORDER_REFLECT)
    attenuation = 1.0 / settings.scaling_factor
    gain = roi_weight(mask, settings.feather)
    gain *= 1.0 - attenuation
    gain += attenuation
    # in place, with OpenCV: this runs on every frame and numpy's temporaries cost as much as the blur
    cv2.subtract(values, base, dst=values)
    cv2.multiply(values, gain, dst=values)
    cv2.add(values, base, dst=values)
    info = np.iinfo(image.dtype)
    np.clip(values, info.min, info.max, out=values)
    return np.rint(values, out=values).astype(image.dtype)


# --- sample values <-> codec integers --------------------------------------------------------------

def to_codec_values(frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """uint8/uint16 go as they are; floats are mapped linearly onto 16-bit codes.

    Returns
    -------
    codes : ndarray of uint8 or uint16
    value_range : (low, high) or None
        For floats, the frame's lowest and highest value (codes 0 and FLOAT_CODE_MAX).

    Notes
    -----
    The span ``high - low`` of a float64 frame can overflow (values near +-1.8e308), so the
    position of a value in the range is computed from halves, which cannot.
    """
    if frame.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(frame), None
    low, high = float(frame.min()), float(frame.max())
    half_span = high / 2 - low / 2
    if not half_span > 0:
        return np.zeros(frame.shape, np.uint16), (low, high)
    position = (frame.astype(np.float64) / 2 - low / 2) / half_span
    codes = np.rint(np.clip(position, 0.0, 1.0) * FLOAT_CODE_MAX)
    return codes.astype(np.uint16), (low, high)


def from_codec_values(codes: np.ndarray, dtype: str, value_range) -> np.ndarray:
    """The inverse of :func:`to_codec_values` (floats: ``low + code / FLOAT_CODE_MAX * span``,
    written as a weighted mean of low and high so that it cannot overflow)."""
    if value_range is None:
        return codes.astype(dtype, copy=False)
    low, high = (float(v) for v in value_range)
    weight = codes.astype(np.float64) / FLOAT_CODE_MAX
    values = low * (1.0 - weight) + high * weight
    if np.dtype(dtype) == np.float32:  # a float32 range stays inside float32
        np.clip(values, low, high, out=values)
    return values.astype(dtype)


# --- JPEG2000 through glymur ----------------------------------------------------------------------

def _scratch_dir() -> str | None:
    # glymur writes files only; RAM-backed /dev/shm keeps that off the disk where there is one.
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def resolutions_for(shape: tuple[int, int]) -> int:
    """Wavelet resolutions that fit the frame (each level halves it; OpenJPEG needs >= 1 px)."""
    return max(1, min(MAX_RESOLUTIONS, int(math.log2(max(1, min(shape)))) + 1))


def encode_jp2(codes: np.ndarray, cratio: float) -> bytes:
    """A standard JP2 file (9/7 irreversible wavelet) at compression ratio `cratio` (codec bytes)."""
    glymur = ensure_openjpeg()
    # glymur refuses to write over an existing (even empty) file, so only a fresh name will do.
    path = os.path.join(_scratch_dir() or tempfile.gettempdir(), f"flowroi-{uuid.uuid4().hex}.jp2")
    try:
        glymur.Jp2k(path, data=codes, cratios=[max(1.0, cratio)], irreversible=True,
                    numres=resolutions_for(codes.shape))
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def decode_jp2(data: bytes) -> np.ndarray:
    """Decode JP2 bytes to the integer codes they hold."""
    glymur = ensure_openjpeg()
    fd, path = tempfile.mkstemp(suffix=".jp2", dir=_scratch_dir())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        return glymur.Jp2k(path)[:]
    finally:
        os.unlink(path)


def read_jp2_file(path) -> np.ndarray:
    return ensure_openjpeg().Jp2k(str(path))[:]


# --- whole frames ------------------------------------------------------------------------------------

def encode_frame(frame: np.ndarray, mask: np.ndarray | None, settings: FlowRoISettings,
                 overhead_bytes: int = 0) -> EncodedFrame:
    """Code one frame at the settings' compression rate, or at their target PSNR when set.

    The byte budget (raw bytes / rate) covers the JP2 file, the stored mask and `overhead_bytes`
    (the frame's share of the manifest), so the achieved rate counts every byte written. OpenJPEG's
    own rate control lands close but not exactly on its target, so the ratio passed to it is
    corrected and the frame re-encoded until it is within RATE_TOLERANCE of the budget.
    """
    frame = np.asarray(frame)
    codes, value_range = to_codec_values(frame)
    raw_bytes = frame.nbytes
    mask_png = None
    roi_fraction = 0.0
    if mask is not None:
        mask = np.asarray(mask, bool)
        roi_fraction = float(mask.mean())
        codes = prioritise_roi(codes, mask, settings)
        mask_png = encode_mask(mask, MASK_SHARE * raw_bytes / settings.compression_rate)
    if settings.target_psnr > 0:
        original, _ = to_codec_values(frame)
        jp2 = _encode_to_quality(codes, original, mask, settings.target_psnr)
    else:
        budget = raw_bytes / settings.compression_rate
        fixed = overhead_bytes + (len(mask_png) if mask_png else 0)
        jp2 = _encode_to_budget(codes, budget - fixed)
    return EncodedFrame(jp2=jp2, mask_png=mask_png, raw_bytes=raw_bytes, shape=frame.shape,
                        dtype=str(frame.dtype), value_range=value_range, roi_fraction=roi_fraction)


#: Search range and steps of the target-quality mode (compression ratios handed to OpenJPEG).
QUALITY_RATIO_RANGE = (1.0, 2000.0)
QUALITY_STEPS = 9


def _encode_to_quality(codes: np.ndarray, original: np.ndarray, mask: np.ndarray | None,
                       target_db: float) -> bytes:
    """The smallest file whose PSNR inside the RoI (the whole frame when there is none) reaches
    `target_db`: bisection on log(compression ratio). PSNR is measured on the original values
    (for floats on their 16-bit codes), against the frame before background damping."""
    from .metrics import peak_value, psnr

    where = mask if mask is not None and mask.any() else None
    peak = peak_value(original.dtype)

    def quality(jp2: bytes) -> float:
        return psnr(original, decode_jp2(jp2), where, peak)

    low, high = (np.log(r) for r in QUALITY_RATIO_RANGE)  # low ratio: big file, high quality
    best = encode_jp2(codes, QUALITY_RATIO_RANGE[0])  # meets the target if anything does
    if quality(best) < target_db:
        return best
    for _ in range(QUALITY_STEPS):
        middle = (low + high) / 2
        jp2 = encode_jp2(codes, float(np.exp(middle)))
        if quality(jp2) >= target_db:
            best, low = jp2, middle
        else:
            high = middle
    return best


def _encode_to_budget(codes: np.ndarray, budget: float) -> bytes:
    budget = max(budget, 64.0)
    cratio = codes.nbytes / budget
    best = None
    for _ in range(MAX_RATE_ATTEMPTS):
        jp2 = encode_jp2(codes, cratio)
        error = len(jp2) / budget - 1.0
        if best is None or abs(error) < abs(len(best) / budget - 1.0):
            best = jp2
        if abs(error) <= RATE_TOLERANCE or cratio <= 1.0:
            break
        cratio *= len(jp2) / budget
    return best


def decode_frame(encoded: EncodedFrame) -> np.ndarray:
    return from_codec_values(decode_jp2(encoded.jp2), encoded.dtype, encoded.value_range)


def encode_plain(frame: np.ndarray, settings: FlowRoISettings, overhead_bytes: int = 0
                 ) -> EncodedFrame:
    """Plain JPEG2000 at the same rate: the baseline FlowRoI is compared with."""
    return encode_frame(frame, None, settings, overhead_bytes)
