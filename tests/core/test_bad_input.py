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

    return write_tiff(folder, name, moving_discs(n_frames=n, shape=(48, 64), n_cells=2).frames,
                metadata={"axes": "TYX"})


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
    "folder with no frames": (lambda p: (p / "empty").mkdir() or p / "empty", None, [],
                              "holds no frames"),
    "frames of different sizes": (lambda p: _frames(p, "sizes", [(16, 16), (16, 16), (16, 20)]),
                                  None, [], "same size"),
    "single 2-D image": (lambda p: write_tiff(p, "one.tif", np.full((16, 24), 7, np.uint8)), None, [],
                         "at least two frames.*--plain"),
    "single PNG image": (lambda p: _frames(p, "one", [(16, 16)]) / "f0.png", None, [],
                         "at least two frames.*--plain"),
    "unsupported axes": (lambda p: write_tiff(p, "czyx.tif", np.zeros((2, 3, 8, 8), np.uint8),
                                        metadata={"axes": "CZYX"}), None, [], "axes"),
    "RGB frames": (lambda p: write_tiff(p, "rgb.tif", np.zeros((3, 8, 8, 3), np.uint8),
                                  photometric="rgb"), None, [], "RGB"),
    "RGB PNG frames": (lambda p: _frames(p, "rgb", [(8, 8, 3)] * 3), None, [], "RGB"),
    "NaN in float data": (_nan, None, [], "NaN"),
    "inf in float data": (_inf, None, [], "infinite"),
    "unsupported pixel type": (lambda p: write_tiff(p, "i32.tif", np.zeros((3, 8, 8), np.int32)), None,
                               [], "pixel type"),
    "text file named .tif": (lambda p: _fake(p, "fake.tif"), None, [], "Cannot read"),
    "text file named .png among frames": (_fake_png_in_folder, None, [], "Cannot read frame"),
    "not a movie file": (lambda p: _fake(p, "notes.txt"), None, [], "not a TIFF"),
    "truncated TIFF": (_truncated, None, [], "truncated"),
    "out-of-range setting": (_movie, None, ["--roi-threshold", "1.5"], "roi threshold must be"),
    "setting of the wrong kind": (_movie, None, ["--compression-rate", "fast"], "invalid float"),
    "zero workers": (_movie, None, ["--workers", "0"], "--workers"),
    "output inside the input folder": (lambda p: _frames(p, "frames", [(16, 16)] * 3),
                                       lambda p: p / "frames" / "out", [], "inside the input"),
    "output that exists (a compressed stack)": (_movie, _container, [], "--overwrite"),
    "output that exists (other files)": (_movie, _existing, [], "not a FlowRoI container"),
    "output that is a file": (_movie, lambda p: _fake(p, "out.flowroi"), [], "is a file"),
    "two wells with one name": (lambda p: [_movie(p, "A1.tif"), _movie(p / "x", "A1.tif")]
                                if (p / "x").mkdir() is None else None, None, [],
                                "both called A1"),
}


def snapshot(folder):
    return {p: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_exits_2_with_one_line_and_leaves_nothing(tmp_path, case):
    make_input, make_output, options, words = CASES[case]
    inputs = make_input(tmp_path)
    inputs = inputs if isinstance(inputs, list) else [inputs]
    output = make_output(tmp_path) if make_output else tmp_path / "out"
    before = snapshot(tmp_path)
    result = subprocess.run([sys.executable, "-m", "napari_flowroi.cli", "compress",
                             *map(str, inputs), str(output), "--quiet", *options],
                            capture_output=True, text=True)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    import re

    assert re.search(words, lines[0]), lines[0]
    assert snapshot(tmp_path) == before  # input untouched, nothing written, nothing removed
