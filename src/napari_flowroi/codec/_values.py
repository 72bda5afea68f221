"""Sample values <-> the integers JPEG2000 codes.

JPEG2000 codes integers: uint8 and uint16 frames go as they are, floats are mapped linearly from
their own range onto 16-bit codes (the range is kept in the frame's manifest record).
"""

from __future__ import annotations

import numpy as np

FLOAT_CODE_MAX = 65535


def to_codec_values(frame: np.ndarray) -> tuple[np.ndarray, tuple[float, float] | None]:
    """uint8/uint16 go as they are; floats are mapped linearly onto 16-bit codes.

    Parameters
    ----------
    frame : ndarray
        (Y, X) uint8, uint16 or float frame.

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
    written as a weighted mean of low and high so that it cannot overflow).

    Parameters
    ----------
    codes : ndarray
        Decoded integer codes.
    dtype : str
        The frame's original dtype.
    value_range : (low, high) or None
        What :func:`to_codec_values` returned for the frame.

    Returns
    -------
    ndarray
        The frame in `dtype`.
    """
    if value_range is None:
        return codes.astype(dtype, copy=False)
    low, high = (float(v) for v in value_range)
    weight = codes.astype(np.float64) / FLOAT_CODE_MAX
    values = low * (1.0 - weight) + high * weight
    if np.dtype(dtype) == np.float32:  # a float32 range stays inside float32
        np.clip(values, low, high, out=values)
    return values.astype(dtype)
