"""A demanding user's pass over the dock (layer data replaced, layers renamed and refused,
results carried from one movie to another), driven in a real viewer."""

import numpy as np

from .conftest import wait_preview
from .test_widget import roles


def test_replacing_the_movie_layers_data_is_followed_and_a_rename_shown(widget_on, hsc_cut, qtbot):
    """`layer.data = another movie` kept the old movie's preview, verdict and estimate (and
    its preview layers of the old size over the new data); a renamed layer kept its old name in
    the picker."""
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    layer = viewer.layers["movie"]
    other = np.ascontiguousarray(hsc_cut[:4, :100, :120][:, ::-1])
    layer.data = other
    qtbot.waitUntil(
        lambda: widget.model.movie is not None and widget.model.movie.shape == other.shape,
        timeout=10_000,
    )
    preview = wait_preview(qtbot, widget)
    np.testing.assert_array_equal(widget.model.movie[preview.t], other[preview.t])
    assert roles(viewer)["flowroi"].data.shape == other.shape
    assert widget.compress_panel.estimate.value.startswith("Whole movie (4 frames)")
    layer.name = "renamed"
    assert widget.picker.source.native.currentText() == "renamed"


def test_a_refused_layer_leaves_no_estimate_of_the_movie_picked_before(widget_on, hsc_cut, qtbot):
    """Picking a layer the dock refuses (int16 here) left 'Whole movie (6 frames): …' of the
    movie picked before under the refusal."""
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    assert widget.compress_panel.estimate.value.startswith("Whole movie (6 frames)")
    refused = viewer.add_image(hsc_cut[:3].astype(np.int16), name="signed")
    widget.picker.source.value = refused
    assert "int16" in widget.readout.value
    assert widget.compress_panel.estimate.value == ""
