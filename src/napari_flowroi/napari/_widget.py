"""The FlowRoI dock: the movie picker, the busy line and the verdict on top, then three tabs —
Tune (``_tune``), Compare (``_compare``), Compress (``_compress``) — in a scrollable dock that fits
a 1366 × 768 screen.

This module owns the dock's lifecycle (docked, closed with its ×, viewer closed) and the glue
between the Qt-free :class:`napari_flowroi.tuning.TuningModel` and the layers: the model decides
what to compute (:meth:`TuningModel.plan`), the dock debounces, runs it in a worker and shows what
the model accepts.
"""

from __future__ import annotations

from functools import partial

from magicgui.widgets import Label
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import Qt
from qtpy.QtWidgets import QScrollArea, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from ..errors import FlowRoIError, SettingsError
from ..readout import plain_words
from ..settings import FlowRoISettings
from ..tuning import TuningModel
from ._busy import BusyLine
from ._compare import ComparePanel
from ._compress import CompressPanel, default_output
from ._dock import LAYER_LIST_EVENTS, DockLifecycle, TopDownLayout
from ._gl_context import CanvasContextOnRemoval
from ._layers import FLOW_VIEWS, LiveLayers
from ._live import DEBOUNCE_MS, PreviewRunner  # noqa: F401 - DEBOUNCE_MS: tests read it here
from ._roi_layers import LayerRoi
from ._source import SourcePicker
from ._tune import TunePanel

#: Widgets of the panels the tests and scripts reach through the dock.
_PANEL_WIDGETS = {
    "tune": ("form", "roi_layer", "live", "readout", "suggest_button", "apply_button",
             "suggestion", "reset_button", "load_preset", "save_preset", "suggest"),
    "compare": ("flow_view", "side_by_side_button", "rd_button", "rd_plot", "side_by_side"),
    "compress_panel": ("output", "overwrite", "all_channels", "compress_button", "status",
                       "estimate", "export_button", "masks_button"),
    "busy_line": ("progress_bar", "cancel_button", "cancel"),
    "picker": ("source", "channel", "axes"),
}  # fmt: skip


