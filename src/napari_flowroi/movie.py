"""The movie every part of FlowRoI reads: a (T, Y, X) stream of 2-D frames, read one at a time,
and the pixel-type and frame checks every reader applies.

Kept apart from inputs.py (the TIFF and frame-folder readers and the `open_movie` dispatch) so
that formats.py, the bioio readers, can build movies without importing the dispatch that calls it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import InputError

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
SUPPORTED_DTYPES = (np.uint8, np.uint16, np.float32, np.float64)


@dataclass
class Movie:
    """A (T, Y, X) movie read frame by frame."""

    shape: tuple[int, int, int]
    dtype: np.dtype
    read: Any = field(repr=False)  # callable: index -> 2-D array
    source: str = "array"
    physical: dict = field(default_factory=dict)  # pixel_size, time_interval, units when known
    files: tuple = ()  # the files the frames come from (for the content fingerprint)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        if not 0 <= t < self.shape[0]:
            raise IndexError(f"frame {t} outside 0..{self.shape[0] - 1}")
        frame = np.asarray(self.read(t))
        return check_frame(frame, t, self.shape[1:], self.dtype, self.source)

    def sample(self, t: int) -> bytes:
        """A strided sample of about 4096 values of frame `t` (the content fingerprint of
        in-memory movies)."""
        flat = np.ascontiguousarray(np.asarray(self.read(t))).reshape(-1)
        return flat[:: max(1, flat.size // 4096)].tobytes()

    @property
    def frame_nbytes(self) -> int:
        return int(np.prod(self.shape[1:])) * self.dtype.itemsize


def check_dtype(dtype: np.dtype, source: str) -> np.dtype:
    if dtype == np.bool_:
        raise InputError(
            f"{source} is a binary (true/false) movie, such as masks or labels; "
            "FlowRoI compresses grey-level images lossily and would blur it. "
            "Keep masks lossless (e.g. a compressed TIFF), or convert to uint8 "
            "0/255 if you want it compressed as an image anyway."
        )
    if dtype == np.int8:
        return _refuse_dtype(dtype, source)
    if dtype in (np.int16, np.int32, np.uint32, np.int64, np.uint64):
        return _refuse_dtype(dtype, source)
    if dtype == np.float16:
        return np.dtype(np.float32)
    if dtype not in SUPPORTED_DTYPES:
        return _refuse_dtype(dtype, source)
    return dtype


def _refuse_dtype(dtype, source):
    raise InputError(
        f"{source} has pixel type {dtype}; FlowRoI compresses uint8, uint16 and float "
        "movies. Convert it (e.g. to uint16) first."
    )


def check_frame(
    frame: np.ndarray, t: int, shape: tuple[int, int], dtype: np.dtype, source: str
) -> np.ndarray:
    if frame.ndim == 3 and frame.shape[-1] in (3, 4):
        raise InputError(
            f"Frame {t} of {source} is RGB(A); FlowRoI compresses grey-level movies. "
            "Convert it to one channel first."
        )
    if frame.shape != tuple(shape):
        raise InputError(
            f"Frame {t} of {source} is {frame.shape[1]}x{frame.shape[0]} pixels but "
            f"the first frame is {shape[1]}x{shape[0]}; all frames must be the same size."
        )
    if frame.dtype.kind == "f" and not np.isfinite(frame).all():
        raise InputError(
            f"Frame {t} of {source} contains NaN or infinite values; replace them "
            "(e.g. with 0) before compressing."
        )
    if frame.dtype != dtype:
        if frame.dtype == np.float16 and dtype == np.float32:
            return frame.astype(dtype)
        raise InputError(
            f"Frame {t} of {source} has pixel type {frame.dtype} but the first frame "
            f"{dtype}; all frames must have one pixel type. Convert them to one "
            "type (e.g. uint16) first."
        )
    return frame
