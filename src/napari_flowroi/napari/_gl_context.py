"""The canvas's OpenGL context is current when napari deletes a removed layer's GL objects.

The crash this prevents (issue 22, "no crash under any sequence of layer actions"): napari frees
a removed layer's textures, buffers and shader programs at once, outside the canvas's paint
(``VispyCanvas._clean_and_update_scenegraph`` calls ``context.finish()``, which runs vispy's
queued GL commands there and then). Qt only promises the canvas's context inside ``paintGL``;
outside it, GL work needs ``makeCurrent()`` first (QOpenGLWidget's documentation says so for
freeing resources). With a dock beside the canvas, Qt composes the window with a context of its
own and leaves that one current, so the deletions ran in *another* context of the same share
group: measured with a probe on every GL flush during the 50-action test, all 21 flushes of layer
removals ran in a foreign context, every paint in the canvas's own. Mesa then frees the buffers
while the canvas's own context still has them bound to the vertex arrays of a drawn visual (the
points layer's markers): the next draw read freed memory and died in ``glDrawArrays``
(docs/napari.md, "The OpenGL crash"). Making the canvas's context current just before each
removal puts the deletions where they belong.

napari offers no public handle on its canvas (its private attributes warn when a plugin reads
them), so the canvas is found through Qt: the vispy OpenGL widget inside napari's viewer in the
dock's own window, and remembered: closing the dock with its × takes it out of the window before
its preview layers are removed. Without one (not docked yet, a headless viewer) nothing is done.
"""

from __future__ import annotations

import contextlib

from qtpy.QtWidgets import QOpenGLWidget, QWidget


def _in_napari_viewer(widget: QWidget) -> bool:
    """Whether `widget` lies inside napari's viewer widget (``QtViewer``), not another dock's."""
    parent = widget.parentWidget()
    while parent is not None:
        if type(parent).__name__ == "QtViewer":
            return True
        parent = parent.parentWidget()
    return False


def canvas_widget(dock: QWidget) -> QOpenGLWidget | None:
    """The viewer's canvas (vispy's OpenGL widget) in the window holding `dock`, or None."""
    window = dock.window()
    if window is dock:  # not docked (yet)
        return None
    canvases = [
        widget
        for widget in window.findChildren(QOpenGLWidget)
        if type(widget).__module__.startswith("vispy") and _in_napari_viewer(widget)
    ]
    return canvases[0] if len(canvases) == 1 else None


class CanvasContextOnRemoval:
    """While connected, each layer removal in `viewer` starts with the canvas's context current
    (``layers.events.removing`` comes before napari frees the layer's GL objects)."""

    def __init__(self, viewer, dock: QWidget):
        self.viewer, self.dock = viewer, dock
        self.canvas: QOpenGLWidget | None = None  # the last one found
        viewer.layers.events.removing.connect(self._removing)

    def _removing(self, *_):
        self.make_current()

    def make_current(self) -> bool:
        """Make the canvas's OpenGL context current on this thread; True when done."""
        with contextlib.suppress(RuntimeError):  # a Qt object already deleted
            self.canvas = canvas_widget(self.dock) or self.canvas
            if self.canvas is not None and self.canvas.isValid():
                self.canvas.makeCurrent()
                return True
        return False

    def disconnect(self) -> None:
        with contextlib.suppress(RuntimeError, TypeError, ValueError, AttributeError):
            self.viewer.layers.events.removing.disconnect(self._removing)
