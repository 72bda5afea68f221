"""The FlowRoI dock widget: lays out controls and wires them to the tuning model.

Everything the session knows (movie, settings, frame, previews, suggestion, coverage acceptance,
the preflight check) is in :class:`napari_flowroi.tuning.TuningModel`; what is said is in
:mod:`napari_flowroi.readout`; long work runs through :func:`._worker.run`. This module maps user
intent to model calls and model results to layers, labels and notifications.

Layout, for a 1366 × 768 screen: a scrollable dock with the movie picker, a busy line (what is
running, progress, Cancel) and the one-line verdict on top, then three tabs — Tune, Compare,
Compress.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from functools import partial
from pathlib import Path

from magicgui.widgets import CheckBox, ComboBox, Container, FileEdit, Label, ProgressBar, PushButton
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtWidgets import QScrollArea, QTabWidget, QVBoxLayout, QWidget

from ..batch import compress_movie
from ..calibration import movie_from_layer
from ..errors import CancelledError, FlowRoIError, SettingsError
from ..guard import Preflight
from ..rd_curve import DEFAULT_RD_RATES, rate_distortion_steps
from ..readout import batch_done, kb, plain_words, readout_html, suggestion_html, verdict
from ..settings import FlowRoISettings
from ..tuning import TuningModel
from . import _worker
from ._layers import (
    FLOW_VIEWS,
    LayerAxes,
    LiveLayers,
    full_resolution,
    is_preview_layer,
    layer_axes,
)
from ._roi_layers import LayerRoi
from ._settings_form import SettingsForm

#: Quiet time after the last slider or time-step change before the preview is computed.
DEBOUNCE_MS = 40


def _batch_steps(
    model: TuningModel, movie, output, settings, overwrite, cancel, workers, extra_roi
):
    """Generator for the batch worker: the preflight check (returns its Preflight when it says
    stop), then compress_movie with (done, total) progress; returns the summary."""
    yield ("checking", len(movie))
    verdict_ = model.preflight(movie, settings)
    if not verdict_.ok:
        return verdict_
    if cancel.is_set():
        raise CancelledError("cancelled before the first frame")
    return (
        yield from _worker.progress_steps(
            compress_movie,
            movie,
            output,
            settings,
            workers=workers,
            overwrite=overwrite,
            cancel=cancel,
            extra_roi=extra_roi,
        )
    )


def _channel_batch_steps(
    model: TuningModel,
    movies,
    motion_channel,
    output,
    settings,
    overwrite,
    cancel,
    workers,
    extra_roi,
):
    """Generator for the batch worker of a (T, C, Y, X) layer: the preflight check on the RoI
    channel, then every channel into one folder, the others inheriting its RoI
    (microscopy.compress_channels, as `flowroi compress` does for a file)."""
    from ..microscopy import compress_channels

    yield ("checking", len(movies[motion_channel]))
    verdict_ = model.preflight(movies[motion_channel], settings)
    if not verdict_.ok:
        return verdict_
    if cancel.is_set():
        raise CancelledError("cancelled before the first frame")
    return (
        yield from _worker.progress_steps(
            compress_channels,
            movies,
            output,
            settings,
            motion_channel=motion_channel,
            workers=workers,
            overwrite=overwrite,
            cancel=cancel,
            extra_roi=extra_roi,
        )
    )


def _preview_steps(model: TuningModel, settings, t, cancel):
    """Generator for the preview worker: coarse preview, coded preview, then the size factor."""
    yield model.coarse(settings, t)
    if cancel.is_set():
        return None
    try:
        full = model.compute(settings, t, cancel)
    except CancelledError:
        return None
    yield full
    if cancel.is_set():
        return None
    return full, model.compute_size_factor(full, cancel)


class FlowRoIWidget(QWidget):
    """Dock widget: pick a movie layer, tune on the visible frame, compare, compress."""

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.model = TuningModel()
        self.live_layers: LiveLayers | None = None
        self.axes = LayerAxes(3, 0)  # where the movie sits in the source layer
        self.messages: list[str] = []  # every message shown to the user, newest last
        self.last_update_seconds: float | None = None  # setting change -> all layers updated
        self.first_update_seconds: float | None = None  # setting change -> mask layer updated
        self.closed = False
        self._watching = None  # the main window whose closing stops our work
        self._batch_output = None
        self._changed_at: float | None = None
        self._preview_job = None
        self._old_previews: list = []  # superseded preview jobs still finishing a step
        self._long_job = None  # suggest, rate-distortion or batch
        self._long_kind = ""
        self._grid_saved: dict | None = None
        self.rd_plot = None
        self.last_summary = None

        self._build()
        self._timer = _debounce_timer(self._compute_visible, self)
        self._wire()
        self.reset_choices()
        self._source_changed()

    # --- layout ----------------------------------------------------------------------------------
    def _build(self):
        self.source = ComboBox(
            label="Movie layer",
            choices=self._source_choices,
            tooltip="The image layer to compress: a time-lapse movie shaped "
            "(time, y, x) or (time, channel, y, x), uint8, uint16 or "
            "float.",
        )
        self.channel = ComboBox(
            label="RoI channel",
            choices=[],
            visible=False,
            tooltip="The channel whose motion gives the RoI (usually the "
            "transmitted-light one). The preview shows this channel; "
            "the other channels are compressed with its RoI.",
        )
        self.busy_label = Label(value="")
        self.busy_label.native.setWordWrap(True)
        self.progress_bar = ProgressBar(value=0, min=0, max=1, visible=False)
        self.cancel_button = PushButton(
            text="Cancel",
            enabled=False,
            tooltip="Stop what is running (suggestion, plot or compression) at its next step.",
        )
        self.verdict = Label(value="")
        self.verdict.native.setWordWrap(True)

        # Tune
        self.form = SettingsForm(name="settings")
        self.roi_layer = ComboBox(
            label="Extra RoI layer",
            choices=self._roi_layer_choices,
            tooltip="A Labels or Shapes layer whose regions are always "
            "protected (a segmentation, boxes or polygons drawn "
            "around what must survive), on top of motion and "
            "appearance.",
        )
        self.live = CheckBox(
            text="Live preview of the current frame",
            value=True,
            tooltip="Recompute the preview layers when a setting or the time "
            "step changes. Untick to change many settings first.",
        )
        self.readout = Label(value="Pick a movie layer (time, y, x) to start.")
        self.readout.native.setWordWrap(True)
        self.suggest_button = PushButton(
            text="Suggest settings",
            tooltip="Try RoI sources, thresholds and scaling factors on a few frames spread over "
            "the movie, at this compression rate, and suggest the setting that keeps the "
            "cells and makes the smallest files for their quality (about 30 s for 1 MP; "
            "progress and Cancel above).",
        )
        self.apply_button = PushButton(
            text="Apply suggestion",
            enabled=False,
            tooltip="Put the suggested settings into the form.",
        )
        self.suggestion = Label(value="")
        self.suggestion.native.setWordWrap(True)
        self.save_preset_button = PushButton(
            text="Save preset…", tooltip="Save these settings as a JSON preset."
        )
        self.load_preset_button = PushButton(
            text="Load preset…", tooltip="Load settings from a JSON preset."
        )
        tune = Container(
            widgets=[
                self.form,
                Container(widgets=[self.roi_layer], labels=True),
                self.live,
                self.readout,
                Container(
                    widgets=[self.suggest_button, self.apply_button],
                    layout="horizontal",
                    labels=False,
                ),
                self.suggestion,
                Container(
                    widgets=[self.save_preset_button, self.load_preset_button],
                    layout="horizontal",
                    labels=False,
                ),
            ],
            labels=False,
        )

        # Compare
        self.flow_view = ComboBox(
            label="Flow layer shows",
            choices=list(FLOW_VIEWS),
            value="flow magnitude",
            tooltip="Colour-coded flow magnitude (pixels moved per frame) "
            "or the motion saliency (what the RoI threshold cuts "
            "under the paper's quantile rule).",
        )
        self.side_by_side_button = PushButton(
            text="Side by side: FlowRoI | JPEG2000",
            tooltip="Show the decoded FlowRoI and plain JPEG2000 frames next to each other, "
            "labelled, zoom and pan linked. Click again to go back.",
        )
        self.rd_button = PushButton(
            text="Rate–distortion plot",
            tooltip="PSNR inside the RoI against compression rate for this frame, FlowRoI and "
            "plain JPEG2000 (drawn point by point; Cancel above stops it).",
        )
        self.compare = Container(
            widgets=[
                Container(widgets=[self.flow_view], labels=True),
                self.side_by_side_button,
                self.rd_button,
            ],
            labels=False,
        )

        # Compress
        self.output = FileEdit(
            mode="w",
            label="Output folder",
            filter="*.flowroi",
            tooltip="A new folder for the compressed stack (JPEG2000 frames, "
            "RoI masks and manifest.json); by default beside the "
            "movie's file.",
        )
        self.output.choose_btn.text = "Choose…"
        self.overwrite = CheckBox(text="Replace an existing compressed stack", value=False)
        self.all_channels = CheckBox(
            text="Every channel, each with the RoI channel's RoI",
            value=True,
            visible=False,
            tooltip="Compress every channel of the layer into the output folder, one stack per "
            "channel; untick to compress the RoI channel alone.",
        )
        self.compress_button = PushButton(
            text="Compress stack",
            tooltip="Check that the RoI keeps the cells, then "
            "compress every frame with these settings.",
        )
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        compress = Container(
            widgets=[
                Container(widgets=[self.output], labels=True),
                self.all_channels,
                self.overwrite,
                self.compress_button,
                self.status,
            ],
            labels=False,
        )

        header = Container(
            widgets=[
                Container(widgets=[self.source, self.channel], labels=True),
                self.verdict,
                self.busy_label,
                Container(
                    widgets=[self.progress_bar, self.cancel_button],
                    layout="horizontal",
                    labels=False,
                ),
            ],
            labels=False,
        )
        self.tabs = QTabWidget()
        for name, panel in (("Tune", tune), ("Compare", self.compare), ("Compress", compress)):
            panel.native.layout().addStretch(1)  # short tabs keep their controls together
            self.tabs.addTab(panel.native, name)
        from qtpy.QtWidgets import QSizePolicy

        for label in (self.readout, self.verdict, self.suggestion, self.status, self.busy_label):
            # long text wraps to the dock's width instead of widening the dock
            label.native.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            label.native.setMinimumWidth(0)
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(header.native)
        layout.addWidget(self.tabs)
        layout.addStretch(1)
        from qtpy.QtCore import Qt

        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setWidget(content)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(self.scroll)
        self.setMinimumHeight(200)

    @property
    def native(self):
        return self

    def showEvent(self, event):  # noqa: N802 - Qt name
        from qtpy.QtCore import QTimer

        self._watch_window()
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_width)  # once the controls are polished

    def _refit_soon(self, *_):
        from qtpy.QtCore import QTimer

        QTimer.singleShot(0, self._fit_width)

    def _fit_width(self):
        """Wide enough for the controls: the dock scrolls vertically, never sideways."""
        if self.closed or _worker.qt_deleted(self):
            return
        content = self.scroll.widget()
        need = max(content.minimumSizeHint().width(), self.tabs.minimumSizeHint().width())
        self.setMinimumWidth(
            max(380, need + self.scroll.verticalScrollBar().sizeHint().width() + 6)
        )

    def _watch_window(self):
        """Watch the main window once docked: closing it stops what runs (see _teardown)."""
        window = self.window()
        if window is not self and self._watching is not window:
            window.installEventFilter(self)
            self._watching = window

    def eventFilter(self, obj, event):  # noqa: N802 - Qt name
        from qtpy.QtCore import QEvent

        if obj is self._watching and event.type() == QEvent.Type.Close and not self.closed:
            self._teardown()
        return False

    def _wire(self):
        m = self.model
        m.preview_ready.connect(self._show_preview)
        m.size_factor_ready.connect(lambda *_: self._update_readout())
        m.suggestion_ready.connect(self._show_suggestion)
        self.source.changed.connect(self._source_changed)
        self.channel.changed.connect(self._channel_changed)
        self.all_channels.changed.connect(self._all_channels_changed)
        self.form.changed.connect(self._settings_changed)
        self.form.expert_button.changed.connect(self._refit_soon)
        self.flow_view.changed.connect(self._flow_view_changed)
        self.live.changed.connect(lambda *_: self.request_preview())
        self.side_by_side_button.changed.connect(self.toggle_side_by_side)
        self.rd_button.changed.connect(lambda *_: self.show_rate_distortion())
        self.roi_layer.changed.connect(self._roi_layer_changed)
        self.suggest_button.changed.connect(lambda *_: self.suggest())
        self.apply_button.changed.connect(lambda *_: self.apply_suggestion())
        self.save_preset_button.changed.connect(self._ask_save_preset)
        self.load_preset_button.changed.connect(self._ask_load_preset)
        self.compress_button.changed.connect(lambda *_: self.compress())
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        self.viewer.dims.events.current_step.connect(self._step_changed)
        for event in ("inserted", "removed", "reordered"):
            getattr(self.viewer.layers.events, event).connect(self._layers_changed)
        self.destroyed.connect(partial(FlowRoIWidget._teardown, self))

    def reset_choices(self, *_):
        for combo in (self.source, self.roi_layer):
            combo.reset_choices()

    def _layers_changed(self, *_):
        if not self.closed:
            self.reset_choices()

    # --- messages --------------------------------------------------------------------------------
    def notify(self, message: str, kind: str = "error") -> None:
        message = plain_words(message)
        self.messages.append(message)
        {"error": show_error, "warning": show_warning, "info": show_info}[kind](message)

    def _set_busy(self, text: str, done: int | None = None, total: int | None = None) -> None:
        self.busy_label.value = text
        self.busy_label.native.setHidden(not text)  # no empty line when idle
        self.progress_bar.visible = bool(text) and total is not None
        if total is not None:  # total 0: a busy bar without figures
            self.progress_bar.max = max(int(total), 0)
            self.progress_bar.value = min(int(done or 0), max(int(total), 0))

    @property
    def busy(self) -> bool:
        self._old_previews = [job for job in self._old_previews if not job.done]
        running = any(
            job is not None and not job.done
            for job in (self._preview_job, self._long_job, *self._old_previews)
        )
        return running or (not self.closed and self._timer.isActive())

    # --- source layer ----------------------------------------------------------------------------
    def _source_choices(self, *_):
        from napari.layers import Image

        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image) and not is_preview_layer(layer)
        ]

    def _source_changed(self, *_, channel: int | None = None):
        layer = self.source.value
        if self.live_layers is not None:
            if self.live_layers.source is layer and self.live_layers.alive() and channel is None:
                return
            self._restore_single_view()
            self.live_layers.remove()
        self.live_layers = None
        self.verdict.value = ""
        if self._preview_job is not None:
            self._preview_job.cancel()
        if layer is None:
            self.model.clear_movie()
            self._show_channels(LayerAxes(3, 0))
            self.readout.value = "Pick a movie layer (time, y, x) to start."
            return
        try:
            self.axes = layer_axes(layer, channel or 0)
            self._show_channels(self.axes)
            self.model.set_movie(
                self._movie_data(layer), layer.name, rgb=bool(getattr(layer, "rgb", False))
            )
        except FlowRoIError as exc:
            self.readout.value = plain_words(str(exc))
            self.notify(str(exc))
            return
        self.live_layers = LiveLayers(self.viewer, layer, self.model.previewer, self.axes)
        self.live_layers.flow_view = FLOW_VIEWS[self.flow_view.value]
        self.model.set_extra_roi(self.extra_roi())
        self.output.value = self._default_output(layer)
        self._show_channel_plane()
        self.model.set_frame(self.current_frame())
        settings = self.settings()
        if settings is not None:
            self.model.set_settings(settings)
        self.readout.value = (
            f"Computing the preview of frame {self.model.t} (mask first, then the coded frames)…"
        )
        self.request_preview()

    def _movie_data(self, layer):
        """The (T, Y, X) movie of the layer's RoI channel (size-1 axes dropped)."""
        data = full_resolution(layer)
        return data[self.axes.movie_index()] if self.axes.ndim > 3 else data

    def _show_channels(self, axes: LayerAxes) -> None:
        """The channel picker and the every-channel box, for layers with channels only."""
        several = axes.channels > 1
        choices = [(f"channel {c}", c) for c in range(axes.channels)] if several else []
        if list(self.channel.choices) != [c for _, c in choices]:
            with self.channel.changed.blocked():
                self.channel.choices = choices
        if several and self.channel.value != axes.index:
            with self.channel.changed.blocked():
                self.channel.value = axes.index
        self.channel.visible = several
        self.all_channels.visible = several

    def _channel_changed(self, *_):
        if self.closed or self.channel.value is None or self.channel.value == self.axes.index:
            return
        self._source_changed(channel=int(self.channel.value))

    def _show_channel_plane(self) -> None:
        """Move the viewer's channel slider to the RoI channel, where the preview layers are."""
        layer = self.source.value
        if self.axes.channel is None or layer is None:
            return
        axis = self.viewer.dims.ndim - layer.ndim + self.axes.channel
        self.viewer.dims.set_point(
            axis,
            float(layer.translate[self.axes.channel])
            + self.axes.index * float(layer.scale[self.axes.channel]),
        )

    @property
    def compresses_channels(self) -> bool:
        """Whether Compress writes every channel of the layer (a folder), not one stack."""
        return self.axes.channels > 1 and bool(self.all_channels.value)

    def _default_output(self, layer) -> Path:
        path = default_output(layer)
        return path.with_suffix("") if self.compresses_channels else path

    def _all_channels_changed(self, *_):
        layer = self.source.value
        if layer is not None and self.axes.channels > 1:
            self.output.value = self._default_output(layer)

    def current_frame(self) -> int:
        layer = self.source.value
        if layer is None or self.model.movie is None:
            return 0
        position = layer.world_to_data(self.viewer.dims.point[-layer.ndim :])
        time = self.axes.time if self.axes.ndim == layer.ndim else 0
        return int(min(max(round(position[time]), 0), len(self.model.movie) - 1))

    def _step_changed(self, *_):
        if self.closed or self.model.movie is None:
            return
        self.model.set_frame(self.current_frame())
        self._changed_at = time.perf_counter()
        self.request_preview()

    # --- extra RoI layer -------------------------------------------------------------------------
    def _roi_layer_choices(self, *_):
        from napari.layers import Labels, Shapes

        layers = [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, (Labels, Shapes)) and not is_preview_layer(layer)
        ]
        return [("none", None)] + layers

    def extra_roi(self):
        """The extra RoI layer as (T, Y, X) masks of the movie's shape, or None."""
        layer, source = self.roi_layer.value, self.source.value
        if layer is None or source is None or self.model.movie is None:
            return None
        return LayerRoi(layer, self.model.movie.shape)

    def _roi_layer_changed(self, *_):
        if self.model.previewer is not None:
            self.model.set_extra_roi(self.extra_roi())
            if self.live_layers is not None:
                self.live_layers.previewer = self.model.previewer
            self._changed_at = time.perf_counter()
            self.request_preview()

    def _teardown(self, *_):
        """The dock (or the viewer) was closed: stop listening and stop running work; say what
        an interrupted compression leaves behind."""
        if self.closed:
            return
        self.closed = True
        try:
            self.viewer.dims.events.current_step.disconnect(self._step_changed)
            for event in ("inserted", "removed", "reordered"):
                getattr(self.viewer.layers.events, event).disconnect(self._layers_changed)
        except (RuntimeError, TypeError, ValueError):
            pass
        for job in (self._preview_job, self._long_job):
            if job is not None:
                job.cancel()
        if self._long_job is not None and self._long_kind == "the compression":
            message = (
                f"FlowRoI: the viewer was closed during the compression into "
                f"{self._batch_output}; it stops after the frames under way and the folder "
                "is incomplete (no manifest.json). Compress again with the same settings "
                "into the same folder to finish it, or delete the folder."
            )
            self.messages.append(message)
            print(message, file=sys.stderr)
        # let the closed viewer go: workers still finishing hold this widget, not the viewer
        self.viewer = self.live_layers = self._grid_saved = None
        watching, self._watching = self._watching, None
        if (
            watching is not None
            and not _worker.qt_deleted(watching)
            and not _worker.qt_deleted(self)
        ):
            watching.removeEventFilter(self)

    # --- settings --------------------------------------------------------------------------------
    def settings(self) -> FlowRoISettings | None:
        """The settings in the form, or None after telling the user what is wrong."""
        try:
            return self.form.settings()
        except SettingsError as exc:
            if not self.messages or self.messages[-1] != plain_words(str(exc)):
                self.notify(str(exc))
            return None

    def _settings_changed(self, *_):
        settings = self.settings()
        if settings is None:
            return
        kind = self.model.set_settings(settings)
        if kind == "readout":  # e.g. the coverage target: re-word, compute nothing
            self._update_readout()
            return
        self._changed_at = time.perf_counter()
        self.request_preview()

    def _flow_view_changed(self, *_):
        if self.live_layers is not None:
            self.live_layers.set_flow_view(FLOW_VIEWS[self.flow_view.value], self.model.settings)

    # --- live preview ----------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Debounced: the visible frame is computed once changes have stopped for a moment; what
        runs for an older request is told to stop."""
        if self.model.previewer is None or not self.live.value or self.closed:
            return
        if self._preview_job is not None:
            self._preview_job.cancel()
        if self.model.cached() is None:
            self._set_busy(f"Computing frame {self.model.t}…")
            self.readout.native.setEnabled(False)  # the figures shown are the old ones
        self._timer.start()

    def _compute_visible(self) -> None:
        if self.closed or not self.live.value:
            return
        target = self.model.target()
        if target is None:
            self._set_busy("")
            return
        found = self.model.cached()
        if found is not None:
            self.model.accept_preview(found)
            return
        coarse = self.model.cached(coarse=True)
        if coarse is not None:
            self.model.accept_preview(coarse)
        running = self._preview_job
        if running is not None and not running.done and not running.cancel_event.is_set():
            return  # it computes this target already
        settings, t = target
        if running is not None and not running.done:
            self._old_previews.append(running)  # superseded: stops at its next step
        cancel = threading.Event()
        self._preview_job = _worker.run(
            self,
            _preview_steps,
            self.model,
            self.model.settings,
            t,
            cancel,
            cancel=cancel,
            yielded=self._preview_step,
            returned=self._size_factor_done,
            errored=self._preview_failed,
            finished=self._preview_finished,
        )

    def _preview_step(self, preview):
        self.model.accept_preview(preview)

    def _size_factor_done(self, result):
        if result is not None:
            self.model.accept_size_factor(*result)

    def _preview_finished(self):
        if self._preview_job is not None and not self._preview_job.done:
            return  # a newer request is running
        self._preview_job = None
        if self.model.target() is not None and self.model.cached() is None:
            if not self._timer.isActive():
                self._compute_visible()  # the view moved on while computing: catch up
        elif self._long_kind == "":
            self._set_busy("")

    def _preview_failed(self, exc: Exception):
        self._set_busy("")
        self.readout.native.setEnabled(True)
        if isinstance(exc, FlowRoIError):
            self.readout.value = plain_words(str(exc))
            self.notify(str(exc))
        else:
            self.notify(
                f"The preview failed ({type(exc).__name__}: {exc}). Please report this "
                "with the movie's shape and type."
            )

    def _show_preview(self, preview) -> None:
        if self.live_layers is None:
            return
        self.live_layers.show(preview.settings, preview)
        if not preview.coarse:
            self.live_layers.show_missed(preview)
            self.readout.native.setEnabled(True)
            if self._long_kind == "":
                self._set_busy("")
            if self._changed_at is not None:
                self.last_update_seconds = time.perf_counter() - self._changed_at
                self._changed_at = None
        else:
            if self._changed_at is not None:
                self.first_update_seconds = time.perf_counter() - self._changed_at
            self._set_busy(f"Coding frame {preview.t} (FlowRoI and JPEG2000)…")
        self._update_readout(preview)

    def _update_readout(self, preview=None):
        preview = preview or self.model.last_preview
        if preview is None or self.model.movie is None:
            return
        factor = None if preview.coarse else self.model.size_factor
        self.readout.value = readout_html(
            preview, self.model.settings, self.model.movie.dtype, factor
        )
        self.verdict.value = verdict(preview, factor)

    @property
    def last_preview(self):
        return self.model.last_preview

    @property
    def previewer(self):
        return self.model.previewer

    # --- comparison ------------------------------------------------------------------------------
    def _grid(self):
        canvas = getattr(self.viewer, "canvas", None)
        return canvas.grid if canvas is not None and hasattr(canvas, "grid") else self.viewer.grid

    @property
    def side_by_side(self) -> bool:
        return self._grid_saved is not None

    def _restore_single_view(self):
        if self._grid_saved is None:
            return
        for layer, visible in self._grid_saved.items():
            if layer in self.viewer.layers:
                layer.visible = visible
                layer.name_overlay.visible = False
        self._grid_saved = None
        self._grid().enabled = False
        self.side_by_side_button.text = "Side by side: FlowRoI | JPEG2000"

    def toggle_side_by_side(self, *_):
        if self._grid_saved is not None:
            self._restore_single_view()
            return
        if self.live_layers is None or "flowroi" not in self.live_layers.layers:
            self.notify("Pick a movie layer and wait for its preview first.", "warning")
            return
        shown = (self.live_layers.layers["flowroi"], self.live_layers.layers["plain"])
        self._grid_saved = {layer: layer.visible for layer in self.viewer.layers}
        for layer in self.viewer.layers:
            layer.visible = layer in shown
        for layer in shown:  # each pane says what it shows
            layer.name_overlay.visible = True
        grid = self._grid()
        grid.shape = (1, 2)
        grid.enabled = True
        self.side_by_side_button.text = "Back to single view"

    def _start_long(self, kind: str, text: str) -> bool:
        if self._long_job is not None:
            self.notify(
                f"{self._long_kind.capitalize()} is running; wait for it or press Cancel.",
                "warning",
            )
            return False
        self._long_kind = kind
        self._set_busy(text, 0, 0)
        self.cancel_button.enabled = True
        return True

    def _end_long(self):
        self._long_job = None
        self._long_kind = ""
        self.cancel_button.enabled = False
        self._set_busy("")

    def show_rate_distortion(self):
        target = self.model.target()
        if target is None or not self.live.value:
            self.notify("Pick a movie layer (and turn on the live preview) first.", "warning")
            return None
        if not self._start_long(
            "the rate–distortion plot", f"Rate–distortion curve of frame {self.model.t}…"
        ):
            return None
        from ._plot import RateDistortionPlot

        if self.rd_plot is None:
            self.rd_plot = RateDistortionPlot()
            layout = self.compare.native.layout()
            layout.insertWidget(layout.count() - 1, self.rd_plot)  # above the stretch
        cancel = threading.Event()
        settings, rate = self.model.settings, self.model.settings.compression_rate
        self.rd_button.enabled = False

        def step(item):
            done, total, curve = item
            self._set_busy(
                f"Rate–distortion curve of frame {curve.t}: {done} of {total} rates…", done, total
            )
            self.rd_plot.plot(curve, rate)

        def finished():
            self.rd_button.enabled = True
            self._end_long()

        self._long_job = _worker.run(
            self,
            rate_distortion_steps,
            self.model.previewer,
            settings,
            self.model.t,
            DEFAULT_RD_RATES,
            cancel,
            cancel=cancel,
            yielded=step,
            errored=self._long_failed,
            finished=finished,
        )
        return self._long_job

    def _long_failed(self, exc: Exception):
        if isinstance(exc, CancelledError):
            self.notify(f"{self._long_kind.capitalize()} cancelled.", "info")
        elif isinstance(exc, FlowRoIError):
            self.notify(str(exc))
        else:
            self.notify(
                f"{self._long_kind.capitalize()} failed ({type(exc).__name__}: {exc}). "
                "Please report this with the movie's shape and type."
            )

    def cancel(self):
        """Stop the running suggestion, plot or compression at its next step."""
        if self._long_job is not None:
            self._long_job.cancel()
            self.busy_label.value = "Cancelling after the step under way…"
            if self._long_kind == "the compression":
                self.status.value = "Cancelling after the frames under way…"

    # --- suggested settings ----------------------------------------------------------------------
    def suggest(self):
        """Search settings on a few frames in a worker (progress and Cancel in the busy line)."""
        if self.model.movie is None or self.settings() is None:
            self.notify("Pick a movie layer first.", "warning")
            return None
        if not self._start_long(
            "the suggestion", "Trying settings on frames spread over the movie…"
        ):
            return None
        cancel = threading.Event()
        self.suggest_button.enabled = False
        self.suggestion.value = "Trying settings on frames spread over the movie…"

        def step(item):
            done, total = item
            self._set_busy(f"Suggest settings: {done} of {total} candidates tried…", done, total)

        def finished():
            self.suggest_button.enabled = True
            if self.model.suggestion is None:
                self.suggestion.value = ""
            self._end_long()

        self._long_job = _worker.run(
            self,
            _worker.progress_steps,
            partial(self.model.suggest, cancel=cancel),
            cancel=cancel,
            yielded=step,
            returned=self.model.set_suggestion,
            errored=self._long_failed,
            finished=finished,
        )
        return self._long_job

    def _show_suggestion(self, suggestion):
        self.suggestion.value = suggestion_html(suggestion)
        self.apply_button.enabled = True

    def apply_suggestion(self):
        suggested = self.model.suggested_settings()
        if suggested is None:
            return
        with self.form.changed.blocked():
            self.form.set_settings(suggested)
        self._settings_changed()
        self.notify("Suggested settings applied.", "info")

    # --- presets ---------------------------------------------------------------------------------
    def save_preset(self, path) -> None:
        settings = self.settings()
        if settings is not None:
            settings.to_json(path)
            self.notify(f"Settings saved to {path}.", "info")

    def load_preset(self, path) -> None:
        try:
            settings = FlowRoISettings.from_json(path)
        except (FlowRoIError, TypeError) as exc:
            self.notify(str(exc))
            return
        except (ValueError, OSError, AttributeError) as exc:  # not JSON, not text, not a dict
            self.notify(
                f"{Path(path).name} is not a FlowRoI preset ({type(exc).__name__}). "
                "Choose a .json file written by 'Save preset…' or by flowroi tune "
                "--save."
            )
            return
        with self.form.changed.blocked():
            self.form.set_settings(settings)
        self._settings_changed()
        self.notify(f"Settings loaded from {path}.", "info")

    def _ask_save_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self, "Save FlowRoI preset", "flowroi-preset.json", "JSON (*.json)"
        )
        if path:
            self.save_preset(path)

    def _ask_load_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self, "Load FlowRoI preset", "", "JSON (*.json)")
        if path:
            self.load_preset(path)

    # --- batch compression -----------------------------------------------------------------------
    def compress(self, output=None, workers: int | None = None):
        """Compress the whole source layer into `output` (default: the output field)."""
        layer = self.source.value
        if layer is None:
            self.notify("Pick the movie layer to compress first.")
            return None
        if self.model.movie is None:  # refused when picked: say why again
            try:
                self.axes = layer_axes(layer, self.channel.value or 0)
                self.model.set_movie(
                    self._movie_data(layer), layer.name, rgb=bool(getattr(layer, "rgb", False))
                )
            except FlowRoIError as exc:
                self.notify(str(exc))
                return None
        settings = self.settings()
        if settings is None:
            return None
        output = Path(output if output is not None else self.output.value)
        if str(output) in ("", "."):
            self.notify("Choose an output folder for the compressed stack first.")
            return None
        check = settings.uses_roi and not self.model.coverage_accepted(settings)
        movie = self.model.movie
        if self.compresses_channels:
            return self._compress_channels(layer, output, settings, check, workers)
        calibrated = self._channel_movie(layer, self.axes.index)
        if calibrated is not None and calibrated.shape == movie.shape:
            movie = calibrated
        return self._launch_batch(
            f"Checking cell coverage, then compressing {len(movie)} frames…"
            if check
            else f"Compressing {len(movie)} frames…",
            f"Checking cell coverage, then compressing {len(movie)} frames into {output}…"
            if check
            else f"Compressing {len(movie)} frames into {output}…",
            output,
            settings,
            workers,
            _batch_steps,
            self.model,
            movie,
            output,
            settings,
        )

    def _launch_batch(self, busy: str, status: str, output: Path, settings, workers, steps, *args):
        """Start `steps(*args, overwrite, cancel, workers, extra_roi)` on a worker, with the
        dock's busy line, Cancel, progress and result handlers (one movie or its channels)."""
        if not self._start_long("the compression", busy):
            return None
        self._watch_window()
        cancel = threading.Event()
        self._batch_output, self._batch_settings, self._batch_done = output, settings, 0
        self.compress_button.enabled = False
        self.status.value = status
        self._long_job = _worker.run(
            self,
            steps,
            *args,
            self.overwrite.value,
            cancel,
            workers or max(1, os.cpu_count() or 1),
            self.model.extra_roi,
            cancel=cancel,
            yielded=self._batch_progress,
            returned=self._batch_returned,
            errored=self._batch_failed,
            finished=self._batch_finished,
        )
        return self._long_job

    def _channel_movie(self, layer, channel: int):
        """One channel of the layer as a movie whose calibration keeps the layer's scale, units
        and name (calibration.py), and, for a layer with channels, which channel it is."""
        try:
            if self.axes.ndim <= 3 or self.axes.ndim != layer.ndim:
                return movie_from_layer(layer)
            data = full_resolution(layer)
            keep = [self.axes.time, layer.ndim - 2, layer.ndim - 1]
            units = getattr(layer, "units", None)
            several = self.axes.channels > 1
            movie = movie_from_layer(
                {
                    "data": data[self.axes.movie_index(channel)],
                    "scale": [layer.scale[a] for a in keep],
                    "units": [units[a] for a in keep] if units is not None else None,
                    "name": f"{layer.name} c{channel}" if several else layer.name,
                }
            )
        except FlowRoIError:
            return None
        if several:
            movie.source = f"Layer '{layer.name}' [channel {channel}]"
            movie.physical.update(
                channel_index=channel, channel_name=f"C{channel}", channels=self.axes.channels
            )
        return movie

    def _compress_channels(self, layer, output: Path, settings, check: bool, workers):
        movies = [self._channel_movie(layer, c) for c in range(self.axes.channels)]
        if any(m is None for m in movies):
            self.notify(f"Layer '{layer.name}' cannot be read channel by channel.")
            return None
        n, m = self.axes.channels, self.axes.index
        frames = sum(len(movie) for movie in movies)
        return self._launch_batch(
            f"Checking cell coverage, then compressing {n} channels…"
            if check
            else f"Compressing {n} channels ({frames} frames)…",
            f"Compressing {n} channels into {output}, each with the RoI of channel {m}…",
            output,
            settings,
            workers,
            _channel_batch_steps,
            self.model,
            movies,
            m,
            output,
            settings,
        )

    @property
    def frames_done(self) -> int:
        """Frames compressed so far by the running (or last) batch."""
        return getattr(self, "_batch_done", 0)

    def _batch_progress(self, item):
        done, total = item
        if done == "checking":
            self._set_busy("Checking that the RoI keeps the cells (5 frames)…", 0, 0)
            return
        self._batch_done = max(done, self._batch_done)
        self.status.value = f"Compressed {done} of {total} frames."
        self._set_busy(f"Compressing: {done} of {total} frames", done, total)

    def _batch_returned(self, result):
        if isinstance(result, Preflight):  # the guard says stop: a second click goes ahead
            self.model.accept_coverage(self._batch_settings)
            self.status.value = plain_words(result.message) + (
                " Click 'Compress stack' again to compress anyway."
            )
            self.notify(self.status.value, "warning")
            return
        self.last_summary = result
        if hasattr(result, "wells"):  # every channel of the layer, one stack each
            totals = result.as_dict()["totals"]
            message, kind = (
                (
                    f"Done: {totals['wells']} channels ({totals['frames']} frames) into "
                    f"{result.output}, one stack each with the RoI of channel "
                    f"{self.axes.index}, {kb(totals['bytes_written'])}, achieved rate "
                    f"{totals['achieved_rate']:.1f} : 1, {result.seconds:.1f} s."
                ),
                "info",
            )
        else:
            message, kind = batch_done(
                result,
                None if self._batch_settings.target_psnr else self._batch_settings.compression_rate,
            )
        self.status.value = message
        if not self.closed and self.viewer.window is not None:
            self.viewer.open(str(result.output), plugin="napari-flowroi")
        self.notify(message, kind)

    def _batch_failed(self, exc: Exception):
        out = self._batch_output
        if isinstance(exc, CancelledError):
            message = (
                f"Compression cancelled after {self._batch_done} frames. {out} is "
                "incomplete (it has no manifest.json and will not open as a compressed "
                "stack): compress again with the same settings into the same folder to "
                "finish it, or delete the folder."
            )
            self.status.value = message
            self.notify(message, "warning")
        elif isinstance(exc, FlowRoIError):
            self.status.value = plain_words(str(exc))
            self.notify(str(exc))
        else:
            self.status.value = f"Compression failed: {exc}"
            self.notify(
                f"Compression failed ({type(exc).__name__}: {exc}). Frames finished so "
                "far are kept; rerunning with the same settings resumes."
            )

    def _batch_finished(self):
        self.compress_button.enabled = True
        self._end_long()


def default_output(layer) -> Path:
    """Beside the movie's file when the layer came from one, else in the home folder."""
    source = getattr(getattr(layer, "source", None), "path", None)
    if source:
        path = Path(source)
        stem = path.name.split(".")[0] if path.is_file() else path.name
        return path.parent / f"{stem}.flowroi"
    return Path.home() / f"{layer.name}.flowroi"


def _debounce_timer(callback, parent):
    from qtpy.QtCore import QTimer

    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(DEBOUNCE_MS)
    timer.timeout.connect(callback)
    return timer
