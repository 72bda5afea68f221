"""The movie every part of FlowRoI reads: a (T, Y, X) stream of 2-D frames, read one at a time,
and the checks made on a movie whatever reader made it (pixel type, axes, frames, memory, enough
frames for motion).

The readers (tiff.py, folders.py, formats.py) build movies on this module; nothing here reads a file.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import InputError

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

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        if not 0 <= t < self.shape[0]:
            raise IndexError(f"frame {t} outside 0..{self.shape[0] - 1}")
        frame = np.asarray(self.read(t))
        return check_frame(frame, t, self.shape[1:], self.dtype, self.source)

    @property
    def frame_nbytes(self) -> int:
        return int(np.prod(self.shape[1:])) * self.dtype.itemsize


class PathMasks:
    """(T, Y, X) masks read one frame at a time from a file opened on first use, given as
    ``extra_roi``. Picklable by path (``by_path``, like formats.Plane): the open file is left
    out, so dask workers open it themselves. Subclasses say how to open the file (`_open`) and
    read frame t of what it opened (`_read`)."""

    by_path = True

    def __init__(self, path: Any, name: str):
        self.path = str(path)
        self.name = name
        self._opened: Any = None

    def __getstate__(self):
        return {**self.__dict__, "_opened": None}

    def _open(self) -> Any:
        raise NotImplementedError

    def _read(self, opened: Any, t: int) -> np.ndarray:
        raise NotImplementedError

    def _source(self) -> Any:
        if self._opened is None:
            self._opened = self._open()
        return self._opened

    @property
    def shape(self) -> tuple[int, int, int]:
        return self._source().shape

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        return self._read(self._source(), t)


def check_dtype(dtype: np.dtype, source: str, masks: bool = False) -> np.dtype:
    """The pixel type frames of `source` are read as, or an InputError that says what to do.

    `masks`: the user's masks or labels (``--roi-mask``), never coded, only tested for non-zero
    (roi.py): bool and every integer type are taken as they are. Segmentation tools write labels
    as int32 (StarDist), uint32 or int64 (scikit-image), and numpy masks save as bool; a movie
    of those pixel types is refused below, and the refusal's advice (keep masks lossless) was
    about compressing masks, not about a mask given to keep cells."""
    # big-endian data (np.fromfile(..., ">u2"), FITS) is the same pixel type: frames are made
    # native in check_frame, so a >u2 movie is a uint16 movie, not a refused "pixel type >u2"
    dtype = np.dtype(dtype)
    if dtype.byteorder not in ("=", "|"):
        dtype = dtype.newbyteorder("=")
    if masks and (dtype == np.bool_ or dtype.kind in "iu"):
        return dtype
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
    if frame.ndim != 2 and frame.shape != tuple(shape):
        raise InputError(
            f"Frame {t} of {source} has shape {frame.shape}, not one 2-D image of "
            f"{shape[1]}x{shape[0]} pixels (a stack saved as one frame?); every frame must be one "
            "grey-level image of the same size."
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
    if frame.dtype.byteorder not in ("=", "|"):  # big-endian: the same values, native order
        frame = frame.astype(frame.dtype.newbyteorder("="))
    if frame.dtype != dtype:
        if frame.dtype == np.float16 and dtype == np.float32:
            return frame.astype(dtype)
        raise InputError(
            f"Frame {t} of {source} has pixel type {frame.dtype} but the first frame "
            f"{dtype}; all frames must have one pixel type. Convert them to one "
            "type (e.g. uint16) first."
        )
    return frame


#: Largest frame side accepted (the container's limit, see container/_manifest.py): a header
#: claiming more is damaged or not a time-lapse, and is refused before anything is allocated.
MAX_SIDE = 65535
#: Rough working memory per frame pixel while compressing (frames, flows and masks of one chunk
#: cached, float copies for the codec), measured as peak RSS on 1-MP movies (docs/cluster.md),
#: with a margin; plain JPEG2000 needs far less.
BYTES_PER_PIXEL = {"flowroi": 200, "plain": 24}


def movie_from_array(array: Any, source: str = "array", masks: bool = False) -> Movie:
    """Wrap an in-memory (T, Y, X) numpy or dask array; frames are computed one at a time.
    A single (Y, X) image is a one-frame movie (which only plain JPEG2000 can code)."""
    if not hasattr(array, "shape") or not hasattr(array, "dtype"):
        array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    check_axes(tuple(array.shape), source)
    dtype = check_dtype(np.dtype(array.dtype), source, masks=masks)
    return Movie(
        shape=tuple(int(s) for s in array.shape),
        dtype=dtype,
        read=lambda t: array_frame(array, t),
        source=source,
    )


def array_frame(array: Any, index: Any) -> np.ndarray:
    """``array[index]`` of a numpy or dask array as a numpy array, computed in the caller's thread.

    A dask array is computed with the synchronous scheduler and without dask's global callbacks:
    napari registers an opportunistic cache (``dask.cache.Cache``) as a global callback, and that
    cache is not thread-safe — a frame computed in a worker while napari sliced a layer on the
    main thread cleared the other computation's bookkeeping (``KeyError`` in
    ``Cache._posttask``; issue 22's random layer actions on a reopened, dask-backed stack)."""
    part = array[index]
    if hasattr(part, "__dask_graph__"):
        return np.asarray(part.compute(scheduler="synchronous", callbacks=()))
    return np.asarray(part)


