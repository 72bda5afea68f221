"""Robust statistics of an image, shared by the appearance score and the flow's change gate."""

from __future__ import annotations

import numpy as np


def robust_stats(values: np.ndarray) -> tuple[float, float]:
    """Median and robust standard deviation (1.4826 MAD) of an image.

    From every 4th pixel each way: the same median and MAD within a few per cent on a 0.4-MP
    prepared frame, and the median (a partition) is most of the cost."""
    sample = values[::4, ::4] if min(values.shape) >= 64 else values
    median = float(np.median(sample))
    return median, 1.4826 * float(np.median(np.abs(sample - median)))
