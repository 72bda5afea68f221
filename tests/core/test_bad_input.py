"""Every bad input: exit status 2, one line naming the problem and the fix, no traceback, no output
left behind, the input untouched. Add a case here when you find a new one."""

import hashlib
import subprocess
import sys

import numpy as np
import pytest

from ..conftest import write_tiff


def _frames(folder, name, shapes):
    import cv2

    path = folder / name
    path.mkdir()
    for t, shape in enumerate(shapes):
        cv2.imwrite(str(path / f"f{t}.png"), np.full(shape, 40 * t, np.uint8))
    return path


def _movie(folder, name="movie.tif", n=4):
    from napari_flowroi.synthetic import moving_discs

    return write_tiff(
        folder,
        name,
        moving_discs(n_frames=n, shape=(48, 64), n_cells=2).frames,
        metadata={"axes": "TYX"},
    )


def _truncated(folder):
    path = _movie(folder, "cut.tif", n=6)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _nan(folder):
    data = np.random.default_rng(0).random((4, 32, 40)).astype(np.float32)
    data[2, 5, 5] = np.nan
    return write_tiff(folder, "nan.tif", data)


def _inf(folder):
    data = np.random.default_rng(0).random((4, 32, 40)).astype(np.float32)
    data[3, 1, 1] = np.inf
    return write_tiff(folder, "inf.tif", data)


def _fake_png_in_folder(folder):
    path = _frames(folder, "frames", [(16, 16)] * 3)
    (path / "f3.png").write_text("this is a text file, not a PNG")
    return path


def _fake(folder, name):
    path = folder / name
    path.write_text("not an image")
    return path


def _existing(folder):
    out = folder / "out"
    out.mkdir()
    (out / "notes.txt").write_text("someone's files")
    return out


def _container(folder):
    from napari_flowroi.batch import compress_movie

    out = folder / "done.flowroi"
    compress_movie(_movie(folder, "other.tif"), out)
    return out


# (input maker, output maker or None for tmp/out, extra options, words the message must hold)
CASES = {
    "missing path": (lambda p: p / "missing.tif", None, [], "does not exist"),
    "folder with no frames": (
        lambda p: (p / "empty").mkdir() or p / "empty",
        None,
        [],
        "holds no frames",
    ),
    "frames of different sizes": (
        lambda p: _frames(p, "sizes", [(16, 16), (16, 16), (16, 20)]),
        None,
        [],
        "same size",
    ),
    "single 2-D image": (
        lambda p: write_tiff(p, "one.tif", np.full((16, 24), 7, np.uint8)),
        None,
        [],
        "at least two frames.*--plain",
    ),
    "single PNG image": (
        lambda p: _frames(p, "one", [(16, 16)]) / "f0.png",
        None,
        [],
        "at least two frames.*--plain",
    ),
    "unsupported axes": (
        lambda p: write_tiff(
            p, "czyx.tif", np.zeros((2, 3, 8, 8), np.uint8), metadata={"axes": "CZYX"}
        ),
        None,
        [],
        "axes",
    ),
    "RGB frames": (
        lambda p: write_tiff(p, "rgb.tif", np.zeros((3, 8, 8, 3), np.uint8), photometric="rgb"),
        None,
        [],
        "RGB",
    ),
    "RGB PNG frames": (lambda p: _frames(p, "rgb", [(8, 8, 3)] * 3), None, [], "RGB"),
    "NaN in float data": (_nan, None, [], "NaN"),
    "inf in float data": (_inf, None, [], "infinite"),
    "unsupported pixel type": (
        lambda p: write_tiff(p, "i32.tif", np.zeros((3, 8, 8), np.int32)),
        None,
        [],
        "pixel type",
    ),
    "text file named .tif": (lambda p: _fake(p, "fake.tif"), None, [], "Cannot read"),
    "text file named .png among frames": (_fake_png_in_folder, None, [], "Cannot read frame"),
    "not a movie file": (lambda p: _fake(p, "notes.txt"), None, [], "not a TIFF"),
    "truncated TIFF": (_truncated, None, [], "truncated"),
    # tifffile logs "... contains no pages" for it: twice on the terminal above the error line
    # when the check for a multi-dimensional OME-TIFF opened it without collecting its complaints
    "TIFF header without pages": (
        lambda p: (p / "nopages.tif").write_bytes(b"II*\x00" + bytes(50)) and p / "nopages.tif",
        None,
        [],
        "Cannot read .*really a TIFF",
    ),
    "out-of-range setting": (_movie, None, ["--roi-threshold", "1.5"], "roi threshold must be"),
    "setting of the wrong kind": (_movie, None, ["--compression-rate", "fast"], "invalid float"),
    "zero workers": (_movie, None, ["--workers", "0"], "--workers"),
    "output inside the input folder": (
        lambda p: _frames(p, "frames", [(16, 16)] * 3),
        lambda p: p / "frames" / "out",
        [],
        "inside the input",
    ),
    "output that exists (a compressed stack)": (_movie, _container, [], "--overwrite"),
    "output that exists (other files)": (_movie, _existing, [], "not a FlowRoI container"),
    "output that is a file": (_movie, lambda p: _fake(p, "out.flowroi"), [], "is a file"),
    "two wells with one name": (
        lambda p: (
            [_movie(p, "A1.tif"), _movie(p / "x", "A1.tif")] if (p / "x").mkdir() is None else None
        ),
        None,
        [],
        "both called A1",
    ),
}


