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
import threading
import uuid
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import cv2
import numpy as np

from ._openjpeg import ensure_openjpeg
from .container._masks import attach_mask, encode_mask, mask_budget  # the container's format
from .metrics import compression_rate
from .settings import FlowRoISettings

#: Largest number of wavelet resolutions used (OpenJPEG's default is 6).
MAX_RESOLUTIONS = 6
#: How close to the byte budget a frame must land before rate control stops re-encoding.
RATE_TOLERANCE = 0.02
#: Encodes per frame at most (RateController).
MAX_RATE_ATTEMPTS = 4
FLOAT_CODE_MAX = 65535


@dataclass(frozen=True)
class EncodedFrame:
    """One coded frame: the JP2 file (its RoI mask in a box at the end) and what is needed to
    decode it exactly."""

    jp2: bytes
    mask_bytes: int  # bytes of `jp2` that hold the stored RoI mask (0 without one)
    raw_bytes: int
    shape: tuple[int, int]
    dtype: str
    value_range: tuple[float, float] | None  # float inputs: the range mapped onto 16-bit codes
    roi_fraction: float

    @property
    def bytes_written(self) -> int:
        return len(self.jp2)

    @property
    def compression_rate(self) -> float:
        """Raw bytes of the frame divided by every byte written for it (the JP2 file, its mask
        box included)."""
        return compression_rate(self.raw_bytes, self.bytes_written)


# --- RoI priority ------------------------------------------------------------------------------------


def roi_weight(mask: np.ndarray, feather: float) -> np.ndarray:
    """1 inside the RoI, falling linearly to 0 over `feather` pixels outside it."""
    mask = np.asarray(mask, bool)
    if feather <= 0 or not mask.any() or mask.all():
        return mask.astype(np.float32)
    return _feather(_distance_outside(mask), feather)


def _distance_outside(mask: np.ndarray) -> np.ndarray:
    """Euclidean distance (px) of each pixel to the RoI (0 inside it)."""
    return cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)


def _feather(distance: np.ndarray, feather: float) -> np.ndarray:
    """1 at the RoI, falling linearly to 0 `feather` px away."""
    return np.clip(1.0 - distance / feather, 0.0, 1.0)


