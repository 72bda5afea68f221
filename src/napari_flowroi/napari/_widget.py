"""The FlowRoI dock: the movie picker, the busy line and the verdict on top, then three tabs —
Tune (``_tune``), Compare (``_compare``), Compress (``_compress``) — in a scrollable dock that fits
a 1366 × 768 screen.

This module owns the dock's lifecycle (docked, closed with its ×, viewer closed) and the glue
between the Qt-free :class:`napari_flowroi.tuning.TuningModel` and the layers: the model decides
what to compute (:meth:`TuningModel.plan`), the dock debounces, runs it in a worker and shows what
the model accepts.
"""

from __future__ import annotations

import sys
import time
from functools import partial

from magicgui.widgets import Label
from napari.utils.notifications import show_error, show_info, show_warning
from qtpy.QtCore import QEvent, Qt, QTimer
from qtpy.QtWidgets import QScrollArea, QSizePolicy, QTabWidget, QVBoxLayout, QWidget

from ..errors import FlowRoIError, SettingsError
from ..readout import plain_words, verdict
from ..settings import FlowRoISettings
from ..tuning import TuningModel
from . import _worker
from ._busy import BusyLine
from ._compare import ComparePanel
from ._compress import CompressPanel, default_output
from ._layers import FLOW_VIEWS, LiveLayers
from ._roi_layers import LayerRoi
from ._source import SourcePicker
from ._tune import TunePanel

#: Quiet time after the last slider or time-step change before the preview is computed.
DEBOUNCE_MS = 40
#: Widgets of the panels the tests and scripts reach through the dock.
_PANEL_WIDGETS = {
    "tune": ("form", "roi_layer", "live", "readout", "suggest_button", "apply_button",
             "suggestion", "reset_button", "load_preset", "save_preset", "suggest"),
    "compare": ("flow_view", "side_by_side_button", "rd_button", "rd_plot", "side_by_side"),
    "compress_panel": ("output", "overwrite", "all_channels", "compress_button", "status",
                       "estimate", "export_button"),
    "busy_line": ("progress_bar", "cancel_button", "cancel"),
    "picker": ("source", "channel", "axes"),
}  # fmt: skip