def snapshot(folder):
    return {
        p: hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(tmp_path, case):
    make_input, make_output, options, words = CASES[case]
    inputs = make_input(tmp_path)
    inputs = inputs if isinstance(inputs, list) else [inputs]
    output = make_output(tmp_path) if make_output else tmp_path / "out"
    before = snapshot(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_flowroi.cli",
            "compress",
            *map(str, inputs),
            str(output),
            "--quiet",
            *options,
        ],
        capture_output=True,
        text=True,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    import re

    assert re.search(words, lines[0]), lines[0]
    assert snapshot(tmp_path) == before  # input untouched, nothing written, nothing removed


def _huge_tiff(folder, side):
    """A two-page TIFF whose headers claim side x side pixels (its data is a few bytes)."""
    import struct

    path = folder / f"huge{side}.tif"
    entries = lambda strip: [  # noqa: E731
        (256, 4, side),
        (257, 4, side),
        (258, 3, 8),
        (259, 3, 1),
        (262, 3, 1),
        (273, 4, strip),
        (277, 3, 1),
        (278, 4, side),
        (279, 4, 4),
    ]
    data = bytearray(b"II*\x00" + struct.pack("<I", 8))
    offsets = []
    for _page in range(2):
        ifd = len(data)
        n = len(entries(0))
        strip = ifd + 2 + 12 * n + 4
        body = struct.pack("<H", n) + b"".join(
            struct.pack("<HHII", tag, kind, 1, value) for tag, kind, value in entries(strip)
        )
        offsets.append(ifd)
        data += body + b"\x00\x00\x00\x00" + b"\x01\x02\x03\x04"
    struct.pack_into("<I", data, offsets[0] + 2 + 12 * len(entries(0)), offsets[1])
    path.write_bytes(bytes(data))
    return path


def _preset(folder, content: bytes):
    path = folder / "preset.json"
    path.write_bytes(content)
    return path


def _link_to_container(folder):
    target = _container(folder)
    link = folder / "link.flowroi"
    link.symlink_to(target)
    return link


def _fifo(folder):
    import os

    path = folder / "pipe.tif"
    os.mkfifo(path)
    return path


MORE_CASES = {
    "TIFF header claiming 4294967295 x 4294967295 pixels": (
        lambda p: _huge_tiff(p, 4294967295),
        None,
        [],
        "pixels",
    ),
    "TIFF header claiming 100000 x 100000 pixels": (
        lambda p: _huge_tiff(p, 100000),
        None,
        [],
        "pixels",
    ),
    "bool movie": (
        lambda p: write_tiff(p, "masks.tif", np.ones((3, 8, 8), bool)),
        None,
        [],
        "binary",
    ),
    "preset that is not UTF-8": (_movie, None, ["--preset", "{p}/bad.json"], "Cannot read"),
    "preset with a 400-digit integer": (_movie, None, ["--preset", "{p}/big.json"], "finite"),
    "preset that is a folder": (_movie, None, ["--preset", "{p}"], "folder"),
    "output name of 300 characters": (_movie, lambda p: p / ("x" * 300), [], "too long"),
    "output that is a link to a container, with --overwrite": (
        _movie,
        _link_to_container,
        ["--overwrite"],
        "symbolic link",
    ),
    "output that holds the input": (
        lambda p: _frames(p, "frames", [(16, 16)] * 3),
        lambda p: p,
        ["--overwrite"],
        "holds the input|not a FlowRoI",
    ),
    "scheduler file that does not exist": (
        _movie,
        None,
        ["--scheduler", "{p}/nowhere.json"],
        "does not exist",
    ),
    "a named pipe called .tif": (_fifo, None, [], "not a regular file"),
    "a compressed stack as the input": (_container, None, [], "compressed stack, not a movie"),
    "a million local workers": (
        _movie,
        None,
        ["--workers", "1000000", "--threads"],
        "far more than",
    ),
}


@pytest.mark.parametrize("case", list(MORE_CASES))
def test_hostile_compress_input_exits_2_with_one_line_and_leaves_nothing(tmp_path, case):
    import re

    make_input, make_output, options, words = MORE_CASES[case]
    _preset(tmp_path, b"\xff\xfe{not utf-8").rename(tmp_path / "bad.json")
    _preset(tmp_path, b'{"adjacent_factor": ' + b"9" * 400 + b"}").rename(tmp_path / "big.json")
    inputs = make_input(tmp_path)
    output = make_output(tmp_path) if make_output else tmp_path / "out"
    options = [o.replace("{p}", str(tmp_path)) for o in options]
    before = snapshot(tmp_path)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "napari_flowroi.cli",
            "compress",
            str(inputs),
            str(output),
            "--quiet",
            *options,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert re.search(words, lines[0]), lines[0]
    assert snapshot(tmp_path) == before


def test_whole_number_settings_written_as_1_0_in_a_preset_are_taken(tmp_path, capsys):
    from napari_flowroi.cli import main

    preset = _preset(tmp_path, b'{"adjacent_factor": 1.0, "plain": true}')
    assert (
        main(
            [
                "compress",
                str(_movie(tmp_path)),
                str(tmp_path / "out"),
                "--quiet",
                "--preset",
                str(preset),
            ]
        )
        == 0
    )
    from napari_flowroi.container import open_container

    assert open_container(tmp_path / "out").manifest["settings"]["adjacent_factor"] == 1


def test_help_shows_percentages_as_written(capsys, monkeypatch):
    import dataclasses
    import types

    from napari_flowroi import cli
    from napari_flowroi.settings import FlowRoISettings

    # a setting whose help holds a per-cent sign, as help texts may ("60 %" once broke argparse)
    fields = FlowRoISettings.fields()
    patched = [
        dataclasses.field(
            default=f.default,
            metadata={**f.metadata, "help": f.metadata["help"] + " Keeps 60 % at 0.6."},
        )
        for f in fields
    ]
    for new, old in zip(patched, fields, strict=True):
        new.name, new.type = old.name, old.type
    monkeypatch.setattr(
        cli, "FlowRoISettings", types.SimpleNamespace(fields=lambda: tuple(patched))
    )
    with pytest.raises(SystemExit) as stop:
        cli.main(["compress", "--help"])
    assert stop.value.code == 0
    assert "60 % at 0.6" in " ".join(capsys.readouterr().out.split())


# --- damaged containers and the other commands -----------------------------------------------------


@pytest.fixture
def stack(tmp_path):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.settings import FlowRoISettings

    out = tmp_path / "stack"
    compress_movie(_movie(tmp_path), out, FlowRoISettings(plain=True, compression_rate=4))
    return out


def _manifest(stack, change):
    import json

    path = stack / "manifest.json"
    manifest = json.loads(path.read_text())
    path.write_text(json.dumps(change(manifest)))


DAMAGED_MANIFESTS = {
    "a JSON list": lambda m: [m],
    "a record index escaping the folder": lambda m: {
        **m,
        "frames": [{**r, "index": "../../escaped"} if r["index"] == 1 else r for r in m["frames"]],
    },
    "no frame records": lambda m: {**m, "frames": []},
    "a claimed 10**9 frames": lambda m: {**m, "shape": [10**9] + m["shape"][1:]},
    "a nonsense dtype": lambda m: {**m, "dtype": "complex1024"},
    "settings of the wrong kind": lambda m: {**m, "settings": {"roi_threshold": "high"}},
    "a value range on an integer movie": lambda m: {
        **m,
        "frames": [{**r, "value_range": [0, 1]} for r in m["frames"]],
    },
}


@pytest.mark.parametrize("case", list(DAMAGED_MANIFESTS))
def test_info_verify_and_decompress_refuse_a_damaged_manifest_in_one_line(
    stack, tmp_path, case, capsys
):
    from napari_flowroi.cli import main

    _manifest(stack, DAMAGED_MANIFESTS[case])
    for argv, status in (
        (["info", str(stack)], 2),
        (["verify", str(stack), "--quiet"], 1),
        (["decompress", str(stack), str(tmp_path / "d.tif"), "--quiet"], 2),
    ):
        assert main(argv) == status, argv
        err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
        assert len(err) == 1 and "manifest" in err[0], err
    assert not (tmp_path / "d.tif").exists() and not list(tmp_path.glob(".*partial"))


def _decompress_case(stack, tmp_path, case, monkeypatch):
    """Set up one way decompress can fail; return (output path, words of the message)."""
    import errno

    import tifffile

    out = tmp_path / "decoded.tif"
    if case == "a file in the output's path":
        (tmp_path / "notes.txt").write_text("a file where a folder is needed")
        return tmp_path / "notes.txt" / "sub" / "decoded.tif", "notes.txt is a file, not a folder"
    if case == "disk full in folders it created":
        out = tmp_path / "new" / "sub" / "decoded.tif"
    if case == "output is its own container":
        return stack, "inside the container"
    if case == "output inside the container":
        return stack / "frames" / "x.tif", "inside the container"
    if case == "a frame file missing":
        (stack / "frames" / "frame_000002.jp2").unlink()
        return out, "missing"
    if case in ("read-only output folder", "disk full", "disk full in folders it created"):
        real = tifffile.TiffWriter.write
        code = errno.EROFS if case == "read-only output folder" else errno.ENOSPC
        calls = []

        def failing(self, *args, **kwargs):
            calls.append(1)
            if len(calls) == 2:
                raise OSError(code, "simulated", str(out))
            return real(self, *args, **kwargs)

        monkeypatch.setattr(tifffile.TiffWriter, "write", failing)
        return out, "Cannot write|No space left"
    raise AssertionError(case)


@pytest.mark.parametrize(
    "case",
    [
        "a file in the output's path",
        "output is its own container",
        "output inside the container",
        "a frame file missing",
        "read-only output folder",
        "disk full",
        "disk full in folders it created",
    ],
)
def test_decompress_failures_are_one_line_and_leave_no_partial_file(
    stack, tmp_path, case, monkeypatch, capsys
):
    import re

    from napari_flowroi.cli import main

    output, words = _decompress_case(stack, tmp_path, case, monkeypatch)
    before, folders = snapshot(tmp_path), sorted(p for p in tmp_path.rglob("*") if p.is_dir())
    assert main(["decompress", str(stack), str(output), "--overwrite", "--quiet"]) == 2
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and re.search(words, err[0]), err
    assert "resume" not in err[0] and "frames are kept" not in err[0]  # a rerun starts again
    assert snapshot(tmp_path) == before  # no .partial, the container untouched
    # no folder made for the output is left (the missing ones are created to write into)
    assert sorted(p for p in tmp_path.rglob("*") if p.is_dir()) == folders


def test_roi_and_decompress_create_missing_output_folders_as_compress_does(tmp_path, capsys):
    """A facility's script writes `results/<date>/<well>...` without a mkdir before each command:
    compress always created its output's missing folders, roi and decompress refused them
    (docs/decisions.md)."""
    import tifffile

    from napari_flowroi.cli import main

    movie = _movie(tmp_path)
    stack = tmp_path / "a" / "b" / "movie.flowroi"
    masks = tmp_path / "c" / "d" / "masks.tif"
    decoded = tmp_path / "e" / "f" / "movie.tif"
    assert main(["compress", str(movie), str(stack), "--quiet", "--plain"]) == 0
    assert main(["roi", str(movie), str(masks), "--quiet"]) == 0
    assert main(["decompress", str(stack), str(decoded), "--quiet"]) == 0
    capsys.readouterr()
    assert tifffile.imread(masks).shape == tifffile.imread(movie).shape
    assert tifffile.imread(decoded).shape == tifffile.imread(movie).shape


def test_paths_with_undecodable_bytes_work_end_to_end(tmp_path):
    import os

    folder = os.fsencode(tmp_path)
    movie = _movie(tmp_path)
    stack = folder + b"/st\xffack"
    tiff = folder + b"/d\xfe.tif"
    for argv in (
        [b"compress", os.fsencode(movie), stack, b"--quiet", b"--plain"],
        [b"info", stack],
        [b"verify", stack, b"--quiet"],
        [b"decompress", stack, tiff],
    ):
        result = subprocess.run(
            [os.fsencode(sys.executable), b"-m", b"napari_flowroi.cli", *argv],
            capture_output=True,
            timeout=120,
        )
        assert result.returncode == 0 and b"Traceback" not in result.stderr, result.stderr
    assert os.path.exists(tiff) and not [n for n in os.listdir(folder) if n.endswith(b".partial")]


def test_decompress_never_replaces_a_device_or_pipe(stack, tmp_path, capsys):
    from napari_flowroi.cli import main

    pipe = _fifo(tmp_path)
    assert main(["decompress", str(stack), str(pipe), "--overwrite", "--quiet"]) == 2
    assert "not a regular file" in capsys.readouterr().err
    assert pipe.exists() and not pipe.is_file()
