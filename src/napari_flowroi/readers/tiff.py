"""Multi-page TIFF and OME-TIFF stacks shaped (T, Y, X), read page by page with tifffile.

Stacks with extra axes (channels, z, RGB) are refused with a message that says how to split them,
instead of being compressed plane by plane under guessed axis names (docs/decisions.md); OME-TIFFs
with channels or positions go through formats.py.
"""

from __future__ import annotations

import math
import threading
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError
from .movie import Movie, check_axes, check_dtype
from .units import unit_symbol


def open_tiff(path: Path, masks: bool = False) -> Movie:
    """A (T, Y, X) TIFF stack; `masks`: the user's masks or labels, of any integer or bool pixel
    type (movie.check_dtype)."""
    import tifffile

    try:
        with tifffile_complaints() as complaints, tifffile.TiffFile(path) as tif:
            series = tif.series[0]
            others = [s for s in tif.series[1:] if not _is_reduced(s)]
            shape, axes = tuple(series.shape), _saved_axes(tif, series)
            if others:
                kinds = ", ".join(f"{s.dtype} {tuple(s.shape)}" for s in tif.series[:4])
                raise _MixedPages(
                    f"{path} holds {1 + len(others)} image series of different "
                    f"page sizes or pixel types ({kinds}); FlowRoI compresses one "
                    "(T, Y, X) stack whose pages are all alike. Save each series "
                    "as its own TIFF first."
                )
            dtype = np.dtype(series.dtype)
            physical = tiff_physical_metadata(tif, path)
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
            f"Cannot read {path} as a TIFF stack ({one_line(exc)}). "
            "Check that the file is complete and really a TIFF."
        ) from exc
    if complaints or data_end > path.stat().st_size:
        # tifffile reads a cut-off file without raising: it logs and gives fewer frames
        why = one_line(complaints[0]) if complaints else "image data end past the end of the file"
        raise InputError(
            f"{path} is truncated or damaged ({why}). Copy the complete file again "
            "(e.g. check its size against the original) and rerun."
        )
    shape, axes = _squeeze(shape, axes)
    if len(shape) == 2:  # a single image: a one-frame movie
        shape, axes = (1,) + shape, "I" + axes
    if "S" in axes:
        # tifffile.imwrite saves a (3, Y, X) or (4, Y, X) array as one RGB(A) image with
        # separate planes unless told otherwise: a movie cut to 3 or 4 frames and saved so
        # reads as colour, and the advice to save one channel misled
        frames = (
            f" If it holds {shape[0]} frames of a grey-level movie (tifffile saves a "
            f"({shape[0]}, Y, X) array as RGB(A) unless given photometric='minisblack'), save it "
            "again with photometric='minisblack'."
            if axes == "SYX" and shape[0] in (3, 4)
            else ""
        )
        raise InputError(
            f"{path} holds RGB(A) images (axes {axes}, shape {shape}); FlowRoI "
            f"compresses grey-level movies. Save one channel as a (T, Y, X) stack.{frames}"
        )
    if len(shape) == 3 and axes[0] not in "TZQI":
        raise InputError(
            f"{path} has axes {axes} {shape}; FlowRoI needs (T, Y, X). "
            "Split channels into separate movies first."
        )
    if len(shape) == 3 and axes[0] == "Z" and "T" not in axes:
        pass  # a stack saved without time metadata: take the first axis as time
    if len(shape) == 4 and axes[-2:] == "YX" and set(axes[:2]) & set("CZ"):
        # a hyperstack not read plane by plane (formats._imagej_scenes: one with time, one page
        # per plane): the advice to split it said nothing of how, nor that the OME-TIFF route
        # picks a channel or plane without splitting. Without time its z-slices are often the
        # time points (Fiji's image sequence import names them slices): say how to swap them
        swap = (
            " If its z-slices are time points, make them frames first (Fiji: Image > "
            "Hyperstacks > Re-order Hyperstack..., or Image > Properties...)."
            if "Z" in axes and "T" not in axes
            else ""
        )
        raise InputError(
            f"{path} is a hyperstack with axes {axes} {shape}; FlowRoI needs (T, Y, X). Save it "
            "as OME-TIFF (Fiji: File > Save As > OME-TIFF...) and pick one with --channel / --z "
            "(every channel is compressed by default), or split it into one (T, Y, X) stack "
            f"each (Fiji: Image > Hyperstacks > Reduce Dimensionality...).{swap}"
        )
    check_axes(shape, str(path))
    dtype = check_dtype(dtype, str(path), masks=masks)
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

    return Movie(shape=shape, dtype=dtype, read=read, source=str(path), physical=physical)


