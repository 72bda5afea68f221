"""Open what microscopes write: ND2, CZI, LIF, OME-TIFF and OME-Zarr through bioio.

A microscope file holds up to five axes (T, C, Z, Y, X) per scene (a stage position, a well).
FlowRoI codes (T, Y, X) movies, so a file is cut into *planes*: one (scene, channel, z) each, a
movie read one frame at a time through bioio's dask data (one 2-D chunk computed per frame, in the
calling thread), so memory stays flat in movie length whatever the format.

A :class:`Plane` names a plane by path and indices only: it pickles into a dask task, and the worker
opens the file itself, as it does for TIFF paths (docs/cluster.md).

Compressing the planes of a file (:func:`napari_flowroi.microscopy.compress_file`) lives in microscopy.py:
this module only reads.

bioio and its reader plugins are an optional extra: without them a file that needs them is refused
with one line naming ``pip install 'napari-flowroi[formats]'``.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .movie import TIFF_SUFFIXES, Movie, check_dtype
from .tiff import calibration_value, tiff_physical_metadata, tifffile_complaints
from .units import unit_symbol

FORMATS_EXTRA = "pip install 'napari-flowroi[formats]'"
CZI_EXTRA = "pip install 'napari-flowroi[czi]'"
#: Vendor formats that only bioio opens; OME-Zarr is recognised by its folder (see `claims`).
VENDOR_SUFFIXES = {".nd2": "bioio-nd2", ".czi": "bioio-czi", ".lif": "bioio-lif"}
ZARR_SUFFIX = ".zarr"

__all__ = [
    "Plane",
    "SceneInfo",
    "claims",
    "describe",
    "open_plane",
    "open_selected",
    "FORMATS_EXTRA",
]


# --- which inputs go through bioio -------------------------------------------------------------------


def is_zarr(path: Path) -> bool:
    """An OME-Zarr image or plate: a folder named *.zarr, or one with Zarr group metadata."""
    return path.is_dir() and (
        path.suffix.lower() == ZARR_SUFFIX
        or (path / "zarr.json").is_file()
        or (path / ".zattrs").is_file()
    )


def claims(path: str | Path) -> bool:
    """Whether `path` is read as a microscopy file, plane by plane (scene, channel, z), rather
    than by the built-in TIFF and frame readers.

    Vendor files (ND2, CZI, LIF) and OME-Zarr always are; an OME-TIFF is when it holds more than one
    (T, Y, X) movie (channels, z-planes with time, several series), and so is an ImageJ (Fiji)
    hyperstack with time and channels or z-planes, which tifffile describes and reads without
    bioio (:func:`_imagej_scenes`). Plain (T, Y, X) TIFFs keep the built-in reader."""
    path = Path(path)
    if path.suffix.lower() in VENDOR_SUFFIXES:
        return True
    if is_zarr(path):
        return True
    if path.is_file() and path.suffix.lower() in TIFF_SUFFIXES:
        return _ome_tiff_is_multidimensional(path) or bool(
            _imagej_scenes(str(path), _stamp(str(path)))
        )
    return False


def _ome_tiff_is_multidimensional(path: Path) -> bool:
    import tifffile

    try:
        # tifffile's complaints about a damaged file kept off the terminal (the TIFF reader that
        # opens it next reports what is wrong in one line; before, a file with no pages printed
        # "... contains no pages" twice above that line)
        with tifffile_complaints(), tifffile.TiffFile(path) as tif:
            if not tif.is_ome:
                return False
            series = tif.series
            if len(series) > 1:
                return True
            axes, shape = series[0].axes, series[0].shape
    except Exception:  # noqa: BLE001 - tifffile raises many kinds on odd files; the TIFF reader reports them
        return False  # let the TIFF reader say what is wrong with the file
    sizes = dict(zip(axes, shape, strict=True))
    return sizes.get("C", 1) > 1 or (sizes.get("Z", 1) > 1 and sizes.get("T", 1) > 1)


def _bioio():
    """bioio's BioImage, or one clear line naming the extra to install."""
    try:
        from bioio import BioImage
    except ImportError as exc:
        raise InputError(
            f"Reading ND2, CZI, LIF, OME-Zarr and multi-channel OME-TIFF needs the "
            f"optional readers: {FORMATS_EXTRA}"
        ) from exc
    return BioImage


