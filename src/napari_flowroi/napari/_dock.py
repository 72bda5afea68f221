"""The dock's lifecycle: docked, fitted to its controls, closed with its × (napari un-parents
the widget) or with the viewer. A close stops every worker and removes the preview layers, so a
closed dock neither computes on every time step nor leaves its layers behind, and reopening it
does not duplicate them (issue 22, item 7)."""

from __future__ import annotations

import sys

from qtpy.QtCore import QCoreApplication, QEvent, QObject, QTimer
from qtpy.QtWidgets import QWidget

from . import _worker

#: The layer list's events the dock follows (the pickers' choices and names).
LAYER_LIST_EVENTS = ("inserted", "removed", "reordered", "renamed")


class TopDownLayout(QObject):
    """Lays the dock out from the top down whenever a control grows or appears (issue 22,
    item 12: the Tune rows squashed for a moment).

    The cause, traced: on the first preview the line of controls with no effect is shown
    (`TunePanel.mark_dead`) under a readout that has grown. Showing a widget makes Qt lay out
    the levels above it that have a layout at once, bottom up, each in its *old* size
    (QWidget::setVisible): the Tune page, still the height it had before, squeezed its form to
    134 px against its 302-px minimum (30 controls below theirs, rows 5 px high). The levels
    that would make room (the tab widget, the content, the scroll area) hear of it only by
    layout requests Qt posts and delivers one level per round of its event loop. Until the last
    round the squashed rows stand; a paint in between draws them, which happens when the rounds
    are slow (a standalone run with a CPU-bound process beside it: 3 of 8 runs; the GUI suite:
    1 of 5). A control whose size hint grows without being shown (a label's text) takes the
    same way through posted requests.

    Here a layout request to any widget of the dock, and the showing of any of its widgets,
    marks every level above it out of date and delivers a layout request to each level from the
    scroll area down, at once: every level is laid out after the one holding it has grown, and
    nothing is left for a later round, so Qt never returns to its event loop (where it paints)
    with a control below its minimum. Qt has no switch for this and the magicgui containers
    cannot be subclassed level by level: hence one event filter on the dock's widgets."""

    def __init__(self, dock: QWidget):
        super().__init__(dock)
        self._dock = dock
        self._busy = False

    def watch(self, root: QWidget) -> None:
        """Filter `root` and every widget under it (again after new ones were added)."""
        for widget in (root, *root.findChildren(QWidget)):
            widget.removeEventFilter(self)  # installed once, whatever the number of calls
            widget.installEventFilter(self)

    def eventFilter(self, obj, event):  # noqa: N802 - Qt name
        kind = event.type()
        if self._busy or kind not in (QEvent.Type.LayoutRequest, QEvent.Type.ShowToParent):
            return False
        if kind == QEvent.Type.ShowToParent:
            # Showing a control (the line of controls with no effect, the busy line) has just
            # laid out the levels above it that have a layout, bottom up, in their old sizes
            # (QWidget::setVisible): lay them out again from the top, before Qt can paint.
            parent = obj.parentWidget()
            if parent is not None and obj.isVisible():
                self.lay_out_from_the_top(parent)
            return False
        return self.lay_out_from_the_top(obj)  # delivered there, after the levels holding it

    def lay_out_from_the_top(self, obj: QWidget) -> bool:
        """Deliver a layout request to `obj` after every level holding it, from the scroll area
        down; False when `obj` is not inside the dock's window (Qt's own way then)."""
        chain = []  # obj and the levels above it, up to the dock's scroll area
        widget = obj
        while widget is not None and widget is not self._dock and not widget.isWindow():
            chain.append(widget)
            widget = widget.parentWidget()
        if widget is not self._dock:  # a pop-up's own window, or out of the dock: Qt's way
            return False
        self._busy = True
        try:
            for level in chain[:-1]:  # the size hints above obj are stale until told
                level.updateGeometry()
            for level in reversed(chain):  # scroll area first: each level grows its children
                QCoreApplication.sendEvent(level, QEvent(QEvent.Type.LayoutRequest))
        finally:
            self._busy = False
        return True


class DockLifecycle:
    """Mixed into the dock widget (a QWidget with `runner`, `busy_line`, `compress_panel`,
    `compare`, `live_layers`, `picker`, `viewer`, `messages`, `gl_context`)."""

    closed = False
    _docked = _watching = None

    def showEvent(self, event):  # noqa: N802 - Qt name
        self.watch_window()
        self.top_down_layout.watch(self)  # widgets added since (the plot's canvas) included
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
            for event in LAYER_LIST_EVENTS:
                getattr(viewer.layers.events, event).disconnect(self._layers_changed)
            self.picker.watch(None)
        except (RuntimeError, TypeError, ValueError, AttributeError):
            pass
        self.runner.stop()
        if self.busy_line.job is not None:
            self.busy_line.job.cancel()
        if self.busy_line.job is not None and self.compress_panel.running:
            message = (
                "FlowRoI: the dock or viewer was closed during the compression into "
                f"{self.compress_panel._batch['output']}; it stops after the frames under way. "
                "If that was before the last frame, the folder has no manifest.json: compress "
                "again with the same settings into the same folder to finish it, or delete it."
            )
            self.messages.append(message)
            print(message, file=sys.stderr)
        if self.live_layers is not None and getattr(viewer, "window", None) is not None:
            try:
                self.compare.restore_single_view()
                self.live_layers.remove()
            except (RuntimeError, ValueError, KeyError):  # the viewer is going away itself
                pass
        self.gl_context.disconnect()  # after the preview layers' removal, which it guards
        # let the closed viewer go: workers still finishing hold this widget, not the viewer
        self.viewer = self.picker.viewer = self.live_layers = None
        watching, self._watching = self._watching, None
        if (
            watching is not None
            and not _worker.qt_deleted(watching)
            and not _worker.qt_deleted(self)
        ):
            watching.removeEventFilter(self)
