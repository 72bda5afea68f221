"""The rate-distortion curve of one frame: PSNR inside its RoI against the achieved compression
rate, for FlowRoI and plain JPEG2000 coded at the same rates (the widget's plot)."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .codec import decode_frame, encode_frame
from .errors import CancelledError
from .metrics import compression_rate, psnr, psnr_peak
from .preview import Previewer
from .settings import FlowRoISettings

__all__ = ["DEFAULT_RD_RATES", "RateDistortion", "rate_distortion", "rate_distortion_steps"]

#: Compression rates of the rate-distortion curve (the current rate is added to them).
DEFAULT_RD_RATES = (10.0, 20.0, 40.0, 80.0, 160.0)


@dataclass(frozen=True)
class RateDistortion:
    """PSNR inside the RoI against the achieved compression rate for one frame."""

    t: int
    roi_fraction: float
    flowroi_rates: np.ndarray
    flowroi_psnr_roi: np.ndarray
    plain_rates: np.ndarray
    plain_psnr_roi: np.ndarray


def rate_distortion_steps(
    previewer: Previewer,
    settings: FlowRoISettings,
    t: int,
    rates: Sequence[float] = DEFAULT_RD_RATES,
    cancel: threading.Event | None = None,
):
    """Generator: the curve of :func:`rate_distortion`, one more rate each step (nearest the
    current rate first, so the part that matters is drawn first); returns the whole curve."""
    current = float(settings.compression_rate)
    rates = sorted({float(r) for r in rates} | {current}, key=lambda r: abs(np.log(r / current)))
    frame = previewer.frame(t)
    mask = (
        previewer.extractor(settings).mask(t) if settings.uses_roi else np.ones(frame.shape, bool)
    )
    peak = psnr_peak(frame)
    points = []  # (rate asked, flowroi rate, flowroi psnr, plain rate, plain psnr)
    curve = None
    for rate in rates:
        if cancel is not None and cancel.is_set():
            raise CancelledError("rate-distortion cancelled")
        plain_encoded, plain = previewer.plain(rate, t)
        if settings.uses_roi:
            encoded = encode_frame(
                frame, mask, settings.replace(compression_rate=rate, target_psnr=0.0)
            )
            decoded = decode_frame(encoded)
        else:
            encoded, decoded = plain_encoded, plain
        points.append(
            (
                rate,
                compression_rate(encoded.raw_bytes, encoded.bytes_written),
                float(psnr(frame, decoded, mask, peak)),
                compression_rate(plain_encoded.raw_bytes, plain_encoded.bytes_written),
                float(psnr(frame, plain, mask, peak)),
            )
        )
        p = np.array(sorted(points))
        curve = RateDistortion(
            t=t,
            roi_fraction=float(mask.mean()),
            flowroi_rates=p[:, 1],
            flowroi_psnr_roi=p[:, 2],
            plain_rates=p[:, 3],
            plain_psnr_roi=p[:, 4],
        )
        yield len(points), len(rates), curve
    return curve


def rate_distortion(
    previewer: Previewer,
    settings: FlowRoISettings,
    t: int,
    rates: Sequence[float] = DEFAULT_RD_RATES,
    cancel: threading.Event | None = None,
) -> RateDistortion:
    """Code frame `t` at each rate with FlowRoI and plain JPEG2000; PSNR inside this frame's RoI.

    The RoI is the mask of `settings` (the same for every rate and both codings), so the two
    curves compare like with like."""
    steps = rate_distortion_steps(previewer, settings, t, rates, cancel)
    while True:
        try:
            next(steps)
        except StopIteration as done:
            return done.value
