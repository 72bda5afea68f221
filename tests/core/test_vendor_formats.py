"""Nikon ND2 and Leica LIF end to end: read through our reader (formats.py, the CLI), compressed,
verified, decompressed with their calibration.

ND2: two real NIS-Elements files shipped xz-compressed in tests/data/nd2 (MIT, see its
SOURCES.md): a 53-frame GFP time-lapse and a two-channel (DIC, FITC) image. What our reader says is
checked against the `nd2` package read directly (the library bioio-nd2 wraps), not against numbers
written here.

LIF: no open library writes LIF and no PyPI package ships a small one (tests/lif_writer.py says
why), so the test writes the documented LIF structure itself and checks first that liffile (which
bioio-lif reads through) gives back exactly the pixels written; then the file goes through our
reader like any LAS X file.
"""

import json
import lzma
import shutil
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_flowroi.cli import main
from napari_flowroi.container import open_container
from napari_flowroi.readers import open_movie
from napari_flowroi.synthetic import moving_discs

from ..lif_writer import LifChannel, write_lif

pytest.importorskip("bioio")
nd2 = pytest.importorskip("nd2")
liffile = pytest.importorskip("liffile")

from napari_flowroi.readers import formats  # noqa: E402

ND2_DATA = Path(__file__).resolve().parent.parent / "data" / "nd2"


def _run(capsys, *args):
    code = main([str(a) for a in args])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _unpack(name: str, folder: Path) -> Path:
    path = folder / name
    with lzma.open(ND2_DATA / f"{name}.xz") as packed, open(path, "wb") as out:
        shutil.copyfileobj(packed, out)
    return path


@pytest.fixture(scope="module")
def nd2_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("nd2")
    return {name: _unpack(f"example-{name}.nd2", folder) for name in ("timelapse", "cerevisiae")}


def _nd2_truth(path: Path) -> dict:
    """What the nd2 package reads from the file itself."""
    with nd2.ND2File(path) as f:
        frames = np.asarray(f.asarray())
        times = [
            f.frame_metadata(i).channels[0].time.relativeTimeMs for i in range(f.sizes.get("T", 1))
        ]
        return {
            "sizes": dict(f.sizes),
            "frames": frames,
            "pixel": f.voxel_size().x,
            "channels": tuple(c.channel.name for c in f.metadata.channels),
            "interval": (times[-1] - times[0]) / 1000 / max(len(times) - 1, 1),
        }


def _ome_calibration(path: Path) -> dict:
    import bioio

    image = bioio.BioImage(path)
    pixels = image.ome_metadata.images[0].pixels
    return {
        "pixel": image.physical_pixel_sizes.X,
        "interval": pixels.time_increment,
        "channels": [str(c) for c in image.channel_names],
        "dims": image.dims,
    }


def test_a_nikon_time_lapse_is_read_with_its_calibration_compressed_and_verified(
    tmp_path, nd2_files, capsys
):
    path = nd2_files["timelapse"]
    truth = _nd2_truth(path)
    assert formats.claims(path)
    scene = formats.describe(path)[0]
    assert (scene.sizes["T"], scene.sizes["Y"], scene.sizes["X"]) == truth["frames"].shape
    assert scene.channel_names == truth["channels"]
    assert scene.metadata["pixel_size_x"] == pytest.approx(truth["pixel"])
    assert scene.metadata["space_unit"] == "µm" and scene.metadata["time_unit"] == "s"
    # no set period ("no delay" loop): the measured one, between first and last frame
    assert scene.metadata["time_interval"] == pytest.approx(truth["interval"], rel=1e-6)
    movie = formats.open_selected(path)
    for t in (0, 26, scene.sizes["T"] - 1):
        assert np.array_equal(movie[t], truth["frames"][t])
    assert np.array_equal(open_movie(path)[5], truth["frames"][5])  # one plane: a movie

    out = tmp_path / "gfp.flowroi"
    code, stdout, err = _run(capsys, "compress", path, out, "--quiet", "--compression-rate", "4")
    assert code == 0, err
    assert err.strip() == ""  # no reader warnings or tracebacks on the terminal
    container = open_container(out)
    physical = container.manifest["input"]["physical"]
    assert physical["channel_name"] == truth["channels"][0]
    assert physical["time_interval"] == pytest.approx(truth["interval"], rel=1e-6)
    decoded = np.asarray(container.frames(), float)
    assert decoded.shape == truth["frames"].shape
    error = np.abs(decoded - truth["frames"]).mean()
    assert error < np.abs(truth["frames"] - truth["frames"].mean()).mean() / 4
    code, stdout, err = _run(capsys, "verify", out, "--quiet")
    assert code == 0 and "all frames match" in stdout, err
    decoded_file = tmp_path / "gfp.ome.tif"
    assert _run(capsys, "decompress", out, decoded_file, "--quiet")[0] == 0
    back = _ome_calibration(decoded_file)
    assert back["pixel"] == pytest.approx(truth["pixel"])
    assert back["interval"] == pytest.approx(truth["interval"], rel=1e-6)
    assert back["channels"] == list(truth["channels"])


