"""A demanding user's pass over the dock (layer data replaced, layers renamed and refused,
results carried from one movie to another), driven in a real viewer."""

import numpy as np

from napari_flowroi.container import is_container
from napari_flowroi.synthetic import moving_discs

from .conftest import compress_and_wait, wait_done, wait_idle, wait_preview
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


def test_the_preview_layers_follow_a_renamed_movie_layer(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    viewer.layers["movie"].name = "exp3 position 2"
    names = {role: layer.name for role, layer in roles(viewer).items()}
    assert names["flowroi"] == "FlowRoI · exp3 position 2"
    assert names["mask"] == "RoI sources · exp3 position 2"
    assert names["flow"] == "flow px/frame · exp3 position 2"
    assert all(
        layer.metadata["flowroi_source"] == "exp3 position 2" for layer in roles(viewer).values()
    )


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


def test_compressing_one_movie_anyway_lets_no_other_movie_past_the_guard(
    widget_on, qtbot, tmp_path
):
    """'Compress anyway' (the second click) on movie A was kept by settings alone: movie B,
    whose RoI held 0 % of its cells too, was then compressed without the guard's warning, also
    when the guard's answer about A arrived after the switch to B."""
    a, b = (
        moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=s).frames for s in (3, 4)
    )
    viewer, widget = widget_on(a, name="A")
    layer_b = viewer.add_image(b, name="B")
    widget.form.controls["appearance_roi"].value = False  # motion only: still cells are missed
    compress_and_wait(qtbot, widget, tmp_path / "A.flowroi")
    assert "estimated to hold only" in widget.messages[-1]
    compress_and_wait(qtbot, widget, tmp_path / "A.flowroi")  # the second click goes ahead
    assert is_container(tmp_path / "A.flowroi")
    widget.picker.source.value = layer_b
    compress_and_wait(qtbot, widget, tmp_path / "B.flowroi")
    assert "estimated to hold only" in widget.messages[-1]
    assert not (tmp_path / "B.flowroi").exists()
    # the guard's warning about A arriving once B is picked accepts A, not B
    widget.picker.source.value = viewer.layers["A"]
    job = widget.compress(output=tmp_path / "A2.flowroi")
    widget.picker.source.value = layer_b
    wait_done(qtbot, job)
    compress_and_wait(qtbot, widget, tmp_path / "B.flowroi")
    assert "estimated to hold only" in widget.messages[-1]
    assert not (tmp_path / "B.flowroi").exists()


def test_a_suggestion_or_sampled_estimate_of_one_movie_is_not_shown_for_another(
    widget_on, hsc_cut, qtbot
):
    """Suggest settings and Check 5 frames answered about the movie picked when they started:
    after a switch, Apply suggestion put the old movie's winner into the form and the worst
    sampled frame of the old movie was shown under the new one."""
    viewer, widget = widget_on(np.ascontiguousarray(hsc_cut[:4]))
    other = viewer.add_image(np.ascontiguousarray(hsc_cut[:4, ::-1]), name="other")
    wait_preview(qtbot, widget)
    wait_done(qtbot, widget.tune.suggest(), timeout=120_000)
    assert widget.model.suggestion is not None and widget.apply_button.enabled
    widget.picker.source.value = other
    assert widget.model.suggestion is None and not widget.apply_button.enabled
    assert widget.suggestion.value == ""
    job = widget.tune.suggest()  # still running when the movie changes
    widget.picker.source.value = viewer.layers["movie"]
    wait_done(qtbot, job, timeout=120_000)
    wait_idle(qtbot, widget)
    assert widget.model.suggestion is None and not widget.apply_button.enabled
    job = widget.compress_panel.check_frames()
    widget.picker.source.value = other
    wait_done(qtbot, job)
    wait_idle(qtbot, widget)
    assert widget.compress_panel.estimate.value.startswith("Whole movie (4 frames)")
    assert "Worst of" not in widget.compress_panel.estimate.value


def test_a_one_frame_layer_is_compressed_once_plain_is_ticked_as_its_refusal_says(
    widget_on, hsc_cut, qtbot, tmp_path
):
    """The refusal of a one-frame layer says "Tick 'Plain' to compress it with plain
    JPEG2000", but Compress stack refused it again with Plain ticked; its output field also kept
    the movie picked before's folder."""
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    one = viewer.add_image(np.ascontiguousarray(hsc_cut[:1]), name="one")
    widget.picker.source.value = one
    assert "Tick 'Plain'" in widget.readout.value
    assert widget.compress_panel.output.value.name == "one.flowroi"
    assert widget.compress(output=tmp_path / "refused.flowroi") is None  # Plain not ticked
    assert "Tick 'Plain'" in widget.messages[-1]
    assert not (tmp_path / "refused.flowroi").exists()
    widget.form.controls["plain"].value = True
    compress_and_wait(qtbot, widget, tmp_path / "one.flowroi")
    assert widget.messages[-1].startswith("Done: 1 frame into")
    assert is_container(tmp_path / "one.flowroi")


def test_a_frame_without_cells_is_not_read_as_all_cells_inside_the_roi(widget_on, qtbot):
    """On a frame with no cells the verdict said "No cells found" while the readout under it
    said, in green, "Cells inside the RoI: 100.0 % of cell pixels, 100 % of cells"."""
    _viewer, widget = widget_on(np.full((5, 96, 96), 40, np.uint8))
    wait_preview(qtbot, widget)
    qtbot.waitUntil(lambda: widget.verdict.value.startswith("No cells found"), timeout=30_000)
    assert "no cells found on this frame" in widget.readout.value
    assert "% of cell pixels" not in widget.readout.value


