"""Folders of numbered PNG or TIFF frames (one movie), and folders of movies (a plate).

A frame folder's files are put in natural order (frame_2 before frame_10) and checked from their
headers before anything is written, so a damaged or odd-sized frame is refused up front.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from .movie import TIFF_SUFFIXES, Movie, check_axes, check_dtype
from .tiff import frames_in, one_line, open_tiff, tifffile_complaints

FRAME_SUFFIXES = (".png", ".tif", ".tiff")

_NUMBER = re.compile(r"(\d+)")


def frame_sort_key(path: Path) -> tuple:
    """Natural order: numbers in names compare as numbers (frame_2 before frame_10), so
    `x_t05099_z002` comes before `x_t05100_z001`."""
    parts = _NUMBER.split(path.stem)
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part) for part in parts if part)


def _named_like_a_frame(path: Path) -> bool:
    """A frame file's name: a frame suffix, not hidden (whether the file is there aside)."""
    return path.suffix.lower() in FRAME_SUFFIXES and not path.name.startswith(".")


def list_frame_files(folder: Path) -> list[Path]:
    files = [p for p in folder.iterdir() if p.is_file() and _named_like_a_frame(p)]
    return sorted(files, key=frame_sort_key)


#: The letters just before a number in a frame file's name that name an axis other than time
#: (channel, stage position, z-plane, well, site, row, column): a folder whose frames' names vary
#: in such a number and in another holds several series (Micro-Manager's
#: ``img_channel000_position000_time000000000_z000``, an Opera/Operetta export's
#: ``r01c01f01p01-ch1sk1fk1fl1``, NIS-Elements' ``Seq0000_XY1_T001_C1``). BaSiC's
#: ``..._p0010_t05100_z001_w00``, whose time alone varies, and timestamps (``20240501_1200``,
#: their parts unlabelled) are one movie.
SERIES_LABELS = frozenset(
    {"c", "ch", "channel", "p", "pos", "position", "z", "w", "well", "s", "series", "site"}
    | {"plane", "field", "fld", "r", "row", "col", "column", "xy", "tile"}
)


def check_one_series(folder: Path, files: list[Path]) -> None:
    """Refuse a folder whose frames belong to several series (channels, positions, z-planes)
    rather than sort them into one movie: natural order put one channel's frames after another's
    (Micro-Manager's channel-major names) or alternated them (its ``img_000000001_GFP_000`` and
    ``img_000000001_Phase_000``), and the movie's motion was the jump between channels.

    Several series: the names differ besides their numbers (words such as a channel's name, or a
    stray image among the frames), or vary in a number labelled by SERIES_LABELS and in another
    number as well."""
    if len(files) < 2:
        return
    parts = [_NUMBER.split(path.stem) for path in files]
    if all(len(p) == 1 for p in parts):
        return  # no numbers at all: images in the order of their names, as before
    examples: dict[tuple, str] = {}  # one file's name for each way the names read
    for path, p in zip(files, parts, strict=True):
        examples.setdefault(tuple(p[0::2]), path.name)
    if len(examples) > 1:
        shown = list(examples.values())[:3]
        raise InputError(
            f"{folder} holds frames of several series: their names differ besides their "
            f"numbers ({', '.join(shown)}{', ...' if len(examples) > 3 else ''}). {_ONE_SERIES}"
        )
    numbers = np.array([[int(n) for n in p[1::2]] for p in parts], np.int64)
    varying = [i for i in range(numbers.shape[1]) if np.ptp(numbers[:, i]) > 0]
    if len(varying) < 2:
        return
    # a number's label: the letters just before it, across a separator (Site_1, Pos-2)
    labels = {
        i: re.search(r"([A-Za-z]*)[^A-Za-z0-9]*$", parts[0][2 * i])[1].lower() for i in varying
    }
    series = [i for i in varying if labels[i] in SERIES_LABELS]
    if series:

        def named(i: int) -> str:
            return f"{labels[i] or 'a number'} {numbers[:, i].min()}-{numbers[:, i].max()}"

        others = [i for i in varying if i != series[0]]
        raise InputError(
            f"{folder} holds frames of several series: their names vary in {named(series[0])} "
            f"as well as in {', '.join(named(i) for i in others)} (e.g. {files[0].name}). "
            f"{_ONE_SERIES}"
        )


