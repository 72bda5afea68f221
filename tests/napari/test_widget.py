"""The tuning dock widget, driven as a user would, in a real (headless) napari."""

import json

import numpy as np
import pytest

from napari_flowroi.settings import FlowRoISettings

from .conftest import wait_idle, wait_preview


def roles(viewer):
    return {
        layer.metadata["flowroi_role"]: layer
        for layer in viewer.layers
        if "flowroi_role" in layer.metadata
    }


def test_widget_docks_from_the_plugin_menu_with_one_control_per_setting(
    make_napari_viewer, hsc_cut, qtbot
):
    viewer = make_napari_viewer()
    viewer.add_image(hsc_cut, name="cells")
    _, widget = viewer.window.add_plugin_dock_widget("napari-flowroi", "FlowRoI compression")
    assert widget.source.value is viewer.layers["cells"]
    assert set(widget.form.controls) == {f.name for f in FlowRoISettings.fields()}
    threshold = widget.form.controls["roi_threshold"]
    assert 0 < threshold.min < threshold.max < 1 and "most-moving" in threshold.tooltip
    assert widget.form.settings() == FlowRoISettings()  # the defaults are the core's
    assert not widget.form.expert_open
    widget.form.expert_button.clicked()
    assert widget.form.expert_open
    wait_preview(qtbot, widget)
    assert set(roles(viewer)) == {"mask", "flow", "flowroi", "plain", "missed"}
    for role, layer in roles(viewer).items():
        if role == "missed":  # points of the visible frame only
            assert layer.ndim == 3
            continue
        assert layer.data.shape == hsc_cut.shape
        assert layer.data.chunksize[0] == 1  # lazy, one chunk per frame
    assert roles(viewer)["mask"]._type_string == "labels"


