"""Decoded stacks out of containers: a plain (T, Y, X) TIFF, or an OME-TIFF with the calibration.

A folder of containers, or a container whose input had a calibration or a channel name, gives an
OME-TIFF: pixel size, time interval and units from the manifest's ``input.physical``, channel
names, one series per scene, so napari, Fiji and tracking tools see the same pixel size and time
step as on the original. Any other container gives a plain (T, Y, X) TIFF (``Container.to_tiff``).
Only tifffile, no bioio.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import FlowRoIError
from ..outputs import check_file_output
from ._files import check_cancel, is_container, written_whole
from ._reader import Container, open_container

# --- folders of containers (plates, channels, positions) --------------------------------------------


def container_set(path: str | Path) -> list[Path] | None:
    """The containers of an output folder of several planes or wells, in name order; None when
    `path` is not such a folder (a single container, or anything else)."""
    path = Path(path)
    if not path.is_dir() or is_container(path):
        return None
    members = sorted(p for p in path.iterdir() if p.is_dir() and is_container(p))
    return members or None


def _check_every_member(folder: Path) -> None:
    """Refuse a folder of stacks with one that is interrupted or gone: decoding only the complete
    ones wrote a TIFF of fewer wells or channels, exit 0, that read as the whole run."""
    from ._verify import folder_members, member_problem

    for member in folder_members(folder) or []:
        problem = member_problem(member)
        if problem is not None:
            raise FlowRoIError(
                f"{member} is {problem.split(':')[0]}; {folder} is not a complete run. Finish it "
                "(compress again with the same settings into the same folder), or decompress a "
                "complete stack by its own path."
            )


def _series(containers: list[Container]) -> list[tuple[str, list[list[Container]]]]:
    """Group containers into OME series: the channels and z-planes of one scene of one file go
    together as (C, Z) grids; any other container is a series of its own."""
    groups: dict[Any, list[Container]] = {}
    for c in containers:
        physical = c.manifest.get("input", {}).get("physical", {}) or {}
        source = c.manifest.get("input", {}).get("source", "").split(" [")[0]
        if "channel_index" in physical:
            key = (source, physical.get("scene_index", 0))
        else:
            key = (str(c.root),)
        groups.setdefault(key, []).append(c)
    out = []
    for members in groups.values():
        physical = [m.manifest["input"].get("physical", {}) or {} for m in members]
        channels = sorted({p.get("channel_index", 0) for p in physical})
        zs = sorted({p.get("z_index", 0) for p in physical})
        grid: dict[tuple[int, int], Container] = {
            (p.get("channel_index", 0), p.get("z_index", 0)): m
            for p, m in zip(physical, members, strict=True)
        }
        shapes = {(m.shape, str(m.dtype)) for m in members}
        if len(grid) != len(channels) * len(zs) or len(shapes) != 1 or len(grid) != len(members):
            out.extend((m.root.name, [[m]]) for m in members)  # not a full grid: one by one
            continue
        name = physical[0].get("scene") or members[0].root.name
        out.append((str(name), [[grid[(c, z)] for z in zs] for c in channels]))
    return out


def ome_metadata(physical: dict, channel_names: list[str], name: str, axes: str) -> dict:
    """tifffile's OME metadata for one series from a manifest's ``input.physical``."""
    meta: dict[str, Any] = {"axes": axes, "Name": name}
    if "pixel_size_x" in physical:
        meta["PhysicalSizeX"] = float(physical["pixel_size_x"])
        meta["PhysicalSizeY"] = float(physical.get("pixel_size_y", physical["pixel_size_x"]))
        if physical.get("space_unit"):
            meta["PhysicalSizeXUnit"] = meta["PhysicalSizeYUnit"] = physical["space_unit"]
    if "pixel_size_z" in physical and "Z" in axes:
        meta["PhysicalSizeZ"] = float(physical["pixel_size_z"])
    if "time_interval" in physical:
        meta["TimeIncrement"] = float(physical["time_interval"])
        if physical.get("time_unit"):
            meta["TimeIncrementUnit"] = physical["time_unit"]
    if any(channel_names):
        meta["Channel"] = {"Name": channel_names}
    acquisition = physical.get("acquisition") or {}
    if acquisition.get("date"):
        meta["AcquisitionDate"] = str(acquisition["date"])
    rest = {k: v for k, v in acquisition.items() if k != "date"}
    if rest:  # instrument, objective, position: no OME field tifffile writes, kept as text
        meta["Description"] = "acquisition: " + json.dumps(rest, ensure_ascii=False)
    return meta


def has_calibration(manifest: dict) -> bool:
    """Whether a manifest holds anything an OME-TIFF keeps: pixel size, time, a channel name."""
    physical = manifest.get("input", {}).get("physical", {}) or {}
    return any(
        key in physical for key in ("pixel_size_x", "time_interval", "channel_name", "acquisition")
    )


def decompress(
    source: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
) -> dict:
    """Decode a container or a folder of containers into one TIFF, keeping the calibration.

    A folder of containers, or a container whose input had a calibration or a channel name,
    gives an OME-TIFF (:func:`write_ome_tiff`); any other container a plain (T, Y, X) TIFF
    (``Container.to_tiff``). `progress` and `cancel` as :func:`write_ome_tiff`.

    Returns
    -------
    dict
        ``series`` (name, axes and shape of each) and ``dtype``.
    """
    if container_set(source) is None:
        container = open_container(source)
        if not has_calibration(container.manifest):
            container.to_tiff(output, overwrite=overwrite, progress=progress, cancel=cancel)
            return {
                "series": [
                    {"name": container.root.name, "axes": "TYX", "shape": list(container.shape)}
                ],
                "dtype": str(container.dtype),
            }
    return write_ome_tiff(source, output, overwrite=overwrite, progress=progress, cancel=cancel)


def write_ome_tiff(
    source: str | Path,
    output: str | Path,
    *,
    overwrite: bool = False,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
) -> dict:
    """Decode a container, or a folder of containers, into one OME-TIFF with its calibration.

    A container gives one (T, Y, X) series; a folder of the planes of a file gives one
    (T, C, Z, Y, X) series per scene with the channel names (other containers, e.g. wells from
    separate files, one series each). Pixel size, time interval and units come from the manifest.
    Frames are decoded and written one at a time: memory stays flat in movie length.

    Parameters
    ----------
    source : str or Path
        A container folder, or an output folder of several containers.
    output : str or Path
        The OME-TIFF to write: under a temporary name beside it, renamed when complete; on any
        failure nothing is left behind. Never inside a container.
    overwrite : bool
        Replace an existing file.
    progress : callable, optional
        ``progress(done, total)`` after every frame.
    cancel : optional
        An object with ``is_set()`` (a ``threading.Event``), checked before every frame is
        decoded: once set, the export stops with :class:`~napari_flowroi.errors.CancelledError`
        and the temporary file is removed (nothing is written).

    Returns
    -------
    dict
        ``series``: per series its name, axes and shape; ``dtype``.

    Raises
    ------
    CancelledError
        `cancel` was set before the last frame was written.
    """
    import tifffile

    source, output = Path(source), Path(output)
    members = container_set(source)
    if members is not None:
        _check_every_member(source)
    containers = (
        [open_container(m) for m in members] if members is not None else [open_container(source)]
    )
    check_file_output(
        output, containers=[source, *(c.root for c in containers)], overwrite=overwrite
    )
    for container in containers:  # a damaged frame stops the run before anything is written
        for t in range(container.shape[0]):
            container.check_frame(t)
    series = _series(containers)
    total = sum(len(grid) * len(grid[0]) * grid[0][0].shape[0] for _, grid in series)
    count = [0]

    def advance() -> None:
        count[0] += 1
        if progress is not None:
            progress(count[0], total)

    with written_whole(output) as tmp, tifffile.TiffWriter(tmp, bigtiff=True, ome=True) as tif:
        written = [_write_series(tif, name, grid, advance, cancel) for name, grid in series]
    return {"series": written, "dtype": str(containers[0].dtype)}


def _write_series(tif, name: str, grid: list[list[Container]], advance, cancel=None) -> dict:
    """One scene's (C, Z) grid of containers as one OME series, a frame at a time."""
    first = grid[0][0]
    physical = first.manifest["input"].get("physical", {}) or {}
    n_c, n_z = len(grid), len(grid[0])
    t, y, x = first.shape
    if n_c == 1 and n_z == 1 and "channel_index" not in physical:
        axes, shape = "TYX", (t, y, x)
    elif n_z == 1:
        axes, shape = "TCYX", (t, n_c, y, x)
    else:
        axes, shape = "TCZYX", (t, n_c, n_z, y, x)
    names = [
        str(row[0].manifest["input"].get("physical", {}).get("channel_name", "")) for row in grid
    ]

    def frames():
        for ti in range(t):  # pages in the order of the axes: T, then C, then Z
            for row in grid:
                for container in row:
                    check_cancel(cancel)  # raised inside tifffile's write: the caller cleans up
                    yield np.asarray(container.read_frame(ti))
                    advance()

    tif.write(
        frames(),
        shape=shape,
        dtype=first.dtype,
        photometric="minisblack",
        metadata=ome_metadata(physical, names, name, axes),
    )
    return {"name": name, "axes": axes, "shape": list(shape)}