def _image(path: str, scene: int):
    """One open BioImage per (file, scene) and process, with a lock: a task's chunks reuse it
    instead of parsing the file's metadata again for every chunk of 8 frames. Keyed by the
    modification time too, so a file replaced on disk is opened afresh."""
    return _cached_image(path, scene, _stamp(path))


@lru_cache(maxsize=8)
def _cached_image(path: str, scene: int, stamp: int):
    import logging

    BioImage = _bioio()
    # bioio logs every reader it tried before raising; the error below says it in one line
    logger = logging.getLogger("bioio")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with tifffile_complaints():  # tifffile logs a cut-off TIFF; the error below says it
            image = BioImage(path)
    except Exception as exc:  # bioio raises its own kinds for unsupported or damaged files
        raise InputError(_open_failure(Path(path), exc)) from exc
    finally:
        logger.setLevel(level)
    if scene:
        image.set_scene(scene)
    return image, threading.Lock()


def _open_failure(path: Path, exc: Exception) -> str:
    import importlib.util

    plugin = VENDOR_SUFFIXES.get(path.suffix.lower(), "bioio-ome-zarr" if is_zarr(path) else None)
    if plugin is not None and importlib.util.find_spec(plugin.replace("-", "_")) is None:
        extra = CZI_EXTRA if plugin == "bioio-czi" else FORMATS_EXTRA
        return f"Cannot read {path}: its reader ({plugin}) is not installed: {extra}"
    unsupported = "Unsupported" in type(exc).__name__
    if unsupported and _plain_movie(path):
        # bioio is asked only for a file `claims` takes, or when planes were selected: a folder of
        # frames or a plain TIFF stack reaches here only through a selection (issue: the message
        # blamed a damaged file and a missing extra for a valid movie and an inapplicable option)
        kind = "a folder of frames" if path.is_dir() else "a TIFF stack without OME channels"
        return (
            f"{path} is one (T, Y, X) movie ({kind}), not a microscopy file with scenes, "
            "channels or z-planes: drop the selection (--scene, --channel, --z, "
            "--motion-channel), which picks planes of ND2, CZI, LIF, OME-TIFF and OME-Zarr files."
        )
    why = (
        "no installed bioio reader accepts it"
        if unsupported
        else f"{type(exc).__name__}: {' '.join(str(exc).split())[:200]}"
    )
    return (
        f"Cannot read {path} ({why}). Check that the file is complete and really the format "
        f"its name says (readers: {FORMATS_EXTRA})."
    )


def _plain_movie(path: Path) -> bool:
    """A folder of frames or a TIFF without OME metadata: what the built-in readers open."""
    if path.is_dir():
        return not is_zarr(path)
    if path.suffix.lower() not in TIFF_SUFFIXES:
        return False
    import tifffile

    try:
        with tifffile_complaints() as complaints, tifffile.TiffFile(path) as tif:
            plain = not tif.is_ome and len(tif.pages) > 0
    except Exception:  # noqa: BLE001 - a damaged file: the generic message below says so
        return False
    return plain and not complaints  # tifffile logs, not raises, on a cut-off file


# --- what a file holds ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SceneInfo:
    """One scene (stage position, well) of a file: its axes sizes, channels and calibration."""

    index: int
    name: str
    sizes: dict  # T, C, Z, Y, X
    dtype: str
    channel_names: tuple[str, ...]
    metadata: dict = field(default_factory=dict)  # pixel sizes, time interval, acquisition


