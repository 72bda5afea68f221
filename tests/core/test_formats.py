"""Microscopy files through bioio: OME-TIFF with channels and positions, OME-Zarr with z-planes,
CZI, written at test time with the formats' own writers (tifffile, bioio-ome-zarr, pylibCZIrw).
ND2 and LIF are tested in test_vendor_formats.py (a shipped ND2 file, a LIF written by the test)."""

import json
import pickle
import sys

import numpy as np
import pytest
import tifffile

from napari_flowroi.cli import main
from napari_flowroi.container import open_container
from napari_flowroi.synthetic import moving_discs

bioio = pytest.importorskip("bioio")

from napari_flowroi import microscopy  # noqa: E402
from napari_flowroi.readers import formats  # noqa: E402

T, Y, X = 6, 96, 112
CHANNELS = ["Phase", "GFP"]


@pytest.fixture(scope="module")
def two_channels():
    """(T, C, Y, X): a textured phase-like channel and a fluorescence channel where only the
    cells shine (dark background), as a microscope records them together."""
    movie = moving_discs(n_frames=T, shape=(Y, X), n_cells=3, seed=3)
    fluo = np.where(movie.cells, 180, 12).astype(np.uint8)
    return np.stack([movie.frames, fluo], axis=1)


@pytest.fixture
def ome_plate(tmp_path, two_channels):
    """An OME-TIFF with two positions (A01, A02), each (T, C, Y, X) with calibration."""
    path = tmp_path / "plate.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        for s, well in enumerate(["A01", "A02"]):
            tif.write(
                np.roll(two_channels, 9 * s, axis=-1),
                photometric="minisblack",
                metadata={
                    "axes": "TCYX",
                    "Name": well,
                    "Channel": {"Name": CHANNELS},
                    "PhysicalSizeX": 0.65,
                    "PhysicalSizeXUnit": "µm",
                    "PhysicalSizeY": 0.65,
                    "PhysicalSizeYUnit": "µm",
                    "TimeIncrement": 30.0,
                    "TimeIncrementUnit": "s",
                },
            )
    return path


