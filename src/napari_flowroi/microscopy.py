"""Compress every plane of a microscopy file into one output folder of ordinary containers.

One container per plane (scene, channel, z; docs/formats.md, docs/decisions.md): the motion
channel's containers are coded first, and every other channel of the same scene and z-plane is
coded with the RoI stored in them (a fluorescence channel inherits the cells found in phase
contrast) instead of its own motion. Planes are read by readers/formats.py; the runs go through batch.py
and the plate summary of plates.py.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import batch
from .container import write_atomic, write_error
from .errors import CancelledError, FlowRoIError, InputError
from .executors import dask_client
from .outputs import check_folder_output, check_not_on_inputs
from .plates import PlateSummary
from .readers import open_movie
from .readers.formats import Plane, SceneInfo, _pick, describe, open_plane
from .settings import FlowRoISettings

# --- the motion channel's RoI for the other channels -------------------------------------------------


class MotionChannelMasks:
    """The motion channel's RoI, recomputed frame by frame for the channels that inherit it
    (their ``extra_roi``): bitwise the masks the motion channel's own run coded (the same
    extractor on the same movie and settings as its chunks, as ``batch.roi_masks``).

    Why not the RoI its container stores: the container keeps it as a grid of 16-128-px blocks
    (codec/_mask_box.py, sized to cost at most 1 % of a frame's bytes), which covers far more of
    the frame (a two-channel HeLa cut at 40:1: 27 % of the frame coded as RoI in the motion
    channel, 92 % in the other as stored), so the other channels were coded close to plain.
    Recomputing costs one mask per frame; a lock and a small cache let the chunks of every
    inheriting channel, which ask for the same frames, share it. Picklable: a dask task gets the
    motion channel's plane (by path) and recomputes its frames' masks itself."""

    def __init__(self, movie: Any, settings: FlowRoISettings, extra_roi: Any, name: str):
        self.movie = movie  # a formats.Plane or path (by path), or a Movie held in memory
        self.settings = settings  # the motion channel's run's (batch._Job.settings: resolved)
        self.extra_roi = extra_roi  # the user's masks the motion channel protected, if any
        self.name = name
        self.by_path = isinstance(movie, str) or getattr(movie, "by_path", False)
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._opened = None  # the movie opened once, for its shape and the extractor
        self._extractor = None
        self._masks: dict[int, np.ndarray] = {}  # the latest frames' masks, oldest first

    def __getstate__(self):
        left_out = ("_lock", "_opened", "_extractor", "_masks")
        return {k: v for k, v in self.__dict__.items() if k not in left_out}

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._reset()

    def _movie(self):
        if self._opened is None:
            self._opened = open_movie(self.movie)
        return self._opened

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self._movie().shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        from .roi import RoiExtractor

        t = int(t)
        with self._lock:
            if t not in self._masks:
                if self._extractor is None:
                    extra = self.extra_roi
                    if isinstance(extra, (str, Path)):
                        extra = open_movie(extra, masks=True)
                    # a chunk's window, twice: two workers' chunks ask for frames a chunk apart
                    self._extractor = RoiExtractor(
                        self._movie(),
                        self.settings,
                        cache_frames=2 * batch.extractor_window(self.settings),
                        extra_roi=extra,
                        resolved=True,
                    )
                self._masks[t] = self._extractor.mask(t)
                while len(self._masks) > MOTION_MASKS_KEPT:
                    del self._masks[next(iter(self._masks))]
            return self._masks[t]


#: Masks :class:`MotionChannelMasks` keeps (1 MB a 1-MP frame): the frames several inheriting
#: channels' chunks code at about the same time.
MOTION_MASKS_KEPT = 4 * batch.CHUNK_FRAMES


# --- compressing a whole file ------------------------------------------------------------------------

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _safe(text: str) -> str:
    return _SAFE.sub("_", text).strip("_.") or "x"


@dataclass
class _Unit:
    name: str
    plane: Any  # a formats.Plane, or a Movie held in memory (compress_channels)
    info: SceneInfo | None
    motion: bool  # codes its own motion (the motion channel, or no inheritance)
    source: Any = None  # the unit whose RoI it inherits (its plane, then its name)
    extra_roi: Any = None  # masks always protected (the user's), for a unit with its own motion

    @property
    def frames(self) -> int:
        return self.info.sizes["T"] if self.info is not None else len(self.plane)


def plan_planes(
    path: str | Path,
    *,
    scenes: Sequence[str | int] | None = None,
    channels: Sequence[str | int] | None = None,
    z: int | None = None,
    motion_channel: str | int | None = None,
    plain: bool = False,
) -> list[_Unit]:
    """Every plane to code and how its RoI is found; nothing is read but headers.

    Names are ``<scene>_c<i>-<channel>_z<k>`` with only the parts that vary in the selection."""
    path = Path(path)
    infos = describe(path)
    chosen = (
        [infos[_pick(s, [i.name for i in infos], "scene", path)] for s in scenes]
        if scenes
        else infos
    )
    chosen = list({info.index: info for info in chosen}.values())
    units: list[_Unit] = []
    several_scenes = len(chosen) > 1
    for info in chosen:
        cs = (
            [_pick(c, info.channel_names, "channel", path) for c in channels]
            if channels
            else list(range(info.sizes["C"]))
        )
        cs = list(dict.fromkeys(cs))
        if z is not None and not 0 <= int(z) < info.sizes["Z"]:
            raise InputError(
                f"{path} scene {info.name} has no z-plane {z} (it has "
                f"{info.sizes['Z']}, numbered from 0)."
            )
        zs = [int(z)] if z is not None else list(range(info.sizes["Z"]))
        if motion_channel is not None:
            m = _pick(motion_channel, info.channel_names, "channel", path)
            if m not in cs:
                raise InputError(
                    f"The motion channel {info.channel_names[m]} is not among the "
                    "channels selected with --channel; add it, or leave "
                    "--motion-channel out so each channel finds its own motion."
                )
        else:
            m = min(cs)  # the file's first selected channel: usually transmitted light
        inherit = m is not None and len(cs) > 1 and not plain
        for zi in zs:
            source_plane = None
            for c in sorted(cs, key=lambda c: c != m):  # the motion channel first
                parts = []
                if several_scenes:
                    parts.append(_safe(info.name))
                if len(cs) > 1:
                    parts.append(f"c{c}-{_safe(info.channel_names[c])}")
                if len(zs) > 1:
                    parts.append(f"z{zi:02d}")
                name = "_".join(parts) or _safe(path.name.split(".")[0])
                own = not inherit or c == m
                unit = _Unit(
                    name,
                    Plane(str(path), info.index, c, zi),
                    info,
                    own,
                    None if own else source_plane,
                )
                if inherit and c == m:
                    source_plane = unit.plane
                units.append(unit)
    names = [u.name for u in units]
    for unit in units:  # scene names can collide once made file-safe: number them
        if names.count(unit.name) > 1:
            unit.name = f"{unit.name}_s{unit.plane.scene}"
    by_plane = {u.plane: u.name for u in units}
    for unit in units:
        if unit.source is not None:
            unit.source = by_plane[unit.source]
    return units


def compress_file(
    path: str | Path,
    output: str | Path,
    settings=None,
    *,
    scenes: Sequence[str | int] | None = None,
    channels: Sequence[str | int] | None = None,
    z: int | None = None,
    motion_channel: str | int | None = None,
    workers: int = 1,
    overwrite: bool = False,
    progress=None,
    cancel=None,
    chunk_frames: int | None = None,
    scheduler: Any = None,
):
    """Compress every selected plane of a microscopy file.

    One plane gives one container at `output` (as ``compress_movie``).
    Several give a folder `output` of ``<name>.flowroi`` containers and ``summary.json`` (as a plate,
    ``compress_movies``): the motion channel of each scene and z-plane is
    coded first, then the other channels with its stored RoI (motion off, their own appearance
    source as set) so a fluorescence channel keeps the cells found in phase contrast.

    Parameters
    ----------
    path : str or Path
        ND2, CZI, LIF, OME-TIFF or OME-Zarr (the ``formats`` extra), or an ImageJ (Fiji)
        hyperstack with time and channels or z-planes (no extra).
    output : str or Path
        Container folder (one plane) or output folder (several).
    settings : FlowRoISettings, optional
        Settings of the motion channel (and of every channel, less motion, for the others).
    scenes, channels : sequence of names or indices, optional
        The scenes (positions, wells) and channels to code; all by default.
    z : int, optional
        One z-plane to code; every plane, each its own container, by default.
    motion_channel : name or index, optional
        The channel whose motion gives the RoI of all channels; the first channel by default.
    workers : int
        As for ``compress_movies``.
    overwrite : bool
        As for ``compress_movies``.
    progress : callable, optional
        As for ``compress_movies``.
    cancel : threading.Event, optional
        As for ``compress_movies``.
    chunk_frames : int, optional
        As for ``compress_movies``.
    scheduler : optional
        As for ``compress_movies``.

    Returns
    -------
    CompressionSummary or PlateSummary
    """

    batch.check_run_options(workers, chunk_frames)
    settings = settings or FlowRoISettings()
    started = time.perf_counter()
    output = Path(output)
    units = plan_planes(
        path,
        scenes=scenes,
        channels=channels,
        z=z,
        motion_channel=motion_channel,
        plain=settings.plain,
    )
    check_not_on_inputs(output, [path])
    options = _batch_options(workers, overwrite, cancel, scheduler, chunk_frames)
    if len(units) == 1:
        job = batch._plan(units[0].plane, output, settings, overwrite)
        return batch.compress_jobs([job], progress=progress, **options)[0]
    check_folder_output(output, "planes")
    if scheduler is None:
        return _compress_units(units, output, settings, options, progress, started)

    # both phases (motion channel, then the others) on one cluster, started once
    with dask_client(scheduler, workers) as client:
        return _compress_units(
            units, output, settings, {**options, "scheduler": client}, progress, started
        )


def _compress_units(
    units: list[_Unit], output: Path, settings, options: dict, progress, started: float
):
    """The planes of a file into `output`: the motion channels first, then the channels that
    inherit their RoI; `summary.json` last."""
    import json

    total = sum(u.frames for u in units)
    created = not output.exists()
    own = [u for u in units if u.motion]
    inheriting = [u for u in units if not u.motion]
    overwrite = options["overwrite"]
    # every plane that codes its own motion is opened and checked before anything is written
    first = [
        batch._plan(
            u.plane,
            output / f"{u.name}.flowroi",
            settings,
            overwrite,
            name=u.name,
            extra_roi=u.extra_roi,
        )
        for u in own
    ]
    for u in inheriting:  # planned once the RoI they inherit exists; their input checked now
        if isinstance(u.plane, Plane):
            open_plane(u.plane, u.info)
    summaries: dict[str, Any] = {}
    offset = [0]

    def shifted(done, _total):
        if progress is not None:
            progress(offset[0] + done, total)

    # The planes that inherit the RoI are planned only once it exists; their folders are made now,
    # so that a run stopped between the two phases (Ctrl-C, a kill) leaves them as incomplete
    # stacks that `info`, `verify` and `decompress` name, not a folder of the motion channel alone
    # that reads as the whole file. An empty folder is a new container's start (_writer.check).
    reserved = []
    for u in inheriting:
        folder = output / f"{u.name}.flowroi"
        if not folder.exists():
            try:
                folder.mkdir(parents=True)
            except OSError as exc:
                raise write_error(folder, exc) from exc
            reserved.append(folder)
    try:
        _run_phases(first, inheriting, output, settings, options, shifted, offset, summaries)
    except FlowRoIError as exc:
        # Bad input found in a later plane (a NaN frame of the second channel) or an output a
        # later plane may not use: the motion channel's stacks this run finished would otherwise
        # stay behind, with no summary.json, as a folder that `info`, `verify` and `decompress`
        # read as complete without the other channels. A cancelled run keeps them to resume.
        if not isinstance(exc, CancelledError):
            for job in first:
                if job.created:
                    job.writer.abandon()
            for folder in reserved:
                shutil.rmtree(folder, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    output.rmdir()  # only when empty
        raise
    plate = PlateSummary(
        output, tuple((u.name, summaries[u.name]) for u in units), time.perf_counter() - started
    )
    write_atomic(output / "summary.json", (json.dumps(plate.as_dict(), indent=2) + "\n").encode())
    return plate


def _run_phases(first, inheriting, output, settings, options, shifted, offset, summaries) -> None:
    """The motion channels' jobs, then the planes that inherit their RoI (planned once that
    RoI exists); each summary into `summaries` by name."""
    for job, summary in zip(
        first, batch.compress_jobs(first, progress=shifted, **options), strict=True
    ):
        summaries[job.name] = summary
    offset[0] = sum(len(job.movie) for job in first)
    if inheriting:
        inherit_settings = settings.replace(motion_roi=False)
        second = []
        motion = {job.name: job for job in first}
        shared: dict[str, MotionChannelMasks] = {}  # one per motion channel, for all its heirs
        for u in inheriting:
            if u.source not in shared:
                job = motion[u.source]
                shared[u.source] = MotionChannelMasks(
                    job.source,
                    job.settings,
                    job.extra_roi,
                    name=f"RoI of {u.source} (the motion channel's, recomputed)",
                )
            masks = shared[u.source]
            second.append(
                batch._plan(
                    u.plane,
                    output / f"{u.name}.flowroi",
                    inherit_settings,
                    options["overwrite"],
                    name=u.name,
                    extra_roi=masks,
                )
            )
        for job, summary in zip(
            second, batch.compress_jobs(second, progress=shifted, **options), strict=True
        ):
            summaries[job.name] = summary


# --- the channels of a movie held in memory (napari's (T, C, Y, X) layers) -----------------------


def compress_channels(
    channels: Sequence[Any],
    output: str | Path,
    settings=None,
    *,
    names: Sequence[str] | None = None,
    motion_channel: int = 0,
    extra_roi: Any = None,
    workers: int = 1,
    overwrite: bool = False,
    progress=None,
    cancel=None,
    chunk_frames: int | None = None,
):
    """Compress the channels of one movie as :func:`compress_file` does those of a file: one
    container per channel in the folder `output`, the motion channel first, then every other
    channel with the RoI stored in it (motion off), and ``summary.json``.

    Parameters
    ----------
    channels : sequence of Movie or (T, Y, X) arrays
        The channels, all of one shape.
    output : str or Path
        The output folder.
    settings : FlowRoISettings, optional
        Settings of the motion channel (and of every channel, less motion, for the others).
    names : sequence of str, optional
        Channel names; containers are ``c<i>-<name>.flowroi`` (``c<i>.flowroi`` without names).
    motion_channel : int
        Index of the channel whose motion gives the RoI of all channels.
    extra_roi : optional
        Masks always protected in the motion channel (so in the RoI every channel inherits).
    workers, overwrite, progress, cancel, chunk_frames
        As for :func:`~napari_flowroi.batch.compress_movie` (threads in this process).

    Returns
    -------
    PlateSummary
    """

    settings = settings or FlowRoISettings()
    started = time.perf_counter()
    output = Path(output)
    movies = [open_movie(c) for c in channels]
    if not movies:
        raise InputError("No channel to compress.")
    if not 0 <= motion_channel < len(movies):
        raise InputError(
            f"There is no channel {motion_channel} to take the RoI from (channels "
            f"0 to {len(movies) - 1})."
        )
    if names is not None and len(names) != len(movies):
        raise InputError(f"{len(names)} channel names for {len(movies)} channels.")
    if len({tuple(m.shape) for m in movies}) != 1:
        raise InputError(
            "The channels differ in shape "
            f"({', '.join(str(tuple(m.shape)) for m in movies)}); give channels of "
            "one movie."
        )
    check_folder_output(output, "channels")
    inherit = len(movies) > 1 and not settings.plain
    unit_names = [
        f"c{c}-{_safe(names[c])}" if names is not None else f"c{c}" for c in range(len(movies))
    ]
    units: list[_Unit] = []
    for c, name in enumerate(unit_names):  # in channel order, as the summary lists them
        own = not inherit or c == motion_channel
        units.append(
            _Unit(
                name,
                movies[c],
                None,
                own,
                None if own else unit_names[motion_channel],
                extra_roi if own else None,
            )
        )
    options = _batch_options(workers, overwrite, cancel, None, chunk_frames)
    return _compress_units(units, output, settings, options, progress, started)


def _batch_options(workers, overwrite, cancel, scheduler, chunk_frames) -> dict:
    """The keyword arguments every batch call of this module passes on to :mod:`batch`."""
    return {
        "workers": workers,
        "overwrite": overwrite,
        "cancel": cancel,
        "scheduler": scheduler,
        "chunk_frames": chunk_frames or batch.CHUNK_FRAMES,
    }