def test_a_nikon_two_channel_image_gives_one_container_per_channel(tmp_path, nd2_files, capsys):
    path = nd2_files["cerevisiae"]
    truth = _nd2_truth(path)
    scene = formats.describe(path)[0]
    assert scene.channel_names == truth["channels"] and scene.sizes["C"] == len(truth["channels"])
    assert scene.metadata["pixel_size_x"] == pytest.approx(truth["pixel"])
    assert scene.metadata["acquisition"]["objective"]  # the objective travels with the planes
    out = tmp_path / "out"
    # one frame per channel: no motion to find, so plain JPEG2000 (the CLI says so otherwise)
    code, stdout, err = _run(
        capsys, "compress", path, out, "--quiet", "--plain", "--compression-rate", "4"
    )
    assert code == 0, err
    wells = [w["well"] for w in json.loads(stdout)["wells"]]
    assert len(wells) == len(truth["channels"])
    for c, name in enumerate(wells):
        container = open_container(out / f"{name}.flowroi")
        assert container.manifest["input"]["physical"]["channel_name"] == truth["channels"][c]
        decoded = np.asarray(container.read_frame(0), float)
        original = truth["frames"][c].astype(float)
        other = truth["frames"][1 - c].astype(float)
        assert np.abs(decoded - original).mean() < np.abs(decoded - other).mean() / 4
        assert _run(capsys, "verify", out / f"{name}.flowroi", "--quiet")[0] == 0
    decoded_file = tmp_path / "both.ome.tif"
    code, _, err = _run(capsys, "decompress", out, decoded_file, "--quiet")
    assert code == 0, err
    back = _ome_calibration(decoded_file)
    assert back["channels"] == list(truth["channels"]) and back["dims"].C == 2
    assert back["pixel"] == pytest.approx(truth["pixel"])


# --- Leica LIF ----------------------------------------------------------------------------------

T, Y, X = 6, 80, 96
LIF_CHANNELS = [LifChannel("TL-PH", "", "Gray"), LifChannel("FLUO", "GFP", "Green")]


@pytest.fixture(scope="module")
def lif_file(tmp_path_factory):
    """Two stage positions, each (T, C, Y, X) uint16: phase contrast and GFP where cells are."""
    scenes = {}
    for s, name in enumerate(["Position 1", "Position 2"]):
        movie = moving_discs(n_frames=T, shape=(Y, X), n_cells=3, seed=5 + s)
        phase = movie.frames.astype(np.uint16) * 16
        fluo = np.where(movie.cells, 2600, 180).astype(np.uint16)
        scenes[name] = np.stack([phase, fluo], axis=1)
    path = write_lif(
        tmp_path_factory.mktemp("lif") / "2025-03-14 HeLa.lif",
        scenes,
        LIF_CHANNELS,
        pixel_size_um=0.65,
        interval_s=30.0,
    )
    return path, scenes


