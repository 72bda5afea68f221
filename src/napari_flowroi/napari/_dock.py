"""The dock's lifecycle: docked, fitted to its controls, closed with its × (napari un-parents
the widget) or with the viewer. A close stops every worker and removes the preview layers, so a
closed dock neither computes on every time step nor leaves its layers behind, and reopening it
does not duplicate them (issue 22, item 7)."""

from __future__ import annotations

import sys

from qtpy.QtCore import QEvent, QTimer

from . import _worker


class DockLifecycle:
    """Mixed into the dock widget (a QWidget with `runner`, `busy_line`, `compress_panel`,
    `compare`, `live_layers`, `picker`, `viewer`, `messages`)."""

    closed = False
    _docked = _watching = None

    def showEvent(self, event):  # noqa: N802 - Qt name
        self.watch_window()
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

    def watch_window(self):
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
        self.runner.stop()
        if self.busy_line.job is not None:
            self.busy_line.job.cancel()
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
