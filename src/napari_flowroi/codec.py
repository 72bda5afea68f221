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
    """uint8/uint16 go as they are; floats are mapped linearly onto 16-bit codes."""
    if frame.dtype in (np.uint8, np.uint16):
        return np.ascontiguousarray(frame), None
    low, high = float(frame.min()), float(frame.max())
    span = high - low if high > low else 1.0
    codes = np.rint((frame.astype(np.float64) - low) * (FLOAT_CODE_MAX / span))
    return codes.astype(np.uint16), (low, high)


def from_codec_values(codes: np.ndarray, dtype: str, value_range) -> np.ndarray:
    if value_range is None:
        return codes.astype(dtype, copy=False)
    low, high = value_range
    span = high - low if high > low else 1.0
    return (codes.astype(np.float64) * (span / FLOAT_CODE_MAX) + low).astype(dtype)


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


# --- masks ------------------------------------------------------------------------------------------

#: The stored mask has one pixel per MASK_BLOCK x MASK_BLOCK block of the frame: it is only for
#: showing what was protected (decoding does not need it), and at full resolution it would cost a
#: large share of the byte budget (measured on HSC brightfield at 1 MP: 15-19 kB full size,
#: 1.6 kB at 1/8, 0.6 kB at 1/16, against 22 kB for the whole frame at 64:1).
MASK_BLOCK = 16


def encode_mask(mask: np.ndarray) -> bytes:
    """A 1-bit PNG of the mask on a 16x16-block grid; a block is set if any of its pixels is."""
    height, width = mask.shape
    padded = np.zeros((-(-height // MASK_BLOCK) * MASK_BLOCK, -(-width // MASK_BLOCK) * MASK_BLOCK),
                      bool)
    padded[:height, :width] = mask
    blocks = padded.reshape(padded.shape[0] // MASK_BLOCK, MASK_BLOCK,
                            padded.shape[1] // MASK_BLOCK, MASK_BLOCK).any(axis=(1, 3))
    ok, data = cv2.imencode(".png", blocks.astype(np.uint8) * 255,
                            [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("OpenCV could not encode the RoI mask as PNG")
    return data.tobytes()


def decode_mask(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The stored mask at full frame size (block-wise: it covers every protected pixel)."""
    blocks = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) > 0
    full = np.repeat(np.repeat(blocks, MASK_BLOCK, axis=0), MASK_BLOCK, axis=1)
    return full[:shape[0], :shape[1]]


# --- whole frames ------------------------------------------------------------------------------------

def encode_frame(frame: np.ndarray, mask: np.ndarray | None, settings: FlowRoISettings,
                 overhead_bytes: int = 0) -> EncodedFrame:
    """Code one frame at the settings' compression rate.

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
        mask_png = encode_mask(mask)
    budget = raw_bytes / settings.compression_rate
    fixed = overhead_bytes + (len(mask_png) if mask_png else 0)
    jp2 = _encode_to_budget(codes, budget - fixed)
    return EncodedFrame(jp2=jp2, mask_png=mask_png, raw_bytes=raw_bytes, shape=frame.shape,
                        dtype=str(frame.dtype), value_range=value_range, roi_fraction=roi_fraction)


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