_ONE_SERIES = (
    "FlowRoI compresses one (T, Y, X) movie per folder of frames: move each channel's or "
    "position's frames into a folder of their own (a folder of such folders is a plate, "
    "compressed well by well), or save the acquisition as one OME-TIFF."
)


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

        with tifffile_complaints() as complaints, tifffile.TiffFile(path) as tif:
            shape = tuple(tif.series[0].shape)
            dtype = np.dtype(tif.series[0].dtype)
        if complaints:
            raise ValueError(complaints[0])
        return (tuple(s for s in shape if s != 1) if len(shape) > 2 else shape), dtype
    except Exception as exc:
        raise _unreadable(path, exc) from exc


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


def read_frame_file(path: Path) -> np.ndarray:
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
        raise _unreadable(path, exc) from exc


def open_frame_folder(folder: Path, masks: bool = False) -> Movie:
    """A folder of numbered frames; `masks`: the user's masks or labels (movie.check_dtype)."""
    files = list_frame_files(folder)
    broken = [
        p for p in folder.iterdir() if _named_like_a_frame(p) and p.is_symlink() and not p.exists()
    ]
    if broken:  # a frame whose file is gone: the movie would be a frame short, silently
        raise InputError(
            f"Frame {broken[0].name} in {folder} is a link to {broken[0].readlink()}, which does "
            "not exist; restore the frame or remove the link."
        )
    if not files:
        raise InputError(
            f"Folder {folder} holds no frames (.png, .tif or .tiff). "
            "Give a folder of numbered frames or a TIFF stack."
        )
    check_one_series(folder, files)
    if len(files) == 1 and files[0].suffix.lower() in TIFF_SUFFIXES and frames_in(files[0]) > 1:
        # a folder holding one movie file, as microscopes export a position or a well: that
        # movie (a plate of such folders is documented, docs/cluster.md, and was refused)
        return open_tiff(files[0], masks=masks)
    first = read_frame_file(files[0])
    if first.ndim == 3 and first.shape[-1] in (3, 4):
        raise InputError(
            f"Frames in {folder} are RGB(A); FlowRoI compresses grey-level movies. "
            "Convert them to one channel first."
        )
    if first.ndim == 3:
        # each file a stack: a folder of movies (a plate, which `flowroi compress` takes whole);
        # `tune` and `roi` reach here, and check_axes' advice to split channels or z-planes misled
        raise InputError(
            f"{folder} holds stacks, not single frames ({files[0].name} holds {first.shape[0]} "
            "images): a folder of movies is a plate, which `flowroi compress` takes whole; "
            f"give one of its movies here (e.g. {files[0]})."
        )
    check_axes((len(files),) + first.shape, str(folder))
    dtype = check_dtype(first.dtype, str(folder), masks=masks)
    return Movie(
        shape=(len(files),) + first.shape,
        dtype=dtype,
        read=lambda t: read_frame_file(files[t]),
        source=str(folder),
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
    subfolders = sorted(
        (
            p
            for p in folder.iterdir()
            if p.is_dir() and not p.name.startswith(".") and list_frame_files(p)
        ),
        key=frame_sort_key,
    )
    if files:
        tiffs = [f for f in files if f.suffix.lower() in TIFF_SUFFIXES]
        if not tiffs or frames_in(tiffs[0]) <= 1:
            return None  # a folder of frames
        # movie files: a plate. A well kept as a folder of frames beside them, or an image
        # that is not a TIFF stack, was skipped without a word (or the folder was read as
        # frames and refused as 'holding stacks'): say what is there instead
        others = [f.name for f in files if f.suffix.lower() not in TIFF_SUFFIXES]
        others += [f"{p.name}/" for p in subfolders]
        if others:
            shown = ", ".join(others[:3]) + (", ..." if len(others) > 3 else "")
            raise InputError(
                f"{folder} holds movie files ({tiffs[0].name}, ...) and also {shown}, which "
                "would not be compressed as wells of this plate. Move those out, or give the "
                "wells as inputs (flowroi compress WELL1 WELL2 ... OUTPUT_DIR)."
            )
        return tiffs
    return subfolders or None


def _unreadable(path, exc: BaseException) -> InputError:
    """The one-line error for a frame file that cannot be read (its reader's message folded onto
    the line: some readers' messages span several lines)."""
    return InputError(
        f"Cannot read frame {path} ({one_line(exc)}). Check that it is a complete image file, "
        "or remove it from the folder."
    )
