"""In napari: a compressed layer keeps its scale and name; folders of channels open as layers."""

import numpy as np
import pytest

from napari_flowroi.container import open_container
from napari_flowroi.settings import FlowRoISettings

from .conftest import compress_and_wait, wait_idle, wait_preview


def test_compressing_a_calibrated_layer_keeps_its_scale_and_name(
    widget_on, hsc_cut, qtbot, tmp_path
):
    viewer, widget = widget_on(hsc_cut, name="phase")
    viewer.layers["phase"].scale = (30.0, 0.65, 0.65)
    widget.live.value = False
    output = tmp_path / "phase.flowroi"
    compress_and_wait(qtbot, widget, output, workers=1)
    wait_idle(qtbot, widget)
    physical = open_container(output).manifest["input"]["physical"]
    assert physical["layer_name"] == "phase"
    assert physical["pixel_size_x"] == pytest.approx(0.65)
    assert physical["time_interval"] == pytest.approx(30.0)
    reopened = viewer.layers["phase.flowroi"]
    assert tuple(reopened.scale) == pytest.approx((30.0, 0.65, 0.65))
    assert tuple(
        next(la for la in viewer.layers if la.name.startswith("phase.flowroi RoI:")).scale
    ) == pytest.approx((30.0, 0.65, 0.65))
    assert reopened.metadata["flowroi_layer_name"] == "phase"


def test_a_reader_layer_with_a_channel_axis_of_one_is_compressed_with_its_calibration(
    make_napari_viewer, hsc_cut, tmp_path
):
    """Readers give a one-channel file as (T, 1, Y, X) with a scale per axis."""
    from napari_flowroi.napari._reader import get_reader
    from napari_flowroi.napari._writer import write_image

    viewer = make_napari_viewer()
    layer = viewer.add_image(hsc_cut[:, None], name="well A01", scale=(1.0, 1.0, 0.4, 0.4))
    data, meta, _ = layer.as_layer_data_tuple()
    out = tmp_path / "a01.flowroi"
    assert write_image(str(out), data, meta) == [str(out)]
    container = open_container(out)
    assert container.shape == hsc_cut.shape
    assert container.manifest["input"]["physical"]["layer_scale"] == [1.0, 0.4, 0.4]
    (frames, kwargs, _), _ = get_reader(str(out))(str(out))
    assert kwargs["scale"] == [1.0, 0.4, 0.4] and frames.shape == hsc_cut.shape


def test_a_folder_of_channel_containers_opens_as_one_layer_per_channel(tmp_path, hsc_cut):
    bioio = pytest.importorskip("bioio")  # noqa: F841 (the OME-TIFF goes through bioio)
    import tifffile

    from napari_flowroi.microscopy import compress_file
    from napari_flowroi.napari._reader import get_reader

    path = tmp_path / "two.ome.tif"
    fluo = np.where(hsc_cut > hsc_cut.mean() + 2 * hsc_cut.std(), 200, 10).astype(np.uint8)
    tifffile.imwrite(
        path,
        np.stack([hsc_cut, fluo], axis=1),
        ome=True,
        photometric="minisblack",
        metadata={
            "axes": "TCYX",
            "Channel": {"Name": ["BF", "GFP"]},
            "PhysicalSizeX": 0.5,
            "PhysicalSizeY": 0.5,
        },
    )
    compress_file(path, tmp_path / "out", FlowRoISettings(compression_rate=8))
    reader = get_reader(str(tmp_path / "out"))
    assert reader is not None
    layers = reader(str(tmp_path / "out"))
    images = [(kwargs["name"], kwargs["scale"]) for _, kwargs, kind in layers if kind == "image"]
    assert images == [("c0-BF.flowroi", [1.0, 0.5, 0.5]), ("c1-GFP.flowroi", [1.0, 0.5, 0.5])]


def _two_channels(hsc_cut):
    """(T, C, Y, X) as napari's reader gives an OME-TIFF: phase, and fluorescence on the cells."""
    fluo = np.where(hsc_cut > hsc_cut.mean() + 2 * hsc_cut.std(), 200, 10).astype(np.uint8)
    return np.stack([hsc_cut, fluo], axis=1)


def test_a_layer_with_a_channel_axis_of_one_is_previewed_over_the_movie(widget_on, hsc_cut, qtbot):
    from .test_widget import roles

    viewer, widget = widget_on(hsc_cut[:, None], name="one channel")
    assert widget.channel.native.isHidden()  # one channel: nothing to choose
    viewer.dims.set_current_step(0, 3)
    preview = wait_preview(qtbot, widget, t=3)
    assert preview.t == 3 and widget.model.movie.shape == hsc_cut.shape
    mask = roles(viewer)["mask"]
    assert mask.data.shape == (len(hsc_cut), 1, *hsc_cut.shape[1:])  # laid over the layer
    assert np.asarray(mask.data[3, 0]).any() and not np.asarray(mask.data[2, 0]).any()
    assert roles(viewer)["missed"].ndim == 4


