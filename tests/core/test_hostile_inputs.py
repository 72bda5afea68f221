"""A demanding user's first hour: odd and hostile inputs through the entry points a user meets
(`flowroi compress / roi / tune / info / verify / decompress`, run in-process through
``cli.main``, and the Python API). Each either works, and its output verifies and decodes to the
input's shape and pixel type, or ends with ONE line (``flowroi: error: ...``, exit 2) and leaves
nothing behind that a later run could take for a complete result.

tests/core/test_bad_input.py runs a further set of refusals as subprocesses; the cases here are
in-process so the whole sweep stays fast. Every movie is a few frames of 32x40 made in tmp_path.
"""

from __future__ import annotations

import errno
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_flowroi.cli import main
from napari_flowroi.synthetic import moving_discs

from ..conftest import write_tiff

FRAMES = moving_discs(n_frames=4, shape=(32, 40), n_cells=2).frames  # uint8 (4, 32, 40)


def cli(capsys, *argv) -> tuple[int, list[str], str]:
    """Run `flowroi argv...` in this process: (exit status, non-empty stderr lines, stdout)."""
    status = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return status, [line for line in captured.err.splitlines() if line.strip()], captured.out


def assert_one_line_error(status, err, words, code=2):
    assert status == code, err
    assert len(err) == 1 and err[0].startswith("flowroi: error: "), err
    assert re.search(words, err[0]), err[0]


