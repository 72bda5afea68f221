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

#: The stored mask is kept on a grid of blocks: it only shows what was protected (decoding does not
#: need it), and at full resolution it would take much of the byte budget (measured on HSC
#: brightfield at 1 MP: 15-19 kB full size, 0.6 kB in 16-pixel blocks, against 22 kB for the whole
#: frame at 64:1). The finest block whose PNG fits MASK_SHARE of the frame's budget is used.
MASK_BLOCKS = (16, 32, 64, 128)
MASK_SHARE = 0.01


def _blocks(mask: np.ndarray, block: int) -> np.ndarray:
    height, width = mask.shape
    padded = np.zeros((-(-height // block) * block, -(-width // block) * block), bool)
    padded[:height, :width] = mask
    return padded.reshape(padded.shape[0] // block, block,
                          padded.shape[1] // block, block).any(axis=(1, 3))


def _png(bits: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bits.astype(np.uint8) * 255,
                            [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("OpenCV could not encode the RoI mask as PNG")
    return data.tobytes()


def encode_mask(mask: np.ndarray, max_bytes: float = float("inf")) -> bytes:
    """A 1-bit PNG of the mask on the finest block grid (16, 32, 64 or 128 px) that fits in
    `max_bytes`; a block is set when any of its pixels is in the RoI."""
    for block in MASK_BLOCKS:
        data = _png(_blocks(mask, block))
        if len(data) <= max_bytes:
            break
    return data


def mask_block(png_shape: tuple[int, int], frame_shape: tuple[int, int]) -> int:
    """The block size a stored mask was made with, from its size and the frame's."""
    for block in MASK_BLOCKS:
        if -(-frame_shape[0] // block) == png_shape[0] and -(-frame_shape[1] // block) == png_shape[1]:
            return block
    raise ValueError(f"a {png_shape} mask does not fit a {frame_shape} frame")


def decode_mask(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The stored mask at full frame size (block-wise: it covers every protected pixel)."""
    blocks = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE) > 0
    block = mask_block(blocks.shape, shape)
    full = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return full[:shape[0], :shape[1]]


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
