"""The stored RoI masks: 1-bit PNGs on a grid of blocks.

The stored mask only shows what was protected (decoding a frame does not need it), and at full
resolution it would take much of the byte budget (measured on HSC brightfield at 1 MP: 15-19 kB
full size, 0.6 kB in 16-pixel blocks, against 22 kB for the whole frame at 64:1). The finest
block grid (16, 32, 64 or 128 pixels) whose PNG fits MASK_SHARE of the frame's budget is used; the
block size is not stored, it follows from the PNG's size and the frame's.
"""

from __future__ import annotations

import cv2
import numpy as np

#: Block sizes tried, finest first.
MASK_BLOCKS = (16, 32, 64, 128)
#: Share of a frame's byte budget its stored mask may take.
MASK_SHARE = 0.01


def _blocks(mask: np.ndarray, block: int) -> np.ndarray:
    height, width = mask.shape
    padded = np.zeros((-(-height // block) * block, -(-width // block) * block), bool)
    padded[:height, :width] = mask
    return padded.reshape(padded.shape[0] // block, block,
                          padded.shape[1] // block, block).any(axis=(1, 3))


def _png(bits: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", bits.astype(np.uint8) * 255,
                            [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9])
    if not ok:
        raise RuntimeError("OpenCV could not encode the RoI mask as PNG")
    return data.tobytes()


def encode_mask(mask: np.ndarray, max_bytes: float = float("inf")) -> bytes:
    """A 1-bit PNG of `mask` on the finest block grid that fits in `max_bytes`.

    Parameters
    ----------
    mask : ndarray of bool, shape (Y, X)
        The RoI a frame was coded with.
    max_bytes : float
        Largest PNG wanted; the coarsest grid (128 px) is used when none fits.

    Returns
    -------
    bytes
        The PNG; a block is set when any of its pixels is in the RoI.
    """
    for block in MASK_BLOCKS:
        data = _png(_blocks(mask, block))
        if len(data) <= max_bytes:
            break
    return data


def mask_block(png_shape: tuple[int, int], frame_shape: tuple[int, int]) -> int:
    """The block size a stored mask was made with, from its size and the frame's.

    Raises
    ------
    ValueError
        The mask fits no block grid of the frame.
    """
    for block in MASK_BLOCKS:
        if -(-frame_shape[0] // block) == png_shape[0] and -(-frame_shape[1] // block) == png_shape[1]:
            return block
    raise ValueError(f"a {png_shape} mask does not fit a {frame_shape} frame")


def decode_mask(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """The stored mask at full frame size (block-wise: it covers every protected pixel).

    Parameters
    ----------
    data : bytes
        The PNG as stored.
    shape : tuple of int
        The frame's (Y, X).

    Raises
    ------
    ValueError
        The bytes are not a PNG, or it does not fit the frame.
    """
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise ValueError("not a readable PNG")
    blocks = decoded > 0
    block = mask_block(blocks.shape, shape)
    full = np.repeat(np.repeat(blocks, block, axis=0), block, axis=1)
    return full[:shape[0], :shape[1]]
