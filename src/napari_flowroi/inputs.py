"""Open time-lapse movies as streams of 2-D frames.

A :class:`Movie` reads one frame at a time, so nothing here holds a whole movie in memory. Inputs:
multi-page TIFF / OME-TIFF shaped (T, Y, X), folders of numbered PNG or TIFF frames, and arrays
(numpy or dask) already in memory, e.g. a napari layer.

Decision (docs/decisions.md): stacks with extra axes (channels, z, RGB) are refused with a message
that says how to split them, instead of being compressed plane by plane under guessed axis names.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError
from .movie import (  # noqa: F401  (re-exported: inputs.Movie is how callers name it)
    SUPPORTED_DTYPES,
    TIFF_SUFFIXES,
    Movie,
    check_dtype,
    check_frame,
)

FRAME_SUFFIXES = (".png", ".tif", ".tiff")
#: Largest frame side accepted (the container's limit, see container/_manifest.py): a header
#: claiming more is damaged or not a time-lapse, and is refused before anything is allocated.
MAX_SIDE = 65535
#: Rough working memory per frame pixel while compressing (frames, flows and masks of one chunk
#: cached, float copies for the codec), measured as peak RSS on 1-MP movies (docs/cluster.md),
#: with a margin; plain JPEG2000 needs far less.
BYTES_PER_PIXEL = {"flowroi": 200, "plain": 24}


def open_movie(source: Any) -> Movie:
    """Open a movie to compress, read one frame at a time.

    Parameters
    ----------
    source : str, Path, array or Movie
        A (T, Y, X) TIFF/OME-TIFF stack, a folder of numbered PNG/TIFF frames, a microscopy file
        with one plane (ND2, CZI, LIF, OME-TIFF, OME-Zarr; needs the ``formats`` extra), a
        (T, Y, X) numpy or dask array, or a Movie (returned as it is).

    Returns
    -------
    Movie
        ``len(movie)`` frames; ``movie[t]`` reads frame t.

    Raises
    ------
    InputError
        The input does not exist or cannot be compressed correctly; the message says what to do.
    """
    if isinstance(source, Movie):
        return source
    if callable(getattr(source, "open_movie", None)):  # formats.Plane: one plane of a file
        return source.open_movie()
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"Input {path} does not exist. Check the path.")
        from .formats import claims, open_selected

        if claims(path):  # ND2, CZI, LIF, OME-Zarr, multi-channel OME-TIFF: through bioio
            return open_selected(path)
        if path.is_dir():
            if (path / "manifest.json").is_file() and (path / "frames").is_dir():
                raise InputError(
                    f"{path} is a FlowRoI compressed stack, not a movie; decompress "
                    "it first (flowroi decompress) if you want to compress it again."
                )
            return _open_frame_folder(path)
        if not path.is_file():  # a FIFO or a device would block or never end
            raise InputError(
                f"Input {path} is not a regular file. Give a TIFF stack or a folder of frames."
            )
        if path.suffix.lower() in TIFF_SUFFIXES:
            return _open_tiff(path)
        if path.suffix.lower() in FRAME_SUFFIXES:  # a single PNG image: a one-frame movie
            frame = _read_frame_file(path)
            if frame.ndim == 3 and frame.shape[-1] in (3, 4):
                raise InputError(
                    f"{path} is an RGB(A) image; FlowRoI compresses grey-level "
                    "movies. Convert it to one channel first."
                )
            return movie_from_array(frame, source=str(path))
        raise InputError(
            f"Input {path} is not a TIFF stack or a folder of frames. "
            "Give a multi-page .tif or a folder of numbered .png/.tif frames."
        )
    return movie_from_array(source)


def movie_from_array(array: Any, source: str = "array") -> Movie:
    """Wrap an in-memory (T, Y, X) numpy or dask array; frames are computed one at a time.
    A single (Y, X) image is a one-frame movie (which only plain JPEG2000 can code)."""
    if not hasattr(array, "shape") or not hasattr(array, "dtype"):
        array = np.asarray(array)
    if array.ndim == 2:
        array = array[None]
    check_axes(tuple(array.shape), source)
    dtype = check_dtype(np.dtype(array.dtype), source)
    return Movie(
        shape=tuple(int(s) for s in array.shape),
        dtype=dtype,
        read=lambda t: np.asarray(array[t]),
        source=source,
    )


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


# --- TIFF stacks -------------------------------------------------------------------------------------


def _open_tiff(path: Path) -> Movie:
    import tifffile

    try:
        with _tifffile_complaints() as complaints, tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            others = [s for s in tif.series[1:] if not _is_reduced(s)]
            shape, axes = tuple(series.shape), series.axes
            if others:
                kinds = ", ".join(f"{s.dtype} {tuple(s.shape)}" for s in tif.series[:4])
                raise _MixedPages(
                    f"{path} holds {1 + len(others)} image series of different "
                    f"page sizes or pixel types ({kinds}); FlowRoI compresses one "
                    "(T, Y, X) stack whose pages are all alike. Save each series "
                    "as its own TIFF first."
                )
            dtype = np.dtype(series.dtype)
            physical = _tiff_physical_metadata(tif)
            page_count = len(tif.pages)
            last = tif.pages[-1] if page_count else None
            data_end = max(
                (
                    o + n
                    for o, n in zip(
                        getattr(last, "dataoffsets", ()),
                        getattr(last, "databytecounts", ()),
                        strict=False,
                    )
                ),
                default=0,
            )
    except _MixedPages as exc:
        raise InputError(str(exc)) from None
    except Exception as exc:  # tifffile raises many kinds for corrupt files
        raise InputError(
            f"Cannot read {path} as a TIFF stack ({_one_line(exc)}). "
            "Check that the file is complete and really a TIFF."
        ) from exc
    if complaints or data_end > path.stat().st_size:
        # tifffile reads a cut-off file without raising: it logs and gives fewer frames
        why = _one_line(complaints[0]) if complaints else "image data end past the end of the file"
        raise InputError(
            f"{path} is truncated or damaged ({why}). Copy the complete file again "
            "(e.g. check its size against the original) and rerun."
        )
    shape, axes = _squeeze(shape, axes)
    if len(shape) == 2:  # a single image: a one-frame movie
        shape, axes = (1,) + shape, "I" + axes
    if "S" in axes:
        raise InputError(
            f"{path} holds RGB(A) images (axes {axes}, shape {shape}); FlowRoI "
            "compresses grey-level movies. Save one channel as a (T, Y, X) stack."
        )
    if len(shape) == 3 and axes[0] not in "TZQI":
        raise InputError(
            f"{path} has axes {axes} {shape}; FlowRoI needs (T, Y, X). "
            "Split channels into separate movies first."
        )
    if len(shape) == 3 and axes[0] == "Z" and "T" not in axes:
        pass  # a stack saved without time metadata: take the first axis as time
    check_axes(shape, str(path))
    dtype = check_dtype(dtype, str(path))
    n_frames = shape[0]
    per_page = page_count == n_frames

    # One open file per Movie: tifffile finds page t by walking the pages before it and remembers
    # where they were, so reopening the file for every frame would cost O(t) reads per frame.
    handle: dict = {}
    lock = threading.Lock()

    def read(t: int) -> np.ndarray:
        try:
            with lock:
                if "tif" not in handle:
                    handle["tif"] = tifffile.TiffFile(path)
                tif = handle["tif"]
                if per_page:
                    return tif.pages[t].asarray()
                return tif.series[0].asarray()[t]  # one-page stacks: no streaming possible
        except Exception as exc:
            raise InputError(
                f"Cannot read frame {t} of {path} ({exc}); the file may be truncated."
            ) from exc

    return Movie(
        shape=shape, dtype=dtype, read=read, source=str(path), physical=physical, files=(path,)
    )


class _MixedPages(Exception):
    pass


def _is_reduced(series) -> bool:
    """A reduced-resolution copy (thumbnail, pyramid level) stored beside the stack."""
    try:
        return all(bool(getattr(p, "is_reduced", False)) for p in series.pages)
    except Exception:  # noqa: BLE001 - tifffile raises many kinds loading pages of damaged files
        return False


def _squeeze(shape, axes):
    keep = [i for i, s in enumerate(shape) if s != 1 or axes[i] in "YX"]
    return tuple(shape[i] for i in keep), "".join(axes[i] for i in keep)


def _one_line(message: Any) -> str:
    return " ".join(str(message).split())


class _tifffile_complaints:
    """Collect what tifffile logs while a file is opened (it logs, rather than raises, about
    invalid page offsets in cut-off files) and keep it off the user's terminal."""

    def __enter__(self) -> list[str]:
        import logging

        self.logger = logging.getLogger("tifffile")
        self.messages: list[str] = []
        messages = self.messages

        class _Collect(logging.Handler):
            def emit(self, record):
                if record.levelno >= logging.WARNING:
                    messages.append(record.getMessage())

        self.handler = _Collect()
        self.propagate = self.logger.propagate
        self.logger.addHandler(self.handler)
        self.logger.propagate = False
        return messages

    def __exit__(self, *exc) -> None:
        self.logger.removeHandler(self.handler)
        self.logger.propagate = self.propagate


