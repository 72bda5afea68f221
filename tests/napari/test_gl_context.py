"""Issue 22, the OpenGL crash: napari frees a removed layer's GL objects outside the canvas's
paint; with the dock open they ran in Qt's compositing context, not the canvas's, and a later draw
read freed buffers (napari_flowroi/napari/_gl_context.py). Drawn (shown) viewers: the foreign
context only exists once Qt has composed the window with the dock."""

import numpy as np


def _removal_contexts(widget, qtbot, monkeypatch, remove):
    """For each GL flush napari runs while `remove()` removes layers: was the canvas's own
    context current?"""
    from qtpy.QtGui import QOpenGLContext
    from vispy.gloo.context import GLContext

    from napari_flowroi.napari._gl_context import canvas_widget

    canvas = canvas_widget(widget)
    assert canvas is not None  # the dock finds the viewer's canvas
    original = GLContext.flush_commands
    own = []

    # vispy connects this method by its name: the stand-in keeps it
    def flush_commands(self, event=None):
        own.append(QOpenGLContext.currentContext() == canvas.context())
        return original(self, event)

    qtbot.wait(200)  # paints and compositions of the window happen first
    monkeypatch.setattr(GLContext, "flush_commands", flush_commands)
    remove()
    monkeypatch.setattr(GLContext, "flush_commands", original)
    return own


def test_layer_removals_free_gl_objects_in_the_canvas_context(
    make_napari_viewer, qtbot, monkeypatch, hsc_cut
):
    from napari_flowroi.napari._widget import FlowRoIWidget

    viewer = make_napari_viewer(show=True)
    viewer.add_image(hsc_cut, name="movie")
    points = viewer.add_points(np.array([[0, 40, 40], [1, 90, 120]]), symbol="ring", size=18)
    labels = viewer.add_labels((hsc_cut > 128).astype(np.uint8), name="labels")
    listeners = len(viewer.layers.events.removing.callbacks)
    widget = FlowRoIWidget(viewer)
    dock = viewer.window.add_dock_widget(widget, name="FlowRoI compression")
    qtbot.waitUntil(lambda: widget.live_layers is not None and widget.live_layers.alive())
    qtbot.waitUntil(lambda: not widget.busy, timeout=60_000)

    own = _removal_contexts(widget, qtbot, monkeypatch, lambda: viewer.layers.remove(points))
    assert own and all(own), own  # napari flushed, and only in the canvas's context

    # the preview layers the dock removes when its × closes it (napari takes it out of the
    # window first); then it stops listening
    own = _removal_contexts(widget, qtbot, monkeypatch, dock.destroyOnClose)
    assert widget.closed
    assert own and all(own), own
    assert not any(layer.metadata.get("flowroi_role") for layer in viewer.layers)
    assert len(viewer.layers.events.removing.callbacks) == listeners
    assert labels in viewer.layers
