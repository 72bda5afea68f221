"""The stored RoI masks of container format 1: one 1-bit PNG per frame in ``masks/``.

Format 2 and later keep the mask in a box of the frame's JP2 file; that box is the codec's
(`napari_flowroi.codec`: the container's readers import it from there). Format 1's PNGs hold
the same block grids (16, 32, 64 or 128 px) and are still read.
"""

from __future__ import annotations

import cv2
import numpy as np

from ..codec import MASK_BLOCKS, block_grid, full_mask

__all__ = ["decode_png_mask", "encode_png_mask", "mask_block"]


def encode_png_mask(mask: np.ndarray, max_bytes: float = float("inf")) -> bytes:
    """A format-1 mask: a 1-bit PNG of the finest block grid that fits in `max_bytes` (kept so
    tests can build format-1 containers; the writer no longer makes them)."""
    for block in MASK_BLOCKS:
        ok, data = cv2.imencode(
            ".png",
            block_grid(np.asarray(mask, bool), block).astype(np.uint8) * 255,
            [cv2.IMWRITE_PNG_BILEVEL, 1, cv2.IMWRITE_PNG_COMPRESSION, 9],
        )
        if not ok:
            raise RuntimeError("OpenCV could not encode the RoI mask as PNG")
        if len(data) <= max_bytes:
            break
    return data.tobytes()


def mask_block(png_shape: tuple[int, int], frame_shape: tuple[int, int]) -> int:
    """The block size a format-1 PNG mask was made with, from its size and the frame's.

    Raises
    ------
    ValueError
        The mask fits no block grid of the frame.
    """
    for block in MASK_BLOCKS:
        if (
            -(-frame_shape[0] // block) == png_shape[0]
            and -(-frame_shape[1] // block) == png_shape[1]
        ):
            return block
    raise ValueError(f"a {png_shape} mask does not fit a {frame_shape} frame")


def decode_png_mask(data: bytes, shape: tuple[int, int]) -> np.ndarray:
    """A format-1 mask (PNG bytes) at full frame size.

    Raises
    ------
    ValueError
        The bytes are not a PNG, or it does not fit the frame.
    """
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_GRAYSCALE)
    if decoded is None:
        raise ValueError("not a readable PNG")
    blocks = decoded > 0
    return full_mask(blocks, mask_block(blocks.shape, shape), shape)
