"""Portable coding: frames coded and decoded in memory through Pillow's OpenJPEG, with no
temporary file, no glymur and no library look-up patched, and the same results as the codec
that went through glymur and scratch files before."""

import builtins
import io
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_flowroi import codec
from napari_flowroi.metrics import psnr
from napari_flowroi.settings import FlowRoISettings

SAMPLES = Path(codec.__file__).parents[1] / "sample_data"

#: Measured with the previous codec (glymur 0.14.8 writing and reading files, with Pillow 13's
#: OpenJPEG 2.5.4), RoI = the sample's reference cells, default settings: (sample, frame, rate,
#: PSNR inside the cells with FlowRoI, FlowRoI's achieved rate, the same for plain JPEG2000).
#: The new path wrote byte-identical files (same SHA-256) when these were taken.
PREVIOUS_CODEC = [
    ("hsc_brightfield", 0, 8.0, 53.0100, 7.9990, 45.7911, 8.0017),
    ("hsc_brightfield", 0, 32.0, 36.5611, 32.0195, 36.4763, 32.1334),
    ("hsc_brightfield", 11, 8.0, 51.9794, 8.0127, 45.5644, 8.0147),
    ("hsc_brightfield", 11, 32.0, 35.5352, 31.9415, 35.4535, 31.9415),
    ("hela_nuclei", 0, 8.0, 99.3283, 7.9951, 86.2274, 8.0232),
    ("hela_nuclei", 0, 32.0, 73.4387, 32.0993, 73.5828, 32.0052),
    ("hela_nuclei", 7, 8.0, 96.1139, 8.0225, 85.2569, 8.0320),
    ("hela_nuclei", 7, 32.0, 72.5202, 31.9636, 72.6015, 31.5026),
]


def _sample(name):
    return tifffile.imread(SAMPLES / f"{name}.tif"), tifffile.imread(SAMPLES / f"{name}_cells.tif")


@pytest.mark.parametrize("case", PREVIOUS_CODEC, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]:g}")
def test_cell_psnr_and_rate_match_the_previous_codec_on_the_shipped_samples(case):
    name, t, rate, roi_db, roi_rate, plain_db, plain_rate = case
    movie, cells = _sample(name)
    frame, where = movie[t], cells[t] > 0
    assert frame.dtype == (np.uint8 if name.startswith("hsc") else np.uint16)
    # the priority's own path, as the previous codec coded it (the opt-in fall-back to plain,
    # settings.plain_fallback, stays off)
    flowroi = codec.encode_frame(frame, where, FlowRoISettings(), rate=rate)
    plain = codec.encode_plain(frame, rate=rate)
    assert psnr(frame, codec.decode_frame(plain), where) == pytest.approx(plain_db, abs=0.1)
    assert plain.compression_rate == pytest.approx(plain_rate, rel=0.005)
    # format 3 stores the mask in place of OpenJPEG's comment instead of a box after it: the
    # image of a FlowRoI frame has more of the same budget, so its cells are no worse than the
    # previous codec's (and its rate as close to the request)
    assert psnr(frame, codec.decode_frame(flowroi), where) >= roi_db - 0.02
    assert flowroi.compression_rate == pytest.approx(roi_rate, rel=0.01)
    for encoded in (flowroi, plain):
        assert encoded.compression_rate == pytest.approx(rate, rel=0.05)  # the promise


def test_frames_are_coded_and_decoded_without_touching_a_file(monkeypatch):
    frames = [
        _sample("hsc_brightfield")[0][2, 100:196, 60:140],
        _sample("hela_nuclei")[0][2, :64, :72],
    ]
    mask = np.zeros((96, 80), bool)
    mask[10:40, 20:50] = True
    codec.decode_frame(codec.encode_plain(frames[0], rate=4))  # plugins imported beforehand

    def refuse(*args, **kwargs):
        raise AssertionError(f"the codec opened a file: {args[:1]}")

    for module, name in (
        (builtins, "open"),
        (io, "open"),
        (os, "open"),
        (tempfile, "mkstemp"),
        (tempfile, "NamedTemporaryFile"),
        (tempfile, "TemporaryFile"),
    ):
        monkeypatch.setattr(module, name, refuse)
    for frame in frames:
        roi = mask if frame.shape == mask.shape else None
        encoded = codec.encode_frame(frame, roi, rate=6)
        decoded = codec.decode_frame(encoded)
        assert decoded.dtype == frame.dtype and decoded.shape == frame.shape
        assert psnr(frame, decoded) > 20
    assert codec.decode_jp2(codec.encode_jp2(frames[1], 1.0)).dtype == np.uint16


def test_the_codec_needs_no_glymur_and_patches_no_library_lookup():
    script = textwrap.dedent("""
        import ctypes.util, sys
        sys.modules["glymur"] = None  # importing glymur now fails
        find_library = ctypes.util.find_library
        import numpy as np
        from napari_flowroi import codec
        frame = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
        out = codec.decode_frame(codec.encode_plain(frame, rate=2))
        assert out.shape == (64, 64) and out.dtype == np.uint8
        assert ctypes.util.find_library is find_library
        print(codec.openjpeg_version())
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(".")[0] == "2"  # OpenJPEG 2.x


def test_the_jp2_files_open_in_other_readers():
    imagecodecs = pytest.importorskip("imagecodecs")
    movie, cells = _sample("hela_nuclei")
    encoded = codec.encode_frame(movie[3], cells[3] > 0, rate=16)
    ours = codec.decode_frame(encoded)
    assert np.array_equal(imagecodecs.jpeg2k_decode(encoded.jp2), ours)
    assert np.array_equal(codec.read_jp2_file(_write(encoded.jp2)), ours)


def _write(data):
    path = Path(tempfile.mkdtemp()) / "frame.jp2"
    path.write_bytes(data)
    return path


def test_damaged_and_foreign_codestreams_are_refused():
    jp2 = codec.encode_jp2(_sample("hsc_brightfield")[0][0], 4)
    with pytest.raises(OSError):  # the headers read, the codestream cut short
        codec.decode_jp2(jp2[: len(jp2) // 2])
    with pytest.raises((OSError, SyntaxError)):  # cut inside the headers
        codec.decode_jp2(jp2[:120])
    with pytest.raises((OSError, SyntaxError, ValueError)):
        codec.decode_jp2(b"not a JPEG2000 file at all")
    from PIL import Image

    rgb = io.BytesIO()
    Image.new("RGB", (16, 16)).save(rgb, "JPEG2000")
    with pytest.raises(ValueError, match="one grey component"):
        codec.decode_jp2(rgb.getvalue())


OLD = Path(__file__).parents[1] / "data" / "written-by-0.2"


@pytest.mark.parametrize("name", ["discs-u16.flowroi", "discs-f32-plain.flowroi"])
def test_containers_written_by_the_glymur_codec_open_verify_and_decode_alike(name):
    """Written by napari-flowroi 0.2 (glymur, scratch files; make.py beside them), with the
    SHA-256 of every frame and mask that version decoded from them."""
    import hashlib
    import json

    from napari_flowroi.container import open_container, verify_container

    expected = json.loads((OLD / "expected.json").read_text())[name]
    container = open_container(OLD / name)
    assert verify_container(OLD / name) == []
    decoded = np.asarray(container.frames())
    assert [hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest() for f in decoded] == (
        expected["decoded_sha256"]
    )
    masks = [np.packbits(container.read_mask(t)).tobytes() for t in range(len(decoded))]
    assert [hashlib.sha256(m).hexdigest() for m in masks] == expected["mask_sha256"]