def test_the_lif_writer_writes_what_liffile_reads_back(lif_file):
    path, scenes = lif_file
    with liffile.LifFile(path) as lif:
        assert [image.name for image in lif.images] == list(scenes)
        for image in lif.images:
            assert image.dims == ("T", "C", "Y", "X")
            assert np.array_equal(image.asarray(), scenes[image.name])
            assert np.diff(image.coords["T"]).mean() == pytest.approx(30.0)


def test_a_leica_lif_with_positions_and_channels_is_read_compressed_and_verified(
    tmp_path, lif_file, capsys
):
    path, scenes = lif_file
    assert formats.claims(path)
    described = formats.describe(path)
    assert [s.name for s in described] == list(scenes)
    info = described[1]
    assert info.sizes == {"T": T, "C": 2, "Z": 1, "Y": Y, "X": X}
    assert len(info.channel_names) == 2 and "TL-PH" in info.channel_names[0]
    assert "GFP" in info.channel_names[1]
    meta = info.metadata
    assert meta["pixel_size_x"] == pytest.approx(0.65) and meta["space_unit"] == "µm"
    assert meta["time_interval"] == pytest.approx(30.0) and meta["time_unit"] == "s"
    # the project folder is no plate row: no made-up well position
    assert "position" not in meta.get("acquisition", {})
    movie = formats.open_selected(path, scene="Position 2", channel=1)
    assert np.array_equal(movie[4], scenes["Position 2"][4, 1])

    out = tmp_path / "out"
    # 8:1, which every channel's 80 x 96 frames fill: the GFP channel's flat frames code to at
    # most ~1,215 bytes, under 6:1's budget since the stored mask replaced OpenJPEG's comment
    # (format 3), and the unmet rate's warning would be the only line on stderr
    code, stdout, err = _run(capsys, "compress", path, out, "--quiet", "--compression-rate", "8")
    assert code == 0, err
    # bioio-lif's warnings about fields a file lacks stay off the terminal: only our own notes
    # (a small well whose guard finds no cells says so) reach it
    assert all(line.startswith("flowroi: note: ") for line in err.strip().splitlines()), err
    wells = [w["well"] for w in json.loads(stdout)["wells"]]
    assert len(wells) == 4 and wells[0].startswith("Position_1_c0")
    phase = open_container(out / f"{wells[2]}.flowroi")
    gfp = open_container(out / f"{wells[3]}.flowroi")
    physical = gfp.manifest["input"]["physical"]
    assert physical["scene"] == "Position 2" and physical["channel_index"] == 1
    assert physical["time_interval"] == pytest.approx(30.0)
    assert physical["pixel_size_y"] == pytest.approx(0.65)
    # fluorescence inherited the phase channel's RoI
    assert gfp.settings.motion_roi is False and wells[2] in gfp.manifest["input"]["roi_mask"]
    for t in range(T):
        assert not (phase.read_mask(t) & ~gfp.read_mask(t)).any()
    decoded = np.asarray(gfp.read_frame(3), float)
    original = scenes["Position 2"][3].astype(float)
    assert np.abs(decoded - original[1]).mean() < np.abs(decoded - original[0]).mean() / 4
    for name in wells:
        assert _run(capsys, "verify", out / f"{name}.flowroi", "--quiet")[0] == 0
    decoded_file = tmp_path / "decoded.ome.tif"
    code, _, err = _run(capsys, "decompress", out, decoded_file, "--quiet")
    assert code == 0, err
    with tifffile.TiffFile(decoded_file) as tif:
        assert [s.axes for s in tif.series] == ["TCYX", "TCYX"]
        assert (
            np.abs(
                tif.series[1].asarray().astype(float) - scenes["Position 2"].astype(float)
            ).mean()
            < 400
        )
    back = _ome_calibration(decoded_file)
    assert back["pixel"] == pytest.approx(0.65) and back["interval"] == pytest.approx(30.0)
