"""Drift alignment and dense optical flow between two prepared (8-bit) frames."""

from __future__ import annotations

import cv2
import numpy as np


def estimate_drift(reference: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """Global translation (dy, dx) that maps `reference` onto `moving`, by phase correlation."""
    ref = reference.astype(np.float32)
    mov = moving.astype(np.float32)
    window = cv2.createHanningWindow(ref.shape[::-1], cv2.CV_32F) if min(ref.shape) > 8 else None
    (dx, dy), _response = cv2.phaseCorrelate(ref, mov, window)
    return float(dy), float(dx)


def shift_image(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Translate an image by (dy, dx), replicating the border so no false edge appears."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def dense_flow(current: np.ndarray, other: np.ndarray, method: str = "farneback") -> np.ndarray:
    """Per-pixel displacement (H, W, 2: dx, dy) of `current`'s content towards `other`.

    Computed at the current frame's pixels, so motion marks cells where they are in this frame.
    """
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return dis.calc(current, other, None)
    # The paper's Farnebäck parameters (pyramid 0.5, 3 levels, window 11, 5 iterations, poly 5/1.2).
    return cv2.calcOpticalFlowFarneback(current, other, None, 0.5, 3, 11, 5, 5, 1.2,
                                        cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


def aligned_flow(current: np.ndarray, other: np.ndarray, method: str
                 ) -> tuple[np.ndarray, tuple[float, float]]:
    """Flow of `current` towards `other` after removing the global drift between them."""
    dy, dx = estimate_drift(current, other)
    aligned_other = shift_image(other, -dy, -dx)
    return dense_flow(current, aligned_other, method), (dy, dx)