def describe(path: str | Path) -> list[SceneInfo]:
    """The scenes of a microscopy file, with sizes, channel names and metadata (nothing is read but
    headers).

    Parameters
    ----------
    path : str or Path
        An ND2, CZI, LIF, OME-TIFF or OME-Zarr file (folder for OME-Zarr).

    Returns
    -------
    list of SceneInfo
        One per scene, in the file's order.
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"Input {path} does not exist. Check the path.")
    return [scene_info(path, index) for index in range(len(_scene_names(str(path))))]


def _scene_names(path: str) -> tuple[str, ...]:
    fallback = _tifffile_scenes(path)
    if fallback is not None:
        return tuple(info.name for info in fallback)
    image, lock = _image(path, 0)
    with lock:
        names = tuple(str(n) for n in image.scenes)
        # OME-TIFF scene ids are "Image:0", "Image:1"; the image names are the wells' own
        titles = _try(lambda: [i.name for i in image.ome_metadata.images], [])
    if len(titles) == len(names) and all(titles) and len(set(titles)) == len(titles):
        names = tuple(str(t) for t in titles)
    return names


def scene_info(path: str | Path, index: int) -> SceneInfo:
    """One scene's description (a task opening one plane reads this scene's headers only)."""
    path = str(path)
    fallback = _tifffile_scenes(path)
    if fallback is not None:
        return fallback[index]
    names = _scene_names(path)
    image, lock = _image(path, index)
    with lock:
        dims = image.dims
        sizes = {axis: int(getattr(dims, axis, 1) or 1) for axis in "TCZYX"}
        if "S" in dims.order and getattr(dims, "S", 1) > 1:
            raise InputError(
                f"{path} holds RGB(A) images (scene {names[index]}); FlowRoI "
                "compresses grey-level movies. Save one channel per plane first."
            )
        channels = tuple(str(c) for c in _try(lambda: image.channel_names, ()))
        if len(channels) != sizes["C"]:
            channels = tuple(f"C{c}" for c in range(sizes["C"]))
        return SceneInfo(
            index, names[index], sizes, str(np.dtype(image.dtype)), channels, scene_metadata(image)
        )


def _tifffile_scenes(path: str) -> list[SceneInfo] | None:
    """The scenes of a TIFF that tifffile describes instead of bioio; None for every other file
    (bioio describes it):

    - an OME-TIFF whose OME XML bioio refuses only because a number in it is not one
      (``PhysicalSizeX="abc"``), read with a lenient look at the XML: bioio-ome-tiff validates
      the whole XML with ome-types and rejects the file, but its pixels are fine (tifffile reads
      them page by page anyway, `_tiff_frames`), so the movie is read without the unreadable
      calibration and a warning says so (readers.tiff.CalibrationWarning);
    - an ImageJ (Fiji) hyperstack with time and channels or z-planes (:func:`_imagej_scenes`),
      which no bioio reader we install opens."""
    if Path(path).suffix.lower() not in TIFF_SUFFIXES:
        return None
    stamp = _stamp(path)
    return _lenient_scenes(path, stamp) or _imagej_scenes(path, stamp)


@lru_cache(maxsize=8)
def _imagej_scenes(path: str, stamp: int) -> list[SceneInfo] | None:
    """The one scene of an ImageJ hyperstack (Fiji's File > Save As > Tiff of a movie with
    channels or z-planes: axes such as TCYX, TZYX, TZCYX, one page per plane), described from
    its tifffile series and ImageJ header; None for any other file, and for a hyperstack without
    time (T) or with nothing besides it, which the TIFF reader takes or refuses as before.

    Why here: Fiji's own TIFF is the most common way a time-lapse with a phase and a
    fluorescence channel is saved, and the TIFF reader could only ask for it to be saved again as
    OME-TIFF; the planes are read page by page (`_tiff_frames`), as an OME-TIFF's are, so no
    extra is needed. Channels have no names in the ImageJ header: C0, C1, ..."""
    import tifffile

    try:
        with tifffile_complaints(), tifffile.TiffFile(path) as tif:
            if tif.is_ome or not tif.is_imagej or len(tif.series) != 1:
                return None
            series = tif.series[0]
            axes, shape, dtype = series.axes, tuple(series.shape), str(np.dtype(series.dtype))
            metadata = tiff_physical_metadata(tif, path)
    except Exception:  # noqa: BLE001 - tifffile raises many kinds on odd files; the TIFF reader reports them
        return None
    sizes = dict.fromkeys("TCZYX", 1) | dict(zip(axes, shape, strict=True))
    if set(axes) - set("TCZYX") or axes[-2:] != "YX" or sizes["T"] < 2:
        return None
    if sizes["C"] == 1 and sizes["Z"] == 1:
        return None  # a plain (T, Y, X) stack: the TIFF reader's
    if _tiff_series(path, 0, stamp) is None:
        return None  # not one page per plane (a file over 4 GB written raw): not read here
    names = tuple(f"C{c}" for c in range(sizes["C"]))
    return [SceneInfo(0, Path(path).stem, sizes, dtype, names, metadata)]


@lru_cache(maxsize=8)
def _lenient_scenes(path: str, stamp: int) -> list[SceneInfo] | None:
    from xml.etree import ElementTree

    import tifffile

    try:  # a cut-off file: tifffile logs it; bioio's failure then says it in one line
        with tifffile_complaints(), tifffile.TiffFile(path) as tif:
            xml = tif.ome_metadata if tif.is_ome else None
            series = [(s.axes, tuple(s.shape), str(np.dtype(s.dtype))) for s in tif.series]
        root = ElementTree.fromstring(xml) if xml else None
    except Exception:  # noqa: BLE001 - tifffile raises many kinds on odd files; bioio then reports
        return None
    images = root.findall("{*}Image") if root is not None else []
    if not images or len(images) != len(series) or not _has_bad_number(images):
        return None
    scenes = []
    for index, (image, (axes, shape, dtype)) in enumerate(zip(images, series, strict=True)):
        pixels = image.find("{*}Pixels")
        sizes = dict.fromkeys("TCZYX", 1) | dict(zip(axes, shape, strict=True))
        if set(sizes) - set("TCZYX"):
            return None  # RGB or an unusual axis: bioio says what it makes of it
        names = [c.get("Name") or f"C{c_i}" for c_i, c in enumerate(pixels.findall("{*}Channel"))]
        if len(names) != sizes["C"]:
            names = [f"C{c}" for c in range(sizes["C"])]
        metadata = _lenient_calibration(pixels, f"{path} [scene {index}]")
        scenes.append(
            SceneInfo(
                index, image.get("Name") or f"Image:{index}", sizes, dtype, tuple(names), metadata
            )
        )
    return scenes


#: OME Pixels attributes that must be positive numbers, and the manifest keys they fill.
_OME_NUMBERS = {
    "PhysicalSizeX": "pixel_size_x",
    "PhysicalSizeY": "pixel_size_y",
    "PhysicalSizeZ": "pixel_size_z",
    "TimeIncrement": "time_interval",
}


def _has_bad_number(images) -> bool:
    for image in images:
        pixels = image.find("{*}Pixels")
        for key in _OME_NUMBERS:
            text = pixels.get(key) if pixels is not None else None
            if text is not None:
                try:
                    float(text)
                except ValueError:
                    return True
    return False


def _lenient_calibration(pixels, source: str) -> dict:
    """The calibration of one OME Pixels element, without the values that are not numbers."""
    out: dict[str, Any] = {}
    for key, name in _OME_NUMBERS.items():
        if pixels.get(key) is not None:
            value = calibration_value(pixels.get(key), key, source)
            if value is not None:
                out[name] = value
    if "pixel_size_x" not in out or "pixel_size_y" not in out:  # half a calibration: none
        for name in ("pixel_size_x", "pixel_size_y"):
            out.pop(name, None)
    elif pixels.get("PhysicalSizeXUnit"):
        out["space_unit"] = unit_symbol(pixels.get("PhysicalSizeXUnit"))
    if "time_interval" in out and pixels.get("TimeIncrementUnit"):
        out["time_unit"] = unit_symbol(pixels.get("TimeIncrementUnit"))
    return out


def _try(getter, default=None):
    """bioio readers raise NotImplementedError (or worse) for metadata their format lacks."""
    try:
        value = getter()
    except Exception:  # noqa: BLE001 - bioio readers raise anything for metadata their format lacks
        return default
    return default if value is None else value


def scene_metadata(image) -> dict:
    """Calibration and acquisition metadata of the current scene of a BioImage, JSON-ready.

    Keys (only those the file gives): ``pixel_size_x``, ``pixel_size_y``, ``pixel_size_z``,
    ``space_unit``, ``time_interval``, ``time_unit``, ``acquisition`` (``date``, ``instrument``,
    ``objective``, ``imaged_by``, ``binning``, ``position``: row, column, stage x/y)."""
    with _quiet_reader_logs(image):
        return _scene_metadata(image)


@contextmanager
def _quiet_reader_logs(image):
    """Reader plugins log a warning with a traceback for every metadata field their file lacks
    (bioio-lif: binning, objective, durations); `_try` already stands for those, so the command
    line must not print them."""
    import logging

    name = _reader_module(image)
    logger = logging.getLogger(name) if name else None
    level = logger.level if logger else None
    if logger:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        if logger:
            logger.setLevel(level)


def _reader_module(image) -> str:
    """The reader plugin's package name ("bioio_lif", "bioio_nd2", ...), or ""."""
    reader = _try(lambda: image.reader)
    return type(reader).__module__.split(".")[0] if reader is not None else ""


