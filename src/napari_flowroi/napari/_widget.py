"""The FlowRoI dock widget: tune on the current frame, compare with JPEG2000, compress the stack.

Thin by design: widget state becomes a FlowRoISettings (the object the command line uses), the
per-frame work is ``napari_flowroi.preview``, the batch is ``batch.compress_movie``; this module
only runs them in napari thread workers and puts the results into layers, a readout and
notifications.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from pathlib import Path

from magicgui.widgets import (CheckBox, ComboBox, Container, FileEdit, Label, PushButton)
from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info, show_warning

from ..batch import compress_movie
from ..calibration import movie_from_layer
from ..errors import CancelledError, FlowRoIError, SettingsError
from ..guard import estimate_coverage
from ..inputs import movie_from_array, require_motion
from ..preview import FramePreview, Previewer, rate_distortion
from ..roi import RoiExtractor
from ..settings import FlowRoISettings
from ..tune import suggest_settings
from ._layers import FLOW_VIEWS, LiveLayers, is_preview_layer
from ._roi_layers import LayerRoi
from ._settings_form import SettingsForm


class LowCoverage(FlowRoIError):
    """The RoI is estimated to leave too many cells out; the user may go ahead anyway."""

#: Core messages name command-line options; in the widget they are these controls.
CLI_WORDS = {"pass --overwrite": "tick 'Replace an existing compressed stack'",
             "--overwrite": "'Replace an existing compressed stack'",
             "--plain": "the 'Plain' setting"}

#: Quiet time after the last slider or time-step change before the preview is computed.
DEBOUNCE_MS = 120


def _kb(n: float) -> str:
    return f"{n / 1024:.1f} kB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.2f} MB"


def _db(value: float) -> str:
    if value != value:  # nan: no pixels there
        return "–"
    return "∞" if value == float("inf") else f"{value:.1f} dB"


def readout_html(p: FramePreview) -> str:
    rows = [("compression rate", f"{p.flowroi_rate:.1f} : 1", f"{p.plain_rate:.1f} : 1"),
            ("bytes", _kb(p.flowroi_bytes), _kb(p.plain_bytes)),
            ("PSNR inside RoI", _db(p.psnr_roi_flowroi), _db(p.psnr_roi_plain)),
            ("PSNR outside RoI", _db(p.psnr_outside_flowroi), _db(p.psnr_outside_plain))]
    cells = "".join(f"<tr><td>{a}</td><td align='right'>{b}</td><td align='right'>{c}</td></tr>"
                    for a, b, c in rows)
    guard = ""
    if p.coverage is not None:
        c = p.coverage
        warn = c.pixel_share < p.settings.coverage_target
        colour = "#ff8c3a" if warn else "#9fdf9f"
        guard = (f"<br><span style='color:{colour}'>Cells inside the RoI: "
                 f"{100 * c.pixel_share:.1f} % of cell pixels, {100 * c.object_share:.0f} % of "
                 f"cells ({len(c.missed)} left out{', shown in orange' if len(c.missed) else ''})"
                 f"</span>")
    return (f"<b>Frame {p.t}</b> · RoI {100 * p.roi_fraction:.1f} % of the frame · "
            f"computed in {p.seconds:.2f} s{guard}"
            f"<table cellspacing='6'><tr><th></th><th>FlowRoI</th><th>JPEG2000</th></tr>"
            f"{cells}</table>")


def _check_coverage(movie, settings, extra_roi):
    """The missed-cell guard before a batch: raise LowCoverage when the RoI is estimated to hold
    less than the coverage target of the cells (on frames spread over the movie)."""
    coverage = estimate_coverage(RoiExtractor(movie, settings, extra_roi=extra_roi))
    if coverage.pixel_share < settings.coverage_target:
        raise LowCoverage(
            f"The RoI is estimated to hold only {coverage.pixel_share:.1%} of the cell pixels "
            f"(target {settings.coverage_target:.0%}; worst frame {coverage.worst.t}). Cells left "
            "outside are smeared. Click 'Suggest settings' for settings that keep them, or "
            "'Compress stack' again to compress anyway.")
    return coverage


def _batch_job(movie, output, settings, overwrite, cancel, workers, extra_roi=None,
               check_coverage=True):
    """Generator run in a napari worker: checks cell coverage, then yields (done, total) while
    compress_movie runs."""
    if check_coverage and settings.uses_roi:
        _check_coverage(movie, settings, extra_roi)
    events: queue.Queue = queue.Queue()
    outcome: dict = {}

    def run():
        try:
            outcome["summary"] = compress_movie(
                movie, output, settings, workers=workers, overwrite=overwrite, cancel=cancel,
                progress=lambda done, total: events.put((done, total)), extra_roi=extra_roi)
        except BaseException as exc:  # handed to the GUI thread below
            outcome["error"] = exc
        finally:
            events.put(None)

    thread = threading.Thread(target=run, name="flowroi-batch", daemon=True)
    thread.start()
    while (item := events.get()) is not None:
        yield item
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["summary"]


class FlowRoIWidget(Container):
    """Dock widget: pick a movie layer, tune the settings on the visible frame, compress."""

    def __init__(self, napari_viewer):
        super().__init__(labels=False)
        self.viewer = napari_viewer
        self.previewer: Previewer | None = None
        self.live_layers: LiveLayers | None = None
        self.messages: list[str] = []       # every message shown to the user, newest last
        self.last_preview: FramePreview | None = None
        self.last_update_seconds: float | None = None  # setting change -> layers updated
        self._changed_at: float | None = None
        self._preview_worker = None
        self._batch_worker = None
        self._rd_worker = None
        self._cancel: threading.Event | None = None
        self._progress = None
        self._grid_saved: dict | None = None
        self._rd_plot = None
        self._tune_worker = None
        self._suggestion = None
        self._coverage_accepted: FlowRoISettings | None = None  # go ahead despite the guard

        self.source = ComboBox(label="Movie layer", choices=self._source_choices,
                               tooltip="The image layer to compress: a time-lapse movie shaped "
                                       "(time, y, x), uint8, uint16 or float.")
        self.form = SettingsForm(name="settings")
        self.roi_layer = ComboBox(label="Extra RoI layer", choices=self._roi_layer_choices,
                                  tooltip="A Labels or Shapes layer whose regions are always "
                                          "protected (a segmentation, boxes or polygons drawn "
                                          "around what must survive), on top of motion and "
                                          "appearance.")
        self.flow_view = ComboBox(label="Flow layer shows", choices=list(FLOW_VIEWS),
                                  value="flow magnitude",
                                  tooltip="Colour-coded flow magnitude (pixels moved per frame) "
                                          "or the motion saliency the RoI threshold cuts.")
        self.live = CheckBox(text="Live preview of the current frame", value=True,
                             tooltip="Recompute the preview layers when a setting or the time "
                                     "step changes. Untick to change many settings first.")
        self.readout = Label(value="Pick a movie layer (time, y, x) to start.")
        self.readout.native.setWordWrap(True)
        self.side_by_side_button = PushButton(
            text="Side by side: FlowRoI | JPEG2000",
            tooltip="Show the decoded FlowRoI and plain JPEG2000 frames next to each other, "
                    "zoom and pan linked. Click again to go back.")
        self.rd_button = PushButton(
            text="Rate–distortion plot",
            tooltip="PSNR inside the RoI against compression rate for this frame, FlowRoI and "
                    "plain JPEG2000 (takes a few seconds).")
        self.save_preset_button = PushButton(text="Save preset…",
                                             tooltip="Save these settings as a JSON preset.")
        self.load_preset_button = PushButton(text="Load preset…",
                                             tooltip="Load settings from a JSON preset.")
        self.output = FileEdit(mode="w", label="Output folder", filter="*.flowroi",
                               tooltip="A new folder for the compressed stack (JPEG2000 frames, "
                                       "RoI masks and manifest.json).")
        self.overwrite = CheckBox(text="Replace an existing compressed stack", value=False)
        self.compress_button = PushButton(text="Compress stack",
                                          tooltip="Compress every frame with these settings.")
        self.cancel_button = PushButton(text="Cancel", enabled=False,
                                        tooltip="Stop the compression at the next frame.")
        self.status = Label(value="")
        self.status.native.setWordWrap(True)
        self.suggest_button = PushButton(
            text="Suggest settings",
            tooltip="Try RoI sources, thresholds and scaling factors on a few frames spread over "
                    "the movie, at this compression rate, and suggest the setting that keeps the "
                    "cells and makes the smallest files for their quality (about 30 s for 1 MP).")
        self.apply_button = PushButton(text="Apply suggestion", enabled=False,
                                       tooltip="Put the suggested settings into the form.")
        self.suggestion = Label(value="")
        self.suggestion.native.setWordWrap(True)

        self.extend([
            Container(widgets=[self.source], labels=True),
            self.form,
            Container(widgets=[self.roi_layer], labels=True),
            Container(widgets=[self.flow_view], labels=True),
            self.live, self.readout,
            Container(widgets=[self.side_by_side_button, self.rd_button], layout="horizontal",
                      labels=False),
            Container(widgets=[self.suggest_button, self.apply_button], layout="horizontal",
                      labels=False),
            self.suggestion,
            Container(widgets=[self.save_preset_button, self.load_preset_button],
                      layout="horizontal", labels=False),
            Container(widgets=[self.output], labels=True), self.overwrite,
            Container(widgets=[self.compress_button, self.cancel_button], layout="horizontal",
                      labels=False),
            self.status,
        ])

        self._timer = _debounce_timer(self._compute_visible, self.native)
        self.source.changed.connect(self._source_changed)
        self.form.changed.connect(self._settings_changed)
        self.flow_view.changed.connect(self._flow_view_changed)
        self.live.changed.connect(lambda *_: self.request_preview())
        self.side_by_side_button.changed.connect(self.toggle_side_by_side)
        self.rd_button.changed.connect(self.show_rate_distortion)
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
        self.native.destroyed.connect(self._teardown)
        self.reset_choices()
        self._source_changed()

    def _step_changed(self, *_):
        self.request_preview()

    def _layers_changed(self, *_):
        self.reset_choices()

    # --- extra RoI layer -----------------------------------------------------------------------------
    def _roi_layer_choices(self, *_):
        from napari.layers import Labels, Shapes

        layers = [(layer.name, layer) for layer in self.viewer.layers
                  if isinstance(layer, (Labels, Shapes)) and not is_preview_layer(layer)]
        return [("none", None)] + layers

    def extra_roi(self):
        """The extra RoI layer as (T, Y, X) masks of the movie's shape, or None."""
        layer, source = self.roi_layer.value, self.source.value
        if layer is None or source is None or source.data.ndim != 3:
            return None
        return LayerRoi(layer, source.data.shape)

    def _roi_layer_changed(self, *_):
        if self.previewer is not None:
            self.previewer.set_extra_roi(self.extra_roi())
            self._changed_at = time.perf_counter()
            self.request_preview()

    def _teardown(self, *_):
        """The dock was closed: stop listening to the viewer and stop running work."""
        self.viewer.dims.events.current_step.disconnect(self._step_changed)
        for event in ("inserted", "removed", "reordered"):
            getattr(self.viewer.layers.events, event).disconnect(self._layers_changed)
        self.previewer = None
        if self._cancel is not None:
            self._cancel.set()

    # --- messages -----------------------------------------------------------------------------------
    def notify(self, message: str, kind: str = "error") -> None:
        for flag, words in CLI_WORDS.items():  # core messages name command-line options
            message = message.replace(flag, words)
        self.messages.append(message)
        {"error": show_error, "warning": show_warning, "info": show_info}[kind](message)

    # --- source layer --------------------------------------------------------------------------------
    def _source_choices(self, *_):
        from napari.layers import Image

        return [(layer.name, layer) for layer in self.viewer.layers
                if isinstance(layer, Image) and not is_preview_layer(layer)]

    def _source_changed(self, layer=None):
        layer = self.source.value
        if self.live_layers is not None:
            if self.live_layers.source is layer and self.live_layers.alive():
                return
            self.live_layers.remove()
        self.live_layers, self.previewer, self.last_preview = None, None, None
        if layer is None:
            self.readout.value = "Pick a movie layer (time, y, x) to start."
            return
        try:
            movie = movie_from_array(layer.data, source=f"Layer '{layer.name}'")
            require_motion(movie)
            self.previewer = Previewer(movie, extra_roi=None)
        except FlowRoIError as exc:
            self.readout.value = str(exc)
            self.notify(str(exc))
            return
        self.live_layers = LiveLayers(self.viewer, layer, self.previewer)
        self.live_layers.flow_view = FLOW_VIEWS[self.flow_view.value]
        self.previewer.set_extra_roi(self.extra_roi())
        if not self.output.value or str(self.output.value) in ("", "."):
            self.output.value = Path.cwd() / f"{layer.name}.flowroi"
        self.request_preview()

    def current_frame(self) -> int:
        layer = self.source.value
        if layer is None:
            return 0
        position = layer.world_to_data(self.viewer.dims.point[-layer.ndim:])
        return int(min(max(round(position[0]), 0), layer.data.shape[0] - 1))

    # --- settings ------------------------------------------------------------------------------------
    def settings(self) -> FlowRoISettings | None:
        """The settings in the form, or None after telling the user what is wrong."""
        try:
            return self.form.settings()
        except SettingsError as exc:
            if not self.messages or self.messages[-1] != str(exc):
                self.notify(str(exc))
            return None

    def _settings_changed(self, *_):
        self._changed_at = time.perf_counter()
        self.request_preview()

    def _flow_view_changed(self, *_):
        settings = self.settings()
        if self.live_layers is not None and settings is not None:
            self.live_layers.set_flow_view(FLOW_VIEWS[self.flow_view.value], settings)

    # --- live preview --------------------------------------------------------------------------------
    @property
    def busy(self) -> bool:
        return any(w is not None for w in (self._preview_worker, self._batch_worker,
                                           self._rd_worker, self._tune_worker)) \
            or self._timer.isActive()

    def request_preview(self) -> None:
        """Debounced: the visible frame is computed once changes have stopped for a moment."""
        if self.previewer is not None and self.live.value:
            self._timer.start()

    def _target(self):
        if self.previewer is None or not self.live.value:
            return None
        settings = self.settings()
        return None if settings is None else (self.previewer, settings, self.current_frame())

    def _compute_visible(self) -> None:
        target = self._target()
        if target is None:
            return
        previewer, settings, t = target
        found = previewer.cached(settings, t)
        if found is not None:
            self._show(target, found)
            return
        if self._preview_worker is not None:
            return  # the running worker starts the newest request when it finishes
        worker = create_worker(previewer.preview, settings, t, _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(lambda result, target=target: self._show(target, result))
        worker.errored.connect(self._preview_failed)
        worker.finished.connect(self._preview_finished)
        self._preview_worker = worker
        worker.start()

    def _preview_finished(self):
        self._preview_worker = None
        target = self._target()
        if target is not None and target[0].cached(target[1], target[2]) is None:
            self._compute_visible()  # the view moved on while computing: catch up

    def _preview_failed(self, exc: Exception):
        if isinstance(exc, FlowRoIError):
            self.readout.value = str(exc)
            self.notify(str(exc))
        else:
            self.notify(f"The preview failed ({type(exc).__name__}: {exc}). Please report this "
                        "with the movie's shape and type.")

    def _show(self, target, preview: FramePreview) -> None:
        if target != self._target() or self.live_layers is None:
            return  # stale: the settings, frame or layer changed meanwhile
        self.live_layers.show(target[1], preview)
        self.live_layers.show_missed(preview)
        self.last_preview = preview
        self.readout.value = readout_html(preview)
        if self._changed_at is not None:
            self.last_update_seconds = time.perf_counter() - self._changed_at
            self._changed_at = None

    # --- comparison ----------------------------------------------------------------------------------
    def _grid(self):
        canvas = getattr(self.viewer, "canvas", None)
        return canvas.grid if canvas is not None and hasattr(canvas, "grid") else self.viewer.grid

    def toggle_side_by_side(self, *_):
        grid = self._grid()
        if self._grid_saved is not None:
            for layer, visible in self._grid_saved.items():
                if layer in self.viewer.layers:
                    layer.visible = visible
            self._grid_saved = None
            grid.enabled = False
            self.side_by_side_button.text = "Side by side: FlowRoI | JPEG2000"
            return
        if self.live_layers is None or not self.live_layers.layers:
            self.notify("Pick a movie layer and wait for its preview first.", "warning")
            return
        shown = (self.live_layers.layers["flowroi"], self.live_layers.layers["plain"])
        self._grid_saved = {layer: layer.visible for layer in self.viewer.layers}
        for layer in self.viewer.layers:
            layer.visible = layer in shown
        grid.shape = (1, 2)
        grid.enabled = True
        self.side_by_side_button.text = "Back to single view"

    def show_rate_distortion(self, *_):
        target = self._target()
        if target is None or self._rd_worker is not None:
            if target is None:
                self.notify("Pick a movie layer (and turn on the live preview) first.", "warning")
            return
        previewer, settings, t = target
        worker = create_worker(rate_distortion, previewer, settings, t, _start_thread=False,
                               _ignore_errors=True)
        worker.returned.connect(lambda curve: self._plot_rd(curve, settings.compression_rate))
        worker.errored.connect(self._preview_failed)
        worker.finished.connect(self._rd_finished)
        self._rd_worker = worker
        self.rd_button.enabled = False
        self.status.value = f"Computing the rate–distortion curve of frame {t}…"
        worker.start()

    def _rd_finished(self):
        self._rd_worker = None
        self.rd_button.enabled = True
        self.status.value = ""

    def _plot_rd(self, curve, current_rate):
        from ._plot import RateDistortionPlot

        if self._rd_plot is None:
            self._rd_plot = RateDistortionPlot()
            self.viewer.window.add_dock_widget(self._rd_plot, name="FlowRoI rate–distortion",
                                               area="right")
        self._rd_plot.plot(curve, current_rate)

    # --- suggested settings --------------------------------------------------------------------------
    def suggest(self):
        """Search settings on a few frames in a worker; the result can then be applied."""
        settings = self.settings()
        if self.previewer is None or settings is None or self._tune_worker is not None:
            if self.previewer is None:
                self.notify("Pick a movie layer first.", "warning")
            return None
        self._tune_cancel = threading.Event()
        worker = create_worker(suggest_settings, self.previewer.movie, settings,
                               progress=lambda d, n: None, cancel=self._tune_cancel,
                               _start_thread=False, _ignore_errors=True)
        worker.returned.connect(self._show_suggestion)
        worker.errored.connect(self._preview_failed)
        worker.finished.connect(self._tune_finished)
        self._tune_worker = worker
        self.suggest_button.enabled = False
        self.suggestion.value = "Trying settings on frames spread over the movie…"
        worker.start()
        return worker

    def _tune_finished(self):
        self._tune_worker = None
        self.suggest_button.enabled = True

    def _show_suggestion(self, suggestion):
        self._suggestion = suggestion
        rows = "".join(
            f"<tr><td>{' + '.join(c.settings.roi_sources)}</td>"
            f"<td align='right'>{c.settings.roi_threshold:g}</td>"
            f"<td align='right'>{c.settings.adjacent_factor}</td>"
            f"<td align='right'>{c.settings.scaling_factor:g}</td>"
            f"<td align='right'>{100 * c.coverage:.1f} %</td>"
            f"<td align='right'>{c.gain:.2f}</td></tr>"
            for c in sorted(suggestion.candidates, key=lambda c: -c.gain)[:5])
        self.suggestion.value = (
            f"{suggestion.summary()} ({suggestion.seconds:.0f} s)"
            "<table cellspacing='4'><tr><th>sources</th><th>thr.</th><th>adj.</th><th>scal.</th>"
            f"<th>cells kept</th><th>gain</th></tr>{rows}</table>")
        self.apply_button.enabled = True

    def apply_suggestion(self):
        if self._suggestion is None:
            return
        current = self.settings() or FlowRoISettings()
        suggested = self._suggestion.settings
        # keep the rate (or quality) the user asked for; take the RoI settings suggested
        with self.form.changed.blocked():
            self.form.set_settings(suggested.replace(compression_rate=current.compression_rate,
                                                     target_psnr=current.target_psnr))
        self._settings_changed()
        self.notify("Suggested settings applied.", "info")

    # --- presets -------------------------------------------------------------------------------------
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
        with self.form.changed.blocked():
            self.form.set_settings(settings)
        self._settings_changed()
        self.notify(f"Settings loaded from {path}.", "info")

    def _ask_save_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(self.native, "Save FlowRoI preset",
                                              "flowroi-preset.json", "JSON (*.json)")
        if path:
            self.save_preset(path)

    def _ask_load_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(self.native, "Load FlowRoI preset", "",
                                              "JSON (*.json)")
        if path:
            self.load_preset(path)

    # --- batch compression ---------------------------------------------------------------------------
    def compress(self, output=None, workers: int | None = None):
        """Compress the whole source layer into `output` (default: the output field)."""
        if self._batch_worker is not None:
            self.notify("A compression is already running; wait for it or cancel it.", "warning")
            return None
        layer = self.source.value
        if layer is None:
            self.notify("Pick the movie layer to compress first.")
            return None
        settings = self.settings()
        if settings is None:
            return None
        try:
            movie = movie_from_layer(layer)  # keeps the layer's scale and name (calibration.py)
            if settings.uses_roi:
                require_motion(movie)
        except FlowRoIError as exc:
            self.notify(str(exc))
            return None
        output = Path(output if output is not None else self.output.value)
        if str(output) in ("", "."):
            self.notify("Choose an output folder for the compressed stack first.")
            return None
        self._cancel = threading.Event()
        workers = workers or max(1, os.cpu_count() or 1)
        check = settings != self._coverage_accepted
        worker = create_worker(_batch_job, movie, output, settings, self.overwrite.value,
                               self._cancel, workers, self.extra_roi(), check,
                               _start_thread=False, _ignore_errors=True)
        self._progress = progress(total=len(movie), desc=f"FlowRoI: compressing {layer.name}")
        self._batch_output = output
        self._batch_done = 0
        worker.yielded.connect(self._batch_progress)
        worker.returned.connect(self._batch_returned)
        worker.errored.connect(self._batch_failed)
        worker.finished.connect(self._batch_finished)
        self._batch_worker = worker
        self.compress_button.enabled = False
        self.cancel_button.enabled = True
        self._batch_settings = settings
        self.status.value = (f"Checking cell coverage, then compressing {len(movie)} frames into "
                             f"{output}…" if check and settings.uses_roi else
                             f"Compressing {len(movie)} frames into {output}…")
        worker.start()
        return worker

    def cancel(self):
        if self._cancel is not None:
            self._cancel.set()
            self.status.value = "Cancelling after the frames under way…"

    def _batch_progress(self, item):
        done, total = item
        self._batch_done = max(done, self._batch_done)
        bar = self._progress
        if bar is None or self._batch_worker is None:
            return  # a late report of a run that has ended
        self.status.value = f"Compressed {done} of {total} frames."
        bar.set_description(f"FlowRoI: {done}/{total} frames")
        bar.update(done - bar.n)  # may process events, even the end of the run: keep it last

    def _batch_returned(self, summary):
        self.status.value = (f"Done: {summary.frames} frames, {_kb(summary.bytes_written)}, "
                             f"achieved rate {summary.achieved_rate:.1f} : 1 "
                             f"(RoI {100 * summary.mean_roi_fraction:.0f} % on average), "
                             f"{summary.seconds:.1f} s.")
        self.viewer.open(str(summary.output), plugin="napari-flowroi")
        self.notify(f"Compressed {summary.frames} frames into {summary.output}: achieved rate "
                    f"{summary.achieved_rate:.1f} : 1 ({_kb(summary.bytes_written)}).", "info")

    def _batch_failed(self, exc: Exception):
        out = self._batch_output
        if isinstance(exc, LowCoverage):
            self._coverage_accepted = self._batch_settings  # a second click goes ahead
            self.status.value = str(exc)
            self.notify(str(exc), "warning")
        elif isinstance(exc, CancelledError):
            message = (f"Compression cancelled after {self._batch_done} frames. {out} is "
                       "incomplete (it has no manifest.json and will not open as a compressed "
                       "stack): compress again with the same settings into the same folder to "
                       "finish it, or delete the folder.")
            self.status.value = message
            self.notify(message, "warning")
        elif isinstance(exc, FlowRoIError):
            self.status.value = str(exc)
            self.notify(str(exc))
        else:
            self.status.value = f"Compression failed: {exc}"
            self.notify(f"Compression failed ({type(exc).__name__}: {exc}). Frames finished so "
                        "far are kept; rerunning with the same settings resumes.")

    def _batch_finished(self):
        if self._progress is not None:
            self._progress.close()
        self._progress = None
        self._batch_worker = None
        self._cancel = None
        self.compress_button.enabled = True
        self.cancel_button.enabled = False


def _debounce_timer(callback, parent):
    from qtpy.QtCore import QTimer

    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(DEBOUNCE_MS)
    timer.timeout.connect(callback)
    return timer
