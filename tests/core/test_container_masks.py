"""The stored RoI masks: the codestream's comment in each frame's JP2 file (format 3, the codec's
`_mask_box`), and format 2's box and format 1's PNG files (container/_masks.py), which must stay
readable."""

import io
import json

import numpy as np
import pytest

from napari_flowroi import codec
from napari_flowroi.batch import compress_movie
from napari_flowroi.codec import _mask_box
from napari_flowroi.container import _masks as masks
from napari_flowroi.container import (
    build_manifest,
    frame_name,
    manifest_file_bytes,
    mask_name,
    open_container,
    sha256,
    verify_container,
)
from napari_flowroi.settings import FlowRoISettings


def test_mask_box_is_small_and_covers_every_protected_pixel():
    mask = np.zeros((100, 130), bool)
    mask[17:43, 61:99] = True
    box = codec.encode_mask(mask)
    jp2 = codec.encode_jp2(np.zeros((100, 130), np.uint8), 10)
    restored = codec.decode_mask(codec.attach_mask(jp2, box), mask.shape)
    assert restored.shape == mask.shape
    assert not (mask & ~restored).any()
    assert restored.sum() < 2 * mask.sum() + 4 * codec.MASK_BLOCKS[0] * 100
    assert len(box) < 60
    # a frame without a box was coded plain (settings.plain_fallback): all of it at full priority
    assert codec.decode_mask(jp2, mask.shape).all()


def test_mask_grid_coarsens_to_fit_its_byte_share():
    rng = np.random.default_rng(0)
    mask = rng.random((512, 640)) < 0.003  # scattered specks cost many bytes on a fine grid
    fine, coarse = codec.encode_mask(mask), codec.encode_mask(mask, max_bytes=100)
    assert len(coarse) < len(fine) and len(coarse) <= 100
    jp2 = codec.encode_jp2(np.zeros((512, 640), np.uint8), 10)
    for box in (fine, coarse):
        assert not (mask & ~codec.decode_mask(codec.attach_mask(jp2, box), mask.shape)).any()


def _grid_by_blocks(mask, block):
    """Each block of `mask` one by one: set when any of its pixels is (the edge blocks partial)."""
    rows, cols = -(-mask.shape[0] // block), -(-mask.shape[1] // block)
    grid = np.zeros((rows, cols), bool)
    for r in range(rows):
        for c in range(cols):
            grid[r, c] = mask[r * block : (r + 1) * block, c * block : (c + 1) * block].any()
    return grid


@pytest.mark.parametrize("shape", [(64, 64), (100, 130), (257, 31), (1, 200), (33, 17)])
def test_the_block_grids_are_every_block_of_the_mask(shape):
    # the grids are made from the mask's bytes, and each coarser one from the finer one before
    # it: every block still reads what its own pixels hold, partial blocks at the edges included
    rng = np.random.default_rng(sum(shape))
    mask = rng.random(shape) < 0.002
    mask[-1, -1] = True  # a pixel in the last, partial block
    for block in codec.MASK_BLOCKS:
        expected = _grid_by_blocks(mask, block)
        assert np.array_equal(codec.block_grid(mask, block), expected)
        assert np.array_equal(codec.block_grid(mask.astype(np.uint8) * 7, block), expected)
        segments = _mask_box._segments(expected, block)
        # the budget of exactly this grid's segments, and one byte less than each finer grid's
        finer = [_mask_box._segments(_grid_by_blocks(mask, b), b) for b in codec.MASK_BLOCKS]
        fits = [len(s) for s in finer[: codec.MASK_BLOCKS.index(block)]]
        if all(len(segments) < n for n in fits):
            assert codec.encode_mask(mask, max_bytes=len(segments)) == segments


def test_mask_share_falls_with_the_rate():
    raw = 1_000_000
    low, high = codec.mask_budget(raw, 8), codec.mask_budget(raw, 64)
    assert low == pytest.approx(codec.MASK_SHARE * raw / 8)
    # at 64:1 the mask takes a smaller share of a smaller budget
    assert high / (raw / 64) < low / (raw / 8) / 4


def test_a_frame_with_its_mask_box_is_a_standard_jp2():
    imagecodecs = pytest.importorskip("imagecodecs")
    from PIL import Image

    from napari_flowroi.synthetic import moving_discs

    frame = moving_discs(n_frames=1, shape=(96, 128), noise=3.0, seed=2).frames[0]
    mask = np.zeros(frame.shape, bool)
    mask[20:60, 30:90] = True
    encoded = codec.encode_frame(frame, mask, FlowRoISettings(compression_rate=12))
    assert encoded.mask_bytes > 0 and codec.has_mask(encoded.jp2)
    ours = codec.decode_frame(encoded)
    assert np.array_equal(imagecodecs.jpeg2k_decode(encoded.jp2), ours)
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(encoded.jp2))), ours)
    assert not codec.has_mask(codec.encode_plain(frame, FlowRoISettings(compression_rate=12)).jp2)