def _scene_metadata(image) -> dict:
    out: dict[str, Any] = {}
    reader = _reader_module(image)
    sizes = _try(lambda: image.physical_pixel_sizes)
    for axis in "XYZ":
        value = getattr(sizes, axis, None) if sizes is not None else None
        if value:  # CZI reports Z=0 for a single plane: no z calibration
            out[f"pixel_size_{axis.lower()}"] = float(value)
    props = _try(lambda: image.dimension_properties)
    ome_pixels = _try(lambda: image.ome_metadata.images[image.current_scene_index].pixels)
    space_unit = unit_symbol(getattr(getattr(props, "X", None), "unit", None))
    if space_unit is None and ome_pixels is not None and "pixel_size_x" in out:
        space_unit = unit_symbol(getattr(ome_pixels, "physical_size_x_unit", None))
    if space_unit is None and reader == "bioio_lif":
        space_unit = "µm"  # bioio-lif converts LIF's metres to micrometres and says no unit
    if space_unit and "pixel_size_x" in out:
        out["space_unit"] = space_unit
    interval = _try(lambda: image.time_interval)
    if not interval and ome_pixels is not None:
        interval = getattr(ome_pixels, "time_increment", None)
    measured = False
    if not interval:
        # a loop with no set period (ND2 "no delay"): the mean measured one, in seconds
        interval = _plane_time_step(ome_pixels)
        if not interval and reader == "bioio_lif":
            interval = _lif_time_step(image)
        measured = bool(interval)
    if interval:
        out["time_interval"] = float(getattr(interval, "total_seconds", lambda: interval)())
        time_unit = unit_symbol(getattr(getattr(props, "T", None), "unit", None))
        if time_unit is None and ome_pixels is not None and ome_pixels.time_increment:
            time_unit = unit_symbol(getattr(ome_pixels, "time_increment_unit", None))
        if hasattr(interval, "total_seconds") or measured:
            time_unit = "s"
        if time_unit:
            out["time_unit"] = time_unit
    acquisition: dict[str, Any] = {}
    standard = _try(lambda: image.standard_metadata)
    if standard is not None:
        date = getattr(standard, "imaging_datetime", None)
        if date is not None:
            acquisition["date"] = date.isoformat() if hasattr(date, "isoformat") else str(date)
        for key in ("objective", "imaged_by", "binning"):
            value = getattr(standard, key, None)
            if value not in (None, ""):
                acquisition[key] = str(value)
        position = {
            k: getattr(standard, k, None)
            for k in ("row", "column", "stage_position_x", "stage_position_y")
        }
        if not _is_well(position["row"], position["column"]):
            position.update(row=None, column=None)
        position = {
            k: (float(v) if isinstance(v, float) else v if isinstance(v, int) else str(v))
            for k, v in position.items()
            if v is not None
        }
        if position:
            acquisition["position"] = position
    ome_image = _try(lambda: image.ome_metadata.images[image.current_scene_index])
    if ome_image is not None and "date" not in acquisition and ome_image.acquisition_date:
        acquisition["date"] = ome_image.acquisition_date.isoformat()
    instrument = _try(lambda: image.ome_metadata.instruments[0].microscope)
    if instrument is not None:
        model = " ".join(str(x) for x in (instrument.manufacturer, instrument.model) if x)
        if model:
            acquisition["instrument"] = model
    if acquisition:
        out["acquisition"] = acquisition
    return out