def files_under(folder: Path) -> dict:
    return {p: p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def assert_output_verifies_and_decodes(capsys, output: Path, shape, dtype, tmp_path):
    """`verify` passes and `decompress` gives the input's shape and pixel type."""
    status, err, _ = cli(capsys, "verify", output, "--quiet")
    assert status == 0, err
    decoded = tmp_path / f"{output.name}-decoded.tif"
    status, err, _ = cli(capsys, "decompress", output, decoded, "--quiet")
    assert status == 0, err
    from napari_flowroi.container import open_container

    assert tuple(open_container(output).shape) == tuple(shape)
    data = tifffile.imread(decoded)  # a one-frame TIFF reads as (Y, X)
    assert data.reshape(-1, *data.shape[-2:]).shape == tuple(shape)
    assert data.dtype == np.dtype(dtype).newbyteorder("=")
    return data


# --- movies: each works (output verifies, same shape and type) or is refused in one line ---------


def _with(frames, change):
    frames = frames.copy()
    change(frames)
    return frames


def _float_with(value):
    def make(folder):
        data = FRAMES.astype(np.float32)
        data[2, 4, 4] = value
        return write_tiff(folder, "f.tif", data)

    return make


def _truncated(folder):
    path = write_tiff(folder, "cut.tif", np.tile(FRAMES, (3, 1, 1)), metadata={"axes": "TYX"})
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def _frame_folder(name, frames):
    def make(folder):
        path = folder / name
        path.mkdir()
        for t, frame in enumerate(frames):
            tifffile.imwrite(path / f"frame_{t:02d}.tif", frame, photometric="minisblack")
        return path

    return make


def _tiff(data, **kwargs):
    return lambda folder: write_tiff(folder, "movie.tif", data, **kwargs)


#: name -> (make the input in a folder, None when it must work or the words of its one-line error)
MOVIES = {
    "1 frame": (_tiff(FRAMES[:1], metadata={"axes": "TYX"}), r"one frame.*--plain"),
    "2 frames (the guard checks both)": (_tiff(FRAMES[:2]), None),
    "3 frames (the guard checks frame 1)": (_tiff(FRAMES[:3]), None),
    "all zero": (_tiff(np.zeros_like(FRAMES)), None),
    "constant uint16": (_tiff(np.full(FRAMES.shape, 4000, np.uint16)), None),
    "one saturated frame": (_tiff(_with(FRAMES, lambda f: f.__setitem__(2, 255))), None),
    "one black frame": (_tiff(_with(FRAMES, lambda f: f.__setitem__(1, 0))), None),
    "uint16": (_tiff(FRAMES.astype(np.uint16) * 250), None),
    "float32 with negative values": (_tiff(FRAMES.astype(np.float32) - 100.5), None),
    "float64": (_tiff(FRAMES.astype(np.float64) / 255), None),
    "float32 with NaN": (_float_with(np.nan), r"Frame 2 .*NaN or infinite"),
    "float32 with inf": (_float_with(np.inf), r"Frame 2 .*NaN or infinite"),
    "int16": (_tiff(FRAMES.astype(np.int16) - 50), r"pixel type int16.*Convert"),
    "uint32": (_tiff(FRAMES.astype(np.uint32)), r"pixel type uint32"),
    "bool": (_tiff(FRAMES > 100), r"binary"),
    "RGB": (_tiff(np.stack([FRAMES] * 3, -1), photometric="rgb"), r"RGB"),
    "RGBA": (
        _tiff(np.stack([FRAMES] * 4, -1), photometric="rgb", extrasamples=["unassalpha"]),
        r"RGB",
    ),
    "2-D single image": (_tiff(FRAMES[0]), r"one frame.*--plain"),
    # an ImageJ hyperstack with time is read plane by plane (test below); one without time has
    # no movie to take: how to get one from Fiji, the OME-TIFF route or a split
    "ZCYX ImageJ hyperstack (no time)": (
        _tiff(np.stack([FRAMES, FRAMES], 1), imagej=True, metadata={"axes": "ZCYX"}),
        (
            r"hyperstack with axes ZCYX.*OME-TIFF.*--channel / --z.*Reduce Dimensionality.*"
            r"z-slices are time points.*Re-order Hyperstack"
        ),
    ),
    "1x1 frames": (_tiff(FRAMES[:, :1, :1].copy(), metadata={"axes": "TYX"}), None),
    # tifffile stores (T, Y, 1) as one Y-by-T page: this was read as a single image (one frame)
    "1x1 frames saved without axis names": (_tiff(FRAMES[:, :1, :1].copy()), None),
    "32x1 frames saved without axis names": (_tiff(FRAMES[:, :, :1].copy()), None),
    "3x5 frames": (_tiff(FRAMES[:, :3, :5].copy()), None),
    "16x16 frames": (_tiff(FRAMES[:, :16, :16].copy()), None),
    "1xN frames": (_tiff(FRAMES[:, :1, :].copy()), None),
    # the guard refuses its tiled half-discs (one line, tested elsewhere): compressed anyway
    "8x2000 frames": (_tiff(np.tile(FRAMES[:, :8], (1, 1, 50))), None, "--force"),
    "truncated TIFF": (_truncated, r"truncated"),
    "text file named .tif": (
        lambda folder: (folder / "fake.tif").write_text("no image") and folder / "fake.tif",
        r"Cannot read .*really a TIFF",
    ),
    "empty folder": (lambda folder: (folder / "e").mkdir() or folder / "e", r"holds no frames"),
    "folder of frames of different sizes": (
        _frame_folder("sizes", [FRAMES[0], FRAMES[1], FRAMES[2, :, :30]]),
        r"same size",
    ),
    "folder of frames of different pixel types": (
        _frame_folder("types", [FRAMES[0], FRAMES[1], FRAMES[2].astype(np.uint16)]),
        r"one pixel type",
    ),
    # a two-page TIFF among single frames: said as such, not as "2x32 pixels"
    "folder with a stack among its frames": (
        _frame_folder("stack", [FRAMES[0], FRAMES[1], FRAMES[2:4]]),
        r"shape \(2, 32, 40\), not one 2-D image",
    ),
}


@pytest.mark.parametrize("case", list(MOVIES))
def test_compress_works_and_verifies_or_refuses_in_one_line(tmp_path, capsys, case):
    make, words, *options = MOVIES[case]
    source = make(tmp_path)
    output = tmp_path / "out.flowroi"
    before = files_under(tmp_path)
    status, err, out = cli(capsys, "compress", source, output, "--quiet", *options)
    if words is not None:
        assert_one_line_error(status, err, words)
        assert files_under(tmp_path) == before  # input untouched, nothing written
        return
    assert status == 0 and "Traceback" not in "".join(err), err
    shape = tifffile.imread(source).shape
    if len(shape) == 2:  # tifffile's own reading of a (T, Y, 1) stack saved without axis names
        shape = tifffile.TiffFile(source).shaped_metadata[0]["shape"]
    assert json.loads(out)["frames"] == shape[0]
    assert_output_verifies_and_decodes(
        capsys, output, shape, tifffile.imread(source).dtype, tmp_path
    )


@pytest.mark.parametrize(
    "case", ["1 frame", "2-D single image", "1x1 frames saved without axis names", "float64"]
)
def test_plain_jpeg2000_codes_what_flowroi_cannot_and_keeps_the_shape(tmp_path, capsys, case):
    source = MOVIES[case][0](tmp_path)
    output = tmp_path / "plain.flowroi"
    status, err, _ = cli(capsys, "compress", source, output, "--quiet", "--plain")
    assert status == 0, err
    with tifffile.TiffFile(source) as tif:
        shape = tuple(tif.shaped_metadata[0]["shape"]) if tif.is_shaped else tif.series[0].shape
    shape = shape if len(shape) == 3 else (1, *shape)
    assert_output_verifies_and_decodes(
        capsys, output, shape, FRAMES.dtype if case != "float64" else np.float64, tmp_path
    )


def test_tiny_and_flat_movies_say_the_roi_is_empty_and_code_like_plain(tmp_path, capsys):
    source = write_tiff(tmp_path, "zero.tif", np.zeros((3, 16, 16), np.uint8))
    status, err, out = cli(capsys, "compress", source, tmp_path / "z.flowroi", "--quiet")
    assert status == 0 and json.loads(out)["mean_roi_fraction"] == 0
    assert any("RoI empty" in line for line in err), err


@pytest.mark.parametrize("case", ["3 frames (the guard checks frame 1)", "1x1 frames", "RGB"])
def test_roi_and_tune_take_the_same_movies(tmp_path, capsys, case):
    make, words = MOVIES[case][:2]
    source = make(tmp_path)
    masks = tmp_path / "roi.tif"
    status, err, _ = cli(capsys, "roi", source, masks, "--quiet")
    if words is not None:
        assert_one_line_error(status, err, words)
        assert not masks.exists()
    else:
        assert status == 0, err
        assert tifffile.imread(masks).shape[-2:] == tifffile.imread(source).shape[-2:]
    status, err, out = cli(capsys, "tune", source, "--quiet")
    if words is not None:
        assert_one_line_error(status, err, words)
    else:
        # strict JSON (a 1x1 movie's gain is not a number: printed as null, not NaN)
        suggestion = json.loads(out, parse_constant=lambda name: pytest.fail(f"{name} in JSON"))
        assert status == 0 and "suggested" in suggestion, err


#: Two planes that tell each other apart: the movie and its negative.
PLANES = np.stack([FRAMES, 255 - FRAMES], 1)


def _planes_file(folder: Path, axes: str, kind: str) -> Path:
    """PLANES saved with `axes` as an OME-TIFF, or as Fiji saves a hyperstack (ImageJ TIFF)."""
    if kind == "ome":
        return write_tiff(folder, f"{axes}.ome.tif", PLANES, metadata={"axes": axes})
    return write_tiff(folder, f"{axes}.tif", PLANES, imagej=True, metadata={"axes": axes})


@pytest.mark.parametrize("kind", ["ome", "imagej"])
def test_tiffs_with_z_or_channels_compress_every_plane(tmp_path, capsys, kind):
    for axes in ("TZYX", "TCYX"):
        source = _planes_file(tmp_path, axes, kind)
        output = tmp_path / f"{axes}-out"
        status, err, out = cli(capsys, "compress", source, output, "--quiet")
        assert status == 0, err
        assert len(json.loads(out)["wells"]) == 2
        status, err, _ = cli(capsys, "verify", output, "--quiet")
        assert status == 0, err
        # each plane's stack holds that plane, not the other (the negative is far from it)
        for plane, name in enumerate(sorted(p.name for p in output.glob("*.flowroi"))):
            decoded = tmp_path / f"{axes}-{plane}.tif"
            assert cli(capsys, "decompress", output / name, decoded, "--quiet")[0] == 0
            data = tifffile.imread(decoded).reshape(FRAMES.shape).astype(float)
            errors = [np.abs(data - PLANES[:, p]).mean() for p in (0, 1)]
            assert errors[plane] < 0.2 * errors[1 - plane], (name, errors)


@pytest.mark.parametrize("kind", ["ome", "imagej"])
def test_roi_and_tune_look_at_one_plane_of_a_file(tmp_path, capsys, kind):
    """`flowroi roi` takes --channel / --scene / --z as tune does (it pointed to them and refused
    them) and, unless one is named, the first plane: the channel whose motion gives every
    channel's RoI when compress codes the file."""
    source = _planes_file(tmp_path, "TCYX", kind)
    masks = {}
    for plane in (0, 1):
        alone = write_tiff(tmp_path, f"plane{plane}.tif", PLANES[:, plane].copy())
        assert cli(capsys, "roi", alone, tmp_path / f"alone{plane}.tif", "--quiet")[0] == 0
        masks[plane] = tifffile.imread(tmp_path / f"alone{plane}.tif")
    status, err, _ = cli(capsys, "roi", source, tmp_path / "first.tif", "--quiet")
    assert status == 0, err
    assert np.array_equal(tifffile.imread(tmp_path / "first.tif"), masks[0])
    status, err, _ = cli(
        capsys, "roi", source, tmp_path / "second.tif", "--channel", "1", "--quiet"
    )
    assert status == 0, err
    assert np.array_equal(tifffile.imread(tmp_path / "second.tif"), masks[1])
    assert not np.array_equal(masks[0], masks[1])  # the two planes' RoIs differ
    status, err, out = cli(capsys, "tune", source, "--channel", "1", "--quiet")
    assert status == 0 and "suggested" in json.loads(out), err
    # a plain stack has no planes to pick: refused in one line, nothing written
    status, err, _ = cli(
        capsys, "roi", tmp_path / "plane0.tif", tmp_path / "x.tif", "--channel", "1", "--quiet"
    )
    assert_one_line_error(status, err, r"drop the selection")
    assert not (tmp_path / "x.tif").exists()


def test_a_big_endian_array_is_the_same_movie_as_a_native_one(tmp_path):
    from napari_flowroi import compress_movie, open_container, roi_masks

    native = FRAMES.astype(np.uint16) * 200
    swapped = native.astype(">u2")  # as np.fromfile(..., ">u2") or a FITS file gives it
    assert (roi_masks(swapped) == roi_masks(native)).all()
    compress_movie(swapped, tmp_path / "be.flowroi")
    stack = open_container(tmp_path / "be.flowroi")
    assert stack.dtype == np.uint16 and stack.frames().shape == native.shape


# --- outputs ---------------------------------------------------------------------------------------


def _movie(folder):
    return write_tiff(folder, "movie.tif", FRAMES, metadata={"axes": "TYX"})


def _refuse_writes_under(monkeypatch, folder: Path):
    """Simulate a read-only folder (the tests run as root, where chmod does not stop a write)."""
    real_mkdir, real_open = Path.mkdir, open

    def mkdir(self, *args, **kwargs):
        if folder in Path(self).absolute().parents or Path(self).absolute() == folder:
            raise PermissionError(errno.EACCES, "Permission denied", str(self))
        return real_mkdir(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)
    import builtins

    def opener(file, mode="r", *args, **kwargs):
        if "w" in str(mode) and folder in Path(str(file)).absolute().parents:
            raise PermissionError(errno.EACCES, "Permission denied", str(file))
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", opener)


@pytest.mark.parametrize(
    "where, words",
    [
        ("existing folder of other files", r"not a FlowRoI container"),
        ("a file", r"is a file"),
        ("inside the input folder", r"inside the input"),
        ("read-only folder", r"Cannot write .*Permission denied"),
    ],
)
def test_compress_refuses_an_output_it_must_not_write_and_leaves_it_as_it_was(
    tmp_path, capsys, monkeypatch, where, words
):
    source = _movie(tmp_path)
    if where == "existing folder of other files":
        output = tmp_path / "notes"
        output.mkdir()
        (output / "notes.txt").write_text("someone's")
    elif where == "a file":
        output = tmp_path / "out.flowroi"
        output.write_text("x")
    elif where == "inside the input folder":
        source = _frame_folder("frames", list(FRAMES))(tmp_path)
        output = source / "out"
    else:
        (tmp_path / "ro").mkdir()
        output = tmp_path / "ro" / "out.flowroi"
        _refuse_writes_under(monkeypatch, tmp_path / "ro")
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, "compress", source, output, "--quiet", "--overwrite")
    assert_one_line_error(status, err, words)
    monkeypatch.undo()
    assert files_under(tmp_path) == before
    assert not (tmp_path / "ro" / "out.flowroi").exists()


