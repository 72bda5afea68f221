"""Plain JPEG2000 at a ladder of rates: the baseline every FlowRoI gain is measured against.

`flowroi tune`, the napari rate-distortion plot and the benchmarks all use `plain_rate_ladder`
(or `plain_codings` when they need more than one region's PSNR), and read gains off the
`RateLadder` it returns. The figures themselves (PSNR and its peak, rates, interpolation at
matched quality) are metrics.py's.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from .codec import RateController, decode_frame, encode_plain
from .metrics import psnr, psnr_peak, rate_for_quality

#: Plain JPEG2000 around a target rate, as multiples of it (enough for log-rate interpolation).
LADDER_FACTORS = (0.5, 0.7, 0.85, 1.0, 1.2, 1.45, 2.0)


def ladder_rates(rate: float, factors: Sequence[float] = LADDER_FACTORS) -> list[float]:
    """Rates around `rate` for a plain ladder (none below 1.05:1)."""
    return [max(1.05, float(rate) * f) for f in factors]


@dataclass(frozen=True)
class RateLadder:
    """Plain JPEG2000's quality against its achieved rate on one frame, ascending in rate.

    Attributes
    ----------
    requested : ndarray
        Rates asked for.
    rates : ndarray
        Rates achieved, every byte of the JP2 file counted (`compression_rate`).
    psnr : ndarray
        PSNR (dB, `psnr_peak` of the frame) inside the region the ladder was made for.
    """

    requested: np.ndarray
    rates: np.ndarray
    psnr: np.ndarray

    def rate_for_quality(self, quality: float) -> float:
        """The plain rate that gives `quality` (log-rate interpolation; nearest end outside)."""
        return rate_for_quality(self.rates, self.psnr, quality)

    def quality_at(self, rate: float) -> float:
        """Plain JPEG2000's PSNR at `rate` (interpolated on log rate)."""
        return float(np.interp(np.log(rate), np.log(self.rates), self.psnr))

    def gain(self, rate: float, quality: float) -> float:
        """How many times smaller a file of `rate` and `quality` is than plain JPEG2000's file of
        the same quality (> 1: better than plain)."""
        return float(rate) / self.rate_for_quality(quality)


def plain_codings(
    frame: np.ndarray, rates: Sequence[float]
) -> Iterator[tuple[float, object, np.ndarray]]:
    """Plain JPEG2000 of `frame` at each rate: ``(requested rate, EncodedFrame, decoded frame)``.

    One rate controller runs down the list, so each rung costs about one encode. For callers
    that need more than one region's PSNR (the benchmarks); others use `plain_rate_ladder`.
    """
    control = RateController()
    for rate in rates:
        encoded = encode_plain(frame, rate=float(rate), rate_control=control)
        yield float(rate), encoded, decode_frame(encoded)


def plain_rate_ladder(
    frame: np.ndarray,
    rates: Sequence[float],
    where: np.ndarray | None = None,
    *,
    peak: float | None = None,
) -> RateLadder:
    """Plain JPEG2000 of `frame` at each of `rates`, with its PSNR inside `where`.

    The one plain ladder of the project: `flowroi tune`, the napari rate-distortion plot and the
    benchmarks compare FlowRoI with it.

    Parameters
    ----------
    frame : ndarray
        The original frame.
    rates : sequence of float
        Compression rates to code at (see `ladder_rates`).
    where : ndarray of bool, optional
        Region for the PSNR (cells, the RoI); the whole frame when None.
    peak : float, optional
        PSNR peak; `psnr_peak(frame)` by default.

    Returns
    -------
    RateLadder
    """
    peak = psnr_peak(frame) if peak is None else peak
    requested, achieved, quality = [], [], []
    for rate, encoded, decoded in plain_codings(frame, rates):
        requested.append(rate)
        achieved.append(encoded.compression_rate)
        quality.append(psnr(frame, decoded, where, peak))
    order = np.argsort(achieved)
    return RateLadder(
        np.asarray(requested)[order], np.asarray(achieved)[order], np.asarray(quality)[order]
    )