_SECONDS = {"s": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "ns": 1e-9, "min": 60.0, "h": 3600.0}


def _plane_time_step(pixels) -> float | None:
    """The mean interval between time points from the OME planes' ``DeltaT`` (first channel and
    plane), in seconds: last minus first over their distance in T. (bioio's own
    ``timelapse_interval`` takes the last plane's DeltaT for the whole duration, which counts the
    time before the first frame too: 0.58 s instead of 0.50 s on a Nikon file.)"""
    planes = [
        p
        for p in (getattr(pixels, "planes", None) or [])
        if p.the_z in (0, None)
        and p.the_c in (0, None)
        and p.the_t is not None
        and p.delta_t is not None
    ]
    if len(planes) < 2:
        return None
    first, last = min(planes, key=lambda p: p.the_t), max(planes, key=lambda p: p.the_t)
    scale = _SECONDS.get(unit_symbol(first.delta_t_unit) or "s")
    if scale is None or last.the_t == first.the_t:
        return None
    step = (last.delta_t - first.delta_t) * scale / (last.the_t - first.the_t)
    return step if step > 0 else None


def _lif_time_step(image) -> float | None:
    """bioio-lif gives a LIF's frame interval (its T dimension's length over its frames, in
    seconds) only as the T coordinates; its own interval needs a plate layout."""
    coords = _try(lambda: image.xarray_dask_data.coords)
    if coords is None or "T" not in coords or coords["T"].size < 2:
        return None
    step = float(np.diff(np.asarray(coords["T"], dtype=float)).mean())
    return step if step > 0 else None