class FlowRoIWidget(QWidget):
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
        self._changed_at: float | None = None
        self._preview_jobs: list = []  # preview workers still running (superseded ones too)
        self.picker = SourcePicker(napari_viewer)
        self.busy_line = BusyLine(self.notify)
        self.busy_label = self.busy_line.text_label
        self.verdict = Label(value="")
        self.tune, self.compare = TunePanel(self), ComparePanel(self)
        self.compress_panel = CompressPanel(self)
        self._layout()
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._compute_visible)
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

    def _wire(self):
        m = self.model
        m.preview_ready.connect(self._show_preview)
        m.assessed.connect(self._show_assessment)
        m.size_factor_ready.connect(lambda *_: self._update_readout())
        m.suggestion_ready.connect(self.tune.show_suggestion)
        self.picker.source.changed.connect(lambda *_: self.source_changed())
        self.picker.channel.changed.connect(self._channel_changed)
        self.tune.form.changed.connect(lambda *_: self.settings_changed())
        self.tune.form.expert_button.changed.connect(self._refit_soon)
        self.tune.live.changed.connect(self._live_changed)
        self.tune.roi_layer.changed.connect(self._roi_layer_changed)
        self.viewer.dims.events.current_step.connect(self._step_changed)
        for event in ("inserted", "removed", "reordered"):
            getattr(self.viewer.layers.events, event).connect(self._layers_changed)
        self.destroyed.connect(partial(FlowRoIWidget._teardown, self))

    # --- lifecycle ---------------------------------------------------------------------------------
    def showEvent(self, event):  # noqa: N802 - Qt name
        self._watch_window()
        super().showEvent(event)
        QTimer.singleShot(0, self._fit_width)  # once the controls are polished

    def _refit_soon(self, *_):
        QTimer.singleShot(0, self._fit_width)

    def _fit_width(self):
        """Wide enough for the controls: the dock scrolls vertically, never sideways."""
        if self.closed or _worker.qt_deleted(self):
            return
        need = max(
            self.scroll.widget().minimumSizeHint().width(), self.tabs.minimumSizeHint().width()
        )
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
        if obj is self._watching and event.type() == QEvent.Type.Close and not self.closed:
            self._teardown()
        return False

    def event(self, event):
        """Closing the dock with its × un-parents this widget (napari keeps no other handle):
        that is a close, so the preview layers go and the work stops (issue 22, item 7)."""
        if event.type() == QEvent.Type.ParentChange and not self.closed:
            if self.parent() is not None:
                self._docked = True
            elif self._docked:
                self._teardown()
        return super().event(event)

    def _teardown(self, *_):
        """The dock (or the viewer) was closed: stop listening and running work, remove the
        preview layers; say what an interrupted compression leaves behind."""
        if self.closed:
            return
        self.closed = True
        viewer = self.viewer
        try:
            viewer.dims.events.current_step.disconnect(self._step_changed)
            for event in ("inserted", "removed", "reordered"):
                getattr(viewer.layers.events, event).disconnect(self._layers_changed)
        except (RuntimeError, TypeError, ValueError, AttributeError):
            pass
        self.model.cancel_preview()
        for job in (*self._preview_jobs, self.busy_line.job):
            if job is not None:
                job.cancel()
        if self.busy_line.job is not None and self.compress_panel.running:
            message = (
                "FlowRoI: the dock or viewer was closed during the compression into "
                f"{self.compress_panel._batch['output']}; it stops after the frames under way "
                "and the folder is incomplete (no manifest.json). Compress again with the same "
                "settings into the same folder to finish it, or delete the folder."
            )
            self.messages.append(message)
            print(message, file=sys.stderr)
        if self.live_layers is not None and getattr(viewer, "window", None) is not None:
            try:
                self.compare.restore_single_view()
                self.live_layers.remove()
            except (RuntimeError, ValueError, KeyError):  # the viewer is going away itself
                pass
        # let the closed viewer go: workers still finishing hold this widget, not the viewer
        self.viewer = self.picker.viewer = self.live_layers = None
        watching, self._watching = self._watching, None
        if (
            watching is not None
            and not _worker.qt_deleted(watching)
            and not _worker.qt_deleted(self)
        ):
            watching.removeEventFilter(self)

    @property
    def busy(self) -> bool:
        self._preview_jobs = [job for job in self._preview_jobs if not job.done]
        running = bool(self._preview_jobs) or self.busy_line.job is not None
        return running or (not self.closed and self._timer.isActive())

    # --- messages ----------------------------------------------------------------------------------
    def notify(self, message: str, kind: str = "error") -> None:
        message = plain_words(message)
        self.messages.append(message)
        {"error": show_error, "warning": show_warning, "info": show_info}[kind](message)

    # --- the movie layer ---------------------------------------------------------------------------
    def _layers_changed(self, *_):
        if not self.closed:
            self.picker.refresh()
            with self.tune.roi_layer.changed.blocked():
                self.tune.roi_layer.reset_choices()

    def source_changed(self, channel: int | None = None):
        layer = self.picker.layer
        if self.closed:
            return
        if self.live_layers is not None:
            if self.live_layers.source is layer and self.live_layers.alive() and channel is None:
                return
            self.compare.restore_single_view()
            self.live_layers.remove()  # before the slider moves: no layer of the old size is drawn
        self.live_layers = None
        self.verdict.value = ""
        self.tune.mark_dead({})
        self.model.clear_movie()
        if layer is None:
            self.picker.clear_axes()
            self.compress_panel.all_channels.visible = False
            self.tune.readout.value = "Pick a movie layer (time, y, x) to start."
            self.compress_panel.show_estimate()
            return
        try:
            axes = self.picker.set_axes(layer, channel)
            self.compress_panel.all_channels.visible = axes.channels > 1
            self.model.set_movie(
                self.picker.movie_data(layer), layer.name, rgb=bool(getattr(layer, "rgb", False))
            )
        except FlowRoIError as exc:
            self.tune.readout.value = plain_words(str(exc))
            self.notify(str(exc))
            return
        self.picker.clamp_view(layer, len(self.model.movie))
        self.picker.show_channel_plane(layer)
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
        self.request_preview()

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
            self._changed_at = time.perf_counter()
            self.request_preview()

    def extra_roi(self):
        """The extra RoI layer as (T, Y, X) masks of the movie's shape, or None."""
        layer = self.tune.roi_layer.value
        if layer is None or self.picker.layer is None or self.model.movie is None:
            return None
        return LayerRoi(layer, self.model.movie.shape)

    def _roi_layer_changed(self, *_):
        if self.model.previewer is not None:
            self.model.set_extra_roi(self.extra_roi())
            self._changed_at = time.perf_counter()
            self.request_preview()

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
            self._update_readout()
            return
        self._changed_at = time.perf_counter()
        self.request_preview()

    def _live_changed(self, *_):
        if self.tune.live.value:
            self.request_preview()
        elif self.model.last_preview is not None:
            self.tune.mark_stale("live preview is off")

    # --- live preview ------------------------------------------------------------------------------
    def request_preview(self) -> None:
        """Debounced: the visible frame is computed once changes have stopped for a moment."""
        if self.model.previewer is None or self.closed:
            return
        if not self.tune.live.value:
            if self.model.last_preview is not None and not self.model.is_current(
                self.model.last_preview
            ):
                self.tune.mark_stale("live preview is off; tick it to see these settings")
                self.verdict.value = "Out of date (live preview is off)."
            return
        if self.model.cached() is None:
            self.busy_line.preview_text(f"Computing frame {self.model.t}…")
            self.tune.readout.native.setEnabled(False)  # the figures shown are the old ones
        self._timer.start()

    def _compute_visible(self) -> None:
        if self.closed or not self.tune.live.value:
            return
        plan = self.model.plan()
        if plan is None:
            if self.model.cached() is not None or self.model.target() is None:
                self.busy_line.preview_text("")
            return
        settings, t, cancel = plan
        job = _worker.run(
            self,
            self.model.preview_steps,
            settings,
            t,
            cancel,
            cancel=cancel,
            yielded=self.model.accept_step,
            returned=self._size_factor_done,
            errored=self._preview_failed,
            finished=partial(self._preview_finished, cancel),
        )
        self._preview_jobs.append(job)

    def _size_factor_done(self, result):
        if result is not None:
            self.model.accept_size_factor(*result)

    def _preview_finished(self, cancel):
        if self.model.job_finished(cancel) and not self._timer.isActive():
            self._compute_visible()  # the view moved on while computing: catch up
        elif self.model.cached() is not None or self.model.target() is None:
            self.busy_line.preview_text("")

    def _preview_failed(self, exc: Exception):
        self.busy_line.preview_text("")
        self.tune.readout.native.setEnabled(True)
        if isinstance(exc, FlowRoIError):
            self.tune.readout.value = plain_words(str(exc))
            self.notify(str(exc))
        else:
            self.notify(
                f"The preview failed ({type(exc).__name__}: {exc}). Please report this with the "
                "movie's shape and type."
            )

    def _show_preview(self, preview) -> None:
        if self.live_layers is None:
            return
        self.live_layers.show(preview.settings, preview)
        if not preview.coarse:
            self.live_layers.show_missed(preview)
            self.busy_line.preview_text("")
            if self._changed_at is not None:
                self.last_update_seconds = time.perf_counter() - self._changed_at
                self._changed_at = None
        else:
            if self._changed_at is not None:
                self.first_update_seconds = time.perf_counter() - self._changed_at
            self.busy_line.preview_text(f"Coding frame {preview.t} (FlowRoI and JPEG2000)…")
        self._update_readout(preview)

    def _show_assessment(self, assessment) -> None:
        if self.live_layers is not None:  # the RoI layer now knows each pixel's source
            self.live_layers.refresh_sources(assessment.settings)
        self._update_readout()

    def _update_readout(self, preview=None):
        model = self.model
        preview = preview or model.cached() or model.cached(coarse=True)
        if preview is None or model.movie is None:
            return
        assessment = model.assessment(preview.settings, preview.t)
        factor = None if preview.coarse else model.size_factor
        self.tune.show_readout(preview, model, assessment)
        self.verdict.value = verdict(preview, assessment, factor, model.settings.coverage_target)

    @property
    def last_preview(self):
        return self.model.last_preview

    @property
    def previewer(self):
        return self.model.previewer

    # --- compress ----------------------------------------------------------------------------------
    def compress(self, output=None, workers: int | None = None):
        """Compress the whole source layer into `output` (default: the output field)."""
        from pathlib import Path

        panel = self.compress_panel
        panel.status.value = ""  # no "Done" of an earlier run beside a new refusal
        layer = self.picker.layer
        if layer is None:
            self.notify("Pick the movie layer to compress first.")
            panel.status.value = self.messages[-1]
            return None
        if self.model.movie is None:  # refused when picked: say why again
            self.source_changed(channel=self.picker.axes.index)
            if self.model.movie is None:
                panel.status.value = self.messages[-1] if self.messages else ""
                return None
        settings = self.settings()
        if settings is None:
            return None
        output = Path(output if output is not None else panel.output.value)
        if str(output) in ("", "."):
            self.notify("Choose an output folder for the compressed stack first.")
            return None
        check = settings.uses_roi and not self.model.coverage_accepted(settings)
        first = "Checking cell coverage, then compressing" if check else "Compressing"
        axes = self.picker.axes
        try:
            if self.compresses_channels:
                movies = [self.picker.channel_movie(layer, c) for c in range(axes.channels)]
                n = sum(len(m) for m in movies)
                return panel.launch(movies, output, settings, motion_channel=axes.index,
                                    workers=workers, busy_text=f"{first} {axes.channels} channels ({n} frames)…")  # fmt: skip
            movie = self.picker.channel_movie(layer, axes.index)
        except FlowRoIError as exc:
            self.notify(str(exc))
            return None
        return panel.launch([movie], output, settings, motion_channel=None, workers=workers,
                            busy_text=f"{first} {len(movie)} frames…")  # fmt: skip

    @property
    def frames_done(self) -> int:
        return self.compress_panel.frames_done

    @property
    def last_summary(self):
        return self.compress_panel.last_summary

    def open_result(self, path) -> None:
        if not self.closed and self.viewer is not None and self.viewer.window is not None:
            self.viewer.open(str(path), plugin="napari-flowroi")