def test_a_two_channel_layer_previews_the_roi_channel_and_compresses_every_channel(
    widget_on, hsc_cut, qtbot, tmp_path
):
    from napari_flowroi.container import decompress

    from .test_widget import roles

    movie = _two_channels(hsc_cut)
    viewer, widget = widget_on(movie, name="two")
    viewer.layers["two"].scale = (30.0, 1.0, 0.65, 0.65)
    assert not widget.channel.native.isHidden() and not widget.all_channels.native.isHidden()
    assert list(widget.channel.choices) == [0, 1]
    wait_preview(qtbot, widget)
    assert np.array_equal(widget.model.movie[2], movie[2, 0])  # the RoI channel: the first
    # the preview layers sit on the RoI channel, where the viewer's channel slider was moved
    flowroi = roles(viewer)["flowroi"]
    assert flowroi.data.shape == (len(hsc_cut), 1, *hsc_cut.shape[1:])
    widget.channel.value = 1
    wait_preview(qtbot, widget)
    assert np.array_equal(widget.model.movie[2], movie[2, 1])
    assert roles(viewer)["flowroi"].translate[1] == pytest.approx(1.0)
    assert viewer.dims.point[1] == pytest.approx(1.0)
    widget.channel.value = 0
    wait_preview(qtbot, widget)

    widget.live.value = False
    output = tmp_path / "two"
    compress_and_wait(qtbot, widget, output, timeout=180_000, workers=1)
    wait_idle(qtbot, widget)
    assert widget.last_summary is not None, widget.messages
    assert "2 channels" in widget.messages[-1]
    phase, fluo = open_container(output / "c0.flowroi"), open_container(output / "c1.flowroi")
    assert phase.settings.motion_roi and not fluo.settings.motion_roi  # fluorescence inherits
    for t in range(len(hsc_cut)):
        assert not (phase.read_mask(t) & ~fluo.read_mask(t)).any()
    decoded = np.asarray(fluo.read_frame(2), float)
    assert np.abs(decoded - movie[2, 1]).mean() < np.abs(decoded - movie[2, 0]).mean() / 4
    physical = fluo.manifest["input"]["physical"]
    assert physical["channel_index"] == 1 and physical["pixel_size_x"] == pytest.approx(0.65)
    assert physical["time_interval"] == pytest.approx(30.0)
    # the folder decodes to one (T, C, Y, X) series, and opens as one layer per channel
    written = decompress(output, tmp_path / "two.ome.tif")
    assert [s["axes"] for s in written["series"]] == ["TCYX"]
    assert {"c0.flowroi", "c1.flowroi"} <= {layer.name for layer in viewer.layers}


def test_a_two_channel_layer_can_compress_the_roi_channel_alone(
    widget_on, hsc_cut, qtbot, tmp_path
):
    movie = _two_channels(hsc_cut)
    viewer, widget = widget_on(movie, name="two")
    widget.live.value = False
    widget.channel.value = 1
    widget.all_channels.value = False
    output = tmp_path / "gfp.flowroi"
    compress_and_wait(qtbot, widget, output, workers=1)
    wait_idle(qtbot, widget)
    container = open_container(output)
    assert container.shape == hsc_cut.shape
    assert container.manifest["input"]["physical"]["channel_index"] == 1
    decoded = np.asarray(container.read_frame(1), float)
    assert np.abs(decoded - movie[1, 1]).mean() < np.abs(decoded - movie[1, 0]).mean() / 4


def test_a_layer_with_channels_and_z_planes_is_refused_with_one_clear_line(widget_on, hsc_cut):
    movie = np.stack([_two_channels(hsc_cut)] * 2, axis=2)  # (T, C, Z, Y, X)
    _, widget = widget_on(movie, name="stack")
    assert widget.model.movie is None
    assert "more axes than time and channels" in widget.messages[-1]
    assert widget.compress(output="unused") is None


def test_a_layer_whose_axis_is_labelled_z_is_refused_not_taken_for_channels(
    widget_on, hsc_cut, qtbot
):
    """(t, z, y, x) with the z axis labelled was offered as 'RoI channel 0..4' and compressed
    as channels c0..c4, every plane with plane 0's RoI (cells at another depth left out)."""
    viewer, widget = widget_on(hsc_cut)
    planes = viewer.add_image(
        np.stack([hsc_cut] * 3, axis=1), name="planes", axis_labels=("t", "z", "y", "x")
    )
    widget.picker.source.value = planes
    assert widget.model.movie is None and not widget.picker.channel.visible
    assert "more axes than time and channels (z-planes?)" in widget.messages[-1]
    assert widget.compress(output="unused") is None
    # unlabelled, the second axis is still the channel axis (napari's OME-TIFF reader)
    widget.picker.source.value = viewer.add_image(np.stack([hsc_cut] * 3, axis=1), name="tc")
    assert widget.model.movie is not None and widget.picker.axes.channels == 3


def test_labels_drawn_over_a_layer_with_channels_protect_their_frame(widget_on, hsc_cut, qtbot):
    movie = _two_channels(hsc_cut)
    viewer, widget = widget_on(movie, name="two")
    widget.form.controls["motion_roi"].value = False
    widget.form.controls["appearance_roi"].value = False
    labels = np.zeros(movie.shape, np.uint8)  # as napari's "new labels" makes them: (T, C, Y, X)
    labels[2, 1, 10:20, 30:40] = 1  # drawn on the other channel than the RoI channel
    viewer.add_labels(labels, name="keep")
    widget.roi_layer.value = viewer.layers["keep"]
    viewer.dims.set_current_step(0, 2)
    qtbot.waitUntil(
        lambda: (
            widget.last_preview is not None
            and widget.last_preview.t == 2
            and widget.last_preview.mask.any()
            and not widget.busy
        ),
        timeout=60_000,
    )
    mask = widget.last_preview.mask
    assert mask[10:20, 30:40].all() and not mask[100:, :].any()
    assert not widget.extra_roi()[1].any()
