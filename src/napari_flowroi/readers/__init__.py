"""Everything that reads a movie to compress: one entry, :func:`open_movie`, for every input.

- ``movie``: the :class:`Movie` (a (T, Y, X) stream read frame by frame) and the checks every
  reader applies (pixel type, axes, frames, memory, two frames for motion);
- ``tiff``: (T, Y, X) TIFF / OME-TIFF stacks (tifffile);
- ``folders``: folders of numbered PNG/TIFF frames, and folders of movies (plates);
- ``formats``: ND2, CZI, LIF, OME-TIFF with channels, OME-Zarr through bioio, cut into planes;
- ``units``: the unit names the files use, as symbols;
- ``fingerprint``: the hash of a movie's pixels that a resume compares.

Nothing here holds a whole movie in memory, and nothing here knows about RoIs or coding.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .fingerprint import frame_digest, movie_digest
from .folders import (
    FRAME_SUFFIXES,
    check_frame_folder,
    frame_sort_key,
    list_frame_files,
    list_wells,
    open_frame_folder,
    read_frame_file,
    well_name,
)
from .movie import (
    SUPPORTED_DTYPES,
    TIFF_SUFFIXES,
    Movie,
    PathMasks,
    check_axes,
    check_dtype,
    check_fits_memory,
    check_frame,
    movie_from_array,
    require_motion,
)
from .tiff import open_tiff

__all__ = [
    "FRAME_SUFFIXES",
    "SUPPORTED_DTYPES",
    "TIFF_SUFFIXES",
    "MaskFile",
    "Movie",
    "PathMasks",
    "check_axes",
    "check_dtype",
    "check_fits_memory",
    "check_frame",
    "check_frame_folder",
    "frame_digest",
    "frame_sort_key",
    "list_frame_files",
    "list_wells",
    "movie_digest",
    "movie_from_array",
    "open_movie",
    "require_motion",
    "well_name",
]


def open_movie(
    source: Any,
    masks: bool = False,
    *,
    scene: str | int | None = None,
    channel: str | int | None = None,
    z: int | None = None,
) -> Movie:
    """Open a movie to compress, read one frame at a time.

    Parameters
    ----------
    source : str, Path, array or Movie
        A (T, Y, X) TIFF/OME-TIFF stack, a folder of numbered PNG/TIFF frames, a microscopy file
        with one plane (ND2, CZI, LIF, OME-TIFF, OME-Zarr; needs the ``formats`` extra), a
        (T, Y, X) numpy or dask array, or a Movie (returned as it is).
    masks : bool
        `source` is the user's masks or labels (``--roi-mask``), not a movie: bool and every
        integer pixel type are read as they are (only non-zero counts).
    scene, channel, z : optional
        One plane of a microscopy file with several (names or indices, as ``flowroi
        compress --scene/--channel/--z``); a file with several and none named is refused with
        the list of what it holds. Given with a path to a plain (T, Y, X) TIFF or a folder of
        frames, they are refused; arrays and Movies ignore them.

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

        picked = scene is not None or channel is not None or z is not None
        if picked or claims(path):  # ND2, CZI, LIF, OME-Zarr, multi-channel OME-TIFF: bioio
            return open_selected(path, scene=scene, channel=channel, z=z)
        if path.is_dir():
            if (path / "manifest.json").is_file() and (path / "frames").is_dir():
                raise InputError(
                    f"{path} is a FlowRoI compressed stack, not a movie; decompress "
                    "it first (flowroi decompress) if you want to compress it again."
                )
            return open_frame_folder(path, masks=masks)
        if not path.is_file():  # a FIFO or a device would block or never end
            raise InputError(
                f"Input {path} is not a regular file. Give a TIFF stack or a folder of frames."
            )
        if path.suffix.lower() in TIFF_SUFFIXES:
            return open_tiff(path, masks=masks)
        if path.suffix.lower() in FRAME_SUFFIXES:  # a single PNG image: a one-frame movie
            frame = read_frame_file(path)
            if frame.ndim == 3 and frame.shape[-1] in (3, 4):
                raise InputError(
                    f"{path} is an RGB(A) image; FlowRoI compresses grey-level "
                    "movies. Convert it to one channel first."
                )
            return movie_from_array(frame, source=str(path), masks=masks)
        raise InputError(
            f"Input {path} is not a TIFF stack or a folder of frames. "
            "Give a multi-page .tif or a folder of numbered .png/.tif frames."
        )
    return movie_from_array(source, masks=masks)


class MaskFile(PathMasks):
    """The user's masks or labels file (``flowroi compress --roi-mask``) as (T, Y, X) masks read
    one frame at a time, of any integer or bool pixel type (``open_movie(path, masks=True)``).

    Given as ``extra_roi`` instead of the path, which `compress_movie` would open as a movie to
    compress and refuse for a bool or int32 pixel type. Picklable by path (PathMasks), so dask
    workers open the file themselves; `name` is the path, which the manifest records as
    ``input.roi_mask`` as it did for the path itself."""

    def __init__(self, path: str | Path):
        super().__init__(path, str(path))

    def _open(self) -> Movie:
        return open_movie(Path(self.path), masks=True)

    def _read(self, opened: Movie, t: int) -> np.ndarray:
        return opened[t]
