"""Whole frames: one frame -> a standard JP2 file with the RoI favoured, its mask stored in the
codestream's comment, at the byte budget (or the target PSNR); and back. A frame whose RoI
priority would not beat plain JPEG2000 inside the RoI at the same budget is written as plain
JPEG2000, without a stored mask (`priority_pays`, ``FlowRoISettings.plain_fallback``).

The steps are the other modules': the RoI priority (`_priority`), the value mapping
(`_values`), OpenJPEG (`_openjpeg`), the rate control (`_rate`) and the stored mask
(`_mask_box`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..metrics import compression_rate
from ..settings import FlowRoISettings
from ._keywords import coding_settings
from ._mask_box import attach_mask, encode_mask, mask_budget, openjpeg_comment_bytes
from ._openjpeg import decode_jp2
from ._priority import prioritise_roi
from ._rate import RateController, encode_to_quality
from ._values import from_codec_values, to_codec_values


@dataclass(frozen=True)
class EncodedFrame:
    """One coded frame: the JP2 file (its RoI mask in the codestream's comment) and what is
    needed to decode it exactly."""

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
        """Raw bytes of the frame divided by every byte written for it (the JP2 file, its stored
        mask included)."""
        return compression_rate(self.raw_bytes, self.bytes_written)


def encode_frame(
    frame: np.ndarray,
    mask: np.ndarray | None,
    settings: FlowRoISettings | None = None,
    overhead_bytes: int = 0,
    *,
    rate: float | None = None,
    target_psnr: float | None = None,
    scaling_factor: float | None = None,
    rate_control: RateController | None = None,
    prioritised: np.ndarray | None = None,
) -> EncodedFrame:
    """Code one frame at the compression rate, or at the target PSNR when one is set.

    The byte budget (raw bytes / rate) covers the JP2 file, its stored mask and `overhead_bytes`
    (the frame's share of the manifest), so the achieved rate counts every byte written. The
    mask takes the place of the comment OpenJPEG writes (its version), so the image of a FlowRoI
    frame has the bytes of that comment less the mask's (`_mask_box`).

    Parameters
    ----------
    frame : ndarray
        (Y, X) uint8, uint16 or float frame.
    mask : ndarray of bool or None
        The RoI; None codes plain JPEG2000 and stores no mask.
    settings : FlowRoISettings, optional
        Compression rate (or target PSNR), scaling factor, feather, background sigma; the
        defaults when None.
    overhead_bytes : int
        Bytes written for this frame besides the JP2 file and the mask.
    rate, target_psnr, scaling_factor : float, optional
        Keyword scalars that replace the settings' compression rate, target PSNR and scaling
        factor (a `rate` alone also clears a target PSNR): ``encode_frame(f, m, rate=16)``.
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
    settings = coding_settings(
        settings, rate=rate, target_psnr=target_psnr, scaling_factor=scaling_factor
    )
    frame = np.asarray(frame)
    original, value_range = to_codec_values(frame)
    codes = original
    raw_bytes = frame.nbytes
    stored = b""
    roi_fraction = 0.0
    if mask is not None:
        mask = np.asarray(mask, bool)
        roi_fraction = float(mask.mean())
        codes = prioritise_roi(codes, mask, settings) if prioritised is None else prioritised
        stored = encode_mask(mask, mask_budget(raw_bytes, settings.compression_rate))
    if settings.target_psnr > 0:
        jp2 = encode_to_quality(codes, original, mask, settings.target_psnr)
    else:
        budget = raw_bytes / settings.compression_rate
        # the stored mask replaces OpenJPEG's comment: the image may take what that leaves
        freed = openjpeg_comment_bytes() - len(stored) if stored else 0
        jp2 = (rate_control or RateController()).encode(codes, budget - overhead_bytes + freed)
    if stored:
        jp2 = attach_mask(jp2, stored)
        # an empty RoI has nothing to compare: the user asked for the background only
        if settings.plain_fallback and settings.target_psnr <= 0 and mask.any():
            plain = RateController().encode(original, budget - overhead_bytes)  # = encode_plain
            if not priority_pays(original, jp2, plain, mask):
                # coded plain: the same bytes as encode_plain, no stored mask (a frame without
                # one reads back as all RoI, which is what plain coding gives every pixel)
                jp2, stored, roi_fraction = plain, b"", 1.0
    return EncodedFrame(
        jp2=jp2,
        mask_bytes=len(stored),
        raw_bytes=raw_bytes,
        shape=frame.shape,
        dtype=str(frame.dtype),
        value_range=value_range,
        roi_fraction=roi_fraction,
    )


def priority_pays(original: np.ndarray, coded: bytes, plain: bytes, mask: np.ndarray) -> bool:
    """Whether the frame coded with the RoI priority (`coded`) holds the RoI better than plain
    JPEG2000 of the frame at the same byte budget (`plain`).

    Measured, not predicted: what the priority frees depends on how much the encoder would have
    spent on the damped background detail at this rate, and a model of that (bits of a pyramid's
    coefficients above the budget's quantisation step) predicted 6.6 % of the bytes freed on CHO
    nuclei at 16:1 where the cells gained nothing (docs/decisions.md). The priority must also
    pay for the mask it stores (in place of OpenJPEG's comment, which plain coding keeps). The
    rate control lands each file within 2 % of its budget, so the two files differ in size;
    the comparison is brought to equal bytes by the high-rate slope of distortion (6.02 dB per
    bit per pixel, MSE x 2 ** (2 * extra bits per pixel)). Ties go to plain.

    Parameters
    ----------
    original : ndarray
        The frame's codec values (`to_codec_values`).
    coded, plain : bytes
        JP2 files of the prioritised frame (its stored mask attached, `attach_mask`) and of the
        plain frame, both coded to the same budget.
    mask : ndarray of bool
        The RoI.

    Returns
    -------
    bool
    """
    inside = original[mask].astype(np.float32)
    errors = []
    for jp2 in (coded, plain):
        diff = decode_jp2(jp2)[mask].astype(np.float32) - inside
        errors.append(float(np.dot(diff, diff)))
    extra_bits = 8.0 * (len(coded) - len(plain)) / original.size
    return errors[0] * 2.0 ** (2.0 * extra_bits) < errors[1]


def encode_plain(
    frame: np.ndarray,
    settings: FlowRoISettings | None = None,
    overhead_bytes: int = 0,
    *,
    rate: float | None = None,
    target_psnr: float | None = None,
    rate_control: RateController | None = None,
) -> EncodedFrame:
    """Plain JPEG2000 at the same rate: the baseline FlowRoI is compared with (no RoI, no mask;
    arguments as in `encode_frame`, e.g. ``encode_plain(frame, rate=16)``)."""
    return encode_frame(
        frame,
        None,
        settings,
        overhead_bytes,
        rate=rate,
        target_psnr=target_psnr,
        rate_control=rate_control,
    )


def decode_frame(encoded: EncodedFrame) -> np.ndarray:
    """The frame's values, in its original dtype.

    Parameters
    ----------
    encoded : EncodedFrame

    Returns
    -------
    ndarray
        (Y, X) in `encoded.dtype`.
    """
    return from_codec_values(decode_jp2(encoded.jp2), encoded.dtype, encoded.value_range)