class FlowRoIWidget(DockLifecycle, QWidget):
    """Dock widget: pick a movie layer, tune on the visible frame, compare, compress."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.model = TuningModel()
        self.live_layers: LiveLayers | None = None
        self.messages: list[str] = []  # every message shown to the user, newest last
        self.last_update_seconds: float | None = None  # setting change -> all layers updated
        self.first_update_seconds: float | None = None  # setting change -> mask layer updated
        self.closed = False
        self._docked = self._watching = None
        self.picker = SourcePicker(napari_viewer)
        self.busy_line = BusyLine(self.notify)
        self.busy_label = self.busy_line.text_label
        self.verdict = Label(value="")
        self.tune, self.compare = TunePanel(self), ComparePanel(self)
        self.compress_panel = CompressPanel(self)
        self._layout()
        self.runner = PreviewRunner(self)
        self._wire()
        self.source_changed()

    def __getattr__(self, name):  # the panels' controls, as dock.form, dock.output, …
        for panel, names in _PANEL_WIDGETS.items():
            if name in names:
                return getattr(self.__dict__.get(panel) or getattr(self, panel), name)
        raise AttributeError(name)

    @property
    def native(self):
        return self

    def _layout(self):
        self.tabs = QTabWidget()
        for name, panel in (("Tune", self.tune), ("Compare", self.compare)) + (
            ("Compress", self.compress_panel),
        ):
            panel.native.layout().addStretch(1)  # short tabs keep their controls together
            self.tabs.addTab(panel.native, name)
        self.verdict.native.setWordWrap(True)
        for label in (
            self.tune.readout,
            self.verdict,
            self.tune.suggestion,
            self.tune.dead,
            self.compress_panel.status,
            self.compress_panel.estimate,
            self.busy_label,
        ):
            # long text wraps to the dock's width instead of widening the dock
            label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.native.setMinimumWidth(0)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        for part in (self.picker.native, self.verdict.native, self.busy_line.native, self.tabs):
            layout.addWidget(part)
        layout.addStretch(1)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self.setMinimumHeight(200)
        self.top_down_layout = TopDownLayout(self)  # no squashed rows (item 12): see _dock.py
        self.top_down_layout.watch(self)

    def _wire(self):
        self.model.suggestion_ready.connect(self.tune.show_suggestion)
        self.picker.source.changed.connect(lambda *_: self.source_changed())
        self.picker.channel.changed.connect(self._channel_changed)
        self.tune.form.changed.connect(lambda *_: self.settings_changed())
        self.tune.form.expert_button.changed.connect(self._refit_soon)
        self.tune.live.changed.connect(self._live_changed)
        self.tune.roi_layer.changed.connect(self._roi_layer_changed)
        self.viewer.dims.events.current_step.connect(self._step_changed)
        for event in LAYER_LIST_EVENTS:  # "renamed": the pickers show the new name
            getattr(self.viewer.layers.events, event).connect(self._layers_changed)
        # the movie layer's data replaced (layer.data = …): read it again, no stale preview
        self.picker.on_data = lambda: self.source_changed(channel=self.picker.axes.index)
        # napari frees a removed layer's GL objects outside the paint: see _gl_context.py
        self.gl_context = CanvasContextOnRemoval(self.viewer, self)
        self.destroyed.connect(partial(FlowRoIWidget._teardown, self))

    @property
    def busy(self) -> bool:
        return self.runner.busy or self.busy_line.running

    # --- messages ----------------------------------------------------------------------------------
    def notify(self, message: str, kind: str = "error") -> None:
        message = plain_words(message)
        self.messages.append(message)
        {"error": show_error, "warning": show_warning, "info": show_info}[kind](message)

    # --- the movie layer ---------------------------------------------------------------------------
    def _layers_changed(self, *_):
        if not self.closed:
            if self.live_layers is not None and self.live_layers.alive():
                self.live_layers.follow_name()  # a renamed movie: its preview layers follow
            self.picker.refresh()
            before = self.tune.roi_layer.value
            with self.tune.roi_layer.changed.blocked():
                self.tune.roi_layer.reset_choices()
            if self.tune.roi_layer.value is not before:  # its layer was deleted: stop using it
                self._roi_layer_changed()

    def source_changed(self, channel: int | None = None):
        layer = self.picker.layer
        if self.closed:
            return
        old = self.live_layers
        if old is not None:
            if old.source is layer and old.alive() and channel is None:
                return
            self.compare.restore_single_view()
        self.live_layers = None
        self.verdict.value = ""
        self.tune.mark_dead({})
        self.model.clear_movie()
        try:
            if layer is None:
                self.picker.clear_axes()
                self.compress_panel.all_channels.visible = False
                self.tune.readout.value = "Pick a movie layer (time, y, x) to start."
                self.compress_panel.show_estimate()
                return
            axes = self.picker.set_axes(layer, channel)
            self.compress_panel.all_channels.visible = axes.channels > 1
            self.model.set_movie(
                self.picker.movie_data(layer), layer.name, rgb=bool(getattr(layer, "rgb", False))
            )
        except FlowRoIError as exc:
            self.tune.readout.value = plain_words(str(exc))
            self.compress_panel.show_estimate()  # none: not the movie picked before's
            self.source_output()  # its own output, not the movie picked before's
            self.notify(str(exc))
            return
        finally:
            if self.model.movie is None and old is not None:
                old.remove()
        self.picker.clamp_view(layer, len(self.model.movie))  # before layers of its size come
        self.picker.show_channel_plane(layer)
        if old is not None and old.retarget(layer, axes):
            self.live_layers = old  # reused, not removed and added (see LiveLayers.retarget)
        else:
            if old is not None:
                old.remove()
            self.live_layers = LiveLayers(self.viewer, layer, self.model, axes)
        self.live_layers.flow_view = FLOW_VIEWS[self.compare.flow_view.value]
        self.model.set_extra_roi(self.extra_roi())
        self.source_output()
        self.model.set_frame(self.picker.current_frame(layer, len(self.model.movie)))
        settings = self.settings()
        if settings is not None:
            self.model.set_settings(settings)
        self.compress_panel.show_estimate()
        self.tune.readout.value = (
            f"Computing the preview of frame {self.model.t} (mask first, then the coded frames)…"
        )
        self.runner.request()

    def _channel_changed(self, *_):
        value = self.picker.channel.value
        if not self.closed and value is not None and value != self.picker.axes.index:
            self.source_changed(channel=int(value))

    def source_output(self) -> None:
        """The output field follows the picked layer, except while a batch writes elsewhere."""
        layer, panel = self.picker.layer, self.compress_panel
        if layer is None or panel.running or self.closed:
            return
        path = default_output(layer)
        panel.output.value = path.with_suffix("") if self.compresses_channels else path

    @property
    def compresses_channels(self) -> bool:
        """Whether Compress writes every channel of the layer (a folder), not one stack."""
        return self.picker.axes.channels > 1 and bool(self.compress_panel.all_channels.value)

    def _step_changed(self, *_):
        layer = self.picker.layer
        if self.closed or self.model.movie is None or layer is None:
            return
        t = self.picker.current_frame(layer, len(self.model.movie))
        if t != self.model.t:
            self.model.set_frame(t)
            self.runner.changed()

    def extra_roi(self):
        """The extra RoI layer as (T, Y, X) masks of the movie's shape, or None (also, after a
        warning, when it cannot protect anything: the verdict then names no mask of yours)."""
        layer = self.tune.roi_layer.value
        if layer is None or self.picker.layer is None or self.model.movie is None:
            return None
        roi = LayerRoi(layer, self.model.movie.shape)
        if roi.problem:  # silently ignored before: the verdict read '0 % (your mask)'
            self.notify(roi.problem, "warning")
        return None if roi.problem else roi

    def _roi_layer_changed(self, *_):
        self.tune.watch_roi_layer()  # its edits are followed too
        if self.model.previewer is not None:
            self.model.set_extra_roi(self.extra_roi())
            self.runner.changed()

    # --- settings ----------------------------------------------------------------------------------
    def settings(self) -> FlowRoISettings | None:
        """The settings in the form, or None after telling the user what is wrong."""
        try:
            return self.tune.form.settings()
        except SettingsError as exc:
            if not self.messages or self.messages[-1] != plain_words(str(exc)):
                self.notify(str(exc))
            return None

    def settings_changed(self):
        settings = self.settings()
        if settings is None:
            return
        kind = self.model.set_settings(settings)
        self.compress_panel.show_estimate()
        if kind == "readout":  # e.g. the coverage target: re-word, compute nothing
            self.runner.update_readout()
            return
        self.runner.changed()

    def _live_changed(self, *_):
        if self.tune.live.value:
            self.runner.request()
        elif self.model.last_preview is not None:
            self.tune.mark_stale("live preview is off")

    @property
    def last_preview(self):
        return self.model.last_preview

    @property
    def previewer(self):
        return self.model.previewer

    # --- compress ----------------------------------------------------------------------------------
    def compress(self, output=None, workers: int | None = None):
        """Compress the whole source layer into `output` (default: the output field)."""
        return self.compress_panel.compress(output, workers)

    @property
    def frames_done(self) -> int:
        return self.compress_panel.frames_done

    @property
    def last_summary(self):
        return self.compress_panel.last_summary

    def open_result(self, path) -> None:
        if not self.closed and self.viewer is not None and self.viewer.window is not None:
            self.viewer.open(str(path), plugin="napari-flowroi")