def test_the_rate_distortion_plot_of_one_movie_is_not_shown_for_another(widget_on, hsc_cut, qtbot):
    """After a switch to another movie the Compare tab kept showing the curve of the movie
    before ('frame 11, RoI 36 %' of the HSC sample under a GOWT1 movie), and a curve still
    being drawn went on drawing it."""
    viewer, widget = widget_on(hsc_cut)
    other = viewer.add_image(np.ascontiguousarray(hsc_cut[:, ::-1]), name="other")
    wait_preview(qtbot, widget)
    wait_done(qtbot, widget.compare.show_rate_distortion(), timeout=120_000)
    plot = widget.compare.rd_plot
    assert plot.curve is not None and not plot.isHidden()
    widget.picker.source.value = other
    assert plot.isHidden()
    wait_preview(qtbot, widget)
    job = widget.compare.show_rate_distortion()
    assert not plot.isHidden()
    plot.curve = None
    widget.picker.source.value = viewer.layers["movie"]
    wait_done(qtbot, job, timeout=120_000)
    wait_idle(qtbot, widget)
    assert plot.isHidden() and plot.curve is None


def _mask_only(widget):
    widget.form.controls["motion_roi"].value = False
    widget.form.controls["appearance_roi"].value = False


def _preview_mask_sum(qtbot, widget, expected):
    qtbot.waitUntil(
        lambda: (
            not widget.busy
            and widget.last_preview is not None
            and widget.last_preview.mask.sum() == expected
        ),
        timeout=60_000,
    )


def test_edits_of_the_extra_roi_layer_are_followed(widget_on, hsc_cut, qtbot):
    """A labels layer painted or a box drawn after the layer was picked as Extra RoI changed
    nothing: the preview (and a batch) kept protecting what it held when it was picked."""
    viewer, widget = widget_on(hsc_cut)
    _mask_only(widget)
    labels = viewer.add_labels(np.zeros(hsc_cut.shape[1:], np.uint8), name="drawn")
    widget.roi_layer.value = labels
    _preview_mask_sum(qtbot, widget, 0)
    painted = np.zeros(hsc_cut.shape[1:], np.uint8)
    painted[10:20, 10:30] = 1
    labels.data = painted
    _preview_mask_sum(qtbot, widget, 200)
    boxes = viewer.add_shapes(name="boxes")
    widget.roi_layer.value = boxes
    _preview_mask_sum(qtbot, widget, 0)
    boxes.add(np.array([[50, 50], [50, 90], [90, 90], [90, 50]]), shape_type="rectangle")
    qtbot.waitUntil(
        lambda: not widget.busy and widget.last_preview.mask[55:85, 55:85].all(), timeout=60_000
    )
    assert not widget.last_preview.mask[:45].any()


def test_an_extra_roi_layer_of_another_size_is_reported_not_silently_ignored(
    widget_on, hsc_cut, qtbot
):
    viewer, widget = widget_on(hsc_cut)
    _mask_only(widget)
    small = viewer.add_labels(np.ones((len(hsc_cut), 100, 100), np.uint8), name="small")
    widget.roi_layer.value = small
    assert "Extra RoI layer 'small' is 100 × 100 px" in widget.messages[-1]
    assert "protects nothing" in widget.messages[-1]
    assert widget.model.extra_roi is None
    qtbot.waitUntil(lambda: not widget.busy and widget.verdict.value.startswith("No RoI"))


def test_a_readout_update_restyles_no_control_whose_mark_did_not_change(widget_on, hsc_cut, qtbot):
    """Every readout update (several a frame) set the style sheet of all 25 controls again,
    and each style change re-laid the whole dock out in the GUI thread (712 top-down layouts
    for 30 time steps and 3 threshold changes on 1 MP frames; 215 once only changes restyle)."""
    from qtpy.QtCore import QEvent, QObject

    class Count(QObject):
        n = 0

        def eventFilter(self, obj, event):  # noqa: N802 - Qt name
            if event.type() == QEvent.Type.StyleChange:
                Count.n += 1
            return False

    _viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    assert widget.tune.dead.value  # some controls are marked on this frame
    counter = Count()
    for control in widget.form.controls.values():
        control.native.installEventFilter(counter)
    widget.runner.update_readout()  # a style sheet set sends StyleChange at once
    assert Count.n == 0


def test_controls_marked_dead_on_a_still_frame_say_nothing_moves_enough(widget_on, qtbot):
    """On a frame where nothing moves, Motion RoI, RoI threshold and Adjacent factor were
    marked 'the appearance RoI already covers the moving cells on this frame'."""
    _viewer, widget = widget_on(np.full((5, 96, 96), 40, np.uint8))
    wait_preview(qtbot, widget)
    qtbot.waitUntil(lambda: "RoI threshold" in widget.tune.dead.value, timeout=30_000)
    assert "nothing here moves enough for Motion RoI" in widget.tune.dead.value
    assert "moving cells" not in widget.tune.dead.value
    assert widget.form.controls["roi_threshold"].tooltip.startswith(
        "No effect on this frame: nothing here moves enough for Motion RoI."
    )


def test_a_reopened_stack_defaults_to_an_output_beside_it_not_inside_its_name(tmp_path):
    # the reader's layer of "g.flowroi" proposed "g.flowroi.flowroi"
    from types import SimpleNamespace

    from napari_flowroi.napari._compress import default_output

    stack = tmp_path / "g.flowroi"
    stack.mkdir()
    movie = tmp_path / "movie.ome.tif"
    movie.write_bytes(b"")

    def layer(path):
        return SimpleNamespace(source=SimpleNamespace(path=str(path)), name="x")

    assert default_output(layer(stack)) == tmp_path / "g-recompressed.flowroi"
    assert default_output(layer(movie)) == tmp_path / "movie.flowroi"