_WELL_ROW = re.compile(r"[A-Za-z]{1,2}")
_WELL_COLUMN = re.compile(r"\d{1,3}")


def _is_well(row, column) -> bool:
    """Whether a reader's row and column look like a plate well (A/1, AB/12, or indices).

    bioio-lif takes any element with an alphabetic name for a row and its children for columns,
    so a project named "timelapse" holding "Position 1" would become well timelapse/Position 1."""
    if row is None or column is None:
        return row is None and column is None
    ok_row = isinstance(row, int) or bool(_WELL_ROW.fullmatch(str(row)))
    ok_column = isinstance(column, int) or bool(_WELL_COLUMN.fullmatch(str(column)))
    return ok_row and ok_column


# --- one plane as a movie ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Plane:
    """One (scene, channel, z) movie of a microscopy file, named by path and indices.

    Picklable: dask tasks receive it and open the file themselves (``by_path``); ``open_movie``
    turns it into a :class:`~napari_flowroi.readers.Movie`."""

    path: str
    scene: int = 0
    channel: int = 0
    z: int = 0
    by_path = True  # batch: may be sent to a dask cluster, like a path

    def open_movie(self) -> Movie:
        return open_plane(self)

    def __str__(self) -> str:
        return f"{self.path} [scene {self.scene}, channel {self.channel}, z {self.z}]"


