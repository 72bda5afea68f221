"""The stored RoI masks: a grid of blocks in a `uuid` box at the end of each frame's JP2 file.

The stored mask only shows what was protected (decoding a frame does not need it), so it is kept
small: a block is set when any of its pixels is in the RoI, and the finest block grid (16, 32,
64 or 128 pixels) whose box fits the mask's share of the frame's byte budget is used (the
coarsest when none fits). The share falls with the rate (`mask_budget`): at 8:1 1 % of the
budget, at 64:1 an eighth of that, because at high rates RoI coding gains little and every byte
is taken from the image.

Box layout (container format 2, docs/container.md): a JP2 `uuid` box (length, ``uuid``, the
16 bytes of MASK_UUID) whose payload is one byte, log2 of the block size, followed by the
grid's bits (row by row, most significant bit first, ``numpy.packbits`` of the flattened grid)
compressed with raw deflate. The grid is ceil(height / block) x ceil(width / block). A JPEG2000
reader skips the box; the frame's checksum in the manifest covers it. A frame the codec fell
back to plain JPEG2000 for carries no box, and reads back as all RoI (`decode_mask`).

The box is the codec's: a frame is coded and its box appended in one step (`encode_frame`), so
the container builds on the codec and never the other way round. Containers of format 1 stored
the mask as a separate 1-bit PNG per frame (``masks/``), on the same grids (`block_grid`,
`full_mask`); container/_masks.py still reads them.
"""

from __future__ import annotations

import struct
import uuid
import zlib

import numpy as np

#: Block sizes tried, finest first.
MASK_BLOCKS = (16, 32, 64, 128)
#: Share of a frame's byte budget its stored mask may take at MASK_SHARE_RATE:1 and below;
#: above that rate the share falls in proportion to the rate.
MASK_SHARE = 0.01
MASK_SHARE_RATE = 8.0
#: Identifies the mask box among a JP2 file's boxes (uuid5 of "napari-flowroi/roi-block-mask").
MASK_UUID = uuid.UUID("d82e5ea695975ab29848921770a5d145").bytes
_BOX_HEAD = 8 + len(MASK_UUID)


def mask_budget(raw_bytes: float, compression_rate: float) -> float:
    """Bytes a frame's stored mask may take: MASK_SHARE of its budget up to MASK_SHARE_RATE:1,
    then a share falling in proportion to the rate (64:1: MASK_SHARE / 8)."""
    budget = raw_bytes / compression_rate
    return MASK_SHARE * budget * min(1.0, MASK_SHARE_RATE / compression_rate)


def block_grid(mask: np.ndarray, block: int) -> np.ndarray:
    """The grid of `block`-px blocks of `mask`, a block set when any of its pixels is."""
    height, width = mask.shape
    padded = np.zeros((-(-height // block) * block, -(-width // block) * block), bool)
    padded[:height, :width] = mask
    return padded.reshape(padded.shape[0] // block, block, padded.shape[1] // block, block).any(
        axis=(1, 3)
    )


def _box(bits: np.ndarray, block: int) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = (
        bytes([block.bit_length() - 1])
        + packer.compress(np.packbits(bits.ravel()).tobytes())
        + packer.flush()
    )
    return struct.pack(">I4s", _BOX_HEAD + len(payload), b"uuid") + MASK_UUID + payload


def encode_mask(mask: np.ndarray, max_bytes: float = float("inf")) -> bytes:
    """The mask box of `mask` on the finest block grid that fits in `max_bytes`.

    Parameters
    ----------
    mask : ndarray of bool, shape (Y, X)
        The RoI a frame was coded with.
    max_bytes : float
        Largest box wanted (header included); the coarsest grid (128 px) is used when none fits.

    Returns
    -------
    bytes
        A complete JP2 `uuid` box, to be appended to the frame's JP2 file (`attach_mask`).
    """
    for block in MASK_BLOCKS:
        data = _box(block_grid(np.asarray(mask, bool), block), block)
        if len(data) <= max_bytes:
            break
    return data


def attach_mask(jp2: bytes, box: bytes) -> bytes:
    """The JP2 file with the mask box appended after its codestream box."""
    return jp2 + box


def _find_box(jp2: bytes) -> bytes | None:
    """The payload of the mask box among the file's top-level boxes, or None."""
    pos = 0
    while pos + 8 <= len(jp2):
        length, kind = struct.unpack(">I4s", jp2[pos : pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > len(jp2):
                return None
            length, header = struct.unpack(">Q", jp2[pos + 8 : pos + 16])[0], 16
        elif length == 0:
            length = len(jp2) - pos
        if length < header:
            return None
        if kind == b"uuid" and jp2[pos + header : pos + header + 16] == MASK_UUID:
            return jp2[pos + header + 16 : pos + length]
        pos += length
    return None


def has_mask(jp2: bytes) -> bool:
    """Whether the JP2 file carries a mask box."""
    return _find_box(jp2) is not None


def mask_block_size(jp2: bytes) -> int | None:
    """The block size (px) of the mask stored in a frame's JP2 file, None without a mask box.

    The stored mask is an approximation of the RoI coded; readers say how coarse it is (the
    napari layer's name) without decoding the grid."""
    payload = _find_box(jp2)
    if not payload:
        return None
    block = 1 << payload[0]
    return block if block in MASK_BLOCKS else None


def decode_mask(jp2: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The mask stored in a frame's JP2 file, at full frame size (block-wise: it covers every
    protected pixel). A frame without a mask box was coded plain (the RoI priority did not
    pay, ``FlowRoISettings.plain_fallback``): its mask is the whole frame.

    Parameters
    ----------
    jp2 : bytes
        The frame's JP2 file (format 2).
    shape : tuple of int
        The frame's (Y, X).

    Raises
    ------
    ValueError
        The box's payload does not decode to a grid of the frame.
    """
    payload = _find_box(jp2)
    if payload is None:
        # a frame the codec fell back to plain JPEG2000 for (settings.plain_fallback): every
        # pixel was coded with the RoI's priority, as a whole-frame RoI gives
        return np.ones(shape, bool)
    if len(payload) < 1:
        raise ValueError("the frame's RoI mask box is empty")
    block = 1 << payload[0]
    if block not in MASK_BLOCKS:
        raise ValueError(f"block size {block} is not one of {MASK_BLOCKS}")
    rows, cols = -(-shape[0] // block), -(-shape[1] // block)
    try:
        unpacker = zlib.decompressobj(-15)
        packed = unpacker.decompress(payload[1:], (rows * cols + 7) // 8 + 1)
    except zlib.error as exc:
        raise ValueError(f"the mask box does not inflate ({exc})") from exc
    if len(packed) != (rows * cols + 7) // 8:
        raise ValueError("the mask box holds a grid of another size")
    blocks = np.unpackbits(np.frombuffer(packed, np.uint8))[: rows * cols].reshape(rows, cols)
    return full_mask(blocks.astype(bool), block, shape)


def full_mask(blocks: np.ndarray, block: int, shape: tuple[int, int]) -> np.ndarray:
    """A block grid brought back to the frame's (Y, X) `shape` (every pixel of a set block)."""
    full = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return full[: shape[0], : shape[1]]