def background_base(values: np.ndarray, mask: np.ndarray, sigma: float) -> np.ndarray:
    """The low-pass base of the background: a Gaussian blur of the pixels outside the RoI only
    (normalised convolution: blur(frame * outside) / blur(outside)).

    A blur of the whole frame carries each cell's brightness into the background around it, and
    coding the background as that base put a halo round every cell, with a step at the RoI's
    edge that the encoder paid for and that rang into the cells. Where no background pixel lies
    within reach of the blur (deep inside a large RoI) the base is meaningless, and unused: the
    RoI keeps all its detail there.

    Parameters
    ----------
    values : ndarray of float32
        The frame.
    mask : ndarray of bool
        The RoI.
    sigma : float
        Scale of the base in pixels (background_sigma).
    """
    share = (~mask).astype(np.float32)
    weighted = cv2.multiply(values, share)
    height, width = values.shape
    step = int(min(BASE_MAX_STEP, sigma // BASE_STEP_PER_SIGMA))
    if step > 1 and min(height, width) >= 16 * step:
        # a blur of sigma 8 px on a megapixel frame cost 12 ms; the base is smooth at that scale,
        # so it is blurred on a grid `step` px apart (area averages keep the outside-only
        # weighting exact) and brought back by linear interpolation
        small = (-(-width // step), -(-height // step))
        weighted = cv2.resize(weighted, small, interpolation=cv2.INTER_AREA)
        share = cv2.resize(share, small, interpolation=cv2.INTER_AREA)
        low = math.sqrt(max(sigma * sigma - (step * step - 1) / 12.0, 0.25)) / step
        cv2.GaussianBlur(weighted, (0, 0), low, dst=weighted, borderType=cv2.BORDER_REFLECT)
        cv2.GaussianBlur(share, (0, 0), low, dst=share, borderType=cv2.BORDER_REFLECT)
        weighted = cv2.resize(weighted, (width, height), interpolation=cv2.INTER_LINEAR)
        share = cv2.resize(share, (width, height), interpolation=cv2.INTER_LINEAR)
    else:
        cv2.GaussianBlur(weighted, (0, 0), sigma, dst=weighted, borderType=cv2.BORDER_REFLECT)
        cv2.GaussianBlur(share, (0, 0), sigma, dst=share, borderType=cv2.BORDER_REFLECT)
    np.maximum(share, BASE_MIN_SHARE, out=share)
    return cv2.divide(weighted, share)


#: The base is blurred on a grid of at most BASE_MAX_STEP px, and of sigma / BASE_STEP_PER_SIGMA
#: px (1 px, full resolution, below sigma 4): at sigma 8, a 4-px grid blurred by sigma 2.
BASE_MAX_STEP = 4
BASE_STEP_PER_SIGMA = 2.0


#: Below this share of background within the blur's reach the base is not used (the RoI weight
#: is 1 there); the floor only keeps the division finite.
BASE_MIN_SHARE = 1e-6


#: The soft edge: a background pixel within DETAIL_BAND px of the RoI (at most `feather`) is
#: protected in proportion to its own detail (RMS of frame - base over a DETAIL_WINDOW-px
#: square): not at all below DETAIL_LOW times the reference, fully from DETAIL_HIGH times it. The
#: reference is the DETAIL_QUANTILE-th percentile of the background's detail, but at least
#: DETAIL_OF_ROI times the RoI's median detail (on a flat dark-field background any faint
#: texture would otherwise count). Measured in docs/codec.md.
DETAIL_WINDOW = 5
DETAIL_BAND = 3.0
DETAIL_QUANTILE = 90
DETAIL_OF_ROI = 0.2
DETAIL_LOW, DETAIL_HIGH = 1.5, 3.0


def soft_weight(detail: np.ndarray, mask: np.ndarray, feather: float) -> np.ndarray:
    """How much of its detail each pixel keeps, 0-1: 1 inside the RoI; outside it the linear
    feather of `roi_weight`, raised within DETAIL_BAND px of the RoI where the pixel has more
    detail than most of the background (a cell edge the RoI cut rather than background).

    Parameters
    ----------
    detail : ndarray of float32
        The frame minus the background's base.
    mask : ndarray of bool
        The RoI.
    feather : float
        Width of the soft edge in pixels (0: a hard edge, no detail rule).
    """
    if feather <= 0 or mask.all() or not mask.any():
        return roi_weight(mask, feather)
    distance = _distance_outside(mask)
    weight = _feather(distance, feather)  # roi_weight, with the distance kept for the band
    energy = cv2.boxFilter(
        detail * detail, -1, (DETAIL_WINDOW, DETAIL_WINDOW), borderType=cv2.BORDER_REFLECT
    )
    cv2.sqrt(np.maximum(energy, 0, out=energy), dst=energy)
    sample, inside = energy[::3, ::3], mask[::3, ::3]
    background, roi = sample[~inside], sample[inside]
    reference = max(
        float(np.percentile(background, DETAIL_QUANTILE)) if background.size else 0.0,
        DETAIL_OF_ROI * float(np.median(roi)) if roi.size else 0.0,
    )
    if not reference > 0:
        return weight
    low, high = DETAIL_LOW * reference, DETAIL_HIGH * reference
    np.subtract(energy, low, out=energy)
    np.multiply(energy, 1.0 / (high - low), out=energy)
    np.clip(energy, 0.0, 1.0, out=energy)
    energy[distance > min(feather, DETAIL_BAND)] = 0.0
    return np.maximum(weight, energy, out=weight)


def prioritise_roi(image: np.ndarray, mask: np.ndarray, settings: FlowRoISettings) -> np.ndarray:
    """Divide background detail (image minus the background's low-pass base) by the scaling
    factor, with a soft edge outside the RoI (`soft_weight`)."""
    if settings.scaling_factor == 1 or mask.all():
        return image
    mask = np.asarray(mask, bool)
    values = image.astype(np.float32)
    base = background_base(values, mask, settings.background_sigma)
    # in place, with OpenCV: this runs on every frame and numpy's temporaries cost as much as the blur
    cv2.subtract(values, base, dst=values)
    attenuation = 1.0 / settings.scaling_factor
    gain = soft_weight(values, mask, settings.feather)
    gain *= 1.0 - attenuation
    gain += attenuation
    cv2.multiply(values, gain, dst=values)
    cv2.add(values, base, dst=values)
    info = np.iinfo(image.dtype)
    np.clip(values, info.min, info.max, out=values)
    return np.rint(values, out=values).astype(image.dtype)


def prioritised_codes(frame: np.ndarray, mask: np.ndarray, settings: FlowRoISettings) -> np.ndarray:
    """What the encoder is given for `frame` with RoI `mask`: its codec values
    (:func:`to_codec_values`) with the RoI priority (:func:`prioritise_roi`). Callers that find
    it ahead of the encode (the batch's look-ahead thread, the preview's cache) hand it to
    :func:`encode_frame` as `prioritised`."""
    return prioritise_roi(to_codec_values(np.asarray(frame))[0], np.asarray(mask, bool), settings)


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


# --- scratch files ---------------------------------------------------------------------------------


def _scratch_dir() -> str | None:
    # glymur writes files only; RAM-backed /dev/shm keeps that off the disk where there is one.
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def resolutions_for(shape: tuple[int, int]) -> int:
    """Wavelet resolutions that fit the frame (each level halves it; OpenJPEG needs >= 1 px)."""
    return max(1, min(MAX_RESOLUTIONS, int(math.log2(max(1, min(shape)))) + 1))


# --- OpenJPEG threads ------------------------------------------------------------------------------

#: OpenJPEG threads per encode or decode; None shares the CPUs among the encodes running at once.
_threads_setting: int | None = None
_active_lock = threading.Lock()
_active = 0


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, capped by OMP_NUM_THREADS when set (dask's
    worker processes set it to 1, so a cluster of single-threaded workers is not oversubscribed)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        cap = int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        cap = 0
    return max(1, min(cpus, cap) if cap > 0 else cpus)


def set_codec_threads(threads: int | None) -> None:
    """Fix the number of OpenJPEG threads per encode/decode (1 = single-threaded coding).

    Parameters
    ----------
    threads : int or None
        Threads per call; None (the default) divides `available_cpus()` among the encodes that
        run at the same moment in this process, so one worker on a 4-core machine codes with 4
        threads and 4 workers with 1 each. The coded bytes do not depend on it (OpenJPEG codes
        code-blocks independently).
    """
    global _threads_setting
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be >= 1 or None, not {threads}")
    _threads_setting = None if threads is None else int(threads)


def cpus_to_spare() -> bool:
    """Whether work may run beside an encode: OpenJPEG's threads are shared out (not fixed by
    `set_codec_threads`) and this process may use more than one CPU."""
    return _threads_setting is None and available_cpus() > 1


@contextmanager
def _coding_threads():
    """Set glymur's thread option for one call. glymur's option is process-wide: a call that
    starts while another runs may change it under the first, which costs speed, never bytes."""
    global _active
    with _active_lock:
        _active += 1
        active = _active
    try:
        threads = _threads_setting or max(1, available_cpus() // active)
        glymur = ensure_openjpeg()
        if glymur.get_option("lib.num_threads") != threads:
            with suppress(RuntimeError):  # an OpenJPEG built without threads
                glymur.set_option("lib.num_threads", threads)
        yield
    finally:
        with _active_lock:
            _active -= 1


# --- JPEG2000 through glymur ----------------------------------------------------------------------


def encode_jp2(codes: np.ndarray, cratio: float) -> bytes:
    """A standard JP2 file (9/7 irreversible wavelet) at compression ratio `cratio`.

    Parameters
    ----------
    codes : ndarray
        uint8 or uint16 frame (see `to_codec_values`).
    cratio : float
        Raw bytes of `codes` divided by the codestream's bytes, as OpenJPEG's rate control
        understands it (the JP2 boxes add ~100 bytes).

    Returns
    -------
    bytes
        The JP2 file.
    """
    glymur = ensure_openjpeg()
    # glymur writes files only (not to memory), and refuses to write over an existing (even
    # empty) file, so only a fresh name will do; /dev/shm keeps it in RAM.
    path = os.path.join(_scratch_dir() or tempfile.gettempdir(), f"flowroi-{uuid.uuid4().hex}.jp2")
    try:
        with _coding_threads():
            glymur.Jp2k(
                path,
                data=codes,
                cratios=[max(1.0, cratio)],
                irreversible=True,
                numres=resolutions_for(codes.shape),
            )
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def decode_jp2(data: bytes) -> np.ndarray:
    """Decode JP2 bytes (or a bare JPEG2000 codestream, including HTJ2K) to the integer codes
    they hold."""
    glymur = ensure_openjpeg()
    suffix = ".jp2" if data[4:8] == b"jP  " else ".j2k"
    fd, path = tempfile.mkstemp(suffix=suffix, dir=_scratch_dir())
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        with _coding_threads():
            return glymur.Jp2k(path)[:]
    finally:
        os.unlink(path)


def read_jp2_file(path) -> np.ndarray:
    return ensure_openjpeg().Jp2k(str(path))[:]


# --- rate control -----------------------------------------------------------------------------------


class RateController:
    """Meets a byte budget frame after frame, starting each frame from what worked on the last.

    OpenJPEG's rate control lands close to, not exactly on, the ratio it is given, and it misses
    by about the same factor on neighbouring frames of a movie. The controller keeps that factor
    (the ratio that hit the budget divided by the nominal one) and starts the next frame from it,
    so a frame is usually coded once; when the file is more than `tolerance` off its budget, the
    ratio is corrected by the observed miss and the frame coded again (at most `max_attempts`
    encodes, the closest file kept). The carried factor moves in steps of 2 * `tolerance`, so a
    frame whose first encode hits starts the next one exactly where a cold start would (and
    gets the file a cold start gets). Keep one controller per stream of frames; it is not shared
    between threads.

    The batch (`batch.compress_chunk`) does not carry one from frame to frame: where OpenJPEG
    misses systematically (frames of a few kB, whose fixed header bytes it does not count) the
    carried start moves, and a run resumed after a kill would write other bytes (still within
    the rate) than an uninterrupted one. On real movies a cold start hits at once (1.00 encodes
    per frame, docs/speed.md), so the batch loses nothing; the ladders (`ladders.plain_codings`),
    tune and the preview, which code one frame at many rates, use it.

    Parameters
    ----------
    tolerance : float
        Relative distance to the budget at which a file is accepted.
    max_attempts : int
        Encodes per frame at most.

    Examples
    --------
    >>> control = RateController()
    >>> for frame in frames:                                          # doctest: +SKIP
    ...     encoded = encode_frame(frame, None, settings, rate_control=control)
    >>> control.encodes_per_frame                                     # doctest: +SKIP
    1.0
    """

    def __init__(self, tolerance: float = RATE_TOLERANCE, max_attempts: int = MAX_RATE_ATTEMPTS):
        self.tolerance = float(tolerance)
        self.max_attempts = int(max_attempts)
        self.correction = 1.0  # ratio that hit the last budget / nominal ratio
        self.frames = 0
        self.encodes = 0

    @property
    def encodes_per_frame(self) -> float:
        """Mean number of encodes per frame so far (0 before the first frame)."""
        return self.encodes / self.frames if self.frames else 0.0

    def encode(self, codes: np.ndarray, budget: float) -> bytes:
        """A JP2 file of `codes` within `tolerance` of `budget` bytes when reachable.

        Parameters
        ----------
        codes : ndarray
            uint8 or uint16 frame.
        budget : float
            Bytes the JP2 file may take (at least 64 are allowed).

        Returns
        -------
        bytes
            The JP2 file closest to the budget among those coded.
        """
        budget = max(float(budget), 64.0)
        nominal = codes.nbytes / budget
        cratio = nominal * self.correction
        best, best_ratio, attempts, previous = None, cratio, 0, None
        while attempts < self.max_attempts:
            jp2 = encode_jp2(codes, cratio)
            attempts += 1
            error = len(jp2) / budget - 1.0
            if best is None or abs(error) < abs(len(best) / budget - 1.0):
                best, best_ratio = jp2, cratio
            if abs(error) <= self.tolerance or cratio <= 1.0:
                break
            cratio, previous = (
                self._next_ratio(cratio, len(jp2), budget, previous),
                (cratio, len(jp2)),
            )
        # kept on a grid of 2*tolerance steps: a miss within tolerance leaves the start exactly
        # where it was, so where OpenJPEG hits at once (real movies, OpenJPEG 2.5) every frame
        # starts at the same ratio as a cold start and a resumed run writes the same bytes as an
        # uninterrupted one; a systematic miss moves the start by whole steps
        step = math.log1p(2 * self.tolerance)
        self.correction = math.exp(step * round(math.log(best_ratio / nominal) / step))
        self.frames += 1
        self.encodes += attempts
        _record_encodes(attempts)
        return best

    @staticmethod
    def _next_ratio(cratio: float, size: int, budget: float, previous) -> float:
        """The ratio expected to hit `budget`: file size taken as proportional to 1/ratio after
        one miss, then along the secant of log(size) against log(ratio) through the last two
        (its slope kept within [-2, -0.3]: a flat or inverted secant from two near-equal files
        would jump far)."""
        slope = -1.0
        if previous is not None and previous[0] != cratio and previous[1] > 0:
            slope = (math.log(size) - math.log(previous[1])) / (
                math.log(cratio) - math.log(previous[0])
            )
            slope = min(-0.3, max(-2.0, slope))
        return max(1.0, cratio * math.exp((math.log(budget) - math.log(size)) / slope))


_counts_lock = threading.Lock()
_counts = {"frames": 0, "encodes": 0}


def _record_encodes(encodes: int) -> None:
    with _counts_lock:
        _counts["frames"] += 1
        _counts["encodes"] += encodes


def rate_control_counts(reset: bool = False) -> dict[str, int]:
    """Frames coded to a byte budget in this process and the encodes they took (benchmarks).

    Parameters
    ----------
    reset : bool
        Start counting afresh after reading.

    Returns
    -------
    dict
        ``{"frames": ..., "encodes": ...}``.
    """
    with _counts_lock:
        out = dict(_counts)
        if reset:
            _counts.update(frames=0, encodes=0)
    return out


# --- whole frames ------------------------------------------------------------------------------------


def encode_frame(
    frame: np.ndarray,
    mask: np.ndarray | None,
    settings: FlowRoISettings,
    overhead_bytes: int = 0,
    *,
    rate_control: RateController | None = None,
    prioritised: np.ndarray | None = None,
) -> EncodedFrame:
    """Code one frame at the settings' compression rate, or at their target PSNR when set.

    The byte budget (raw bytes / rate) covers the JP2 file, its mask box and `overhead_bytes`
    (the frame's share of the manifest), so the achieved rate counts every byte written.

    Parameters
    ----------
    frame : ndarray
        (Y, X) uint8, uint16 or float frame.
    mask : ndarray of bool or None
        The RoI; None codes plain JPEG2000 and stores no mask.
    settings : FlowRoISettings
        Compression rate (or target PSNR), scaling factor, feather, background sigma.
    overhead_bytes : int
        Bytes written for this frame besides the JP2 file and the mask.
    rate_control : RateController, optional
        Carries the rate control from the previous frame of the same stream (about one encode
        per frame); without it every frame starts cold.
    prioritised : ndarray, optional
        What :func:`prioritised_codes` gives for this frame, mask and settings, when the caller
        found it already (the napari preview re-codes a frame at a new rate without recomputing
        it; the batch finds it beside the previous frame's encode).

    Returns
    -------
    EncodedFrame
    """
    frame = np.asarray(frame)
    original, value_range = to_codec_values(frame)
    codes = original
    raw_bytes = frame.nbytes
    box = b""
    roi_fraction = 0.0
    if mask is not None:
        mask = np.asarray(mask, bool)
        roi_fraction = float(mask.mean())
        codes = prioritise_roi(codes, mask, settings) if prioritised is None else prioritised
        box = encode_mask(mask, mask_budget(raw_bytes, settings.compression_rate))
    if settings.target_psnr > 0:
        jp2 = _encode_to_quality(codes, original, mask, settings.target_psnr)
    else:
        budget = raw_bytes / settings.compression_rate
        jp2 = _encode_to_budget(codes, budget - overhead_bytes - len(box), rate_control)
    return EncodedFrame(
        jp2=attach_mask(jp2, box) if box else jp2,
        mask_bytes=len(box),
        raw_bytes=raw_bytes,
        shape=frame.shape,
        dtype=str(frame.dtype),
        value_range=value_range,
        roi_fraction=roi_fraction,
    )


#: Search range and steps of the target-quality mode (compression ratios handed to OpenJPEG).
QUALITY_RATIO_RANGE = (1.0, 2000.0)
QUALITY_STEPS = 9


def _encode_to_quality(
    codes: np.ndarray, original: np.ndarray, mask: np.ndarray | None, target_db: float
) -> bytes:
    """The smallest file whose PSNR inside the RoI (the whole frame when there is none) reaches
    `target_db`: bisection on log(compression ratio). PSNR is measured on the original values
    (for floats on their 16-bit codes), against the frame before background damping."""
    from .metrics import psnr

    where = mask if mask is not None and mask.any() else None

    def quality(jp2: bytes) -> float:
        return psnr(original, decode_jp2(jp2), where)

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


def _encode_to_budget(
    codes: np.ndarray, budget: float, rate_control: RateController | None = None
) -> bytes:
    return (rate_control or RateController()).encode(codes, budget)


# --- HTJ2K (JPEG2000 Part 15), for facilities that need speed first ------------------------------------

#: HTJ2K has no rate allocation (one quantisation step for the whole frame): the step is searched.
HTJ2K_MAX_ATTEMPTS = 8
HTJ2K_FIRST_STEP = 0.002


def encode_htj2k(codes: np.ndarray, qstep: float) -> bytes:
    """A high-throughput JPEG2000 (Part 15) codestream of `codes`, 9/7 irreversible wavelet.

    Parameters
    ----------
    codes : ndarray
        uint8 or uint16 frame.
    qstep : float
        Base quantisation step (relative to the sample range): larger is smaller and coarser.

    Returns
    -------
    bytes
        A J2K codestream with HT code-blocks (OpenJPH through imagecodecs); OpenJPEG >= 2.5
        (glymur, imagecodecs.jpeg2k_decode, `decode_jp2`) and OpenJPH decode it.
    """
    try:
        import imagecodecs
    except ImportError as error:  # optional: only the HTJ2K output needs it
        from .errors import FlowRoIError

        raise FlowRoIError("HTJ2K output needs imagecodecs (pip install imagecodecs).") from error
    return imagecodecs.htj2k_encode(
        np.ascontiguousarray(codes),
        level=float(qstep),
        reversible=False,
        resolutions=resolutions_for(codes.shape),
    )


class HTJ2KRateController:
    """Meets a byte budget with HTJ2K by searching its quantisation step, starting from the step
    that hit the previous frame's budget.

    OpenJPH has no rate control: file size falls with the step roughly as a power law, so the
    step is moved along the secant of log(size) against log(step) until the file is within
    `tolerance` of the budget (at most HTJ2K_MAX_ATTEMPTS encodes; the closest file not over
    the budget by more than `tolerance` is preferred). Encodes are ~8x cheaper than classic
    JPEG2000's, so a few per frame still leave it far ahead.

    Parameters
    ----------
    tolerance : float
        Relative distance to the budget at which a file is accepted.
    """

    def __init__(self, tolerance: float = RATE_TOLERANCE):
        self.tolerance = float(tolerance)
        self.qstep = HTJ2K_FIRST_STEP
        self.slope = -1.0  # d log(size) / d log(step), learned
        self.frames = 0
        self.encodes = 0

    encodes_per_frame = RateController.encodes_per_frame  # the same count, the same figure

    def encode(self, codes: np.ndarray, budget: float) -> bytes:
        """An HTJ2K codestream of `codes` close to `budget` bytes (see the class)."""
        budget = max(float(budget), 64.0)
        step, tried = self.qstep, []
        for _ in range(HTJ2K_MAX_ATTEMPTS):
            data = encode_htj2k(codes, step)
            tried.append((step, len(data), data))
            error = len(data) / budget - 1.0
            if abs(error) <= self.tolerance:
                break
            if len(tried) >= 2 and tried[-2][0] != step and tried[-2][1] != len(data):
                slope = math.log(len(data) / tried[-2][1]) / math.log(step / tried[-2][0])
                if -4.0 < slope < -0.2:
                    self.slope = slope
            step *= math.exp(math.log(budget / len(data)) / self.slope)
        step, _, data = min(tried, key=lambda x: abs(x[1] / budget - 1.0))
        self.qstep = step
        self.frames += 1
        self.encodes += len(tried)
        return data


def decode_frame(encoded: EncodedFrame) -> np.ndarray:
    """The frame's values, in its original dtype."""
    return from_codec_values(decode_jp2(encoded.jp2), encoded.dtype, encoded.value_range)


def encode_plain(
    frame: np.ndarray,
    settings: FlowRoISettings,
    overhead_bytes: int = 0,
    *,
    rate_control: RateController | None = None,
) -> EncodedFrame:
    """Plain JPEG2000 at the same rate: the baseline FlowRoI is compared with (no RoI, no mask;
    arguments as in `encode_frame`)."""
    return encode_frame(frame, None, settings, overhead_bytes, rate_control=rate_control)
