"""The dock's busy line and the one long job it runs: what is running, progress, Cancel.

One long job at a time (suggestion, rate–distortion plot, estimate, batch, export); the preview
only speaks in the busy line when no long job does, so a batch's "Compressing: 12 of 40 frames"
is never replaced by the preview of another layer (issue 22, item 9).
"""

from __future__ import annotations

from magicgui.widgets import Container, Label, ProgressBar, PushButton

from ..errors import CancelledError, FlowRoIError
from . import _worker


class BusyLine(Container):
    """Label, progress bar and Cancel; owns the running long job."""

    def __init__(self, notify):
        self.text_label = Label(value="")
        self.text_label.native.setWordWrap(True)
        self.progress_bar = ProgressBar(value=0, min=0, max=1, visible=False)
        self.cancel_button = PushButton(
            text="Cancel",
            enabled=False,
            tooltip="Stop what is running (suggestion, plot, estimate, compression or export) "
            "at its next step.",
        )
        super().__init__(
            widgets=[
                self.text_label,
                Container(
                    widgets=[self.progress_bar, self.cancel_button],
                    layout="horizontal",
                    labels=False,
                ),
            ],
            labels=False,
        )
        self.margins = (0, 0, 0, 0)
        self._notify = notify
        self.job = None  # the running long job (a _worker.Job)
        self.kind = ""  # what it is, in words ("the compression")
        self.on_cancel = None  # extra words when the running job is cancelled
        self.cancel_button.changed.connect(lambda *_: self.cancel())
        self.show_text("")

    @property
    def running(self) -> bool:
        """A long job holds the line (its callbacks may be dropped once the dock is closed,
        so a finished job counts as ended)."""
        return self.job is not None and not self.job.done

    def show_text(self, text: str, done: int | None = None, total: int | None = None) -> None:
        self.text_label.value = text
        self.text_label.native.setHidden(not text)  # no empty line when idle
        self.progress_bar.visible = bool(text) and total is not None
        if total is not None:  # total 0: a busy bar without figures
            self.progress_bar.max = max(int(total), 0)
            self.progress_bar.value = min(int(done or 0), max(int(total), 0))

    def preview_text(self, text: str) -> None:
        """What the preview is doing, shown only while no long job speaks here."""
        if not self.running:
            self.show_text(text)

    def start(self, kind: str, text: str) -> bool:
        """Claim the line for a long job; False (and a warning) when one runs already."""
        if self.running:
            self._notify(
                f"{self.kind.capitalize()} is running; wait for it or press Cancel.", "warning"
            )
            return False
        self.kind, self.job = kind, None
        self.show_text(text, 0, 0)
        self.cancel_button.enabled = True
        return True

    def run(self, owner, func, *args, **kwargs):
        """Start the claimed job through `_worker.run` (same arguments); returns the Job."""
        self.job = _worker.run(owner, func, *args, **kwargs)
        return self.job

    def end(self) -> None:
        self.job, self.kind, self.on_cancel = None, "", None
        self.cancel_button.enabled = False
        self.show_text("")

    def cancel(self) -> None:
        """Stop the running job at its next step."""
        if self.job is not None:
            self.job.cancel()
            self.text_label.value = "Cancelling after the step under way…"
            if self.on_cancel is not None:
                self.on_cancel()

    def failed(self, exc: Exception) -> None:
        """The long job raised: say so in plain words."""
        kind = self.kind.capitalize() or "The job"
        if isinstance(exc, CancelledError):
            self._notify(f"{kind} cancelled.", "info")
        elif isinstance(exc, FlowRoIError):
            self._notify(str(exc))
        else:
            self._notify(
                f"{kind} failed ({type(exc).__name__}: {exc}). "
                "Please report this with the movie's shape and type."
            )
