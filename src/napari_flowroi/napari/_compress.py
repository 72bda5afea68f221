"""The Compress tab: output folder, the whole movie's estimated size and worst sampled frame, the
batch (one movie or every channel, through ``jobs.compress_steps``, the command line's path) and
the export of the decoded stack to TIFF.

A batch keeps what it was started with: the movie, the output and its busy line do not follow
the *Movie layer* picker while it runs (issue 22, item 9)."""

from __future__ import annotations

import os
import threading
from functools import partial
from pathlib import Path

from magicgui.widgets import CheckBox, Container, FileEdit, Label, PushButton

from ..errors import CancelledError, FlowRoIError
from ..guard import Preflight
from ..jobs import compress_steps
from ..readout import batch_done, channels_done, movie_estimate, plain_words
from . import _worker
from ._export import ask_export, ask_roi_masks, export_roi_masks, export_tiff


def default_output(layer) -> Path:
    """Beside the movie's file when the layer came from one, else in the home folder."""
    source = getattr(getattr(layer, "source", None), "path", None)
    if source:
        path = Path(source)
        stem = path.name.split(".")[0] if path.is_file() else path.name
        if path.suffix == ".flowroi":  # a reopened stack: beside it, not "name.flowroi.flowroi"
            stem = f"{path.stem}-recompressed"
        return path.parent / f"{stem}.flowroi"
    return Path.home() / f"{layer.name}.flowroi"