def test_threshold_change_updates_the_mask_of_the_visible_frame_only(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    viewer.dims.set_current_step(0, 3)
    # motion alone: with the appearance source on (default) every clearly visible cell is kept
    # whatever the threshold, which then only decides on faint moving cells
    initial = wait_preview(qtbot, widget, t=3)
    widget.form.controls["appearance_roi"].value = False
    before = wait_preview(
        qtbot, widget, settings=initial.settings.replace(appearance_roi=False), t=3
    )
    mask_layer = roles(viewer)["mask"]
    mask_before = np.asarray(mask_layer.data[3])
    computed_before = len(widget.previewer.computed)

    # (rule cells: at 0.05 a region must move over 95 % of its pixels; at 0.25 every cell of
    # this cut still qualifies)
    widget.form.controls["roi_threshold"].value = 0.05
    new = wait_preview(qtbot, widget, settings=before.settings.replace(roi_threshold=0.05), t=3)

    # exactly one preview was computed: the visible frame under the new settings
    assert widget.previewer.computed[computed_before:] == [(new.settings, 3)]
    mask_after = np.asarray(mask_layer.data[3])
    assert mask_after.sum() < mask_before.sum()  # a lower threshold keeps less
    assert new.roi_fraction < before.roi_fraction
    # other frames were not computed; reading them does not compute them either
    for t in (0, 1, 2, 4, 5):
        assert widget.previewer.cached(new.settings, t) is None
        assert not np.asarray(mask_layer.data[t]).any()
    assert len(widget.previewer.computed) == computed_before + 1


def test_moving_the_time_slider_computes_only_the_new_frame(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    viewer.dims.set_current_step(0, 1)
    first = wait_preview(qtbot, widget, t=1)
    count = len(widget.previewer.computed)
    viewer.dims.set_current_step(0, 4)
    wait_preview(qtbot, widget, t=4)
    assert widget.previewer.computed[count:] == [(first.settings, 4)]
    assert np.asarray(roles(viewer)["flowroi"].data[4]).any()
    # going back shows the cached frame without computing it again
    viewer.dims.set_current_step(0, 1)
    wait_preview(qtbot, widget, t=1)
    assert len(widget.previewer.computed) == count + 1


def test_rapid_slider_moves_are_debounced_and_stale_results_dropped(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    first = wait_preview(qtbot, widget)
    count = len(widget.previewer.computed)
    for value in (0.3, 0.35, 0.4, 0.45, 0.5):  # faster than the debounce interval
        widget.form.controls["roi_threshold"].value = value
    final = first.settings.replace(roi_threshold=0.5)
    wait_preview(qtbot, widget, settings=final)
    assert widget.previewer.computed[count:] == [(final, first.t)]
    assert widget.last_preview.settings == final


def test_readout_reports_rates_bytes_psnr_roi_fraction_and_time(widget_on, hsc_cut, qtbot):
    _, widget = widget_on(hsc_cut)
    preview = wait_preview(qtbot, widget)
    text = widget.readout.value
    for word in (
        "FlowRoI",
        "JPEG2000",
        "compression rate",
        "bytes",
        "PSNR inside RoI",
        "PSNR outside RoI",
        "% of the frame",
        "computed in",
    ):
        assert word in text
    assert preview.flowroi_rate == pytest.approx(40, rel=0.15)
    assert preview.plain_rate == pytest.approx(40, rel=0.15)


def test_side_by_side_shows_flowroi_and_jpeg2000_in_a_linked_grid(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    widget.side_by_side_button.clicked()
    grid = viewer.canvas.grid if hasattr(viewer, "canvas") else viewer.grid
    assert grid.enabled
    visible = [layer for layer in viewer.layers if layer.visible]
    assert {layer.metadata.get("flowroi_role") for layer in visible} == {"flowroi", "plain"}
    widget.side_by_side_button.clicked()
    assert not grid.enabled
    assert viewer.layers["movie"].visible


def test_rate_distortion_plot_compares_flowroi_and_plain(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    widget.rd_button.clicked()
    qtbot.waitUntil(
        lambda: widget.rd_plot is not None and widget.rd_plot.curve is not None, timeout=60_000
    )  # drawn from the first point on
    wait_idle(qtbot, widget)
    curve = widget.rd_plot.curve
    assert len(curve.flowroi_rates) == len(curve.plain_rates) >= 5
    assert np.all(np.diff(curve.plain_psnr_roi) <= 0)  # more compression, less quality
    assert curve.plain_psnr_roi[0] > curve.plain_psnr_roi[-1]
    assert widget.rd_plot.parent() is not None  # in the Compare tab, not a new dock
    wait_idle(qtbot, widget)


def test_presets_round_trip_and_bad_presets_are_reported(widget_on, hsc_cut, qtbot, tmp_path):
    _, widget = widget_on(hsc_cut)
    widget.form.controls["roi_threshold"].value = 0.35
    widget.form.controls["compression_rate"].value = 80
    widget.save_preset(tmp_path / "preset.json")
    saved = FlowRoISettings.from_json(tmp_path / "preset.json")
    assert (saved.roi_threshold, saved.compression_rate) == (0.35, 80.0)
    widget.form.set_settings(FlowRoISettings())
    widget.load_preset(tmp_path / "preset.json")
    assert widget.form.settings() == saved

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"roi_threshold": 1.5}))
    widget.load_preset(bad)
    assert "roi threshold must be above 0 and below 1" in widget.messages[-1]
    assert widget.form.settings() == saved  # nothing changed
    wait_idle(qtbot, widget)


def test_invalid_settings_are_shown_as_a_message_not_a_crash(widget_on, hsc_cut, qtbot):
    from napari.utils.notifications import notification_manager

    seen = []
    notification_manager.notification_ready.connect(seen.append)
    _, widget = widget_on(hsc_cut)
    wait_preview(qtbot, widget)
    # flow_method accepts only its choices; a bad value can come from scripts driving the widget
    widget.form.controls["flow_method"].choices = ("farneback", "dis", "bogus")
    widget.form.controls["flow_method"].value = "bogus"
    qtbot.waitUntil(lambda: any("flow method must be one of" in m for m in widget.messages))
    assert any("flow method must be one of" in str(n.message) for n in seen)
    notification_manager.notification_ready.disconnect(seen.append)


@pytest.mark.parametrize(
    "shape, words",
    [((64, 64), "single 2-D image"), ((3, 2, 2, 48, 48), "more axes than time and channels")],
)
def test_2d_images_and_z_stacks_with_channels_get_a_clear_message(widget_on, shape, words, qtbot):
    """(T, C, Y, X) layers are movies with channels (test_formats_napari.py); with z as well they
    are refused."""
    viewer, widget = widget_on(np.zeros(shape, np.uint8))
    assert widget.previewer is None
    assert any(words in m for m in widget.messages)
    assert words in widget.readout.value
    assert not roles(viewer)
    widget.compress(output=None)  # the compress button says the same
    assert words in widget.messages[-1]
