"""The movie picker: which image layer (and channel) the dock works on, and where its time axis
sits in the viewer.

The picker never chooses a layer by itself once the user's layer is gone (issue 22, item 8): it
goes to "none" and stays there until the user picks one; it picks a layer by itself only while
nothing was ever chosen (the dock opened before any movie was loaded).
"""

from __future__ import annotations

from magicgui.widgets import ComboBox, Container

from ..jobs import channel_movie
from ._layers import LayerAxes, full_resolution, is_preview_layer, layer_axes


class SourcePicker(Container):
    """*Movie layer* and, for layers with channels, *RoI channel*."""

    def __init__(self, viewer):
        self.viewer = viewer
        self.source = ComboBox(
            label="Movie layer",
            choices=self._choices,
            nullable=True,
            tooltip="The image layer to compress: a time-lapse movie shaped "
            "(time, y, x) or (time, channel, y, x), uint8, uint16 or float.",
        )
        self.channel = ComboBox(
            label="RoI channel",
            choices=[],
            visible=False,
            tooltip="The channel whose motion gives the RoI (usually the transmitted-light one). "
            "The preview shows this channel; the other channels are compressed with its RoI.",
        )
        super().__init__(widgets=[self.source, self.channel], labels=True)
        self.margins = (0, 0, 0, 0)
        self.axes = LayerAxes(3, 0)
        self.chosen = False  # a layer was chosen once: never pick another by ourselves
        self.on_data = None  # called when the picked layer's data is replaced
        self._watched = None
        first = next((layer for _name, layer in self._choices() if layer is not None), None)
        self.source.value = first
        self.chosen = first is not None
        self.watch(first)
        self.source.changed.connect(self.watch)  # before the dock's own handler

    def watch(self, layer) -> None:
        """Follow the picked layer's data: replaced (``layer.data = …``), the movie must be read
        again, else the preview, verdict and guard stay those of the old data."""
        if self._watched is not None:
            self._watched.events.data.disconnect(self._data_replaced)
        self._watched = layer
        if layer is not None:
            layer.events.data.connect(self._data_replaced)

    def _data_replaced(self, *_):
        if self.on_data is not None:
            self.on_data()

    def _choices(self, *_):
        from napari.layers import Image

        if self.viewer is None:
            return [("none", None)]
        return [("none", None)] + [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image) and not is_preview_layer(layer)
        ]

    @property
    def layer(self):
        return self.source.value

    def refresh(self) -> None:
        """The layer list changed: offer the new choices, keep the user's (or none)."""
        current = self.source.value
        gone = current is not None and current not in self.viewer.layers
        with self.source.changed.blocked():
            self.source.reset_choices()
            if gone or (self.chosen and current is None):
                self.source.value = None
            elif current is not None:
                self.source.value = current
        if self.source.value is not current:  # announce what changed (gone, or a first pick)
            self.source.changed.emit(self.source.value)
        if self.source.value is not None:
            self.chosen = True

    def one_frame_coded(self, layer, settings) -> bool:
        """A one-frame movie, refused for the preview (motion needs two frames), that the
        batch codes all the same: without motion (Plain, or Motion RoI off; batch.py's rule)."""
        shape = full_resolution(layer).shape
        time = self.axes.time if self.axes.ndim == layer.ndim else 0
        return (
            len(shape) > 2
            and not getattr(layer, "rgb", False)
            and shape[time] == 1
            and (settings.plain or not settings.motion_roi)
        )

    def set_axes(self, layer, channel: int | None) -> LayerAxes:
        """Where the movie sits in `layer`; InputError when it cannot be a movie."""
        self.axes = layer_axes(layer, channel or 0)
        several = self.axes.channels > 1
        choices = [(f"channel {c}", c) for c in range(self.axes.channels)] if several else []
        with self.channel.changed.blocked():
            if list(self.channel.choices) != [c for _, c in choices]:
                self.channel.choices = choices
            if several and self.channel.value != self.axes.index:
                self.channel.value = self.axes.index
        self.channel.visible = several
        return self.axes

    def clear_axes(self) -> None:
        self.axes = LayerAxes(3, 0)
        self.channel.visible = False

    def movie_data(self, layer):
        """The (T, Y, X) movie of the layer's RoI channel (size-1 axes dropped)."""
        data = full_resolution(layer)
        return data[self.axes.movie_index()] if self.axes.ndim > 3 else data

    def channel_movie(self, layer, channel: int):
        """One channel as a movie that keeps the layer's scale, units and name (jobs.py, the
        same path the command line's files take through calibration)."""
        axes = self.axes
        return channel_movie(
            full_resolution(layer),
            time=axes.time if axes.ndim == layer.ndim else 0,
            channel=axes.channel,
            index=channel,
            channels=axes.channels,
            scale=list(layer.scale),
            units=getattr(layer, "units", None),
            name=layer.name,
        )

    def time_axis(self, layer) -> int:
        """The viewer's dims axis of the layer's time axis."""
        time = self.axes.time if self.axes.ndim == layer.ndim else 0
        return self.viewer.dims.ndim - layer.ndim + time

    def current_frame(self, layer, n_frames: int) -> int:
        """The frame of `layer` the viewer shows, clamped into the movie."""
        position = layer.world_to_data(self.viewer.dims.point[-layer.ndim :])
        time = self.axes.time if self.axes.ndim == layer.ndim else 0
        return int(min(max(round(position[time]), 0), n_frames - 1))

    def clamp_view(self, layer, n_frames: int) -> None:
        """Bring the viewer's time slider inside `layer`'s movie before its preview layers are
        swapped in: a slider left on frame 18 of a longer movie, with layers of 12 frames,
        crashed napari's OpenGL draw (issue 22, item 2)."""
        t = self.current_frame(layer, n_frames)
        world = layer.data_to_world([0] * layer.ndim)
        axis = self.time_axis(layer)
        time = self.axes.time if self.axes.ndim == layer.ndim else 0
        target = float(world[time]) + t * float(layer.scale[time])
        if abs(self.viewer.dims.point[axis] - target) > 1e-9:
            self.viewer.dims.set_point(axis, target)

    def show_channel_plane(self, layer) -> None:
        """Move the viewer's channel slider to the RoI channel, where the preview layers are."""
        if self.axes.channel is None or layer is None:
            return
        axis = self.viewer.dims.ndim - layer.ndim + self.axes.channel
        self.viewer.dims.set_point(
            axis,
            float(layer.translate[self.axes.channel])
            + self.axes.index * float(layer.scale[self.axes.channel]),
        )
