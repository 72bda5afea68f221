"""The stored RoI masks: a grid of blocks in the codestream comment of each frame's JP2 file.

The stored mask only shows what was protected (decoding a frame does not need it), so it is kept
small: a block is set when any of its pixels is in the RoI, and the finest block grid (16, 32,
64 or 128 pixels) whose comment fits the mask's share of the frame's byte budget is used (the
coarsest when none fits). The share falls with the rate (`mask_budget`): at 8:1 1 % of the
budget, at 64:1 an eighth of that, because at high rates RoI coding gains little and every byte
is taken from the image.

Format 3 (docs/container.md): the grid is a binary comment (COM marker segment, ``Rcom`` 0) of
the codestream's main header, in place of the comment OpenJPEG writes when it is given none
("Created by OpenJPEG version ...", 39 bytes). A JPEG2000 reader skips comments, as it does a
box; the frame's checksum in the manifest covers it. Segment: ``FF64``, its length, ``Rcom`` 0,
MASK_TAG, one byte (log2 of the block size; bit 7 set: the grid's bits follow as they are,
clear: compressed with raw deflate), then the grid's bits (row by row, most significant bit
first, ``numpy.packbits`` of the flattened grid). The grid is ceil(height / block) x
ceil(width / block). Why a comment, not a box: a JP2 `uuid` box costs 24 bytes before its
payload and came on top of OpenJPEG's comment, 0.3-0.4 % of a dense movie's budget at 16-32:1,
about twice what RoI priority frees there (docs/decisions.md); the segment costs 6 + 4 bytes and
replaces a comment that says only which encoder wrote the file (the manifest records the
software).

A frame the codec fell back to plain JPEG2000 for carries no stored mask (OpenJPEG's comment is
left as plain coding writes it) and reads back as all RoI (`decode_mask`). Containers of format 2
stored the same grid in a JP2 `uuid` box after the codestream (MASK_UUID; always deflated), and
format 1 as a separate 1-bit PNG per frame (``masks/``, container/_masks.py); both are still
read.

The stored mask is the codec's: a frame is coded and its mask attached in one step
(`encode_frame`), so the container builds on the codec and never the other way round.
"""

from __future__ import annotations

import functools
import struct
import uuid
import zlib

import numpy as np

#: Block sizes tried, finest first; each twice the one before (encode_mask makes each grid from the
#: one before it).
MASK_BLOCKS = (16, 32, 64, 128)
#: Share of a frame's byte budget its stored mask may take at MASK_SHARE_RATE:1 and below;
#: above that rate the share falls in proportion to the rate.
MASK_SHARE = 0.01
MASK_SHARE_RATE = 8.0
#: Starts the data of a comment that holds the mask (format 3), after ``Rcom`` 0 (binary).
MASK_TAG = b"FRoI"
#: Identifies format 2's mask box among a JP2 file's boxes (uuid5 of
#: "napari-flowroi/roi-block-mask"); read, no longer written.
MASK_UUID = uuid.UUID("d82e5ea695975ab29848921770a5d145").bytes
_BOX_HEAD = 8 + len(MASK_UUID)
_COM, _SOC, _SIZ, _SOT = 0xFF64, 0xFF4F, 0xFF51, 0xFF90
#: Data one comment segment holds at most (its length field counts itself and Rcom).
_COM_DATA = 0xFFFF - 4
#: Bit of the block byte saying the grid's bits are stored as they are (not deflated).
_RAW = 0x80


def mask_budget(raw_bytes: float, compression_rate: float) -> float:
    """Bytes a frame's stored mask may take: MASK_SHARE of its budget up to MASK_SHARE_RATE:1,
    then a share falling in proportion to the rate (64:1: MASK_SHARE / 8)."""
    budget = raw_bytes / compression_rate
    return MASK_SHARE * budget * min(1.0, MASK_SHARE_RATE / compression_rate)