@pytest.fixture
def ome_zarr(tmp_path, two_channels):
    """An OME-Zarr image (T, C, Z, Y, X) with two z-planes, written with bioio's OME-Zarr writer."""
    from bioio_ome_zarr.writers import Channel, OMEZarrWriter

    data = np.stack([two_channels, two_channels // 2], axis=2)  # z=1 is a dimmer copy
    path = tmp_path / "movie.ome.zarr"
    writer = OMEZarrWriter(
        str(path),
        level_shapes=data.shape,
        dtype=data.dtype,
        chunk_shape=(1, 1, 1, Y, X),
        channels=[Channel(label=n, color="FFFFFF") for n in CHANNELS],
        axes_names=["t", "c", "z", "y", "x"],
        axes_types=["time", "channel", "space", "space", "space"],
        axes_units=["second", None, "micrometer", "micrometer", "micrometer"],
        physical_pixel_size=[30.0, 1.0, 2.0, 0.5, 0.5],
        image_name="well",
    )
    writer.write_full_volume(data)
    return path, data


def _run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_ome_tiff_with_positions_and_channels_is_described_from_its_headers(ome_plate):
    assert formats.claims(ome_plate)
    scenes = formats.describe(ome_plate)
    assert [s.name for s in scenes] == ["A01", "A02"]
    assert scenes[0].channel_names == tuple(CHANNELS)
    assert scenes[0].sizes == {"T": T, "C": 2, "Z": 1, "Y": Y, "X": X}
    meta = scenes[1].metadata
    assert meta["pixel_size_x"] == pytest.approx(0.65) and meta["space_unit"] == "µm"
    assert meta["time_interval"] == pytest.approx(30.0) and meta["time_unit"] == "s"


def test_plain_and_non_ome_tiffs_keep_the_built_in_reader(tmp_path, two_channels):
    plain = tmp_path / "tyx.ome.tif"
    tifffile.imwrite(plain, two_channels[:, 0], ome=True, metadata={"axes": "TYX"})
    assert not formats.claims(plain)
    assert not formats.claims(tmp_path / "frames")  # not there: the usual message follows


def test_every_position_and_channel_becomes_a_container_and_fluorescence_inherits_the_phase_roi(
    tmp_path, ome_plate, two_channels, capsys
):
    out = tmp_path / "out"
    code, stdout, err = _run(
        capsys, "compress", ome_plate, out, "--compression-rate", "8", "--quiet"
    )
    assert code == 0, err
    summary = json.loads(stdout)
    names = [w["well"] for w in summary["wells"]]
    assert names == ["A01_c0-Phase", "A01_c1-GFP", "A02_c0-Phase", "A02_c1-GFP"]
    assert json.loads((out / "summary.json").read_text())["totals"]["wells"] == 4
    phase, gfp = (
        open_container(out / "A02_c0-Phase.flowroi"),
        open_container(out / "A02_c1-GFP.flowroi"),
    )
    physical = gfp.manifest["input"]["physical"]
    assert physical["channel_name"] == "GFP" and physical["scene"] == "A02"
    assert physical["pixel_size_y"] == pytest.approx(0.65) and physical["time_interval"] == 30.0
    # the fluorescence channel found no motion of its own: it was coded with the phase RoI
    assert gfp.settings.motion_roi is False and phase.settings.motion_roi is True
    assert "A02_c0-Phase" in gfp.manifest["input"]["roi_mask"]
    for t in range(T):
        inherited = phase.read_mask(t)
        assert inherited.any() and not (inherited & ~gfp.read_mask(t)).any()
    # each channel decodes to its own channel (not the other one)
    decoded = np.asarray(gfp.read_frame(2), float)
    original = np.roll(two_channels, 9, axis=-1)[2].astype(float)
    assert np.abs(decoded - original[1]).mean() < np.abs(decoded - original[0]).mean() / 4
    # a rerun finishes nothing twice
    code, stdout, _ = _run(capsys, "compress", ome_plate, out, "--compression-rate", "8", "--quiet")
    assert code == 0 and json.loads(stdout)["totals"]["resumed_frames"] == 4 * T


def test_decompress_writes_an_ome_tiff_that_keeps_calibration_channels_and_positions(
    tmp_path, ome_plate, capsys
):
    out = tmp_path / "out"
    assert _run(capsys, "compress", ome_plate, out, "--quiet", "--plain")[0] == 0
    decoded = tmp_path / "decoded.ome.tif"
    code, stdout, err = _run(capsys, "decompress", out, decoded)
    assert code == 0, err
    assert [s["axes"] for s in json.loads(stdout)["series"]] == ["TCYX", "TCYX"]
    image = bioio.BioImage(decoded)  # what downstream tools read
    assert list(image.scenes) != [] and len(image.scenes) == 2
    assert [str(c) for c in image.channel_names] == CHANNELS
    assert pytest.approx(0.65) == image.physical_pixel_sizes.X
    pixels = image.ome_metadata.images[1].pixels
    assert (
        pixels.time_increment == pytest.approx(30.0) and image.ome_metadata.images[1].name == "A02"
    )
    image.set_scene(1)
    assert image.dims.T == T and image.dims.C == 2


def test_a_single_movie_decompresses_to_a_t_y_x_ome_tiff_with_its_calibration(
    tmp_path, two_channels, capsys
):
    movie = tmp_path / "movie.ome.tif"
    tifffile.imwrite(
        movie,
        two_channels[:, 0],
        ome=True,
        metadata={
            "axes": "TYX",
            "PhysicalSizeX": 0.325,
            "PhysicalSizeY": 0.325,
            "TimeIncrement": 5.0,
        },
    )
    assert _run(capsys, "compress", movie, tmp_path / "c", "--plain", "--quiet")[0] == 0
    assert _run(capsys, "decompress", tmp_path / "c", tmp_path / "d.tif")[0] == 0
    with tifffile.TiffFile(tmp_path / "d.tif") as tif:
        assert tif.series[0].axes == "TYX" and tif.series[0].shape == (T, Y, X)
        xml = tif.ome_metadata
    assert 'PhysicalSizeX="0.325"' in xml and 'TimeIncrement="5.0"' in xml


def test_channel_and_scene_selection_gives_one_container_of_that_plane(
    tmp_path, ome_plate, two_channels, capsys
):
    out = tmp_path / "gfp.flowroi"
    code, _, err = _run(
        capsys,
        "compress",
        ome_plate,
        out,
        "--channel",
        "gfp",
        "--scene",
        "A02",
        "--quiet",
        "--plain",
    )
    assert code == 0, err
    container = open_container(out)  # one plane: a container, not a folder of them
    assert container.manifest["input"]["physical"]["channel_name"] == "GFP"
    expected = np.roll(two_channels, 9, axis=-1)[0, 1].astype(float)
    assert np.abs(np.asarray(container.read_frame(0), float) - expected).mean() < 20


@pytest.mark.parametrize(
    "args, words",
    [
        (["--channel", "DAPI"], "no channel 'DAPI'; its channels are 0: Phase, 1: GFP"),
        (["--channel", "GFP", "--motion-channel", "Phase"], "not among the channels"),
        (["--scene", "B07"], "no scene 'B07'"),
        (["--z", "3"], "no z-plane 3"),
    ],
)
def test_a_selection_the_file_does_not_have_exits_2_with_what_it_has(
    tmp_path, ome_plate, capsys, args, words
):
    code, _, err = _run(capsys, "compress", ome_plate, tmp_path / "o", "--quiet", *args)
    assert code == 2 and words in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_selection_options_with_a_plain_movie_are_a_usage_error(tmp_path, two_channels, capsys):
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, two_channels[:, 0], photometric="minisblack", metadata={"axes": "TYX"})
    code, _, err = _run(capsys, "compress", movie, movie, tmp_path / "o", "--channel", "GFP")
    assert code == 2 and "microscopy file" in err


@pytest.mark.parametrize(
    ("kind", "command", "option"),
    [
        ("tiff", "compress", ["--channel", "0"]),
        ("folder", "compress", ["--z", "0"]),
        ("tiff", "tune", ["--scene", "0"]),
    ],
)
def test_a_selection_on_one_plain_movie_says_to_drop_it_not_that_the_file_is_damaged(
    tmp_path, two_channels, capsys, kind, command, option
):
    """One (T, Y, X) TIFF or folder of frames with --channel/--scene/--z went to bioio, which no
    reader accepts, and the line blamed a damaged file and a missing extra."""
    frames = two_channels[:, 0]
    if kind == "tiff":
        movie = tmp_path / "movie.tif"
        tifffile.imwrite(movie, frames, photometric="minisblack", metadata={"axes": "TYX"})
    else:
        movie = tmp_path / "frames"
        movie.mkdir()
        for t, frame in enumerate(frames):
            tifffile.imwrite(movie / f"t{t}.tif", frame)
    args = [movie, tmp_path / "o"] if command == "compress" else [movie]
    code, out, err = _run(capsys, command, *args, "--quiet", *option)
    lines = err.strip().splitlines()
    assert code == 2 and out == "" and len(lines) == 1, err
    assert "drop the selection" in lines[0] and "complete" not in lines[0], lines[0]
    assert not (tmp_path / "o").exists()


def test_a_selection_on_a_cut_off_tiff_is_one_line(tmp_path, two_channels, capsys, caplog):
    """tifffile logs a cut-off file's bad page offset; that log record reached the terminal
    (Python's last-resort handler: a second line before the error)."""
    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, two_channels[:, 0], photometric="minisblack", metadata={"axes": "TYX"})
    data = movie.read_bytes()
    movie.write_bytes(data[: len(data) // 2])
    code, _, err = _run(capsys, "compress", movie, tmp_path / "o", "--quiet", "--z", "0")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and "complete" in lines[0], err
    assert [r.getMessage() for r in caplog.records if r.name == "tifffile"] == []
    assert not (tmp_path / "o").exists()


def test_open_movie_picks_one_plane_of_a_file_in_python(ome_plate, two_channels):
    """docs/python.md's `suggest_settings(open_movie("movie.ome.tif"), ...)` on a file with
    channels was refused with only the command line's --scene/--channel/--z to pick one: the
    public open_movie had no way to."""
    from napari_flowroi import open_movie
    from napari_flowroi.errors import InputError

    with pytest.raises(InputError, match=r"open_movie\(path, scene=, channel=, z=\)"):
        open_movie(ome_plate)
    movie = open_movie(ome_plate, scene="A02", channel="GFP")
    assert movie.shape == (T, Y, X)
    expected = np.roll(two_channels, 9, axis=-1)[:, 1]
    assert all(np.array_equal(movie[t], expected[t]) for t in range(T))


def test_ome_zarr_z_planes_are_coded_per_plane_or_one_named_plane(tmp_path, ome_zarr, capsys):
    path, data = ome_zarr
    assert formats.claims(path)
    out = tmp_path / "out"
    code, stdout, err = _run(
        capsys, "compress", path, out, "--quiet", "--channel", "Phase", "--compression-rate", "6"
    )
    assert code == 0, err
    assert [w["well"] for w in json.loads(stdout)["wells"]] == ["z00", "z01"]
    z1 = open_container(out / "z01.flowroi")
    physical = z1.manifest["input"]["physical"]
    assert physical["z_index"] == 1 and physical["pixel_size_x"] == pytest.approx(0.5)
    assert physical["time_interval"] == pytest.approx(30.0) and physical["space_unit"] == "µm"
    assert abs(float(np.asarray(z1.read_frame(3), float).mean()) - data[3, 0, 1].mean()) < 5
    one = tmp_path / "one.flowroi"
    assert _run(capsys, "compress", path, one, "--quiet", "--z", "0", "--channel", "0")[0] == 0
    assert open_container(one).manifest["input"]["physical"]["z_index"] == 0


def test_a_czi_file_written_by_zeiss_library_is_read_with_channels_and_pixel_size(
    tmp_path, two_channels, capsys
):
    pytest.importorskip("bioio_czi")
    pyczi = pytest.importorskip("pylibCZIrw.czi")
    path = tmp_path / "movie.czi"
    with pyczi.create_czi(str(path), exist_ok=True) as czi:
        for t in range(T):
            for c in range(2):
                czi.write(data=two_channels[t, c], plane={"T": t, "C": c, "Z": 0})
        czi.write_metadata(
            document_name="test",
            channel_names={0: "Phase", 1: "GFP"},
            scale_x=0.65e-6,
            scale_y=0.65e-6,
        )
    scene = formats.describe(path)[0]
    assert scene.channel_names == tuple(CHANNELS) and scene.sizes["T"] == T
    assert scene.metadata["pixel_size_x"] == pytest.approx(0.65)
    movie = formats.open_selected(path, channel="GFP")
    assert np.array_equal(movie[4], two_channels[4, 1])
    out = tmp_path / "out"
    assert _run(capsys, "compress", path, out, "--quiet", "--compression-rate", "8")[0] == 0
    assert sorted(p.name for p in out.glob("*.flowroi")) == ["c0-Phase.flowroi", "c1-GFP.flowroi"]


def test_planes_and_inherited_masks_travel_to_dask_workers_by_path(
    tmp_path, ome_plate, two_channels, capsys
):
    plane = pickle.loads(pickle.dumps(formats.Plane(str(ome_plate), scene=1, channel=1)))
    assert np.array_equal(plane.open_movie()[3], np.roll(two_channels, 9, axis=-1)[3, 1])
    out = tmp_path / "out"
    assert _run(capsys, "compress", ome_plate, out, "--quiet", "--scene", "A01")[0] == 0
    from napari_flowroi.settings import FlowRoISettings

    phase = formats.Plane(str(ome_plate), scene=0, channel=0)
    masks = microscopy.MotionChannelMasks(phase, FlowRoISettings(), None, name="RoI of c0")
    assert masks.by_path and masks.shape == (T, Y, X)
    first = masks[2]
    copy = pickle.loads(pickle.dumps(masks))
    assert copy._extractor is None and copy._masks == {}  # recomputed where it is unpickled
    assert np.array_equal(copy[2], first)


def test_the_other_channels_inherit_the_motion_channels_exact_roi(tmp_path):
    """Not the block grid its container stores (16-128 px blocks: a two-channel HeLa cut at 40:1
    had 27 % of the frame as RoI in the motion channel, 92 % in the other): the masks its run
    coded, recomputed (bitwise batch.roi_masks of the motion channel)."""
    from napari_flowroi.batch import roi_masks
    from napari_flowroi.settings import FlowRoISettings
    from napari_flowroi.synthetic import moving_discs

    frames = moving_discs(n_frames=6, shape=(256, 320), n_cells=4, radius=10, seed=3).frames
    settings = FlowRoISettings(compression_rate=40)
    plate = microscopy.compress_channels([frames, frames], tmp_path / "out", settings)
    first, second = (summary for _, summary in plate.wells)
    # the same pixels in both channels: the heir's RoI is the motion channel's, not its blocks
    assert second.mean_roi_fraction == pytest.approx(first.mean_roi_fraction, abs=0.005)
    stored = open_container(tmp_path / "out" / "c0.flowroi")
    assert np.mean([stored.read_mask(t).mean() for t in range(6)]) > second.mean_roi_fraction + 0.1
    masks = microscopy.MotionChannelMasks(frames, settings, None, name="c0")
    expected = roi_masks(frames, settings)
    assert all(np.array_equal(masks[t], expected[t]) for t in (0, 3, 5, 1))  # any order


def test_frames_are_read_one_plane_at_a_time(ome_zarr, monkeypatch):
    """Memory flat in movie length: a frame computes one (Y, X) chunk, never the whole array."""
    from dask.delayed import Delayed

    path, data = ome_zarr
    computed = []
    original = Delayed.compute

    def spy(self, *args, **kwargs):
        result = original(self, *args, **kwargs)
        computed.append(np.shape(result))
        return result

    monkeypatch.setattr(Delayed, "compute", spy)
    movie = formats.open_selected(path, channel="GFP", z=1)
    assert np.array_equal(movie[5], data[5, 1, 1])
    assert np.array_equal(movie[2], data[2, 1, 1])
    assert computed == [(1, Y, X), (1, Y, X)]


def test_without_the_formats_extra_one_line_names_it_and_exits_2(
    tmp_path, ome_plate, capsys, monkeypatch
):
    monkeypatch.setitem(sys.modules, "bioio", None)  # as if it were not installed
    formats._cached_image.cache_clear()
    for args in (["compress", ome_plate, tmp_path / "o"], ["tune", ome_plate]):
        code, _, err = _run(capsys, *args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1
        assert "pip install 'napari-flowroi[formats]'" in lines[0]
    nd2 = tmp_path / "movie.nd2"
    nd2.write_bytes(b"\0" * 64)
    code, _, err = _run(capsys, "compress", nd2, tmp_path / "o")
    assert code == 2 and "napari-flowroi[formats]" in err


def test_positions_on_a_dask_cluster_give_the_same_bytes_as_in_one_process(tmp_path, ome_plate):
    """Workers open the planes (and the inherited masks) by path themselves."""
    distributed = pytest.importorskip("distributed")
    from napari_flowroi.settings import FlowRoISettings

    settings = FlowRoISettings(compression_rate=10.0)
    here = microscopy.compress_file(ome_plate, tmp_path / "here", settings)
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        ) as local,
        distributed.Client(local) as client,
    ):
        there = microscopy.compress_file(ome_plate, tmp_path / "there", settings, scheduler=client)
    assert [name for name, _ in there.wells] == [name for name, _ in here.wells]
    for name, _ in here.wells:
        a = open_container(tmp_path / "here" / f"{name}.flowroi").manifest["frames"]
        b = open_container(tmp_path / "there" / f"{name}.flowroi").manifest["frames"]
        assert [r["sha256"] for r in a] == [r["sha256"] for r in b]


def test_scene_names_that_collide_once_made_file_safe_are_numbered_and_keep_their_roi_source(
    tmp_path,
):
    path = tmp_path / "odd.ome.tif"
    with tifffile.TiffWriter(path, ome=True) as tif:
        for well in ("A 1", "A/1"):
            tif.write(
                np.zeros((2, 2, 16, 16), np.uint8),
                photometric="minisblack",
                metadata={"axes": "TCYX", "Name": well, "Channel": {"Name": CHANNELS}},
            )
    units = microscopy.plan_planes(path)
    assert len({u.name for u in units}) == 4
    for unit in units:
        if not unit.motion:
            source = next(u for u in units if u.name == unit.source)
            assert source.plane.scene == unit.plane.scene and source.plane.channel == 0


def test_tune_looks_at_one_plane_of_a_file(tmp_path, ome_plate, capsys):
    code, stdout, err = _run(
        capsys, "tune", ome_plate, "--scene", "A02", "--quiet", "--compression-rate", "8"
    )
    assert code == 0, err
    assert json.loads(stdout)["suggested"]["compression_rate"] == 8
    code, _, err = _run(capsys, "tune", ome_plate, "--channel", "DAPI", "--quiet")
    assert code == 2 and "0: Phase, 1: GFP" in err


def test_ome_tiff_pages_are_found_for_every_axis_order(tmp_path):
    """OME-TIFF frames are read as single pages by tifffile (bioio-ome-tiff reparses the file per
    frame); the page of (t, c, z) must be the one bioio would give, whatever the axis order."""
    rng = np.random.default_rng(0)
    data = rng.integers(0, 60000, (3, 2, 2, 16, 20), dtype=np.uint16)  # T, Z, C, Y, X
    path = tmp_path / "tzc.ome.tif"
    tifffile.imwrite(path, data, ome=True, photometric="minisblack", metadata={"axes": "TZCYX"})
    image = bioio.BioImage(path)
    for c in range(2):
        for z in range(2):
            movie = formats.open_plane(formats.Plane(str(path), 0, c, z))
            for t in range(3):
                assert np.array_equal(movie[t], data[t, z, c])
                assert np.array_equal(movie[t], image.get_image_data("YX", T=t, C=c, Z=z))


def test_a_damaged_vendor_file_or_a_missing_reader_plugin_is_one_line_exit_2(
    tmp_path, capsys, monkeypatch
):
    nd2 = tmp_path / "damaged.nd2"
    nd2.write_bytes(b"\0" * 64)
    code, _, err = _run(capsys, "compress", nd2, tmp_path / "o")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Cannot read" in err
    import importlib.util

    find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "bioio_nd2" else find_spec(name, *a),
    )
    formats._cached_image.cache_clear()
    code, _, err = _run(capsys, "compress", nd2, tmp_path / "o")
    assert code == 2 and "bioio-nd2) is not installed: pip install 'napari-flowroi[formats]'" in err