def test_roi_masks_cut_off_by_a_full_disk_leave_no_file(tmp_path, capsys, monkeypatch):
    """`flowroi roi` wrote the TIFF under its final name: a full disk left a cut-off mask file
    there, which a rerun then refused to replace (and a user could open as the masks)."""
    source = _movie(tmp_path)
    real = tifffile.imwrite

    def disk_full(path, data, **kwargs):
        real(path, data[:1], **kwargs)  # part of the file is on disk when the disk fills up
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(tifffile, "imwrite", disk_full)
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, "roi", source, tmp_path / "roi.tif", "--quiet")
    assert_one_line_error(status, err, r"No space left")
    assert files_under(tmp_path) == before  # neither roi.tif nor a temporary file
    monkeypatch.undo()
    status, err, _ = cli(capsys, "roi", source, tmp_path / "roi.tif", "--quiet")
    assert status == 0 and tifffile.imread(tmp_path / "roi.tif").shape == FRAMES.shape


@pytest.mark.parametrize("frames", [3, 4])
def test_a_three_or_four_frame_cut_saved_by_tifffile_says_how_to_save_it_as_frames(
    tmp_path, capsys, frames
):
    """tifffile.imwrite(path, movie[:3]) stores one RGB image with separate planes (its default
    for a (3, Y, X) array): the refusal said to save one channel, which a user holding three
    frames cannot act on."""
    import warnings

    movie = np.concatenate([FRAMES, FRAMES])[:frames]
    path = tmp_path / "cut.tif"
    with warnings.catch_warnings():  # tifffile's own notice that it stores such data as RGB
        warnings.simplefilter("ignore", DeprecationWarning)
        tifffile.imwrite(path, movie)
    status, err, _ = cli(capsys, "compress", path, tmp_path / "out", "--quiet")
    assert_one_line_error(status, err, rf"{frames} frames.*photometric='minisblack'")
    assert not (tmp_path / "out").exists()
    rgb = write_tiff(tmp_path, "rgb.tif", np.stack([FRAMES] * 3, -1), photometric="rgb")
    status, err, _ = cli(capsys, "compress", rgb, tmp_path / "out", "--quiet")
    assert_one_line_error(status, err, r"RGB\(A\)")
    assert "photometric" not in err[0]  # real colour frames: only the advice to keep a channel


