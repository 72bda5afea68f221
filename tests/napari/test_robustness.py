"""What a new user does that must not break the plugin (issue 12), driven in a real viewer."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_flowroi.container import is_container
from napari_flowroi.sample_data import movie_path

from .conftest import wait_done, wait_idle, wait_preview
from .test_widget import roles


@pytest.fixture(scope="module")
def hsc_full():
    return tifffile.imread(movie_path("hsc_brightfield"))  # 12 frames of 512x512 uint8


def start_batch(qtbot, widget, output, frames=1):
    job = widget.compress(output=output, workers=1)
    qtbot.waitUntil(lambda: widget.frames_done >= frames, timeout=120_000)
    return job


# --- 1. no crash when the layers change or the viewer closes during a batch --------------------
def test_switching_the_movie_layer_during_a_batch_finishes_the_batch(
    widget_on, hsc_full, qtbot, tmp_path
):
    viewer, widget = widget_on(hsc_full, name="first")
    viewer.add_image(hsc_full[:, :256, :256].copy(), name="second")
    widget.source.value = viewer.layers["first"]
    widget.model.accept_coverage(widget.form.settings())
    job = start_batch(qtbot, widget, tmp_path / "first.flowroi")
    widget.source.value = viewer.layers["second"]  # the live layers of 'first' are removed
    wait_done(qtbot, job, timeout=180_000)
    assert is_container(tmp_path / "first.flowroi")  # the batch kept its own copy of the movie
    assert "achieved rate" in widget.messages[-1]
    wait_preview(qtbot, widget)
    assert {layer.metadata["flowroi_source"] for layer in roles(viewer).values()} == {"second"}


def test_deleting_the_source_layer_during_a_batch_finishes_the_batch(
    widget_on, hsc_full, qtbot, tmp_path
):
    viewer, widget = widget_on(hsc_full, name="cells")
    widget.model.accept_coverage(widget.form.settings())
    job = start_batch(qtbot, widget, tmp_path / "cells.flowroi")
    viewer.layers.remove(viewer.layers["cells"])
    wait_done(qtbot, job, timeout=180_000)
    assert is_container(tmp_path / "cells.flowroi")
    assert "achieved rate" in widget.messages[-1]
    assert "cells.flowroi" in viewer.layers  # the result, reopened
    assert widget.source.value is None  # the dock does not pick another layer by itself
    wait_idle(qtbot, widget)


def test_closing_the_viewer_during_a_batch_stops_it_and_says_the_folder_is_incomplete(
    widget_on, hsc_full, qtbot, tmp_path, capsys
):
    # 48 frames: the batch cannot finish between its first frame and the close (12 frames did,
    # 1 run in 5 on an idle machine)
    viewer, widget = widget_on(np.concatenate([hsc_full] * 4))
    widget.model.accept_coverage(widget.form.settings())
    job = start_batch(qtbot, widget, tmp_path / "closed.flowroi")
    assert not job.done
    viewer.close()
    qtbot.waitUntil(lambda: job.done, timeout=120_000)
    assert not is_container(tmp_path / "closed.flowroi")
    message = widget.messages[-1]
    assert "no manifest.json" in message and "same settings" in message
    err = capsys.readouterr().err
    assert "no manifest.json" in err and "wrapped C/C++ object" not in err


# --- 2. fits a laptop screen ----------------------------------------------------------------------
def test_the_dock_fits_1366x768_even_with_everything_open(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut)
    window = widget.window()
    window.showNormal()
    window.resize(1366, 768)
    wait_preview(qtbot, widget)
    widget.form.expert_button.clicked()  # expert settings open
    widget.status.value = "A long batch status " * 20
    widget.rd_button.clicked()  # the plot in the Compare tab
    wait_idle(qtbot, widget)
    qtbot.waitUntil(lambda: window.height() <= 768)
    assert widget.minimumSizeHint().height() <= 400  # the dock scrolls instead of growing
    assert [widget.tabs.tabText(i) for i in range(widget.tabs.count())] == [
        "Tune",
        "Compare",
        "Compress",
    ]
    widget.tabs.setCurrentIndex(2)
    widget.scroll.ensureWidgetVisible(widget.compress_button.native)
    qtbot.waitUntil(lambda: not widget.compress_button.native.visibleRegion().isEmpty())


# --- 3. the reader claims compressed stacks only ------------------------------------------------
def test_the_reader_is_offered_for_compressed_stacks_only(make_napari_viewer, hsc_cut, tmp_path):
    from npe2 import PluginManager

    from napari_flowroi.batch import compress_movie

    pm = PluginManager.instance()
    tif = tmp_path / "movie.tif"
    tifffile.imwrite(tif, hsc_cut)
    offered = {r.plugin_name for r in pm.iter_compatible_readers([str(tif)])}
    assert "napari-flowroi" not in offered
    out = tmp_path / "stack.flowroi"
    compress_movie(hsc_cut, out)
    assert "napari-flowroi" in {r.plugin_name for r in pm.iter_compatible_readers([str(out)])}
    viewer = make_napari_viewer()
    # File > Open Folder on a compressed stack offers FlowRoI, and that choice opens it
    viewer.open(str(out), plugin="napari-flowroi")
    assert viewer.layers["stack.flowroi"].data.shape == hsc_cut.shape
    viewer.open(str(tif), plugin=None)  # a TIFF: napari's own reader, no question asked
    assert viewer.layers["movie"].data.shape == hsc_cut.shape


# --- 4. always says what it is doing -------------------------------------------------------------
def test_the_readout_says_computing_at_once_and_greys_old_figures(widget_on, hsc_cut, qtbot):
    _, widget = widget_on(hsc_cut)
    assert "Computing the preview" in widget.readout.value  # not "Pick a movie layer"
    first = wait_preview(qtbot, widget)
    assert widget.readout.native.isEnabled() and widget.busy_label.value == ""
    widget.form.controls["roi_threshold"].value = 0.3
    assert "Computing frame" in widget.busy_label.value
    assert not widget.readout.native.isEnabled()  # the old figures are greyed
    wait_preview(qtbot, widget, settings=first.settings.replace(roi_threshold=0.3))
    assert widget.readout.native.isEnabled() and widget.busy_label.value == ""


def test_suggest_settings_shows_progress_and_can_be_cancelled(widget_on, hsc_full, qtbot):
    _, widget = widget_on(hsc_full)
    wait_preview(qtbot, widget)
    job = widget.suggest()
    qtbot.waitUntil(lambda: "candidates tried" in widget.busy_label.value, timeout=120_000)
    assert not widget.progress_bar.native.isHidden() and widget.cancel_button.enabled
    widget.cancel_button.clicked()
    wait_done(qtbot, job, timeout=60_000)
    assert "cancelled" in widget.messages[-1]
    assert not widget.apply_button.enabled and widget.suggest_button.enabled
    assert not widget.cancel_button.enabled


# --- 5. the plot's dependency is declared --------------------------------------------------------
def test_matplotlib_is_a_declared_dependency():
    pyproject = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if not pyproject.exists():
        pytest.skip("not a source checkout")
    import tomllib

    deps = tomllib.loads(pyproject.read_text())["project"]["dependencies"]
    assert any(d.startswith("matplotlib") for d in deps)
    assert any(d.startswith("psygnal") for d in deps)


# --- 6. a NaN does not start an endless loop -----------------------------------------------------
def test_a_nan_in_the_visible_frame_is_reported_once(widget_on, hsc_cut, qtbot):
    movie = hsc_cut.astype(np.float32)
    movie[0, 10, 10] = np.nan
    viewer, widget = widget_on(movie)
    viewer.dims.set_current_step(0, 0)
    qtbot.waitUntil(lambda: any("NaN" in m for m in widget.messages), timeout=60_000)
    wait_idle(qtbot, widget)
    assert sum("NaN" in m for m in widget.messages) == 1  # said once, not retried in a loop
    assert "NaN" in widget.readout.value
    viewer.dims.set_current_step(0, 2)  # a clean frame still previews
    wait_preview(qtbot, widget, t=2)
    assert sum("NaN" in m for m in widget.messages) == 1


# --- 7. an RGB image is not a movie ---------------------------------------------------------------
def test_a_2d_rgb_image_is_refused_not_taken_for_a_movie(widget_on, qtbot):
    rgb = np.random.default_rng(0).integers(0, 255, (512, 512, 3), dtype=np.uint8)
    viewer, widget = widget_on(rgb)
    assert viewer.layers["movie"].rgb
    assert widget.model.movie is None and not roles(viewer)
    assert "RGB" in widget.messages[-1] and "RGB" in widget.readout.value


# --- 8. the GUI speaks GUI ----------------------------------------------------------------------
def test_output_defaults_beside_the_source_file_and_messages_name_controls(
    make_napari_viewer, hsc_cut, qtbot, tmp_path
):
    from napari_flowroi.napari._widget import FlowRoIWidget

    tif = tmp_path / "experiment 3.tif"
    tifffile.imwrite(tif, hsc_cut)
    viewer = make_napari_viewer()
    viewer.open(str(tif))
    widget = FlowRoIWidget(viewer)
    viewer.window.add_dock_widget(widget)
    assert Path(widget.output.value) == tmp_path / "experiment 3.flowroi"
    assert widget.output.choose_btn.text != "Select file"
    widget.notify("Nothing to gain: use --plain, or pass --overwrite.", "warning")
    assert "--" not in widget.messages[-1] and "'Plain'" in widget.messages[-1]
    wait_idle(qtbot, widget)


# --- 9. saving through the File menu shows progress ----------------------------------------------
def test_save_as_flowroi_reports_progress_frame_by_frame(
    make_napari_viewer, hsc_cut, tmp_path, monkeypatch
):
    import napari.utils

    bars = []

    class Recorder(napari.utils.progress):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

    monkeypatch.setattr(napari.utils, "progress", Recorder)
    viewer = make_napari_viewer()
    viewer.add_image(hsc_cut, name="cells")
    viewer.layers.save(str(tmp_path / "saved.flowroi"), selected=False, plugin="napari-flowroi")
    assert is_container(tmp_path / "saved.flowroi")
    assert bars and bars[0].total == len(hsc_cut) and bars[0].n == len(hsc_cut)


# --- 10. a tiny movie that does not compress is flagged ------------------------------------------
def test_a_movie_bigger_after_compression_gets_a_warning(widget_on, qtbot, tmp_path):
    movie = np.random.default_rng(1).integers(0, 255, (6, 8, 8), dtype=np.uint8)
    _, widget = widget_on(movie)
    widget.live.value = False
    widget.form.controls["plain"].value = True
    job = widget.compress(output=tmp_path / "tiny.flowroi")
    wait_done(qtbot, job, timeout=60_000)
    assert widget.last_summary.achieved_rate < 1
    assert "bigger than the raw movie" in widget.messages[-1]


# --- 11. a file that is not a preset ----------------------------------------------------------
def test_loading_a_file_that_is_not_a_preset_says_so(widget_on, hsc_cut, qtbot, tmp_path):
    _, widget = widget_on(hsc_cut)
    before = widget.form.settings()
    binary = tmp_path / "image.tif"
    tifffile.imwrite(binary, hsc_cut[:2])
    widget.load_preset(binary)
    assert "preset" in widget.messages[-1] and "Traceback" not in widget.messages[-1]
    listing = tmp_path / "list.json"
    listing.write_text(json.dumps([1, 2, 3]))
    widget.load_preset(listing)
    assert "preset" in widget.messages[-1]
    assert widget.form.settings() == before
    wait_idle(qtbot, widget)


# --- 12. the readout judges, the canvas is labelled, colours differ -----------------------------
def test_verdict_labels_colour_scale_and_distinct_colours(widget_on, hsc_cut, qtbot):
    viewer, widget = widget_on(hsc_cut, name="a very long layer name from the microscope export")
    wait_preview(qtbot, widget)
    wait_idle(qtbot, widget)  # the size factor comes last
    assert widget.verdict.value.startswith("Cells") and "dB" in widget.verdict.value
    layers = roles(viewer)
    assert all(len(layer.name) <= 40 for layer in layers.values())
    assert layers["flow"].colorbar.visible
    mask_colour = layers["mask"].colormap.map(np.array([1]))[0][:3]
    assert np.allclose(mask_colour, [0, 229 / 255, 1], atol=0.01)  # cyan, not the rings' orange
    widget.side_by_side_button.clicked()
    assert layers["flowroi"].name_overlay.visible and layers["plain"].name_overlay.visible
    assert "FlowRoI" in layers["flowroi"].name and "JPEG2000" in layers["plain"].name
    widget.side_by_side_button.clicked()
    assert not layers["flowroi"].name_overlay.visible


def test_psnr_of_a_narrow_range_uint16_movie_is_against_its_value_range(widget_on, hsc_cut, qtbot):
    movie = (1000 + hsc_cut.astype(np.uint16)).astype(np.uint16)  # 255 grey levels of 65535
    _, widget = widget_on(movie)
    preview = wait_preview(qtbot, widget)
    assert preview.psnr_roi_flowroi > 70  # against the dtype maximum
    assert "value range" in widget.readout.value
    shown = [
        float(x.split(" dB")[0].split(">")[-1])
        for x in widget.readout.value.split("</td>")
        if x.endswith(" dB")
    ]
    assert shown and max(shown) < 60


# --- 13. the coverage target re-words the readout, computes nothing ------------------------------
def test_changing_the_coverage_target_recomputes_nothing(widget_on, qtbot):
    from napari_flowroi.synthetic import moving_discs

    movie = moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=3)
    _, widget = widget_on(movie.frames)
    widget.form.controls["appearance_roi"].value = False
    preview = wait_preview(qtbot, widget)
    share = preview.coverage.pixel_share
    assert "below the coverage target" in widget.readout.value
    computed = len(widget.previewer.computed)
    widget.form.controls["coverage_target"].value = round(share / 2, 2)
    wait_idle(qtbot, widget)
    assert "below the coverage target" not in widget.readout.value
    assert len(widget.previewer.computed) == computed