def test_chunks_of_an_ome_tiff_reuse_one_page_map_per_process(ome_plate, monkeypatch):
    """Each dask task opens its plane again; the file's pages are mapped once, not per chunk
    (mapping an OME series costs time in proportion to the file's page count)."""
    formats.open_plane(formats.Plane(str(ome_plate), 1, 1))[0]
    opened = []
    real = tifffile.TiffFile

    class Counting(real):
        def __init__(self, *args, **kwargs):
            opened.append(args[0])
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(tifffile, "TiffFile", Counting)
    for t in range(T):  # one "chunk" per frame
        formats.Plane(str(ome_plate), 1, 1).open_movie()[t]
    assert opened == []


def test_channels_held_in_memory_are_compressed_as_those_of_a_file(tmp_path, two_channels):
    """microscopy.compress_channels (the napari widget's (T, C, Y, X) layers): the named motion
    channel first, the other inheriting its RoI, summary in channel order."""
    from napari_flowroi.settings import FlowRoISettings

    fluo, phase = two_channels[:, 1], two_channels[:, 0]
    plate = microscopy.compress_channels(
        [fluo, phase],
        tmp_path / "out",
        FlowRoISettings(compression_rate=8),
        names=["GFP", "Phase"],
        motion_channel=1,
    )
    assert [name for name, _ in plate.wells] == ["c0-GFP", "c1-Phase"]
    gfp = open_container(tmp_path / "out" / "c0-GFP.flowroi")
    assert gfp.settings.motion_roi is False and "c1-Phase" in gfp.manifest["input"]["roi_mask"]
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["totals"]["wells"] == 2
    with pytest.raises(formats.InputError, match="no channel 2|There is no channel 2"):
        microscopy.compress_channels([fluo, phase], tmp_path / "o2", motion_channel=2)