def open_plane(plane: Plane, info: SceneInfo | None = None) -> Movie:
    """A lazy (T, Y, X) movie of one plane; each frame is one 2-D chunk computed when read.

    Parameters
    ----------
    plane : Plane
        The file and the scene, channel and z-plane to read.
    info : SceneInfo, optional
        The scene's description, when the caller has it already.

    Returns
    -------
    Movie
        Frames read one at a time, with the plane's calibration in ``physical``.
    """
    if info is None:
        info = scene_info(plane.path, plane.scene)
    sizes = info.sizes
    for axis, index in (("C", plane.channel), ("Z", plane.z)):
        if not 0 <= index < sizes[axis]:
            raise InputError(
                f"{plane.path} scene {info.name} has no {axis.lower()} index {index} "
                f"(it has {sizes[axis]})."
            )
    source = _plane_label(plane, info)
    dtype = check_dtype(np.dtype(info.dtype), source)
    read = (
        _tiff_frames(plane, info) if Path(plane.path).suffix.lower() in TIFF_SUFFIXES else None
    ) or _bioio_frames(plane)

    def checked(t: int) -> np.ndarray:
        try:
            return read(t)
        except Exception as exc:
            raise InputError(
                f"Cannot read frame {t} of {source} ({type(exc).__name__}: "
                f"{' '.join(str(exc).split())[:200]}); the file may be truncated."
            ) from exc

    physical = dict(info.metadata)
    physical.update(
        scene=info.name,
        scene_index=info.index,
        channel_name=info.channel_names[plane.channel],
        channel_index=plane.channel,
        channels=sizes["C"],
    )
    if sizes["Z"] > 1:
        physical.update(z_index=plane.z, z_planes=sizes["Z"])
    return Movie(
        shape=(sizes["T"], sizes["Y"], sizes["X"]),
        dtype=dtype,
        read=checked,
        source=source,
        physical=physical,
    )


def _bioio_frames(plane: Plane):
    """Frame t as one chunk of bioio's lazy array, computed in this thread."""
    frames, lock = _plane_chunks(
        plane.path, plane.scene, plane.channel, plane.z, _stamp(plane.path)
    )

    def read(t: int) -> np.ndarray:
        with lock:
            # synchronous: in this thread, never through a dask cluster this task may be on
            return np.asarray(frames[t].compute(scheduler="synchronous"))[0]

    return read


@lru_cache(maxsize=32)
def _plane_chunks(path: str, scene: int, channel: int, z: int, stamp: int):
    """A plane's chunks as one delayed object per frame, made once per process: computing a slice
    of the whole array instead optimises the whole file's graph for every frame, a cost that
    grows with movie length."""
    image, lock = _image(path, scene)
    with lock:
        # this axis order whatever the reader's own (S of 1, tiles, ...); no pixels are read
        data = image.get_image_dask_data("TCZYX")[:, channel, z]
        data = data.rechunk({0: 1, 1: -1, 2: -1})  # one chunk per frame (a no-op usually)
        return list(data.to_delayed().ravel()), lock


def _tiff_frames(plane: Plane, info: SceneInfo):
    """Frame t of an OME-TIFF read as one page with tifffile, from one open file.

    bioio-ome-tiff reopens the file and parses every page's header for every chunk it reads, so a
    frame cost grew with movie length (0.1-0.4 s per 512² frame of a 320-frame file); tifffile
    finds page t directly. None when the series is not a plain page per (T, C, Z) plane (then
    bioio reads it)."""
    opened = _tiff_series(plane.path, plane.scene, _stamp(plane.path))
    if opened is None:
        return None
    series, outer, lock = opened
    sizes = dict(outer)
    if series.shape[-2:] != (info.sizes["Y"], info.sizes["X"]) or any(
        sizes.get(a, 1) != info.sizes[a] for a in "TCZ"
    ):
        return None
    counts = [n for _, n in outer]

    def read(t: int) -> np.ndarray:
        where = {"T": t, "C": plane.channel, "Z": plane.z}
        index = int(np.ravel_multi_index([where[a] for a, _ in outer], counts)) if outer else 0
        with lock:
            return series.pages[index].asarray()

    return read