# --- RoI masks, presets, settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "mask, words",
    [
        (np.ones((4, 30, 40), np.uint8), r"shape \(4, 30, 40\), the movie \(4, 32, 40\)"),
        (np.ones((3, 32, 40), np.uint8), r"shape \(3, 32, 40\), the movie \(4, 32, 40\)"),
        (np.ones((6, 32, 40), np.uint8), r"shape \(6, 32, 40\), the movie \(4, 32, 40\)"),
        (np.ones((32, 40), np.uint8), r"shape \(1, 32, 40\)"),
        (np.ones((4, 30, 40), bool), r"shape \(4, 30, 40\), the movie \(4, 32, 40\)"),
        (np.ones((3, 32, 40), np.int32), r"shape \(3, 32, 40\), the movie \(4, 32, 40\)"),
    ],
    ids=["other size", "fewer frames", "more frames", "one 2-D mask", "bool", "int32"],
)
@pytest.mark.parametrize("command", ["compress", "roi"])
def test_a_roi_mask_that_does_not_fit_is_refused_in_one_line(
    tmp_path, capsys, command, mask, words
):
    """`flowroi roi` with masks of fewer frames than the movie ended in an IndexError traceback,
    and with more frames went on silently (compress refused both)."""
    source = _movie(tmp_path)
    masks = write_tiff(tmp_path, "mask.tif", mask)
    output = tmp_path / ("out.flowroi" if command == "compress" else "roi.tif")
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, command, source, output, "--quiet", "--roi-mask", masks)
    assert_one_line_error(status, err, words)
    assert files_under(tmp_path) == before


def test_roi_masks_refuses_user_masks_of_another_length_before_any_work():
    from napari_flowroi import roi_masks
    from napari_flowroi.errors import InputError

    with pytest.raises(InputError, match="has shape \\(2, 32, 40\\)"):
        roi_masks(FRAMES, extra_roi=np.ones((2, 32, 40), np.uint8))


def test_a_float_roi_mask_of_the_right_shape_is_protected(tmp_path, capsys):
    source = _movie(tmp_path)
    masks = write_tiff(tmp_path, "mask.tif", np.ones(FRAMES.shape, np.float32))
    status, err, _ = cli(
        capsys, "roi", source, tmp_path / "roi.tif", "--quiet", "--roi-mask", masks
    )
    assert status == 0, err
    assert (tifffile.imread(tmp_path / "roi.tif") == 255).all()


@pytest.mark.parametrize("dtype", [bool, np.int32, np.uint32, np.int64])
def test_bool_and_integer_label_roi_masks_are_protected(tmp_path, capsys, dtype):
    """Masks saved from numpy (bool) and labels as segmentation tools write them (StarDist int32,
    scikit-image int64, uint32) were refused as movies to compress ("a binary movie ... would
    blur it", "pixel type int32; FlowRoI compresses uint8, uint16 and float movies")."""
    import pickle

    from napari_flowroi.container import open_container

    source = _movie(tmp_path)
    mask = np.zeros(FRAMES.shape, dtype)
    mask[:, :, :20] = True if dtype is bool else 70000  # above uint16: a label, not a grey level
    masks = write_tiff(tmp_path, "mask.tif", mask)
    status, err, _ = cli(
        capsys, "roi", source, tmp_path / "roi.tif", "--quiet", "--roi-mask", masks
    )
    assert status == 0, err
    assert (tifffile.imread(tmp_path / "roi.tif")[:, :, :20] == 255).all()
    output = tmp_path / "out.flowroi"
    status, err, out = cli(capsys, "compress", source, output, "--quiet", "--roi-mask", masks)
    assert status == 0, err
    stack = open_container(output)
    assert stack.manifest["input"]["roi_mask"] == str(masks)
    assert all(stack.read_mask(t)[:, :20].all() for t in range(len(FRAMES)))
    # dask workers get the mask file by path and open it themselves
    from napari_flowroi.readers import MaskFile

    moved = pickle.loads(pickle.dumps(MaskFile(masks)))
    assert moved.shape == FRAMES.shape and (moved[1] != 0).sum() == 20 * FRAMES.shape[1]