class CompressPanel(Container):
    def __init__(self, dock):
        self.dock = dock
        self.output = FileEdit(
            mode="w",
            label="Output folder",
            filter="*.flowroi",
            tooltip="A new folder for the compressed stack (JPEG2000 frames, RoI masks and "
            "manifest.json); by default beside the movie's file.",
        )
        self.output.choose_btn.text = "Choose…"
        self.overwrite = CheckBox(text="Replace an existing compressed stack", value=False)
        self.all_channels = CheckBox(
            text="Every channel, each with the RoI channel's RoI",
            value=True,
            visible=False,
            tooltip="Compress every channel of the layer into the output folder, one stack per "
            "channel, the others with the RoI channel's RoI; untick to compress the RoI channel "
            "alone.",
        )
        self.estimate = Label(value="")
        self.estimate_button = PushButton(
            text="Check 5 frames spread over the movie",
            tooltip="Code five frames spread over the movie with these settings and report the "
            "worst frame's cell quality and the expected size.",
        )
        self.compress_button = PushButton(
            text="Compress stack",
            tooltip="Check that the RoI keeps the cells, then compress every frame with these "
            "settings.",
        )
        self.status = Label(value="")
        self.export_button = PushButton(
            text="Export decoded stack to TIFF…",
            enabled=False,
            tooltip="Decode the compressed stack just written into one (OME-)TIFF, keeping the "
            "pixel size, time step and channel names.",
        )
        self.masks_button = PushButton(
            text="Export RoI masks…",
            tooltip="Write the exact RoI masks a compression with these settings codes (one "
            "TIFF page a frame, 255 = RoI); the compressed stack keeps only coarse blocks of "
            "them.",
        )
        super().__init__(
            widgets=[
                Container(widgets=[self.output], labels=True),
                self.all_channels,
                self.overwrite,
                self.estimate,
                self.estimate_button,
                self.compress_button,
                self.status,
                Container(
                    widgets=[self.export_button, self.masks_button],
                    layout="horizontal",
                    labels=False,
                ),
            ],
            labels=False,
        )
        for label in (self.estimate, self.status):
            label.native.setWordWrap(True)
        self.frames_done = 0
        self.last_summary = None
        self.last_output: Path | None = None
        self._batch: dict = {}  # what the running batch was started with
        self.compress_button.changed.connect(lambda *_: dock.compress())
        self.estimate_button.changed.connect(lambda *_: self.check_frames())
        self.export_button.changed.connect(self._ask_export)
        self.masks_button.changed.connect(lambda *_: ask_roi_masks(self))
        self.all_channels.changed.connect(lambda *_: dock.source_output())

    @property
    def running(self) -> bool:
        return bool(self._batch)

    def show_estimate(self, samples=()) -> None:
        model = self.dock.model
        if model.movie is None:
            self.estimate.value = ""
            return
        self.estimate.value = movie_estimate(
            model.movie.shape, model.movie.dtype, model.settings, samples
        )

    # --- the whole movie, sampled ------------------------------------------------------------
    def check_frames(self):
        dock, busy, model = self.dock, self.dock.busy_line, self.dock.model
        if model.movie is None:
            dock.notify("Pick a movie layer first.", "warning")
            return None
        if not busy.start("the estimate", "Coding 5 frames spread over the movie…"):
            return None
        cancel = threading.Event()
        settings, movie = model.settings, model.movie

        def step(item):
            done, total = item
            busy.show_text(f"Estimate: {done} of {total} frames coded…", done, total)

        def returned(samples):
            if model.settings == settings and model.movie is movie:  # not another movie's
                self.show_estimate(samples)

        return busy.run(
            dock,
            model.estimate_steps,
            settings,
            cancel,
            cancel=cancel,
            yielded=step,
            returned=returned,
            errored=busy.failed,
            finished=busy.end,
        )

    # --- the batch -----------------------------------------------------------------------------
    def compress(self, output=None, workers: int | None = None):
        """Compress the dock's movie layer into `output` (default: the output field)."""
        dock, panel = self.dock, self
        panel.status.value = ""  # no "Done" of an earlier run beside a new refusal
        layer = dock.picker.layer
        if layer is None:
            dock.notify("Pick the movie layer to compress first.")
            panel.status.value = dock.messages[-1]
            return None
        settings = dock.settings()
        if settings is None:
            return None
        # refused when picked: say why again, unless it is one frame and Plain is ticked, as
        # the refusal advises (no preview without motion, but the batch codes it)
        if dock.model.movie is None and not dock.picker.one_frame_coded(layer, settings):
            dock.source_changed(channel=dock.picker.axes.index)
            if dock.model.movie is None:
                panel.status.value = dock.messages[-1] if dock.messages else ""
                return None
        output = Path(output if output is not None else panel.output.value)
        if str(output) in ("", "."):
            dock.notify("Choose an output folder for the compressed stack first.")
            return None
        check = settings.uses_roi and not dock.model.coverage_accepted(settings)
        first = "Checking cell coverage, then compressing" if check else "Compressing"
        axes = dock.picker.axes
        try:
            if dock.compresses_channels:
                movies = [dock.picker.channel_movie(layer, c) for c in range(axes.channels)]
                n = sum(len(m) for m in movies)
                return panel.launch(movies, output, settings, motion_channel=axes.index,
                                    workers=workers, busy_text=f"{first} {axes.channels} channels ({n} frames)…")  # fmt: skip
            movie = dock.picker.channel_movie(layer, axes.index)
        except FlowRoIError as exc:
            dock.notify(str(exc))
            return None
        return panel.launch([movie], output, settings, motion_channel=None, workers=workers,
                            busy_text=f"{first} {len(movie)} frames…")  # fmt: skip

    def launch(self, movies, output: Path, settings, *, motion_channel, workers, busy_text):
        """Start the batch of `movies` (one, or every channel) into `output`."""
        dock, busy = self.dock, self.dock.busy_line
        if not busy.start("the compression", busy_text):
            return None
        dock.watch_window()  # closing the viewer stops the batch (and says what is left)
        cancel = threading.Event()
        self._batch = {"output": output, "settings": settings, "channels": motion_channel,
                       "movie": dock.model.movie}  # fmt: skip
        self.frames_done = 0
        self.compress_button.enabled = False
        self.export_button.enabled = False
        self.status.value = f"{busy_text[:-1]} into {output}…"
        busy.on_cancel = partial(
            setattr, self.status, "value", "Cancelling after the frames under way…"
        )
        steps = partial(
            compress_steps,
            movies,
            output,
            settings,
            motion_channel=motion_channel,
            accepted=dock.model.coverage_accepted(settings),
            overwrite=self.overwrite.value,
            cancel=cancel,
            workers=workers or max(1, os.cpu_count() or 1),
            extra_roi=dock.model.extra_roi,
            run=_worker.progress_steps,
        )
        return busy.run(
            dock,
            steps,
            cancel=cancel,
            yielded=self._progress,
            returned=self._returned,
            errored=self._failed,
            finished=self._finished,
        )

    def _progress(self, item):
        done, total = item
        if done == "checking":
            self.dock.busy_line.show_text("Checking that the RoI keeps the cells (5 frames)…", 0, 0)
            return
        self.frames_done = max(done, self.frames_done)
        self.status.value = f"Compressed {done} of {total} frames."
        self.dock.busy_line.show_text(f"Compressing: {done} of {total} frames", done, total)

    def _returned(self, result):
        batch, dock = self._batch, self.dock
        if isinstance(result, Preflight):  # the guard says stop: a second click goes ahead
            # on the movie checked: the picker may have moved on (a second click there warns)
            dock.model.accept_coverage(batch["settings"], batch["movie"])
            self.status.value = plain_words(result.message) + (
                " Click 'Compress stack' again to compress anyway."
            )
            dock.notify(self.status.value, "warning")
            return
        self.last_summary, self.last_output = result, Path(result.output)
        if hasattr(result, "wells"):  # every channel of the layer, one stack each
            message, kind = channels_done(result, batch["channels"])
        else:
            settings = batch["settings"]
            message, kind = batch_done(result)
            if settings.uses_roi:
                message += (
                    " The reopened RoI layer holds the stored RoI, kept as blocks (its name "
                    "says how coarse; hidden when they cover the frame); 'Export RoI masks…' "
                    "writes the exact ones."
                )
        self.status.value = message
        self.export_button.enabled = True
        dock.open_result(result.output)
        dock.notify(message, kind)

    def _failed(self, exc: Exception):
        out = self._batch.get("output")
        if isinstance(exc, CancelledError):
            message = (
                f"Compression cancelled after {self.frames_done} frames. {out} is incomplete (it "
                "has no manifest.json and will not open as a compressed stack): compress again "
                "with the same settings into the same folder to finish it, or delete the folder."
            )
            self.status.value = message
            self.dock.notify(message, "warning")
        elif isinstance(exc, FlowRoIError):
            self.status.value = plain_words(str(exc))
            self.dock.notify(str(exc))
        else:
            self.status.value = f"Compression failed: {exc}"
            self.dock.notify(
                f"Compression failed ({type(exc).__name__}: {exc}). Frames finished so far are "
                "kept; rerunning with the same settings resumes."
            )

    def _finished(self):
        self._batch = {}
        self.compress_button.enabled = True
        self.dock.busy_line.end()
        self.dock.source_output()  # the picker may have moved on while the batch ran

    # --- exports (_export.py): the decoded stack, the exact RoI masks ------------------------
    export, export_masks, _ask_export = export_tiff, export_roi_masks, ask_export
