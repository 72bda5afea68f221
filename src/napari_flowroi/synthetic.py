"""Synthetic migrating-cell movies with known cells, for unit tests and a napari sample.

Textured discs move over a textured background that drifts as a whole, so a test can check that
the RoI follows the discs and that drift alone creates no RoI.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SyntheticMovie:
    frames: np.ndarray  # (T, Y, X)
    cells: np.ndarray  # (T, Y, X) bool, where the discs are
    drift: np.ndarray  # (T, 2) background offset (dy, dx) of each frame


def _texture(rng: np.random.Generator, shape, sigma: float) -> np.ndarray:
    noise = rng.normal(0, 1, shape).astype(np.float32)
    smooth = cv2.GaussianBlur(noise, (0, 0), sigma)
    return smooth / (smooth.std() + 1e-9)


def _bounce(value: float, low: float, high: float) -> float:
    span = high - low
    folded = (value - low) % (2 * span)
    return low + (folded if folded <= span else 2 * span - folded)


def moving_discs(
    n_frames: int = 8,
    shape=(128, 160),
    n_cells: int = 6,
    radius: int = 8,
    speed: float = 2.5,
    drift: tuple[float, float] = (0.0, 0.0),
    static_cells: bool = False,
    dtype=np.uint8,
    noise: float = 0.0,
    seed: int = 0,
) -> SyntheticMovie:
    """Discs moving `speed` px/frame (or standing still); the whole field drifts by `drift` per frame."""
    rng = np.random.default_rng(seed)
    height, width = shape
    pad = int(abs(drift[0]) * n_frames + abs(drift[1]) * n_frames) + 8
    background = 110 + 8 * _texture(rng, (height + 2 * pad, width + 2 * pad), 3.0)
    cell_texture = 30 * _texture(rng, (4 * radius, 4 * radius), 1.2)
    positions = rng.uniform(
        [radius * 2, radius * 2], [height - radius * 2, width - radius * 2], (n_cells, 2)
    )
    angles = rng.uniform(0, 2 * np.pi, n_cells)
    velocity = (
        np.zeros((n_cells, 2))
        if static_cells
        else speed * np.stack([np.sin(angles), np.cos(angles)], axis=1)
    )
    frames = np.zeros((n_frames, height, width), np.float32)
    cells = np.zeros((n_frames, height, width), bool)
    offsets = np.zeros((n_frames, 2))
    yy, xx = np.mgrid[0:height, 0:width]
    for t in range(n_frames):
        dy, dx = drift[0] * t, drift[1] * t
        offsets[t] = (dy, dx)
        shift = np.float32([[1, 0, dx], [0, 1, dy]])
        frame = cv2.warpAffine(
            background,
            shift,
            background.shape[::-1],
            flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REFLECT,
        )[pad : pad + height, pad : pad + width]
        for (cy, cx), (vy, vx) in zip(positions, velocity, strict=True):
            # bounce off the frame edges, and drift with the stage like everything else
            y = _bounce(cy + vy * t, radius, height - radius) + dy
            x = _bounce(cx + vx * t, radius, width - radius) + dx
            disc = (yy - y) ** 2 + (xx - x) ** 2 <= radius**2
            top, left = int(round(y)) - radius, int(round(x)) - radius
            patch = np.zeros((height, width), np.float32)
            y0, x0 = max(top, 0), max(left, 0)
            y1, x1 = min(top + 2 * radius + 1, height), min(left + 2 * radius + 1, width)
            patch[y0:y1, x0:x1] = cell_texture[y0 - top : y1 - top, x0 - left : x1 - left]
            frame = np.where(disc, 60 + patch, frame)
            cells[t] |= disc
        if noise:
            frame = frame + rng.normal(0, noise, frame.shape)
        frames[t] = frame
    if np.dtype(dtype) == np.uint16:
        frames = frames * 64 + 1000
    if np.dtype(dtype).kind == "f":
        out = (frames / 255.0).astype(dtype)
    else:
        info = np.iinfo(dtype)
        out = np.clip(np.rint(frames), info.min, info.max).astype(dtype)
    return SyntheticMovie(out, cells, offsets)