def test_a_roi_mask_inside_the_output_is_refused_before_anything_is_written(tmp_path, capsys):
    """compress gets the mask as a readers.MaskFile, not a path: the output-on-input check the
    path had in compress_movie is made by the command line."""
    source = _movie(tmp_path)
    output = tmp_path / "out.flowroi"
    output.mkdir()
    masks = write_tiff(output, "mask.tif", np.ones(FRAMES.shape, bool))
    before = files_under(tmp_path)
    status, err, _ = cli(
        capsys, "compress", source, output, "--quiet", "--overwrite", "--roi-mask", masks
    )
    assert_one_line_error(status, err, r"holds the input")
    assert files_under(tmp_path) == before


@pytest.mark.parametrize(
    "content, words",
    [
        ("{not json", r"Cannot read settings preset"),
        ("", r"Cannot read settings preset"),
        ("[1, 2]", r"JSON object"),
        ('{"fancy_setting": 3}', r"Unknown setting.*fancy_setting"),
        ('{"compression_rate": "16"}', r"compression rate must be a number"),
        ('{"compression_rate": NaN}', r"finite"),
        ('{"compression_rate": 1e400}', r"finite"),
        ('{"adjacent_factor": 1.5}', r"whole number"),
        ('{"roi_rule": "nonsense"}', r"one of"),
    ],
)
@pytest.mark.parametrize("command", ["compress", "tune"])
def test_a_bad_preset_is_refused_in_one_line(tmp_path, capsys, command, content, words):
    preset = tmp_path / "preset.json"
    preset.write_text(content)
    out = [tmp_path / "out.flowroi"] if command == "compress" else []
    status, err, _ = cli(capsys, command, _movie(tmp_path), *out, "--quiet", "--preset", preset)
    assert_one_line_error(status, err, words)
    assert not (tmp_path / "out.flowroi").exists()


@pytest.mark.parametrize(
    "option, value",
    [
        ("--compression-rate", "1"),
        ("--compression-rate", "nan"),
        ("--compression-rate", "1e9"),
        ("--scaling-factor", "11"),
        ("--adjacent-factor", "-1"),
        ("--roi-threshold", "0"),
        ("--coverage-target", "2"),
        ("--target-psnr", "-5"),
    ],
)
def test_a_setting_out_of_range_is_refused_in_one_line(tmp_path, capsys, option, value):
    status, err, _ = cli(
        capsys, "compress", _movie(tmp_path), tmp_path / "o", "--quiet", option, value
    )
    assert_one_line_error(status, err, option[2:].replace("-", " ") + " must be")
    assert not (tmp_path / "o").exists()


def test_settings_given_as_a_dict_to_the_api_are_refused_in_one_line(tmp_path):
    from napari_flowroi import compress_movie
    from napari_flowroi.errors import SettingsError

    with pytest.raises(SettingsError, match="must be a FlowRoISettings"):
        compress_movie(FRAMES, tmp_path / "o", {"compression_rate": 8})
    assert not (tmp_path / "o").exists()


# --- damaged containers ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from napari_flowroi.batch import compress_movie

    out = tmp_path_factory.mktemp("stack") / "movie.flowroi"
    compress_movie(FRAMES, out)
    return out


