"""Drift alignment and dense optical flow between two prepared (8-bit) frames."""

from __future__ import annotations

import cv2
import numpy as np


def estimate_drift(reference: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """Global translation (dy, dx) that maps `reference` onto `moving`, by phase correlation.

    OpenCV's ``phaseCorrelate`` (2 ms on a half-resolution megapixel frame, against 7 ms for
    scikit-image's ``phase_cross_correlation``), on a central crop whose sides OpenCV's DFT takes
    as they are. The half-pixel bias once noted here comes from OpenCV padding a side to its
    optimal DFT size: on a 192x224 frame (224 is padded to 225) identical images gave an x shift
    of 0.5 px and a (3, -5) shift read (3.04, -4.49); cropped to 192x216 they give (0, 0) and
    (3.01, -5.01). tests/core/test_flow.py checks both.
    """
    if reference.min() == reference.max() or moving.min() == moving.max():
        return 0.0, 0.0  # a blank frame (an empty well) has no drift to find
    if min(reference.shape) < MIN_DRIFT_SIDE:
        return 0.0, 0.0  # a frame a few pixels wide has no drift worth finding
    window = _dft_window(reference.shape)
    (dx, dy), _response = cv2.phaseCorrelate(reference[window].astype(np.float32),
                                             moving[window].astype(np.float32))
    return float(dy), float(dx)


#: Frames narrower than this (at the flow resolution) are not registered.
MIN_DRIFT_SIDE = 8


def _dft_window(shape: tuple[int, int]) -> tuple[slice, slice]:
    """The central crop whose sides are OpenCV optimal DFT sizes (so nothing is padded)."""

    def fit(n: int) -> int:
        m = n
        while m > 1 and cv2.getOptimalDFTSize(m) != m:
            m -= 1
        return m

    return tuple(slice((n - fit(n)) // 2, (n - fit(n)) // 2 + fit(n)) for n in shape)


def shift_image(image: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Translate an image by (dy, dx), replicating the border so no false edge appears."""
    matrix = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(image, matrix, image.shape[::-1], flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


#: Farnebäck iterations per pyramid level (the paper's value).
FARNEBACK_ITERATIONS = 5


def dense_flow(current: np.ndarray, other: np.ndarray, method: str = "farneback", *,
               iterations: int = FARNEBACK_ITERATIONS) -> np.ndarray:
    """Per-pixel displacement (H, W, 2: dx, dy) of `current`'s content towards `other`.

    Computed at the current frame's pixels, so motion marks cells where they are in this frame.
    `iterations`: Farnebäck iterations per level (the RoI rule `cells` uses 2: it only asks which
    region moves, and 2 selected the same cells as 5 in half the time).
    """
    if method == "dis":
        dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        return dis.calc(current, other, None)
    # The paper's Farnebäck parameters (pyramid 0.5, 3 levels, window 11, 5 iterations, poly 5/1.2).
    return cv2.calcOpticalFlowFarneback(current, other, None, 0.5, 3, 11, int(iterations), 5, 1.2,
                                        cv2.OPTFLOW_FARNEBACK_GAUSSIAN)


def aligned_flow(current: np.ndarray, other: np.ndarray, method: str, *,
                 iterations: int = FARNEBACK_ITERATIONS
                 ) -> tuple[np.ndarray, tuple[float, float]]:
    """Flow of `current` towards `other` after removing the global drift between them."""
    dy, dx = estimate_drift(current, other)
    aligned_other = shift_image(other, -dy, -dx)
    flow = dense_flow(current, aligned_other, method, iterations=iterations)
    # Phase correlation is off by a few tenths of a pixel on small or smooth frames, enough to
    # make a drifting background look like motion; the median flow is that residual, since most
    # pixels are background (a scene where most pixels move one way would lose that motion).
    sample = flow[::4, ::4] if min(flow.shape[:2]) >= 64 else flow
    residual = np.median(sample.reshape(-1, 2), axis=0)
    flow -= residual
    _clear_uncovered_border(flow, dy, dx)
    return flow, (dy + float(residual[1]), dx + float(residual[0]))


def _clear_uncovered_border(flow: np.ndarray, dy: float, dx: float) -> None:
    """Zero the flow where the shifted frame has no data (its replicated edge), since the
    content that entered the field there is new, not moving."""
    rows, cols = int(np.ceil(abs(dy))) + 1, int(np.ceil(abs(dx))) + 1
    if dy > 0.05:
        flow[-rows:] = 0
    elif dy < -0.05:
        flow[:rows] = 0
    if dx > 0.05:
        flow[:, -cols:] = 0
    elif dx < -0.05:
        flow[:, :cols] = 0
