"""In napari: a compressed layer keeps its scale and name; folders of channels open as layers."""

import numpy as np
import pytest

from napari_flowroi.container import open_container
from napari_flowroi.settings import FlowRoISettings

from .conftest import wait_idle


def test_compressing_a_calibrated_layer_keeps_its_scale_and_name(widget_on, hsc_cut, qtbot,
                                                                 tmp_path):
    viewer, widget = widget_on(hsc_cut, name="phase")
    viewer.layers["phase"].scale = (30.0, 0.65, 0.65)
    widget.live.value = False
    output = tmp_path / "phase.flowroi"
    worker = widget.compress(output=output, workers=1)
    with qtbot.waitSignal(worker.finished, timeout=120_000):
        pass
    wait_idle(qtbot, widget)
    physical = open_container(output).manifest["input"]["physical"]
    assert physical["layer_name"] == "phase"
    assert physical["pixel_size_x"] == pytest.approx(0.65)
    assert physical["time_interval"] == pytest.approx(30.0)
    reopened = viewer.layers["phase.flowroi"]
    assert tuple(reopened.scale) == pytest.approx((30.0, 0.65, 0.65))
    assert tuple(viewer.layers["phase.flowroi RoI"].scale) == pytest.approx((30.0, 0.65, 0.65))
    assert reopened.metadata["flowroi_layer_name"] == "phase"


def test_a_reader_layer_with_a_channel_axis_of_one_is_compressed_with_its_calibration(
        make_napari_viewer, hsc_cut, tmp_path):
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

    from napari_flowroi.napari._reader import get_reader
    from napari_flowroi.planes import compress_file

    path = tmp_path / "two.ome.tif"
    fluo = np.where(hsc_cut > hsc_cut.mean() + 2 * hsc_cut.std(), 200, 10).astype(np.uint8)
    tifffile.imwrite(path, np.stack([hsc_cut, fluo], axis=1), ome=True, photometric="minisblack",
                     metadata={"axes": "TCYX", "Channel": {"Name": ["BF", "GFP"]},
                               "PhysicalSizeX": 0.5, "PhysicalSizeY": 0.5})
    compress_file(path, tmp_path / "out", FlowRoISettings(compression_rate=8))
    reader = get_reader(str(tmp_path / "out"))
    assert reader is not None
    layers = reader(str(tmp_path / "out"))
    images = [(kwargs["name"], kwargs["scale"]) for _, kwargs, kind in layers if kind == "image"]
    assert images == [("c0-BF.flowroi", [1.0, 0.5, 0.5]), ("c1-GFP.flowroi", [1.0, 0.5, 0.5])]