def _damaged(stack, tmp_path, how):
    import shutil

    copy = tmp_path / "damaged.flowroi"
    shutil.copytree(stack, copy)
    frame = copy / "frames" / "frame_000002.jp2"
    if how == "missing frame":
        frame.unlink()
    elif how == "truncated frame":
        frame.write_bytes(frame.read_bytes()[:50])
    else:  # one byte changed: same size, another checksum
        data = bytearray(frame.read_bytes())
        data[len(data) // 2] ^= 0xFF
        frame.write_bytes(bytes(data))
    return copy


@pytest.mark.parametrize("how", ["missing frame", "truncated frame", "flipped byte"])
def test_a_damaged_frame_is_named_by_info_verify_and_decompress(stack, tmp_path, capsys, how):
    """`info` said nothing of a missing or cut frame file (it reads the manifest only)."""
    damaged = _damaged(stack, tmp_path, how)
    for where in (damaged, tmp_path):  # the stack, and a folder of stacks (one JSON line each)
        status, err, out = cli(capsys, "info", where)
        assert status == 0 and json.loads(out)["shape"] == list(FRAMES.shape)
        if how == "flipped byte":  # same size: only verify's checksums see it
            assert err == []
        else:
            assert len(err) == 1 and re.match(
                r"flowroi: warning: 1 of 4 frame files of .*damaged.flowroi .*frame 2\)", err[0]
            )
    status, err, _ = cli(capsys, "verify", damaged, "--quiet")
    assert status == 1 and len(err) == 1 and "frame 2" in err[0], err
    decoded = tmp_path / "decoded.tif"
    status, err, _ = cli(capsys, "decompress", damaged, decoded, "--quiet")
    assert_one_line_error(status, err, r"Frame 2 .*flowroi verify")
    assert not decoded.exists() and not list(tmp_path.glob(".*partial"))


@pytest.mark.parametrize("command", ["info", "verify", "decompress"])
def test_a_container_that_does_not_exist_is_said_so(tmp_path, capsys, command):
    extra = [tmp_path / "d.tif"] if command == "decompress" else []
    status, err, _ = cli(capsys, command, tmp_path / "nowhere.flowroi", *extra)
    assert_one_line_error(status, err, r"nowhere.flowroi does not exist")


# --- cancellation ----------------------------------------------------------------------------------


def _cancel_after(frames):
    event = threading.Event()

    def progress(done, total):
        if done >= frames:
            event.set()

    return event, progress


def test_a_cancelled_run_is_never_taken_for_a_complete_stack_and_resumes(tmp_path, capsys):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.errors import CancelledError

    movie = write_tiff(tmp_path, "long.tif", np.tile(FRAMES, (3, 1, 1)), metadata={"axes": "TYX"})
    output = tmp_path / "cut.flowroi"
    cancel, progress = _cancel_after(3)
    with pytest.raises(CancelledError):
        compress_movie(movie, output, progress=progress, cancel=cancel, chunk_frames=2)
    assert not (output / "manifest.json").exists()
    for argv in (["info", output], ["verify", output], ["decompress", output, tmp_path / "d.tif"]):
        status, err, _ = cli(capsys, *argv)
        assert_one_line_error(status, err, r"interrupted run")
    assert not (tmp_path / "d.tif").exists()
    status, err, out = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert status == 0 and json.loads(out)["resumed_frames"] >= 3, err
    assert_output_verifies_and_decodes(capsys, output, (12, 32, 40), np.uint8, tmp_path)


def test_ctrl_c_in_compress_is_one_line_exit_130_and_a_rerun_finishes(
    tmp_path, capsys, monkeypatch
):
    import napari_flowroi.batch as batch

    movie = _movie(tmp_path)
    output = tmp_path / "ctrl-c.flowroi"
    real, calls = batch.encode_frame, []

    def interrupted(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "encode_frame", interrupted)
    status, err, _ = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert status == 130 and len(err) == 1 and "rerun the same command" in err[0], err
    assert not (output / "manifest.json").exists()
    monkeypatch.undo()
    status, err, _ = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert status == 0, err
    assert_output_verifies_and_decodes(capsys, output, FRAMES.shape, np.uint8, tmp_path)


def test_a_rerun_onto_a_finished_stack_with_damaged_frame_files_is_refused_not_complete(
    tmp_path, capsys
):
    """The rerun read 'already complete' from the manifest alone: exit 0 and
    `already_complete: true` over a stack whose frame files were missing or cut, which `verify`
    then failed. It is refused in one line naming them; --overwrite compresses it again."""
    movie = _movie(tmp_path)
    output = tmp_path / "out.flowroi"
    status, err, _ = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert status == 0, err
    status, err, out = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert status == 0 and json.loads(out)["already_complete"], err  # intact: a quiet success
    (output / "frames" / "frame_000001.jp2").unlink()
    cut = output / "frames" / "frame_000002.jp2"
    cut.write_bytes(cut.read_bytes()[:100])
    status, err, out = cli(capsys, "compress", movie, output, "--quiet", "--force")
    assert_one_line_error(
        status, err, r"2 of 4 frame files missing or of the wrong size \(frame 1, 2\).*--overwrite"
    )
    assert out == ""
    status, err, _ = cli(capsys, "compress", movie, output, "--quiet", "--force", "--overwrite")
    assert status == 0, err
    assert_output_verifies_and_decodes(capsys, output, FRAMES.shape, np.uint8, tmp_path)


def test_decompressing_a_plate_of_mixed_pixel_types_names_each_series_type(tmp_path, capsys):
    """Wells of uint8 and uint16 decompress into one TIFF with a series each; the line printed one
    `dtype` (the first's) and series without theirs, so A02 read as uint8."""
    a01 = write_tiff(tmp_path, "A01.tif", FRAMES)
    a02 = write_tiff(tmp_path, "A02.tif", FRAMES.astype(np.uint16) * 257)
    plate = tmp_path / "plate"
    status, err, _ = cli(capsys, "compress", a01, a02, plate, "--quiet", "--force")
    assert status == 0, err
    status, err, out = cli(capsys, "decompress", plate, tmp_path / "plate.tif", "--quiet")
    assert status == 0, err
    printed = json.loads(out)
    assert [(s["name"], s["dtype"]) for s in printed["series"]] == [
        ("A01.flowroi", "uint8"),
        ("A02.flowroi", "uint16"),
    ]
    assert printed["dtype"] == "uint8"  # the first series', as documented
    with tifffile.TiffFile(tmp_path / "plate.tif") as tif:
        assert [str(s.dtype) for s in tif.series] == ["uint8", "uint16"]


@pytest.mark.parametrize("command", ["tune", "roi"])
def test_a_plate_folder_given_to_tune_or_roi_says_to_give_one_movie(tmp_path, capsys, command):
    """A folder of TIFF stacks (a plate) read as a folder of frames ended in 'has shape
    (2, 4, 32, 40) ... Split channels or z-planes into separate movies first'."""
    plate = tmp_path / "plate"
    plate.mkdir()
    for well in ("A01", "A02"):
        write_tiff(plate, f"{well}.tif", FRAMES)
    args = [plate] if command == "tune" else [plate, tmp_path / "roi.tif"]
    status, err, _ = cli(capsys, command, *args, "--quiet")
    assert_one_line_error(status, err, r"holds stacks, not single frames.*plate.*A01\.tif")
    assert "Split channels" not in err[0]
    assert not (tmp_path / "roi.tif").exists()


@pytest.mark.parametrize("name", ["masks.png", "decoded.jpg", "noextension"])
@pytest.mark.parametrize("command", ["roi", "decompress"])
def test_roi_and_decompress_refuse_a_name_that_is_not_a_tiffs(tmp_path, capsys, command, name):
    """`flowroi roi movie.tif masks.png` wrote a TIFF named .png (viewers then fail to open it as
    a PNG); the same for decompress."""
    movie = _movie(tmp_path)
    source = movie
    if command == "decompress":
        source = tmp_path / "c.flowroi"
        status, err, _ = cli(capsys, "compress", movie, source, "--quiet", "--force")
        assert status == 0, err
    out = tmp_path / "out"
    out.mkdir()
    status, err, _ = cli(capsys, command, source, out / name, "--quiet")
    assert_one_line_error(status, err, r"written as a TIFF; give a name ending in \.tif")
    assert list(out.iterdir()) == []
    status, err, _ = cli(capsys, command, source, out / "ok.TIFF", "--quiet")
    assert status == 0 and tifffile.imread(out / "ok.TIFF").shape == FRAMES.shape, err


@pytest.mark.parametrize("command", ["compress", "roi"])
def test_a_roi_mask_with_plain_jpeg2000_is_refused_by_roi_as_by_compress(tmp_path, capsys, command):
    """compress refused --plain with --roi-mask; roi wrote all-zero masks and exit 0, so the
    masks it showed were not what compress would do with the same options (nothing)."""
    source = _movie(tmp_path)
    masks = write_tiff(tmp_path, "mask.tif", np.ones(FRAMES.shape, np.uint8))
    output = tmp_path / ("out.flowroi" if command == "compress" else "roi.tif")
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, command, source, output, "--quiet", "--plain", "--roi-mask", masks)
    assert_one_line_error(status, err, r"RoI mask was given with plain JPEG2000")
    assert files_under(tmp_path) == before