def _tiff_physical_metadata(tif) -> dict:
    """Pixel size and time interval from OME or ImageJ metadata, when the file has them."""
    physical: dict[str, Any] = {}
    if tif.is_ome and tif.ome_metadata:
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(tif.ome_metadata)
        except ElementTree.ParseError:
            root = None
        pixels = root.find(".//{*}Pixels") if root is not None else None
        if pixels is not None:
            for key, name in (
                ("PhysicalSizeX", "pixel_size_x"),
                ("PhysicalSizeY", "pixel_size_y"),
                ("TimeIncrement", "time_interval"),
            ):
                if pixels.get(key) is not None:
                    physical[name] = float(pixels.get(key))
            for key, name in (
                ("PhysicalSizeXUnit", "space_unit"),
                ("TimeIncrementUnit", "time_unit"),
            ):
                if pixels.get(key) is not None:
                    physical[name] = pixels.get(key)
    elif tif.is_imagej and tif.imagej_metadata:
        meta = tif.imagej_metadata
        if meta.get("finterval"):
            physical["time_interval"] = float(meta["finterval"])
        if meta.get("unit"):
            physical["space_unit"] = str(meta["unit"])
        page = tif.pages[0]
        res = page.tags.get("XResolution")
        if res is not None and res.value[0]:
            physical["pixel_size_x"] = res.value[1] / res.value[0]
            physical["pixel_size_y"] = physical["pixel_size_x"]
    return physical