def test_the_stored_mask_takes_the_place_of_openjpegs_comment():
    """Format 3: the grid is a binary comment of the codestream instead of OpenJPEG's version
    string, so a FlowRoI frame's side data costs less than plain coding's comment on a coarse
    grid, and the image is given the bytes left over."""
    from napari_flowroi.synthetic import moving_discs

    frame = moving_discs(n_frames=1, shape=(192, 256), noise=3.0, seed=4).frames[0]
    mask = np.zeros(frame.shape, bool)
    mask[40:120, 60:180] = True
    settings = FlowRoISettings(compression_rate=32)
    plain = codec.encode_plain(frame, settings).jp2
    encoded = codec.encode_frame(frame, mask, settings)
    assert b"Created by OpenJPEG" in plain and b"Created by OpenJPEG" not in encoded.jp2
    assert not codec.has_mask(plain)
    comment = codec.openjpeg_comment_bytes()
    assert comment > 20 and encoded.mask_bytes < comment
    start = encoded.jp2.index(b"\xff\x64")
    assert encoded.jp2[start + 4 : start + 6 + len(codec.MASK_TAG)] == b"\x00\x00" + (
        codec.MASK_TAG
    )
    restored = codec.decode_mask(encoded.jp2, mask.shape)
    assert not (mask & ~restored).any() and not restored.all()
    # the frame decodes as before: the comment is no part of the image
    assert codec.decode_jp2(codec.attach_mask(encoded.jp2, b"")).shape == frame.shape


def test_without_openjpegs_comment_the_mask_goes_before_the_first_tile_part():
    mask = np.zeros((100, 130), bool)
    mask[10:30, 40:90] = True
    bare = codec.attach_mask(codec.encode_jp2(np.zeros(mask.shape, np.uint8), 10), b"")
    assert b"\xff\x64" not in bare[: bare.index(b"\xff\x90")]
    jp2 = codec.attach_mask(bare, codec.encode_mask(mask))
    assert not (mask & ~codec.decode_mask(jp2, mask.shape)).any()
    assert codec.decode_jp2(jp2).shape == mask.shape


def test_a_damaged_main_header_is_an_error_not_a_frame_coded_plain():
    mask = np.ones((64, 80), bool)
    jp2 = codec.attach_mask(codec.encode_jp2(np.zeros(mask.shape, np.uint8), 10), b"")
    cut = jp2[: jp2.index(b"\xff\x52") + 6]  # the codestream ends inside its COD segment
    with pytest.raises(ValueError):
        codec.decode_mask(cut, mask.shape)


def _format_2_box(mask, block):
    """Format 2's box, built from its documented layout (docs/container.md)."""
    import struct
    import zlib

    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    bits = np.packbits(codec.block_grid(mask, block).ravel()).tobytes()
    payload = bytes([block.bit_length() - 1]) + packer.compress(bits) + packer.flush()
    return struct.pack(">I4s", 24 + len(payload), b"uuid") + codec.MASK_UUID + payload


