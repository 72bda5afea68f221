"""The RoI's priority, given before the encoder (OpenJPEG has no spatial RoI coding).

Outside the RoI the fine detail around a low-pass base of the background is divided by the
scaling factor, with a feathered edge (docs/codec.md); the frame is then coded as standard
JPEG2000. The encoder spends the bytes the background no longer needs on the cells, and any
JPEG2000 reader shows the result with nothing to undo.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from .._robust import median as _median
from .._robust import percentiles
from ..settings import FlowRoISettings
from ._keywords import coding_settings
from ._values import to_codec_values


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
    # np.clip(1.0 - distance / feather, 0.0, 1.0) in one array instead of three (a 1-MP frame's
    # 4 MB each, every frame): the same float32 operations in the same order
    weight = np.divide(distance, feather)
    np.subtract(1.0, weight, out=weight)
    return np.clip(weight, 0.0, 1.0, out=weight)


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
    # np.percentile's and np.median's values, without their import of numpy.ma (16 ms)
    reference = max(
        float(percentiles(background, (DETAIL_QUANTILE,))[0]) if background.size else 0.0,
        DETAIL_OF_ROI * _median(roi) if roi.size else 0.0,
    )
    if not reference > 0:
        return weight
    low, high = DETAIL_LOW * reference, DETAIL_HIGH * reference
    np.subtract(energy, low, out=energy)
    np.multiply(energy, 1.0 / (high - low), out=energy)
    np.clip(energy, 0.0, 1.0, out=energy)
    energy[distance > min(feather, DETAIL_BAND)] = 0.0
    return np.maximum(weight, energy, out=weight)


def prioritise_roi(
    image: np.ndarray,
    mask: np.ndarray,
    settings: FlowRoISettings | None = None,
    *,
    scaling_factor: float | None = None,
    background_sigma: float | None = None,
    feather: float | None = None,
) -> np.ndarray:
    """Divide background detail (image minus the background's low-pass base) by the scaling
    factor, with a soft edge outside the RoI (`soft_weight`).

    Parameters
    ----------
    image : ndarray of uint8 or uint16
        The frame's codec values (`to_codec_values`).
    mask : ndarray of bool
        The RoI.
    settings : FlowRoISettings, optional
        Scaling factor, background sigma and feather (the defaults when None).
    scaling_factor, background_sigma, feather : float, optional
        Keyword scalars that replace the settings' values.

    Returns
    -------
    ndarray
        The frame the encoder is given, in `image`'s dtype.
    """
    settings = coding_settings(
        settings,
        scaling_factor=scaling_factor,
        background_sigma=background_sigma,
        feather=feather,
    )
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


def prioritised_codes(
    frame: np.ndarray, mask: np.ndarray, settings: FlowRoISettings | None = None, **scalars
) -> np.ndarray:
    """What the encoder is given for `frame` with RoI `mask`: its codec values
    (:func:`to_codec_values`) with the RoI priority (:func:`prioritise_roi`; `scalars` as
    there). Callers that find it ahead of the encode (the batch's look-ahead thread, the
    preview's cache) hand it to ``encode_frame`` as `prioritised`."""
    return prioritise_roi(
        to_codec_values(np.asarray(frame))[0], np.asarray(mask, bool), settings, **scalars
    )
