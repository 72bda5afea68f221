"""The live preview's runner: debounces what the user does, runs what the Qt-free
:meth:`TuningModel.plan` asks for in a worker, and shows what the model accepts in the layers,
the readout and the verdict."""

from __future__ import annotations

import time
from functools import partial

from qtpy.QtCore import QTimer

from ..errors import FlowRoIError
from ..readout import plain_words, verdict
from . import _worker

#: Quiet time after the last slider or time-step change before the preview is computed.
DEBOUNCE_MS = 40


class PreviewRunner:
    """The dock's preview work: one debounce timer and the workers it started."""

    def __init__(self, dock):
        self.dock = dock
        self.jobs: list = []  # preview workers still running (superseded ones too)
        self.changed_at: float | None = None  # when the user last changed what is shown
        self._timer = QTimer(dock)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self._compute_visible)
        dock.model.preview_ready.connect(self._show_preview)
        dock.model.assessed.connect(self._show_assessment)
        dock.model.size_factor_ready.connect(lambda *_: self.update_readout())

    @property
    def model(self):
        return self.dock.model

    @property
    def tune(self):
        return self.dock.tune

    @property
    def busy(self) -> bool:
        self.jobs = [job for job in self.jobs if not job.done]
        return bool(self.jobs) or (not self.dock.closed and self._timer.isActive())

    def changed(self) -> None:
        """The user changed a setting, the frame or the RoI layer: time it, then preview."""
        self.changed_at = time.perf_counter()
        self.request()

    def stop(self) -> None:
        self._timer.stop()
        self.model.cancel_preview()
        for job in self.jobs:
            job.cancel()

    def request(self) -> None:
        """Debounced: the visible frame is computed once changes have stopped for a moment."""
        if self.model.previewer is None or self.dock.closed:
            return
        if not self.tune.live.value:
            if self.model.last_preview is not None and not self.model.is_current(
                self.model.last_preview
            ):
                self.tune.mark_stale("live preview is off; tick it to see these settings")
                self.dock.verdict.value = "Out of date (live preview is off)."
            return
        if self.model.cached() is None:
            self.dock.busy_line.preview_text(f"Computing frame {self.model.t}…")
            self.tune.readout.native.setEnabled(False)  # the figures shown are the old ones
        self._timer.start()

    def _compute_visible(self) -> None:
        if self.dock.closed or not self.tune.live.value:
            return
        plan = self.model.plan()
        if plan is None:
            if self.model.cached() is not None or self.model.target() is None:
                self.dock.busy_line.preview_text("")
            return
        settings, t, cancel = plan
        job = _worker.run(
            self.dock,
            self.model.preview_steps,
            settings,
            t,
            cancel,
            cancel=cancel,
            yielded=partial(self.model.accept_step, cancel=cancel),
            returned=self._size_factor_done,
            errored=self._preview_failed,
            finished=partial(self._preview_finished, cancel),
        )
        self.jobs.append(job)

    def _size_factor_done(self, result):
        if result is not None:
            self.model.accept_size_factor(*result)

    def _preview_finished(self, cancel):
        if self.model.job_finished(cancel) and not self._timer.isActive():
            self._compute_visible()  # the view moved on while computing: catch up
        elif self.model.cached() is not None or self.model.target() is None:
            self.dock.busy_line.preview_text("")

    def _preview_failed(self, exc: Exception):
        self.dock.busy_line.preview_text("")
        self.tune.readout.native.setEnabled(True)
        if isinstance(exc, FlowRoIError):
            self.tune.readout.value = plain_words(str(exc))
            self.dock.notify(str(exc))
        else:
            self.dock.notify(
                f"The preview failed ({type(exc).__name__}: {exc}). Please report this with the "
                "movie's shape and type."
            )

    def _show_preview(self, preview) -> None:
        if self.dock.live_layers is None:
            return
        self.dock.live_layers.show(preview.settings, preview)
        if not preview.coarse:
            self.dock.live_layers.show_missed(preview)
            self.dock.busy_line.preview_text("")
            if self.changed_at is not None:
                self.dock.last_update_seconds = time.perf_counter() - self.changed_at
                self.changed_at = None
        else:
            if self.changed_at is not None:
                self.dock.first_update_seconds = time.perf_counter() - self.changed_at
            self.dock.busy_line.preview_text(f"Coding frame {preview.t} (FlowRoI and JPEG2000)…")
        self.update_readout(preview)

    def _show_assessment(self, assessment) -> None:
        if self.dock.live_layers is not None:  # the RoI layer now knows each pixel's source
            self.dock.live_layers.refresh_sources(assessment.settings)
        self.update_readout()

    def update_readout(self, preview=None):
        model = self.model
        preview = preview or model.cached() or model.cached(coarse=True)
        if preview is None or model.movie is None:
            return
        assessment = model.assessment(preview.settings, preview.t)
        factor = None if preview.coarse else model.size_factor
        self.tune.show_readout(preview, model, assessment)
        self.dock.verdict.value = verdict(
            preview, assessment, factor, model.settings.coverage_target
        )