# --- folders of frames ---------------------------------------------------------------------------------

_NUMBER = re.compile(r"(\d+)")


def frame_sort_key(path: Path) -> tuple:
    """Natural order: numbers in names compare as numbers (frame_2 before frame_10), so
    `x_t05099_z002` comes before `x_t05100_z001`."""
    parts = _NUMBER.split(path.stem)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


def list_frame_files(folder: Path) -> list[Path]:
    files = [
        p
        for p in folder.iterdir()
        if p.is_file() and p.suffix.lower() in FRAME_SUFFIXES and not p.name.startswith(".")
    ]
    return sorted(files, key=frame_sort_key)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def frame_file_shape(path: Path) -> tuple[int, ...]:
    """Shape of one frame file read from its header only (see frame_file_header)."""
    return frame_file_header(path)[0]


def frame_file_header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and pixel type of one frame file read from its header only (PNG: 33 bytes; TIFF: its
    first IFD): checking every frame of a folder before compressing costs little."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".png":
            with open(path, "rb") as handle:
                head = handle.read(33)
            if len(head) < 33 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
                raise ValueError("not a PNG image")
            width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
            channels = {0: 1, 2: 3, 3: 3, 4: 2, 6: 4}.get(head[25], 1)
            dtype = np.dtype(np.uint16 if head[24] == 16 else np.uint8)
            return ((height, width) if channels == 1 else (height, width, channels)), dtype
        import tifffile

        with _tifffile_complaints() as complaints, tifffile.TiffFile(path) as tif:
            shape = tuple(tif.series[0].shape)
            dtype = np.dtype(tif.series[0].dtype)
        if complaints:
            raise ValueError(complaints[0])
        return (tuple(s for s in shape if s != 1) if len(shape) > 2 else shape), dtype
    except Exception as exc:
        raise InputError(
            f"Cannot read frame {path} ({_one_line(exc)}). Check that it is a "
            "complete image file, or remove it from the folder."
        ) from exc


def check_frame_folder(movie: Movie) -> None:
    """Check every frame file's header before anything is written: a folder with a damaged or
    misnamed file, or frames of another size, is refused up front instead of half-way through."""
    folder = Path(movie.source)
    if not folder.is_dir():
        return
    for path in list_frame_files(folder):
        shape, dtype = frame_file_header(path)
        if len(shape) == 3 and shape[-1] in (3, 4):
            raise InputError(
                f"Frame {path.name} in {folder} is RGB(A); FlowRoI compresses "
                "grey-level movies. Convert it to one channel first."
            )
        if shape != tuple(movie.shape[1:]):
            raise InputError(
                f"Frame {path.name} in {folder} is {'x'.join(map(str, shape[::-1]))} pixels but "
                f"the first frame is {movie.shape[2]}x{movie.shape[1]}; all frames must be the "
                "same size."
            )
        if dtype != movie.dtype and not (dtype == np.float16 and movie.dtype == np.float32):
            raise InputError(
                f"Frame {path.name} in {folder} has pixel type {dtype} but the first frame "
                f"{movie.dtype}; all frames must have one pixel type. Convert them to one type "
                "(e.g. uint16) first."
            )


def _read_frame_file(path: Path) -> np.ndarray:
    try:
        if path.suffix.lower() in TIFF_SUFFIXES:
            import tifffile

            return tifffile.imread(path)
        import cv2

        frame = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        if frame is None:
            raise ValueError("not a readable image")
        if frame.ndim == 3:  # OpenCV gives BGR(A); report RGB frames as such
            frame = frame[..., ::-1]
        return frame
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"Cannot read frame {path} ({exc}). Check that it is a complete image "
            "file, or remove it from the folder."
        ) from exc