@pytest.mark.parametrize("name", ["small.tif", "small.ome.TIFF"])
def test_compress_refuses_an_output_named_like_a_tiff(tmp_path, capsys, name):
    """`flowroi compress movie.tif small.tif` made a folder named small.tif (a container of JP2
    frames), which every tool, and the next plate run over that folder, takes for a TIFF."""
    source = _movie(tmp_path)
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, "compress", source, tmp_path / name, "--quiet", "--force")
    assert_one_line_error(status, err, r"compress writes a folder.*not a TIFF.*\.flowroi")
    assert files_under(tmp_path) == before and not (tmp_path / name).exists()


@pytest.mark.parametrize("command", ["roi", "decompress", "tune"])
def test_ctrl_c_outside_compress_says_nothing_was_written_not_resume(
    command, tmp_path, capsys, monkeypatch
):
    """Only `compress` resumes: Ctrl-C in `roi`, `decompress` or `tune --save` must not promise
    a resume (a rerun starts again), and must leave nothing behind."""
    import napari_flowroi.cli as cli_module

    movie = _movie(tmp_path)
    if command == "decompress":
        status, err, _ = cli(
            capsys, "compress", movie, tmp_path / "c.flowroi", "--quiet", "--force"
        )
        assert status == 0, err
    out = tmp_path / "out"
    out.mkdir()
    argv = {
        "roi": ["roi", movie, out / "roi.tif"],
        "decompress": ["decompress", tmp_path / "c.flowroi", out / "d.tif"],
        "tune": ["tune", movie, "--save", out / "preset.json"],
    }[command]
    calls = []

    def interrupted(self, done, total):
        calls.append(done)
        if len(calls) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(cli_module._StderrProgress, "__call__", interrupted)
    status, err, stdout = cli(capsys, *argv)
    assert status == 130 and len(err) == 1, err
    assert "resume" not in err[0] and "nothing was written" in err[0], err
    assert stdout == "" and list(out.iterdir()) == []


def test_cancelled_roi_masks_and_decompress_write_nothing(stack, tmp_path):
    from napari_flowroi.batch import write_roi_masks
    from napari_flowroi.container import decompress
    from napari_flowroi.errors import CancelledError

    cancel, progress = _cancel_after(1)
    with pytest.raises(CancelledError):
        write_roi_masks(FRAMES, tmp_path / "roi.tif", progress=progress, cancel=cancel)
    cancel, progress = _cancel_after(2)
    with pytest.raises(CancelledError):
        decompress(stack, tmp_path / "d.tif", progress=progress, cancel=cancel)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("plate", [False, True], ids=["one movie", "a plate"])
def test_a_bad_frame_found_half_way_leaves_no_output_folder(tmp_path, capsys, plate):
    """The missed-cell check is skipped (--force), so the NaN of the last frame is found while
    coding: the containers begun are removed, and (a plate) so was not the empty plate folder
    the run had made for them."""
    bad = np.tile(FRAMES, (2, 1, 1)).astype(np.float32)
    bad[7, 3, 3] = np.nan
    if plate:
        wells = tmp_path / "plate"
        wells.mkdir()
        write_tiff(wells, "A1.tif", np.tile(FRAMES, (2, 1, 1)))
        write_tiff(wells, "A2.tif", bad)
        source = wells
    else:
        source = write_tiff(tmp_path, "movie.tif", bad)
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, "compress", source, tmp_path / "out", "--quiet", "--force")
    assert_one_line_error(status, err, r"Frame 7 .*NaN")
    assert not (tmp_path / "out").exists() and files_under(tmp_path) == before


@pytest.mark.parametrize("n_frames, checked", [(2, [0, 1]), (3, [1]), (4, [1, 2])])
def test_short_movies_are_checked_on_the_frames_the_guard_rule_names(
    tmp_path, capsys, n_frames, checked
):
    """The check before a batch measures frames between the first and the last; a two-frame
    movie has none between, so both are measured (tune reports the frames it measured)."""
    source = write_tiff(tmp_path, "short.tif", FRAMES[:n_frames], metadata={"axes": "TYX"})
    status, err, out = cli(capsys, "tune", source, "--quiet")
    assert status == 0, err
    assert json.loads(out)["frames"] == checked


def test_a_bad_frame_in_a_later_channel_leaves_no_stack_that_reads_as_complete(tmp_path, capsys):
    """The motion channel is coded first; a NaN in the second channel's last frame left the first
    channel's finished stack behind (no summary.json), which `info`, `verify` and `decompress`
    then read as the whole file with one channel."""
    data = np.stack([FRAMES, FRAMES], 1).astype(np.float32)
    data[3, 1, 2, 2] = np.nan
    source = write_tiff(tmp_path, "two.ome.tif", data, metadata={"axes": "TCYX"})
    before = files_under(tmp_path)
    status, err, _ = cli(capsys, "compress", source, tmp_path / "out", "--quiet", "--force")
    assert_one_line_error(status, err, r"Frame 3 .*channel.*NaN")
    assert not (tmp_path / "out").exists() and files_under(tmp_path) == before


