"""A compression job as the widget and the command line both run it: the channel movie of an
array with more axes than (T, Y, X), and the preflight check before anything is coded.

One path for both front ends (issue 22): the command line's ``flowroi compress`` and the widget's
*Compress stack* call :func:`check_coverage` (the missed-cell guard, ``guard.preflight``), and the
widget's batch is :func:`compress_steps` (preflight, then ``batch.compress_movie`` or
``microscopy.compress_channels`` with progress). No Qt, no napari.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from .errors import CancelledError, FlowRoIError
from .guard import Preflight, preflight
from .settings import FlowRoISettings


def channel_movie(
    data: Any,
    *,
    time: int,
    channel: int | None = None,
    index: int = 0,
    channels: int = 1,
    scale: Sequence[float] | None = None,
    units: Sequence[str] | None = None,
    name: str = "image",
):
    """The (T, Y, X) movie of one channel of `data` with the calibration of its axes.

    Parameters
    ----------
    data : array-like
        An array of 3 or more axes, the last two Y and X (a napari layer's data).
    time : int
        The time axis.
    channel : int, optional
        The channel axis (None: no channel axis; other axes are taken at index 0).
    index : int
        The channel to take.
    channels : int
        How many channels there are (a name and the calibration say which one this is).
    scale, units : sequence, optional
        Per axis of `data`; the movie keeps those of T, Y and X.
    name : str
        The source's name; a channel of several is named ``"<name> c<index>"``.

    Returns
    -------
    Movie
        With ``physical`` holding pixel size, time interval and the channel's place.
    """
    from .calibration import movie_from_layer

    ndim = len(data.shape)
    keep = [time, ndim - 2, ndim - 1]
    where = tuple(slice(None) if a in keep else (index if a == channel else 0) for a in range(ndim))
    several = channel is not None and channels > 1
    movie = movie_from_layer(
        {
            "data": data[where] if ndim > 3 else data,
            "scale": [scale[a] for a in keep] if scale is not None and ndim > 3 else scale,
            "units": [units[a] for a in keep] if units is not None and ndim > 3 else units,
            "name": f"{name} c{index}" if several else name,
        }
    )
    if several:
        movie.source = f"Layer '{name}' [channel {index}]"
        movie.physical.update(channel_index=index, channel_name=f"C{index}", channels=channels)
    return movie


def check_coverage(
    movies: Sequence[Any],
    settings: FlowRoISettings,
    *,
    extra_roi: Any = None,
    accepted: bool = False,
    cancel: threading.Event | None = None,
) -> Preflight:
    """The missed-cell guard before a run, on every movie in turn: the first verdict that says
    stop, else the last one.

    Parameters
    ----------
    movies : sequence of Movie, array or path
        What the RoI is computed on (a layer's RoI channel; each well of a plate).
    settings : FlowRoISettings
    extra_roi : (T, Y, X) masks, optional
        The user's masks (a movie of the same shape).
    accepted : bool
        The user goes ahead anyway (the widget's second click, the command line's ``--force``).
    cancel : threading.Event, optional
        Checked between movies (CancelledError).

    Returns
    -------
    Preflight
    """
    verdict = Preflight(True, "Nothing to check.")
    for movie in movies:
        if cancel is not None and cancel.is_set():
            raise CancelledError("cancelled before the first frame")
        verdict = preflight(movie, settings, extra_roi=extra_roi, accepted=accepted)
        if not verdict.ok:
            return verdict
    return verdict


def compress_steps(
    movies: Sequence[Any],
    output,
    settings: FlowRoISettings,
    *,
    motion_channel: int | None = None,
    accepted: bool = False,
    overwrite: bool = False,
    cancel: threading.Event | None = None,
    workers: int = 1,
    extra_roi: Any = None,
    run: Callable | None = None,
):
    """Generator for a worker: yields ("checking", frames) while the guard runs, then (done,
    total) frames; returns the guard's :class:`~napari_flowroi.guard.Preflight` when it says
    stop, else the run's summary.

    `movies` is one movie, or every channel of one (then `motion_channel` says whose RoI the
    others inherit and the output is a folder of stacks). `run(func, *args, **kwargs)` turns a
    function taking `progress` into a generator of its (done, total) reports (the widget's
    worker helper); by default progress is collected and yielded after each call returns."""
    cancel = cancel or threading.Event()
    roi_movie = movies[motion_channel or 0]
    yield ("checking", len(roi_movie))
    verdict = None
    if settings.uses_roi:
        verdict = check_coverage([roi_movie], settings, extra_roi=extra_roi, accepted=accepted)
        if not verdict.ok:
            return verdict
    if cancel.is_set():
        raise CancelledError("cancelled before the first frame")
    options = {
        "workers": workers,
        "overwrite": overwrite,
        "cancel": cancel,
        "extra_roi": extra_roi,
    }
    if motion_channel is None:
        from .batch import compress_movie

        func, args = compress_movie, (roi_movie, output, settings)
        options["preflight"] = verdict  # the masks the check computed are coded, not redone
    else:
        from .microscopy import compress_channels

        func, args = compress_channels, (list(movies), output, settings)
        options["motion_channel"] = motion_channel
    if run is None:
        reports: list = []
        result = func(*args, progress=lambda d, t: reports.append((d, t)), **options)
        yield from reports
        return result
    return (yield from run(func, *args, **options))


def refusal(verdict: Preflight, *, where: str = "") -> FlowRoIError:
    """The command line's one-line refusal of a run the guard stopped."""
    return FlowRoIError(
        f"{where}{verdict.message} (--force compresses anyway; "
        "--coverage-target sets the threshold)"
    )