class _MixedPages(Exception):
    pass


def _saved_axes(tif, series) -> str:
    """The series' axes, or ``QYX`` for a 3-D array tifffile saved without axis names whose
    frames are one pixel wide: tifffile stores (T, Y, 1) as one Y-by-T page and then guesses the
    axes ``YXQ`` (``YQX`` for (T, 1, 1)), which would read a 4-frame movie as one image; its
    shaped description still holds the shape as saved, and first axis, then Y, X is what the
    array was."""
    axes = series.axes
    shaped = tif.shaped_metadata[0] if tif.is_shaped and tif.shaped_metadata else None
    if (
        isinstance(shaped, dict)
        and "axes" not in shaped
        and len(series.shape) == 3
        and list(shaped.get("shape", ())) == list(series.shape)
        and not axes.endswith("YX")
    ):
        return "QYX"
    return axes


def _is_reduced(series) -> bool:
    """A reduced-resolution copy (thumbnail, pyramid level) stored beside the stack."""
    try:
        return all(bool(getattr(p, "is_reduced", False)) for p in series.pages)
    except Exception:  # noqa: BLE001 - tifffile raises many kinds loading pages of damaged files
        return False


def _squeeze(shape, axes):
    keep = [i for i, s in enumerate(shape) if s != 1 or axes[i] in "YX"]
    return tuple(shape[i] for i in keep), "".join(axes[i] for i in keep)


def one_line(message: Any) -> str:
    return " ".join(str(message).split())


#: tifffile's logger is one for the process, and files are opened from several threads at once
#: (a batch's chunks): the contexts below share its state under this lock, and the first to enter
#: and the last to leave set and restore its propagation (:class:`tifffile_complaints`).
_COMPLAINTS_LOCK = threading.Lock()
_complaints_open = 0
_propagated = True


class tifffile_complaints:
    """Collect what tifffile logs while a file is opened (it logs, rather than raises, about
    invalid page offsets in cut-off files) and keep it off the user's terminal.

    Safe when contexts overlap, in one thread or several: each collects what its own thread
    logs, and tifffile's records stay off the terminal until the last context is left. (Each
    context once restored the propagation it had found on entering: when two overlapped, the
    first to leave turned it back on while the other was still reading, and a cut-off file's
    complaint reached the terminal, a second line before the one-line error.)"""

    def __enter__(self) -> list[str]:
        import logging

        global _complaints_open, _propagated
        self.logger = logging.getLogger("tifffile")
        self.messages: list[str] = []
        messages, thread = self.messages, threading.get_ident()

        class _Collect(logging.Handler):
            def emit(self, record):
                if record.thread == thread and record.levelno >= logging.WARNING:
                    messages.append(record.getMessage())

        self.handler = _Collect()
        with _COMPLAINTS_LOCK:
            if _complaints_open == 0:
                _propagated = self.logger.propagate
                self.logger.propagate = False
            _complaints_open += 1
            self.logger.addHandler(self.handler)
        return messages

    def __exit__(self, *exc) -> None:
        global _complaints_open
        with _COMPLAINTS_LOCK:
            self.logger.removeHandler(self.handler)
            _complaints_open -= 1
            if _complaints_open == 0:
                self.logger.propagate = _propagated