def test_a_folder_of_stacks_with_an_interrupted_one_is_not_decompressed_as_complete(
    tmp_path, capsys
):
    """decompress took the complete stacks of the folder and left the interrupted one out: a
    TIFF of one well of two, exit 0."""
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.errors import CancelledError

    plate = tmp_path / "plate"
    compress_movie(FRAMES, plate / "A1.flowroi")
    cancel, progress = _cancel_after(2)
    with pytest.raises(CancelledError):
        compress_movie(np.tile(FRAMES, (3, 1, 1)), plate / "A2.flowroi", progress=progress,
                       cancel=cancel, chunk_frames=2)  # fmt: skip
    decoded = tmp_path / "plate.tif"
    status, err, _ = cli(capsys, "decompress", plate, decoded, "--quiet")
    assert_one_line_error(status, err, r"A2.flowroi is incomplete; .*not a complete run")
    assert not decoded.exists() and not list(tmp_path.glob(".*partial"))
    status, err, _ = cli(capsys, "verify", plate, "--quiet")
    assert status == 1 and any("A2.flowroi: incomplete" in line for line in err), err


def test_a_run_stopped_between_the_channels_is_named_incomplete_and_a_rerun_finishes(
    tmp_path, capsys, monkeypatch
):
    """The motion channel is coded first; a run stopped before the second channel began left a
    folder holding the first channel's complete stack only, which `info`, `verify` and
    `decompress` took for the whole file."""
    import napari_flowroi.batch as batch

    source = write_tiff(
        tmp_path, "two.ome.tif", np.stack([FRAMES, FRAMES], 1), metadata={"axes": "TCYX"}
    )
    output = tmp_path / "out"
    real, calls = batch.compress_jobs, []

    def stopped_before_the_second_phase(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(batch, "compress_jobs", stopped_before_the_second_phase)
    status, err, _ = cli(capsys, "compress", source, output, "--quiet", "--force")
    assert status == 130, err
    monkeypatch.undo()
    status, err, _ = cli(capsys, "info", output)
    assert status == 2 and any("c1" in line and "not a complete" in line for line in err), err
    status, err, _ = cli(capsys, "verify", output, "--quiet")
    assert status == 1, err
    status, err, _ = cli(capsys, "decompress", output, tmp_path / "d.tif", "--quiet")
    assert_one_line_error(status, err, r"c1.*not a complete run")
    status, err, out = cli(capsys, "compress", source, output, "--quiet", "--force")
    assert status == 0 and len(json.loads(out)["wells"]) == 2, err
    status, err, _ = cli(capsys, "verify", output, "--quiet")
    assert status == 0, err


def test_a_frame_that_is_a_broken_link_is_not_left_out_silently(tmp_path, capsys):
    """A frame folder whose f03.tif links to a file that is gone was compressed as a movie one
    frame short, exit 0."""
    folder = _frame_folder("frames", list(FRAMES[:3]))(tmp_path)
    (folder / "frame_03.tif").symlink_to(tmp_path / "gone.tif")
    status, err, _ = cli(capsys, "compress", folder, tmp_path / "out", "--quiet")
    assert_one_line_error(status, err, r"frame_03.tif .*link to .*gone.tif, which does not exist")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("factor", [1e300, 1e-300])
def test_float64_values_float32_cannot_hold_give_the_same_roi(factor):
    # the frames were cast to float32 before the stretch: 1e300 became inf and 1e-300 zero, and
    # the RoI came out empty with a screen of numpy warnings
    import warnings

    from napari_flowroi import roi_masks

    movie = moving_discs(n_frames=4, shape=(64, 80), n_cells=2).frames.astype(np.float64)
    expected = roi_masks(movie / 255)
    assert expected.any()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow or invalid-value warning
        assert np.array_equal(roi_masks(movie / 255 * factor), expected)


@pytest.mark.parametrize("workers", [0, 1_000_000])
def test_tune_checks_its_workers_as_compress_does(tmp_path, capsys, workers):
    # tune took --workers 100000 while compress refused it
    source = write_tiff(tmp_path, "movie.tif", FRAMES)
    for command in ("tune", "compress"):
        out = [] if command == "tune" else [tmp_path / "out.flowroi"]
        status, err, _ = cli(capsys, command, source, *out, "--workers", workers, "--quiet")
        assert_one_line_error(status, err, "at least 1" if workers < 1 else "far more than")


def test_the_python_api_takes_bool_masks_by_path_and_refuses_them_with_plain(tmp_path):
    # batch.opened_masks: compress_movie and roi_masks open a mask path as masks (bool, labels),
    # as the command line does, and refuse masks with plain JPEG2000 alike
    from napari_flowroi import FlowRoISettings, compress_movie, roi_masks
    from napari_flowroi.errors import InputError

    source = _movie(tmp_path)
    mask = np.zeros(FRAMES.shape, bool)
    mask[:, :, :20] = True
    masks = write_tiff(tmp_path, "mask.tif", mask)
    assert roi_masks(source, extra_roi=masks)[:, :, :20].all()
    summary = compress_movie(source, tmp_path / "out.flowroi", extra_roi=masks)
    assert summary.frames == len(FRAMES)
    with pytest.raises(InputError, match="plain JPEG2000"):
        roi_masks(source, FlowRoISettings(plain=True), extra_roi=masks)


@pytest.mark.parametrize("workers", [0, -1, 2.5, True, "2"])
def test_the_python_api_refuses_a_number_of_workers_that_is_not_one_or_more(tmp_path, workers):
    # the threads ran max(1, int(workers)) of them: 0, -1 and 2.5 went through silently
    from napari_flowroi import compress_movie, compress_movies
    from napari_flowroi.errors import SettingsError

    source = _movie(tmp_path)
    with pytest.raises(SettingsError, match="workers must be a whole number"):
        compress_movie(source, tmp_path / "out.flowroi", workers=workers)
    with pytest.raises(SettingsError, match="workers must be a whole number"):
        compress_movies([source], tmp_path / "plate", workers=workers)
    with pytest.raises(SettingsError, match="chunk_frames must be a whole number"):
        compress_movie(source, tmp_path / "out.flowroi", chunk_frames=0)
    assert not (tmp_path / "out.flowroi").exists() and not (tmp_path / "plate").exists()
