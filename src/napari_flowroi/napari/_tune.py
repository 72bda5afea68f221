"""The Tune tab: the settings form, the extra RoI layer, live preview, the readout of the visible
frame, controls with no effect marked with the reason, suggested settings, presets, Reset."""

from __future__ import annotations

import threading
from functools import partial
from pathlib import Path

from magicgui.widgets import CheckBox, ComboBox, Container, Label, PushButton

from ..errors import FlowRoIError
from ..readout import dead_words, readout_html, suggestion_html
from ..settings import FlowRoISettings
from . import _worker
from ._layers import SOURCE_COLOURS, is_preview_layer
from ._settings_form import SettingsForm, label_for

LEGEND = " ".join(
    f"<span style='color:{SOURCE_COLOURS[label]}'>■ {name}</span>"
    for label, name in ((1, "motion"), (2, "appearance"), (3, "your mask"))
)


class TunePanel(Container):
    """Everything that changes the settings, and what they give on the visible frame."""

    def __init__(self, dock):
        self.dock = dock
        self.form = SettingsForm(name="settings")
        self.roi_layer = ComboBox(
            label="Extra RoI layer",
            choices=self._roi_layer_choices,
            tooltip="A Labels or Shapes layer whose regions are always protected (a "
            "segmentation, boxes or polygons drawn around what must survive), on top of motion "
            "and appearance.",
        )
        self.live = CheckBox(
            text="Live preview of the current frame",
            value=True,
            tooltip="Recompute the preview layers when a setting or the time step changes. "
            "Untick to change many settings first.",
        )
        self.reset_button = PushButton(
            text="Reset to defaults", tooltip="Put every setting back to its default."
        )
        self.dead = Label(value="")
        self.readout = Label(value="Pick a movie layer (time, y, x) to start.")
        self.suggest_button = PushButton(
            text="Suggest settings",
            tooltip="Try RoI sources, thresholds and scaling factors on a few frames spread over "
            "the movie, at this compression rate, and suggest the setting that keeps the cells "
            "and makes the smallest files for their quality (about 30 s for 1 MP; progress and "
            "Cancel above).",
        )
        self.apply_button = PushButton(
            text="Apply suggestion",
            enabled=False,
            tooltip="Put the suggested settings into the form.",
        )
        self.suggestion = Label(value="")
        self._roi_watched = None  # the Extra RoI layer whose edits are followed
        self.save_preset_button = PushButton(
            text="Save preset…", tooltip="Save these settings as a JSON preset."
        )
        self.load_preset_button = PushButton(
            text="Load preset…", tooltip="Load settings from a JSON preset."
        )
        row = partial(Container, layout="horizontal", labels=False)
        super().__init__(
            widgets=[
                self.form,
                Container(widgets=[self.roi_layer], labels=True),
                row(widgets=[self.live, self.reset_button]),
                self.dead,
                self.readout,
                row(widgets=[self.suggest_button, self.apply_button]),
                self.suggestion,
                row(widgets=[self.save_preset_button, self.load_preset_button]),
            ],
            labels=False,
        )
        for label in (self.dead, self.readout, self.suggestion):
            label.native.setWordWrap(True)
        self.dead.native.setStyleSheet("color: #b0b0b0")
        self.dead.native.setHidden(True)
        self.reset_button.changed.connect(lambda *_: self.reset())
        self.suggest_button.changed.connect(lambda *_: self.suggest())
        self.apply_button.changed.connect(lambda *_: self.apply_suggestion())
        self.save_preset_button.changed.connect(self._ask_save_preset)
        self.load_preset_button.changed.connect(self._ask_load_preset)
        dock.model.movie_changed.connect(self._forget_suggestion)

    def _forget_suggestion(self, *_):
        """Another movie (or none): the suggestion was about the movie before."""
        self.suggestion.value = ""
        self.apply_button.enabled = False

    # --- the extra RoI layer ---------------------------------------------------------------------
    def _roi_layer_choices(self, *_):
        from napari.layers import Labels, Shapes

        viewer = self.dock.viewer
        layers = [
            (layer.name, layer)
            for layer in (viewer.layers if viewer is not None else ())
            if isinstance(layer, (Labels, Shapes)) and not is_preview_layer(layer)
        ]
        return [("none", None)] + layers

    def watch_roi_layer(self) -> None:
        """Follow the Extra RoI layer's edits (labels painted or replaced, shapes drawn, moved or
        deleted): the preview and the batch protect what it holds now, not what it held when
        it was picked."""
        layer, old = self.roi_layer.value, self._roi_watched
        if layer is old:
            return
        for watched, how in ((old, "disconnect"), (layer, "connect")):
            for name in ("data", "paint"):  # paint: a labels brush stroke
                emitter = getattr(getattr(watched, "events", None), name, None)
                if emitter is not None:
                    getattr(emitter, how)(self._roi_edited)
        self._roi_watched = layer

    def _roi_edited(self, event=None):
        # not "adding", "changing": the end of the edit follows; a closed dock follows nothing
        if not str(getattr(event, "action", "")).endswith("ing") and not self.dock.closed:
            self.dock._roi_layer_changed()

    # --- readout -----------------------------------------------------------------------------------
    def show_readout(self, preview, model, assessment=None) -> None:
        """The figures of the visible frame; the marks of controls with no effect."""
        factor = None if preview.coarse else model.size_factor
        html = readout_html(preview, model.settings, model.movie.dtype, factor, assessment)
        if model.settings.uses_roi:
            html = f"RoI drawn by: {LEGEND}<br>{html}"
        self.readout.value = html
        self.readout.native.setEnabled(True)
        if assessment is not None:
            self.mark_dead(assessment.dead)

    def mark_dead(self, dead: dict[str, str]) -> None:
        """Grey the controls that change nothing on this frame; say why in the line under the
        form and in each control's tooltip."""
        for name, control in self.form.controls.items():
            reason = dead.get(name)
            base = getattr(control, "_flowroi_tooltip", None)
            if base is None:
                base = control._flowroi_tooltip = control.tooltip or ""
            tip = f"No effect on this frame: {reason}.\n\n{base}" if reason else base
            style = "color: #8a8a8a" if reason else ""
            # only when it changes: every style set re-lays the whole dock out (TopDownLayout),
            # and the readout is updated several times a frame
            if control.tooltip != tip:
                control.tooltip = tip
            if control.native.styleSheet() != style:
                control.native.setStyleSheet(style)
        text = dead_words(dead, label_for)
        self.dead.value = text
        self.dead.native.setHidden(not text)

    def mark_stale(self, why: str) -> None:
        """The figures shown are not those of the current settings or frame."""
        if self.readout.value and not self.readout.value.startswith("<b>Out of date"):
            self.readout.value = f"<b>Out of date: {why}</b><br>{self.readout.value}"
        self.readout.native.setEnabled(False)

    # --- settings ----------------------------------------------------------------------------------
    def set_settings(self, settings: FlowRoISettings, message: str) -> None:
        with self.form.changed.blocked():
            self.form.set_settings(settings)
        self.dock.settings_changed()
        self.dock.notify(message, "info")

    def reset(self) -> None:
        self.set_settings(FlowRoISettings(), "Settings reset to their defaults.")

    def suggest(self):
        """Search settings on a few frames in a worker (progress and Cancel in the busy line)."""
        dock, busy = self.dock, self.dock.busy_line
        if dock.model.movie is None or dock.settings() is None:
            dock.notify("Pick a movie layer first.", "warning")
            return None
        if not busy.start("the suggestion", "Trying settings on frames spread over the movie…"):
            return None
        cancel, movie = threading.Event(), dock.model.movie
        self.suggest_button.enabled = False
        self.suggestion.value = "Trying settings on frames spread over the movie…"

        def step(item):
            done, total = item
            busy.show_text(f"Suggest settings: {done} of {total} candidates tried…", done, total)

        def finished():
            self.suggest_button.enabled = True
            if dock.model.suggestion is None:
                self.suggestion.value = ""
            busy.end()

        return busy.run(
            dock,
            _worker.progress_steps,
            partial(dock.model.suggest, cancel=cancel),
            cancel=cancel,
            yielded=step,
            # dropped when the movie changed meanwhile: it would be applied to another movie
            returned=lambda s: dock.model.movie is movie and dock.model.set_suggestion(s),
            errored=busy.failed,
            finished=finished,
        )

    def show_suggestion(self, suggestion) -> None:
        self.suggestion.value = suggestion_html(suggestion)
        self.apply_button.enabled = True

    def apply_suggestion(self) -> None:
        suggested = self.dock.model.suggested_settings()
        if suggested is not None:
            self.set_settings(suggested, "Suggested settings applied.")

    def save_preset(self, path) -> None:
        settings = self.dock.settings()
        if settings is not None:
            settings.to_json(path)
            self.dock.notify(f"Settings saved to {path}.", "info")

    def load_preset(self, path) -> None:
        try:
            settings = FlowRoISettings.from_json(path)
        except (FlowRoIError, TypeError) as exc:
            self.dock.notify(str(exc))
            return
        except (ValueError, OSError, AttributeError) as exc:  # not JSON, not text, not a dict
            self.dock.notify(
                f"{Path(path).name} is not a FlowRoI preset ({type(exc).__name__}). Choose a "
                ".json file written by 'Save preset…' or by flowroi tune --save."
            )
            return
        self.set_settings(settings, f"Settings loaded from {path}.")

    def _ask_save_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getSaveFileName(
            self.native, "Save FlowRoI preset", "flowroi-preset.json", "JSON (*.json)"
        )
        if path:
            self.save_preset(path)

    def _ask_load_preset(self, *_):
        from qtpy.QtWidgets import QFileDialog

        path, _ = QFileDialog.getOpenFileName(
            self.native, "Load FlowRoI preset", "", "JSON (*.json)"
        )
        if path:
            self.load_preset(path)
