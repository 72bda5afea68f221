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

napari offers no public handle on its canvas, hence the guarded walk to it below: without one
(a headless viewer, another napari layout) nothing is done and nothing fails.
"""

from __future__ import annotations

import contextlib


def scene_canvas(viewer):
    """The viewer's vispy SceneCanvas, or None when the viewer has no drawn canvas."""
    window = getattr(viewer, "window", None)
    qt_viewer = getattr(window, "_qt_viewer", None)
    canvas = getattr(qt_viewer, "canvas", None)
    return getattr(canvas, "_scene_canvas", None)


def make_canvas_current(viewer) -> bool:
    """Make the viewer's canvas context the current OpenGL context; True when done."""
    canvas = scene_canvas(viewer)
    if canvas is None:
        return False
    try:
        canvas.set_current()
    except (RuntimeError, AttributeError):  # the canvas is being closed with its window
        return False
    return True


class CanvasContextOnRemoval:
    """While connected, each layer removal in `viewer` starts with the canvas's context current
    (``layers.events.removing`` comes before napari frees the layer's GL objects)."""

    def __init__(self, viewer):
        self.viewer = viewer
        viewer.layers.events.removing.connect(self._removing)

    def _removing(self, *_):
        make_canvas_current(self.viewer)

    def disconnect(self) -> None:
        with contextlib.suppress(RuntimeError, TypeError, ValueError, AttributeError):
            self.viewer.layers.events.removing.disconnect(self._removing)
