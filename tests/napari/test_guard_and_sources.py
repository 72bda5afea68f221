"""The missed-cell guard, extra RoI layers and suggested settings, driven as a user would."""

import numpy as np

from napari_flowroi.container import is_container
from napari_flowroi.synthetic import moving_discs

from .conftest import compress_and_wait, wait_done, wait_idle, wait_preview
from .test_widget import roles


def still_cells():
    return moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=3)


def test_cells_the_motion_misses_are_shown_and_guard_the_batch(widget_on, qtbot, tmp_path):
    movie = still_cells()
    viewer, widget = widget_on(movie.frames)
    widget.form.controls["appearance_roi"].value = False  # motion only: still cells are missed
    preview = wait_preview(qtbot, widget)
    assert preview.coverage.pixel_share < 0.5
    assert "Cells inside the RoI" in widget.readout.value and "orange rings" in widget.readout.value
    missed = roles(viewer)["missed"].data
    assert len(missed) >= 3 and (missed[:, 0] == preview.t).all()
    # the first click warns and writes nothing; the second goes ahead
    output = tmp_path / "still.flowroi"
    compress_and_wait(qtbot, widget, output, timeout=60_000)
    assert (
        "estimated to hold only" in widget.messages[-1]
        and "Suggest settings" in widget.messages[-1]
    )
    assert not output.exists()
    compress_and_wait(qtbot, widget, output, timeout=60_000)
    assert is_container(output)


def test_appearance_source_keeps_still_cells_and_clears_the_warning(widget_on, qtbot):
    _, widget = widget_on(still_cells().frames)
    preview = wait_preview(qtbot, widget)  # defaults: motion + appearance
    assert preview.coverage.pixel_share > 0.95 and len(preview.coverage.missed) == 0


def test_a_shapes_layer_drawn_by_the_user_is_protected(widget_on, qtbot):
    movie = still_cells()
    viewer, widget = widget_on(movie.frames)
    widget.form.controls["motion_roi"].value = False
    widget.form.controls["appearance_roi"].value = False
    preview = wait_preview(qtbot, widget)
    assert not preview.mask.any()
    viewer.add_shapes(
        [np.array([[20, 30], [20, 90], [60, 90], [60, 30]])],
        shape_type="rectangle",
        name="keep this",
    )
    widget.roi_layer.value = viewer.layers["keep this"]
    qtbot.waitUntil(
        lambda: (
            widget.last_preview is not None and widget.last_preview.mask.any() and not widget.busy
        ),
        timeout=60_000,
    )
    mask = widget.last_preview.mask
    assert mask[25:55, 35:85].all() and not mask[100:, :].any()


def test_a_labels_layer_is_protected_frame_by_frame(widget_on, qtbot):
    movie = still_cells()
    viewer, widget = widget_on(movie.frames)
    widget.form.controls["motion_roi"].value = False
    widget.form.controls["appearance_roi"].value = False
    labels = np.zeros(movie.frames.shape, np.uint8)
    labels[:, 5:15, 5:15] = 2
    viewer.add_labels(labels, name="segmentation")
    widget.roi_layer.value = viewer.layers["segmentation"]
    qtbot.waitUntil(
        lambda: (
            widget.last_preview is not None and widget.last_preview.mask.any() and not widget.busy
        ),
        timeout=60_000,
    )
    assert widget.last_preview.mask.sum() == 100


def test_deleting_the_extra_roi_layer_stops_protecting_its_regions(widget_on, qtbot):
    """The Extra RoI picker falls back to 'none' when its layer is deleted: the preview, the
    verdict and a batch must then stop protecting the deleted layer's regions too (they kept
    the whole-frame mask of a deleted layer: RoI 100 %, '+ your mask')."""
    movie = still_cells()
    viewer, widget = widget_on(movie.frames)
    widget.form.controls["motion_roi"].value = False
    widget.form.controls["appearance_roi"].value = False
    labels = viewer.add_labels(np.ones(movie.frames.shape, np.uint8), name="whole frame")
    widget.roi_layer.value = labels
    qtbot.waitUntil(
        lambda: (
            widget.last_preview is not None
            and widget.last_preview.mask.all()
            and "your mask" in widget.verdict.value
            and not widget.busy
        ),
        timeout=60_000,
    )
    viewer.layers.remove(labels)
    assert widget.roi_layer.value is None
    qtbot.waitUntil(
        lambda: (
            not widget.busy
            and widget.last_preview is not None
            and not widget.last_preview.mask.any()
            and widget.verdict.value.startswith("No RoI")
        ),
        timeout=60_000,
    )
    assert widget.model.extra_roi is None


def test_suggested_settings_are_shown_and_applied(widget_on, qtbot):
    movie = still_cells()
    _, widget = widget_on(movie.frames)
    widget.form.controls["appearance_roi"].value = False
    widget.form.controls["compression_rate"].value = 12
    wait_preview(qtbot, widget)
    worker = widget.suggest()
    wait_done(qtbot, worker, timeout=120_000)
    assert widget.model.suggestion is not None and widget.apply_button.enabled
    assert "gain" in widget.suggestion.value
    widget.apply_button.clicked()
    applied = widget.form.settings()
    suggested = widget.model.suggestion.settings
    assert applied.compression_rate == 12
    assert (applied.plain, applied.appearance_roi, applied.scaling_factor) == (
        suggested.plain,
        suggested.appearance_roi,
        suggested.scaling_factor,
    )
    wait_idle(qtbot, widget)


def test_a_run_below_the_coverage_target_is_said_in_the_widgets_words_for_channels_too(
    widget_on, qtbot, tmp_path, monkeypatch
):
    """Compressed anyway (the second click) below the coverage target: one movie and every
    channel of a layer both end on the widget's warning, with its 'Suggest settings' advice, never
    the command line's note (`flowroi tune`, option names)."""
    import napari_flowroi.napari._widget as widget_module

    kinds = []
    monkeypatch.setattr(widget_module, "show_warning", lambda message: kinds.append("warning"))
    frames = still_cells().frames
    for movie, output in (
        (frames, tmp_path / "one.flowroi"),
        (np.stack([frames, 255 - frames], axis=1), tmp_path / "channels"),  # (T, C, Y, X)
    ):
        _, widget = widget_on(movie)
        widget.form.controls["appearance_roi"].value = False  # motion only: still cells missed
        wait_preview(qtbot, widget)
        widget.model.accept_coverage(widget.form.settings())
        kinds.clear()
        compress_and_wait(qtbot, widget, output, timeout=120_000, workers=1)
        wait_idle(qtbot, widget)
        done = widget.messages[-1]
        assert done.startswith("Done:") and widget.compress_panel.status.value == done
        assert "below the coverage target (97 %)" in done and "'Suggest settings'" in done
        assert "flowroi tune" not in done and "--" not in done and "estimated" not in done
        assert kinds == ["warning"]
    assert "2 channels" in done and "in c0 (cells " in done