def _open_frame_folder(folder: Path) -> Movie:
    files = list_frame_files(folder)
    if not files:
        raise InputError(
            f"Folder {folder} holds no frames (.png, .tif or .tiff). "
            "Give a folder of numbered frames or a TIFF stack."
        )
    first = _read_frame_file(files[0])
    if first.ndim == 3 and first.shape[-1] in (3, 4):
        raise InputError(
            f"Frames in {folder} are RGB(A); FlowRoI compresses grey-level movies. "
            "Convert them to one channel first."
        )
    check_axes((len(files),) + first.shape, str(folder))
    dtype = check_dtype(first.dtype, str(folder))
    return Movie(
        shape=(len(files),) + first.shape,
        dtype=dtype,
        read=lambda t: _read_frame_file(files[t]),
        source=str(folder),
        files=tuple(files),
    )


# --- plates: folders of movies ---------------------------------------------------------------------

MOVIE_SUFFIXES = TIFF_SUFFIXES


def well_name(path: Path) -> str:
    """`A01.ome.tif` -> `A01`; a folder of frames keeps its name."""
    name = path.name
    for suffix in (".ome.tiff", ".ome.tif") + MOVIE_SUFFIXES:
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return name


def list_wells(folder: str | Path) -> list[Path] | None:
    """The movies of a plate folder (one per well), or None when `folder` is one movie.

    A folder is a plate when its TIFF files are stacks (the first, in natural order, holds more
    than one frame), or when it holds no frame files but subfolders of frames or stacks. Anything
    else is a folder of frames, i.e. one movie."""
    folder = Path(folder)
    if not folder.is_dir() or (folder / "manifest.json").is_file():
        return None  # a compressed stack: open_movie says what to do
    files = list_frame_files(folder)
    if files:
        tiffs = [f for f in files if f.suffix.lower() in TIFF_SUFFIXES]
        if tiffs and len(tiffs) == len(files) and _frames_in(tiffs[0]) > 1:
            return tiffs
        return None
    subfolders = sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and list_frame_files(p)
        ),
        key=frame_sort_key,
    )
    return subfolders or None


def _frames_in(path: Path) -> int:
    import tifffile

    try:
        with _tifffile_complaints(), tifffile.TiffFile(path) as tif:
            shape = tif.series[0].shape
    except Exception:  # noqa: BLE001 - tifffile raises many kinds for corrupt files
        return 1  # unreadable: let open_movie say why when the folder is opened as frames
    return int(shape[0]) if len([s for s in shape if s != 1]) > 2 or len(tif.pages) > 1 else 1


def input_fingerprint(movie: Movie) -> dict:
    """What identifies an input for resuming: its source, shape, dtype and a fingerprint of its
    content (see content_fingerprint), so an input replaced by other pixels is not resumed."""
    return {
        "source": movie.source,
        "shape": list(movie.shape),
        "dtype": str(movie.dtype),
        "content": content_fingerprint(movie),
    }


#: Bytes read per sample of a file, and samples per frame, for the content fingerprint.
SAMPLE_BYTES = 512
SAMPLES_PER_FRAME = 4


def content_fingerprint(movie: Movie) -> str:
    """A hash of a sample of every frame, cheap enough to take before every run.

    Files (TIFF stacks, frame files): their sizes and SAMPLE_BYTES at SAMPLES_PER_FRAME evenly
    spaced places per frame's share of the file, read without decoding. In-memory movies: a
    strided sample of every frame (Movie.sample). Any other movie of the same shape differs in
    nearly every sample; an edit of a few pixels may go unnoticed (decision in docs/decisions.md).
    """
    digest = hashlib.sha256()
    if movie.files:
        per_file = max(1, SAMPLES_PER_FRAME * len(movie) // len(movie.files))
        for path in movie.files:
            _sample_file(Path(path), per_file, digest)
    else:
        for t in range(len(movie)):
            digest.update(movie.sample(t))
    return digest.hexdigest()[:32]


def _sample_file(path: Path, samples: int, digest) -> None:
    try:
        size = path.stat().st_size
        digest.update(size.to_bytes(8, "little"))
        with open(path, "rb") as handle:
            step = max(SAMPLE_BYTES, size // samples)
            for offset in range(0, size, step):
                handle.seek(offset)
                digest.update(handle.read(SAMPLE_BYTES))
            handle.seek(max(0, size - SAMPLE_BYTES))
            digest.update(handle.read(SAMPLE_BYTES))
    except OSError as exc:
        raise InputError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
