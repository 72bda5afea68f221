"""Batch compression from the widget, the reader, the writer, sample data and the manifest."""

from pathlib import Path

import numpy as np
import pytest

import napari_flowroi
from napari_flowroi.container import is_container, open_container
from napari_flowroi.settings import FlowRoISettings

from .conftest import compress_and_wait, wait_done, wait_idle


def test_manifest_is_valid_installed_with_the_package_and_found_by_napari():
    from npe2 import PluginManager, PluginManifest

    manifest = PluginManifest.from_distribution("napari-flowroi")
    packaged = Path(napari_flowroi.__file__).parent / "napari.yaml"
    assert packaged.is_file()
    top_level = Path(napari_flowroi.__file__).parents[2] / "napari.yaml"
    if top_level.exists():  # a source checkout: the design card's top-level file is the same file
        assert top_level.resolve() == packaged.resolve()
    contributions = manifest.contributions
    assert [w.display_name for w in contributions.widgets] == ["FlowRoI compression"]
    assert contributions.readers[0].accepts_directories
    assert contributions.writers[0].layer_types == ["image"]
    assert {s.key for s in contributions.sample_data} >= {"hsc_brightfield", "synthetic"}
    pm = PluginManager.instance()
    pm.discover()
    assert "napari-flowroi" in pm._manifests
    manifest.validate_imports()


def test_sample_data_are_movies_the_widget_accepts():
    from napari_flowroi.napari import _sample_data

    real = _sample_data.hsc_brightfield()[0]
    assert real[0].shape == (12, 512, 512) and real[2] == "image"
    synthetic = _sample_data.synthetic()
    assert synthetic[0][0].ndim == 3 and synthetic[0][0].shape[0] >= 8
    assert synthetic[1][2] == "labels"


def test_batch_compression_completes_reports_the_rate_and_reopens_lazily(
    widget_on, hsc_cut, qtbot, tmp_path
):
    viewer, widget = widget_on(hsc_cut, name="cells")
    widget.form.controls["compression_rate"].value = 30
    output = tmp_path / "cells.flowroi"
    compress_and_wait(qtbot, widget, output)
    assert is_container(output)
    container = open_container(output)
    assert container.shape == hsc_cut.shape
    assert container.settings == widget.form.settings()  # the same settings object as the CLI
    assert container.manifest["totals"]["achieved_rate"] == pytest.approx(30, rel=0.1)
    assert "achieved rate" in widget.status.value
    assert any("achieved rate" in m for m in widget.messages)
    reopened = viewer.layers["cells.flowroi"]
    assert reopened.data.__class__.__module__.startswith("dask")  # lazy, through the reader
    assert reopened.data.shape == hsc_cut.shape
    assert np.asarray(reopened.data[2]).std() > 0
    assert (
        next(la for la in viewer.layers if la.name.startswith("cells.flowroi RoI:")).data.shape
        == hsc_cut.shape
    )
    assert widget.compress_button.enabled and not widget.cancel_button.enabled
    # a second run with other settings into the same folder is refused with what to do (the
    # very same run again would be a success that changes nothing: "already complete")
    widget.form.set_settings(widget.form.settings().replace(compression_rate=12))
    widget.compress(output=output)
    qtbot.waitUntil(
        lambda: (
            "already holds a compressed stack" in widget.messages[-1]
            and "tick 'Replace" in widget.messages[-1]
        ),
        timeout=30_000,
    )
    wait_idle(qtbot, widget)
    # the very same run again changes nothing, and the done line says so (the run's notes)
    widget.form.set_settings(widget.form.settings().replace(compression_rate=30))
    compress_and_wait(qtbot, widget, output)
    assert "Note: already complete" in widget.status.value
    assert widget.messages[-1] == widget.status.value


def test_cancel_halfway_stops_promptly_and_leaves_no_complete_looking_output(
    widget_on, qtbot, tmp_path
):
    import tifffile

    from napari_flowroi.sample_data import movie_path

    movie = tifffile.imread(movie_path("hsc_brightfield"))  # 12 frames of 512x512
    _, widget = widget_on(movie)
    widget.live.value = False  # keep the preview out of the way
    output = tmp_path / "cancelled.flowroi"
    worker = widget.compress(output=output, workers=1)
    qtbot.waitUntil(lambda: widget.frames_done >= 2, timeout=120_000)
    widget.cancel_button.clicked()
    wait_done(qtbot, worker, timeout=30_000)
    assert 2 <= widget.frames_done < 12
    assert not is_container(output)
    assert "cancelled" in widget.messages[-1] and "same settings" in widget.messages[-1]
    from napari_flowroi.napari._reader import get_reader

    assert get_reader(str(output)) is None  # napari will not open it as a compressed stack


def test_reader_opens_frames_and_masks_lazily_and_ignores_other_folders(tmp_path, hsc_cut):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.napari._reader import get_reader

    assert get_reader(str(tmp_path)) is None
    assert get_reader(str(tmp_path / "movie.tif")) is None
    out = tmp_path / "stack.flowroi"
    compress_movie(hsc_cut, out, FlowRoISettings())
    reader = get_reader(str(out))
    (frames, frame_kwargs, kind), (masks, _, mask_kind) = reader(str(out))
    assert (kind, mask_kind) == ("image", "labels")
    assert frames.shape == masks.shape == hsc_cut.shape
    assert frames.chunksize[0] == 1 and frame_kwargs["name"] == "stack.flowroi"


def test_writer_saves_an_image_layer_as_a_compressed_stack(make_napari_viewer, hsc_cut, tmp_path):
    viewer = make_napari_viewer()
    layer = viewer.add_image(hsc_cut, name="cells")
    out = tmp_path / "saved.flowroi"
    written = viewer.layers.save(str(out), selected=False, plugin="napari-flowroi")
    assert written == [str(out)]
    assert open_container(out).settings == FlowRoISettings()
    assert layer.data.shape == open_container(out).shape


def test_writer_saves_a_one_frame_layer_as_plain_jpeg2000_and_says_so(
    make_napari_viewer, hsc_cut, tmp_path, monkeypatch
):
    # File > Save has no Plain control: the core's "Use --plain" refusal left the user nowhere
    import napari.utils.notifications as notifications

    told = []
    monkeypatch.setattr(notifications, "show_info", told.append)
    viewer = make_napari_viewer()
    image = np.asarray(hsc_cut[0])
    viewer.add_image(image, name="one frame")
    out = tmp_path / "single.flowroi"
    written = viewer.layers.save(str(out), selected=False, plugin="napari-flowroi")
    assert written == [str(out)]
    container = open_container(out)
    assert container.settings.plain and container.shape == (1, *image.shape)
    assert len(told) == 1 and "plain JPEG2000" in told[0] and "one frame" in told[0]