def tiff_physical_metadata(tif, source: Any) -> dict:
    """Pixel size and time interval from OME or ImageJ metadata, when the file has them.

    A value that is not a positive number (``PhysicalSizeX="abc"``) is left out with a warning:
    the pixels are fine, only that calibration is lost, so the movie is still read."""
    physical: dict[str, Any] = {}
    if tif.is_ome and tif.ome_metadata:
        from xml.etree import ElementTree

        try:
            root = ElementTree.fromstring(tif.ome_metadata)
        except ElementTree.ParseError:
            root = None
        pixels = root.find(".//{*}Pixels") if root is not None else None
        if pixels is not None:
            dropped = set()  # values given but unreadable: their units go with them
            for key, name in (
                ("PhysicalSizeX", "pixel_size_x"),
                ("PhysicalSizeY", "pixel_size_y"),
                ("TimeIncrement", "time_interval"),
            ):
                if pixels.get(key) is not None:
                    value = calibration_value(pixels.get(key), key, source)
                    if value is not None:
                        physical[name] = value
                    else:
                        dropped.add(name)
            for key, name, needs in (
                ("PhysicalSizeXUnit", "space_unit", "pixel_size_x"),
                ("TimeIncrementUnit", "time_unit", "time_interval"),
            ):
                if pixels.get(key) is not None and needs not in dropped:
                    physical[name] = pixels.get(key)
            if dropped & {"pixel_size_x", "pixel_size_y"}:
                # one side unreadable: half a calibration would give wrong areas, so none is kept
                for name in ("pixel_size_x", "pixel_size_y", "space_unit"):
                    physical.pop(name, None)
    elif tif.is_imagej and tif.imagej_metadata:
        meta = tif.imagej_metadata
        if meta.get("finterval"):
            value = calibration_value(meta["finterval"], "finterval", source)
            if value is not None:
                physical["time_interval"] = value
        if meta.get("unit"):
            # Fiji writes "micron" (and "\u00B5m"): as read, "micron" went into the decompressed
            # OME-TIFF's PhysicalSizeXUnit, which is not an OME unit, and bioio refused the file
            unit = unit_symbol(meta["unit"])
            if unit is not None:
                physical["space_unit"] = unit
        if "time_interval" in physical:
            # ImageJ's frame interval is in its time unit, `tunit`, left out of the header when it
            # is seconds; ignored, a 2-min interval was written back as 2 (OME's default: s)
            physical["time_unit"] = unit_symbol(meta.get("tunit") or "sec") or "s"
        page = tif.pages[0]
        res = page.tags.get("XResolution")
        if res is not None and res.value[0]:
            physical["pixel_size_x"] = res.value[1] / res.value[0]
            physical["pixel_size_y"] = physical["pixel_size_x"]
    return physical


def calibration_value(text: Any, key: str, source: Any) -> float | None:
    """`text` as a positive finite number, or None with a warning saying the calibration is lost."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        value = float("nan")
    if math.isfinite(value) and value > 0:
        return value
    warnings.warn(
        f"{source}: its metadata gives {key} = {str(text)[:40]!r}, not a positive number; the "
        "movie is read without that calibration (set the pixel size in your analysis).",
        CalibrationWarning,
        stacklevel=3,
    )
    return None


class CalibrationWarning(UserWarning):
    """A file's calibration (pixel size, time step) could not be read; its pixels can."""


def frames_in(path: Path) -> int:
    import tifffile

    try:
        with tifffile_complaints(), tifffile.TiffFile(path) as tif:
            shape = tif.series[0].shape
    except Exception:  # noqa: BLE001 - tifffile raises many kinds for corrupt files
        return 1  # unreadable: let open_movie say why when the folder is opened as frames
    return int(shape[0]) if len([s for s in shape if s != 1]) > 2 or len(tif.pages) > 1 else 1