def block_grid(mask: np.ndarray, block: int) -> np.ndarray:
    """The grid of `block`-px blocks of `mask`, a block set when any of its pixels is."""
    # the mask's bytes, and a block's maximum over its rows, then over its columns: numpy's
    # maximum of bytes runs in vector instructions where `any` over two axes of a bool array
    # does not (0.14 against 1.1 ms for the 16-px grid of a 1-MP RoI, once a frame)
    mask = np.ascontiguousarray(mask, bool).view(np.uint8)
    height, width = mask.shape
    rows, cols = -(-height // block), -(-width // block)
    if (rows * block, cols * block) != mask.shape:
        padded = np.zeros((rows * block, cols * block), np.uint8)
        padded[:height, :width] = mask
        mask = padded
    across = mask.reshape(rows, block, cols * block).max(axis=1)
    return across.reshape(rows, cols, block).max(axis=2).view(bool)


def _segments(bits: np.ndarray, block: int) -> bytes:
    """The grid as comment segments: deflated, or its packed bits as they are when shorter
    (a grid of a few dozen blocks deflates to more bytes than it packs to)."""
    packed = np.packbits(bits.ravel()).tobytes()
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    deflated = packer.compress(packed) + packer.flush()
    log2 = block.bit_length() - 1
    data = (
        bytes([log2 | _RAW]) + packed if len(packed) <= len(deflated) else bytes([log2]) + deflated
    )
    # a segment holds 65,531 bytes: a larger grid continues in the next tagged segment
    step = _COM_DATA - len(MASK_TAG)
    return b"".join(
        struct.pack(">HHH", _COM, 4 + len(MASK_TAG) + len(part), 0) + MASK_TAG + part
        for part in (data[i : i + step] for i in range(0, len(data), step))
    )


def encode_mask(mask: np.ndarray, max_bytes: float = float("inf")) -> bytes:
    """The stored mask of `mask` on the finest block grid that fits in `max_bytes`.

    Parameters
    ----------
    mask : ndarray of bool, shape (Y, X)
        The RoI a frame was coded with.
    max_bytes : float
        Largest stored mask wanted (marker and length included); the coarsest grid (128 px) is
        used when none fits.

    Returns
    -------
    bytes
        One or more complete comment (COM) marker segments, to go in the frame's codestream in
        place of OpenJPEG's comment (`attach_mask`).
    """
    grid, made = np.asarray(mask, bool), 1
    for block in MASK_BLOCKS:
        # each grid from the finer one before it (a block of 2 x 2 of its blocks: the same bits,
        # for a 1,024th of the pixels), the finest from the mask
        grid, made = block_grid(grid, block // made), block
        data = _segments(grid, block)
        if len(data) <= max_bytes:
            break
    return data


def _boxes(jp2: bytes):
    """(type, position, header bytes, length, where its length is) of the file's top-level
    boxes, up to the first whose length cannot be read; where = -1 for a box running to the end
    of the file (length 0). One walk for the codestream (format 3) and format 2's mask box.
    (container/_jp2.py walks boxes to check headers, raising on damage; the codec cannot import
    the container, which builds on it.)"""
    pos = 0
    while pos + 8 <= len(jp2):
        length, kind = struct.unpack(">I4s", jp2[pos : pos + 8])
        header, where = 8, pos
        if length == 1:
            if pos + 16 > len(jp2):
                return
            length, header = struct.unpack(">Q", jp2[pos + 8 : pos + 16])[0], 16
        elif length == 0:
            length, where = len(jp2) - pos, -1
        if length < header:
            return
        yield kind, pos, header, length, where
        pos += length


def _codestream(jp2: bytes) -> tuple[int, int, int]:
    """(start, end) of the codestream in a JP2 file (or a bare codestream) and where the length
    of its box is (-1: a bare codestream, or a box running to the end of the file)."""
    if jp2[:2] == b"\xff\x4f":
        return 0, len(jp2), -1
    for kind, pos, header, length, where in _boxes(jp2):
        if pos + length > len(jp2):
            break
        if kind == b"jp2c":
            return pos + header, pos + length, where
    raise ValueError("no JPEG2000 codestream in the file")


def _main_header(jp2: bytes, start: int, end: int):
    """(marker, position, segment length incl. the marker) of the main header's marker segments,
    SIZ to the first tile-part (SOT)."""
    if jp2[start : start + 2] != b"\xff\x4f":
        raise ValueError("the codestream does not start with SOC")
    pos = start + 2
    while pos + 4 <= end:
        marker, length = struct.unpack(">HH", jp2[pos : pos + 4])
        if marker == _SOT or marker >> 8 != 0xFF:
            return
        if length < 2 or pos + 2 + length > end:
            raise ValueError("a marker segment of the main header runs past the codestream")
        yield marker, pos, 2 + length
        pos += 2 + length


def attach_mask(jp2: bytes, segments: bytes) -> bytes:
    """The JP2 file with the stored mask (`encode_mask`) in place of its codestream's comments.

    Parameters
    ----------
    jp2 : bytes
        A JP2 file as OpenJPEG writes it (one comment in the main header, which is replaced;
        without one the mask goes just before the first tile-part).
    segments : bytes
        What `encode_mask` gives.

    Returns
    -------
    bytes
    """
    start, end, length_at = _codestream(jp2)
    comments = [
        (pos, size) for marker, pos, size in _main_header(jp2, start, end) if marker == _COM
    ]
    if comments:
        # OpenJPEG writes its one comment last in the main header, so they are contiguous
        first, last = comments[0][0], comments[-1][0] + comments[-1][1]
        if sum(size for _, size in comments) != last - first:
            raise ValueError("the codestream's comments are not together")
    else:
        *_, (_, pos, size) = _main_header(jp2, start, end)
        first = last = pos + size
    out = bytearray(jp2[:first] + segments + jp2[last:])
    if length_at >= 0:  # the codestream box's length (4 bytes, or 8 after an XL marker of 1)
        grown = len(segments) - (last - first)
        if struct.unpack(">I", out[length_at : length_at + 4])[0] == 1:
            (size,) = struct.unpack(">Q", out[length_at + 8 : length_at + 16])
            out[length_at + 8 : length_at + 16] = struct.pack(">Q", size + grown)
        else:
            (size,) = struct.unpack(">I", out[length_at : length_at + 4])
            out[length_at : length_at + 4] = struct.pack(">I", size + grown)
    return bytes(out)


@functools.cache
def openjpeg_comment_bytes() -> int:
    """Bytes of the comment OpenJPEG writes into every codestream (its version; 39 bytes for
    OpenJPEG 2.5.4), which the stored mask replaces: a FlowRoI frame's image may take them."""
    from ._openjpeg import encode_jp2

    jp2 = encode_jp2(np.zeros((8, 8), np.uint8), 2.0)
    start, end, _ = _codestream(jp2)
    return sum(size for marker, _, size in _main_header(jp2, start, end) if marker == _COM)


def _find_box(jp2: bytes) -> bytes | None:
    """The payload of format 2's mask box among the file's top-level boxes, or None."""
    for kind, pos, header, length, _ in _boxes(jp2):
        if kind == b"uuid" and jp2[pos + header : pos + header + 16] == MASK_UUID:
            return jp2[pos + header + 16 : pos + length]
    return None


def _find_payload(jp2: bytes) -> bytes | None:
    """The stored mask's data (block byte, then the grid): from the codestream's tagged
    comments (format 3), else from format 2's box; None when the file has neither. A codestream
    whose main header does not parse raises ValueError: a damaged file must not read as one
    coded plain."""
    start, end, _ = _codestream(jp2)
    parts = [
        jp2[pos + 6 + len(MASK_TAG) : pos + size]
        for marker, pos, size in _main_header(jp2, start, end)
        if marker == _COM
        and jp2[pos + 4 : pos + 6] == b"\x00\x00"
        and jp2[pos + 6 : pos + 6 + len(MASK_TAG)] == MASK_TAG
    ]
    if parts:
        return b"".join(parts)
    return _find_box(jp2)


def has_mask(jp2: bytes) -> bool:
    """Whether the JP2 file carries a stored mask (format 3's comment or format 2's box);
    ValueError when its codestream's main header does not parse."""
    return _find_payload(jp2) is not None


def mask_block_size(jp2: bytes) -> int | None:
    """The block size (px) of the mask stored in a frame's JP2 file, None without one.

    The stored mask is an approximation of the RoI coded; readers say how coarse it is (the
    napari layer's name) without decoding the grid."""
    payload = _find_payload(jp2)
    if not payload:
        return None
    block = 1 << (payload[0] & ~_RAW)
    return block if block in MASK_BLOCKS else None


def decode_mask(jp2: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The mask stored in a frame's JP2 file, at full frame size (block-wise: it covers every
    protected pixel). A frame without a stored mask was coded plain (the RoI priority did not
    pay, ``FlowRoISettings.plain_fallback``): its mask is the whole frame.

    Parameters
    ----------
    jp2 : bytes
        The frame's JP2 file (format 2 or 3).
    shape : tuple of int
        The frame's (Y, X).

    Raises
    ------
    ValueError
        The stored data do not decode to a grid of the frame.
    """
    payload = _find_payload(jp2)
    if payload is None:
        # a frame the codec fell back to plain JPEG2000 for (settings.plain_fallback): every
        # pixel was coded with the RoI's priority, as a whole-frame RoI gives
        return np.ones(shape, bool)
    if len(payload) < 1:
        raise ValueError("the frame's stored RoI mask is empty")
    block = 1 << (payload[0] & ~_RAW)
    if block not in MASK_BLOCKS:
        raise ValueError(f"block size {block} is not one of {MASK_BLOCKS}")
    rows, cols = -(-shape[0] // block), -(-shape[1] // block)
    size = (rows * cols + 7) // 8
    if payload[0] & _RAW:
        packed = payload[1:]
    else:
        try:
            packed = zlib.decompressobj(-15).decompress(payload[1:], size + 1)
        except zlib.error as exc:
            raise ValueError(f"the stored mask does not inflate ({exc})") from exc
    if len(packed) != size:
        raise ValueError("the stored mask holds a grid of another size")
    blocks = np.unpackbits(np.frombuffer(packed, np.uint8))[: rows * cols].reshape(rows, cols)
    return full_mask(blocks.astype(bool), block, shape)


def full_mask(blocks: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    """A block grid brought back to the frame's (Y, X) `shape` (every pixel of a set block)."""
    full = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return full[: shape[0], : shape[1]]