def _stamp(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return 0


@lru_cache(maxsize=8)
def _tiff_series(path: str, scene: int, stamp: int):
    """One open OME-TIFF series per (file, scene) and process: tifffile maps the pages of an OME
    series once (its cost grows with the file's page count), not for every chunk."""
    import tifffile

    try:
        tif = tifffile.TiffFile(path)
        series = tif.series[scene]
        axes, shape = series.axes, series.shape
        outer = tuple((axis, n) for axis, n in zip(axes, shape, strict=True) if axis not in "YX")
        if (
            any(axis not in "TCZ" for axis, _ in outer)
            or axes[-2:] != "YX"
            or len(series.pages) != int(np.prod([n for _, n in outer], dtype=np.int64))
            or any(page is None for page in (series.pages[0], series.pages[-1]))
        ):
            tif.close()
            return None
    except Exception:  # noqa: BLE001 - tifffile raises many kinds on odd files; None = the general reader
        return None
    return series, outer, threading.Lock()


def _plane_label(plane: Plane, info: SceneInfo) -> str:
    parts = [f"scene {info.name}"] if info.name else []
    parts.append(f"channel {info.channel_names[plane.channel]}")
    if info.sizes["Z"] > 1:
        parts.append(f"z {plane.z}")
    return f"{plane.path} [{', '.join(parts)}]"


def _pick(wanted: str | int, names: Sequence[str], what: str, path) -> int:
    """An index from a name (exact, then case-insensitive) or a number."""
    text = str(wanted)
    for folded in (False, True):
        for i, name in enumerate(names):
            if (name.lower() == text.lower()) if folded else name == text:
                return i
    if text.lstrip("-").isdigit() and 0 <= int(text) < len(names):
        return int(text)
    raise InputError(
        f"{path} has no {what} {text!r}; its {what}s are "
        f"{', '.join(f'{i}: {n}' for i, n in enumerate(names))}. "
        f"Give a name or index from that list."
    )


def open_selected(
    path: str | Path,
    *,
    scene: str | int | None = None,
    channel: str | int | None = None,
    z: int | None = None,
    first_if_several: bool = False,
) -> Movie:
    """One plane of a file as a movie.

    Parameters
    ----------
    path : str or Path
        A file bioio reads.
    scene, channel, z : optional
        Names or indices; None means the only one.
    first_if_several : bool
        Take the first scene, channel and z-plane when there are several and none was named (for
        `flowroi tune`, which looks at the motion channel); otherwise several are refused with a
        message that lists them.
    """
    scenes = describe(path)
    s = _pick(scene, [i.name for i in scenes], "scene", path) if scene is not None else 0
    info = scenes[s]
    c = _pick(channel, info.channel_names, "channel", path) if channel is not None else 0
    zz = int(z) if z is not None else 0
    if not first_if_several:
        several = []
        if scene is None and len(scenes) > 1:
            several.append(f"{len(scenes)} scenes")
        if channel is None and info.sizes["C"] > 1:
            several.append(f"{info.sizes['C']} channels ({', '.join(info.channel_names)})")
        if z is None and info.sizes["Z"] > 1:
            several.append(f"{info.sizes['Z']} z-planes")
        if several:
            shape = tuple(info.sizes.values())
            raise InputError(
                f"{path} holds {' and '.join(several)} (axes TCZYX {shape}); "
                "`flowroi compress` (compress_file in Python) codes them all into one output "
                "folder, or pick one with --scene/--channel/--z (open_movie(path, scene=, "
                "channel=, z=) in Python)."
            )
    return open_plane(Plane(str(path), s, c, zz), info)
