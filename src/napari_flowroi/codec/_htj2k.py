"""HTJ2K (JPEG2000 Part 15), for facilities that need speed first: coding, and a rate control
that searches the quantisation step (OpenJPH has no rate allocation).

Optional: needs imagecodecs (OpenJPH). The codestreams decode with OpenJPEG >= 2.5, so
`decode_jp2` (Pillow) and any other JPEG2000 reader of that age open them.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import FlowRoIError
from ._openjpeg import resolutions_for
from ._rate import RATE_TOLERANCE, RateController

#: HTJ2K has no rate allocation (one quantisation step for the whole frame): the step is searched.
HTJ2K_MAX_ATTEMPTS = 8
HTJ2K_FIRST_STEP = 0.002


def encode_htj2k(codes: np.ndarray, qstep: float) -> bytes:
    """A high-throughput JPEG2000 (Part 15) codestream of `codes`, 9/7 irreversible wavelet.

    Parameters
    ----------
    codes : ndarray
        uint8 or uint16 frame.
    qstep : float
        Base quantisation step (relative to the sample range): larger is smaller and coarser.

    Returns
    -------
    bytes
        A J2K codestream with HT code-blocks (OpenJPH through imagecodecs); OpenJPEG >= 2.5
        (Pillow's `decode_jp2`, imagecodecs.jpeg2k_decode) and OpenJPH decode it.
    """
    try:
        import imagecodecs
    except ImportError as error:  # optional: only the HTJ2K output needs it
        raise FlowRoIError("HTJ2K output needs imagecodecs (pip install imagecodecs).") from error
    return imagecodecs.htj2k_encode(
        np.ascontiguousarray(codes),
        level=float(qstep),
        reversible=False,
        resolutions=resolutions_for(codes.shape),
    )


class HTJ2KRateController:
    """Meets a byte budget with HTJ2K by searching its quantisation step, starting from the step
    that hit the previous frame's budget.

    OpenJPH has no rate control: file size falls with the step roughly as a power law, so the
    step is moved along the secant of log(size) against log(step) until the file is within
    `tolerance` of the budget (at most HTJ2K_MAX_ATTEMPTS encodes; the closest file not over
    the budget by more than `tolerance` is preferred). Encodes are ~8x cheaper than classic
    JPEG2000's, so a few per frame still leave it far ahead.

    Parameters
    ----------
    tolerance : float
        Relative distance to the budget at which a file is accepted.
    """

    def __init__(self, tolerance: float = RATE_TOLERANCE):
        self.tolerance = float(tolerance)
        self.qstep = HTJ2K_FIRST_STEP
        self.slope = -1.0  # d log(size) / d log(step), learned
        self.frames = 0
        self.encodes = 0

    encodes_per_frame = RateController.encodes_per_frame  # the same count, the same figure

    def encode(self, codes: np.ndarray, budget: float) -> bytes:
        """An HTJ2K codestream of `codes` close to `budget` bytes (see the class)."""
        budget = max(float(budget), 64.0)
        step, tried = self.qstep, []
        for _ in range(HTJ2K_MAX_ATTEMPTS):
            data = encode_htj2k(codes, step)
            tried.append((step, len(data), data))
            error = len(data) / budget - 1.0
            if abs(error) <= self.tolerance:
                break
            if len(tried) >= 2 and tried[-2][0] != step and tried[-2][1] != len(data):
                slope = math.log(len(data) / tried[-2][1]) / math.log(step / tried[-2][0])
                if -4.0 < slope < -0.2:
                    self.slope = slope
            step *= math.exp(math.log(budget / len(data)) / self.slope)
        step, _, data = min(tried, key=lambda x: abs(x[1] / budget - 1.0))
        self.qstep = step
        self.frames += 1
        self.encodes += len(tried)
        return data