def require_motion(movie: Movie) -> None:
    """Motion needs two frames: refuse a one-frame movie for anything but plain JPEG2000."""
    if len(movie) < 2:
        raise InputError(
            f"{movie.source} is a single 2-D image (one frame); motion needs at least "
            "two frames. Use --plain to compress it with plain JPEG2000."
        )


def check_axes(shape: tuple[int, ...], source: str) -> None:
    if len(shape) == 4 and shape[-1] in (3, 4):
        raise InputError(
            f"{source} has RGB(A) frames {shape}; FlowRoI compresses grey-level "
            "movies. Convert to one channel first (e.g. keep the green channel)."
        )
    if len(shape) != 3:
        raise InputError(
            f"{source} has shape {shape}, but FlowRoI needs one time axis and two image axes "
            "(T, Y, X). Split channels or z-planes into separate movies first."
        )
    if shape[0] < 1 or shape[1] < 1 or shape[2] < 1:
        raise InputError(f"{source} has an empty axis {shape}.")
    if shape[1] > MAX_SIDE or shape[2] > MAX_SIDE:
        raise InputError(
            f"{source} claims frames of {shape[2]}x{shape[1]} pixels; FlowRoI takes "
            f"frames of at most {MAX_SIDE} pixels a side. If the file is damaged, "
            "copy it again; otherwise crop or tile the movie first."
        )


def check_fits_memory(movie: Movie, plain: bool, workers: int = 1) -> None:
    """Refuse a movie whose frames cannot be compressed in this machine's memory, before anything
    is allocated or written (a header claiming 100000x100000 pixels would otherwise fail deep in
    the RoI code)."""
    per_pixel = BYTES_PER_PIXEL["plain" if plain else "flowroi"]
    needed = movie.shape[1] * movie.shape[2] * max(per_pixel, movie.dtype.itemsize * 4)
    needed *= max(1, int(workers))
    total = _physical_memory()
    if total and needed > total:
        raise InputError(
            f"Frames of {movie.shape[2]}x{movie.shape[1]} pixels need about {needed / 1e9:.1f} GB "
            f"to compress{f' with {workers} workers' if workers > 1 else ''}, more than this "
            f"machine's {total / 1e9:.1f} GB. Crop or tile the movie, use fewer workers, or run "
            "on a larger machine."
        )


def _physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no check
        return 0
