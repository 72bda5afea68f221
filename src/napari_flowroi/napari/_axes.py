"""Where a (T, Y, X) movie sits in an image layer of more dimensions (channels, size-1 axes)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InputError

# --- where the (T, Y, X) movie sits in its layer ---------------------------------------------------

_TIME_LABELS = ("t", "time")
_CHANNEL_LABELS = ("c", "ch", "channel", "channels")
#: An axis labelled so holds z-planes, never channels: each plane has its own cells and motion
#: (the command line codes every plane as its own stack), so it is not given a channel's RoI.
_Z_LABELS = ("z", "depth", "plane", "planes")


@dataclass(frozen=True)
class LayerAxes:
    """Where a (T, Y, X) movie sits in an image layer of more dimensions.

    Decision (docs/decisions.md): axes of length 1 before Y, X are dropped (a reader's
    (T, 1, Y, X)); one more axis of length > 1 is the channel axis: the axis napari's reader
    labels "c", else the second of the two, as napari's reader gives an OME-TIFF (T, C, Y, X).
    A layer with more such axes (z-stacks with channels) is refused with what to do instead."""

    ndim: int
    time: int  # the layer's time axis
    channel: int | None = None  # its channel axis, when it has more than one channel
    channels: int = 1
    index: int = 0  # the channel the movie is taken from

    def movie_index(self, channel: int | None = None) -> tuple:
        """The layer's data index giving the (T, Y, X) movie of `channel` (default: index)."""
        c = self.index if channel is None else channel
        return tuple(
            slice(None)
            if a in (self.time, self.ndim - 2, self.ndim - 1)
            else c
            if a == self.channel
            else 0
            for a in range(self.ndim)
        )

    @property
    def fixed(self) -> dict[int, int]:
        """Every axis other than T, Y, X, with the index the movie is taken at."""
        return {a: i for a, i in enumerate(self.movie_index()) if not isinstance(i, slice)}

    def embed(self, stack):
        """A (T, Y, X) stack as the layer's dimensions (length 1 on the other axes)."""
        if not self.fixed:
            return stack
        return stack[tuple(None if a in self.fixed else slice(None) for a in range(self.ndim))]

    def translate(self, layer) -> list[float]:
        """The preview layers' translation: on the channel axis, the chosen channel's place."""
        out = [float(v) for v in layer.translate]
        for axis, i in self.fixed.items():
            out[axis] += i * float(layer.scale[axis])
        return out

    def points(self, txy: np.ndarray) -> np.ndarray:
        """(t, y, x) points as the layer's dimensions."""
        if not self.fixed:
            return txy
        columns = {self.time: 0, self.ndim - 2: 1, self.ndim - 1: 2}
        return (
            np.column_stack(
                [
                    txy[:, columns[a]] if a in columns else np.full(len(txy), float(self.fixed[a]))
                    for a in range(self.ndim)
                ]
            )
            if len(txy)
            else np.zeros((0, self.ndim))
        )


def full_resolution(layer):
    """An image layer's data at full resolution (a multiscale layer's first level)."""
    return layer.data[0] if getattr(layer, "multiscale", False) else layer.data


def layer_axes(layer, channel: int = 0) -> LayerAxes:
    """The axes of an image layer as a movie; InputError (one line) when it cannot be one."""
    data = full_resolution(layer)
    shape = tuple(int(n) for n in data.shape)
    ndim = len(shape)
    if ndim <= 3 or getattr(layer, "rgb", False):
        return LayerAxes(ndim, 0)
    labels = [str(x).lower() for x in getattr(layer, "axis_labels", ())]
    extra = list(range(ndim - 2))
    long = [a for a in extra if shape[a] > 1]
    time = next((a for a in extra if a < len(labels) and labels[a] in _TIME_LABELS), None)
    chan = next((a for a in long if a < len(labels) and labels[a] in _CHANNEL_LABELS), None)
    if time is None:
        time = next((a for a in long if a != chan), extra[0])
    rest = [a for a in long if a != time]
    planes = [a for a in rest if a < len(labels) and labels[a] in _Z_LABELS]
    if chan is None and len(rest) == 1 and not planes:
        chan = rest[0]
    if [a for a in rest if a != chan]:
        raise InputError(
            f"Layer '{layer.name}' has shape {shape}: more axes than time and channels (z-planes?). "
            "The widget takes (time, y, x) or (time, channel, y, x); compress such a file with "
            "`flowroi compress` (every z-plane its own stack) or pick one plane first."
        )
    if chan is None:
        return LayerAxes(ndim, time)
    return LayerAxes(ndim, time, chan, shape[chan], min(max(int(channel), 0), shape[chan] - 1))