def test_an_ome_tiff_whose_pixel_size_is_not_a_number_is_read_without_calibration(
    ome_plate, two_channels, tmp_path, capsys
):
    from napari_flowroi.readers.tiff import CalibrationWarning

    with tifffile.TiffFile(ome_plate) as tif:
        xml = tif.ome_metadata
    assert xml.count('PhysicalSizeX="0.65"') == 2
    bad = xml.replace('PhysicalSizeX="0.65"', 'PhysicalSizeX="abc"', 1)
    tifffile.tiffcomment(ome_plate, bad.encode())  # OME XML is UTF-8 (µm)
    with pytest.warns(CalibrationWarning, match="PhysicalSizeX = 'abc'"):
        scenes = formats.describe(ome_plate)
    assert [s.name for s in scenes] == ["A01", "A02"]
    assert [s.channel_names for s in scenes] == [tuple(CHANNELS)] * 2
    assert "pixel_size_x" not in scenes[0].metadata and "space_unit" not in scenes[0].metadata
    assert scenes[1].metadata["pixel_size_x"] == pytest.approx(0.65)  # the other scene keeps it
    assert scenes[0].metadata["time_interval"] == pytest.approx(30.0)
    movie = formats.open_selected(ome_plate, scene="A01", channel=CHANNELS[1])
    np.testing.assert_array_equal(movie[2], two_channels[2, 1])
    # and the whole file compresses, every plane
    assert _run(capsys, "compress", str(ome_plate), str(tmp_path / "out"), "--plain")[0] == 0
    assert len(list((tmp_path / "out").glob("*.flowroi"))) == 4