def test_format_2_mask_boxes_still_read():
    mask = np.zeros((100, 130), bool)
    mask[17:43, 61:99] = True
    jp2 = codec.encode_jp2(np.zeros(mask.shape, np.uint8), 10) + _format_2_box(mask, 32)
    assert codec.has_mask(jp2) and _mask_box.mask_block_size(jp2) == 32
    assert np.array_equal(
        codec.decode_mask(jp2, mask.shape),
        codec.full_mask(codec.block_grid(mask, 32), 32, mask.shape),
    )


def test_a_grid_beyond_one_comment_continues_in_the_next():
    """A comment holds 65,531 bytes; a frame of 12,800 px sides on 16-px blocks needs more."""
    rng = np.random.default_rng(1)
    bits = rng.random((800, 800)) < 0.5  # does not deflate: 80,000 bytes packed
    segments = _mask_box._segments(bits, 16)
    assert segments.count(b"\x00\x00" + codec.MASK_TAG) == 2  # two tagged comments
    jp2 = codec.attach_mask(codec.encode_jp2(np.zeros((64, 64), np.uint8), 10), segments)
    payload = _mask_box._find_payload(jp2)
    assert payload[0] & 0x7F == 4 and payload[1:] == np.packbits(bits.ravel()).tobytes()


def _as_format_1(root):
    """Rewrite a container the way format 1 stored it: JP2 files without the stored mask, one
    PNG per frame in masks/, mask_bytes and mask_sha256 in the records."""
    manifest = json.loads((root / "manifest.json").read_text())
    shape = tuple(manifest["shape"][1:])
    (root / "masks").mkdir()
    for t, record in enumerate(manifest["frames"]):
        jp2 = (root / frame_name(t)).read_bytes()
        mask = codec.decode_mask(jp2, shape)
        bare = codec.attach_mask(jp2, b"")  # the codestream without its comment
        assert not codec.has_mask(bare)
        png = masks.encode_png_mask(mask)
        (root / frame_name(t)).write_bytes(bare)
        (root / mask_name(t)).write_bytes(png)
        record.update(
            bytes=len(bare), sha256=sha256(bare), mask_bytes=len(png), mask_sha256=sha256(png)
        )
    run = {
        k: v
        for k, v in manifest.items()
        if k not in ("format", "format_version", "software", "frames", "totals")
    }
    old = build_manifest(run, manifest["frames"])
    old["format_version"] = 1  # one digit as 2: the totals stay exact
    old["software"] = manifest["software"]
    (root / "manifest.json").write_bytes(manifest_file_bytes(old))


def test_containers_of_format_1_stay_readable(tmp_path, small_movie):
    new = tmp_path / "new"
    compress_movie(small_movie, new, FlowRoISettings(compression_rate=10))
    reopened = open_container(new)
    assert reopened.manifest["format_version"] == 3 and reopened.has_masks
    assert not (new / "masks").exists()
    expected = [reopened.read_mask(t) for t in range(len(small_movie))]
    frames = np.asarray(reopened.frames())
    assert all(m.any() for m in expected)

    old = tmp_path / "old"
    compress_movie(small_movie, old, FlowRoISettings(compression_rate=10))
    _as_format_1(old)
    container = open_container(old)
    assert container.manifest["format_version"] == 1 and container.has_masks
    assert verify_container(old) == []
    for t in range(len(small_movie)):
        assert np.array_equal(container.read_mask(t), expected[t])
    assert np.array_equal(np.asarray(container.frames()), frames)

    data = bytearray((old / mask_name(0)).read_bytes())
    data[20] ^= 0xFF
    (old / mask_name(0)).write_bytes(bytes(data))
    problems = verify_container(old)
    assert [p.frame for p in problems] == [0] and "mask" in str(problems[0])


def test_a_newer_format_is_refused_with_its_version(tmp_path, small_movie):
    from napari_flowroi.errors import FlowRoIError

    out = tmp_path / "stack"
    compress_movie(small_movie, out, FlowRoISettings(compression_rate=10))
    manifest = json.loads((out / "manifest.json").read_text())
    manifest["format_version"] = 4
    (out / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(FlowRoIError, match="format_version 4"):
        open_container(out)
