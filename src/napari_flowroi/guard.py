"""The missed-cell guard: how much of what looks like a cell the RoI holds.

Cells are found from appearance alone (``appearance.py``), independently of motion, so a motion
RoI that misses still cells shows up here. When the appearance source is part of the RoI, the cells
it finds are protected by construction and the estimate is 100 %; the guard then speaks for the
cells the detector itself misses, which it cannot see (docs/guard.md gives its accuracy against
the reference masks).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from .metrics import object_coverage, pixel_coverage


@dataclass(frozen=True)
class FrameCoverage:
    t: int
    pixel_share: float  # of detected cell pixels inside the RoI
    object_share: float  # of detected cells with at least half their pixels inside
    cell_fraction: float  # detected cells' share of the frame
    missed: np.ndarray = field(repr=False)  # (N, 2) centroids (y, x) of cells left outside


@dataclass(frozen=True)
class MovieCoverage:
    frames: tuple[FrameCoverage, ...]

    @property
    def pixel_share(self) -> float:
        return float(np.mean([f.pixel_share for f in self.frames])) if self.frames else 1.0

    @property
    def object_share(self) -> float:
        return float(np.mean([f.object_share for f in self.frames])) if self.frames else 1.0

    @property
    def worst(self) -> FrameCoverage | None:
        return min(self.frames, key=lambda f: f.pixel_share, default=None)

    def as_dict(self) -> dict:
        return {
            "pixel_share": round(self.pixel_share, 4),
            "object_share": round(self.object_share, 4),
            "frames_checked": [f.t for f in self.frames],
            "worst_frame": None if self.worst is None else self.worst.t,
        }


def frame_coverage(t: int, roi: np.ndarray, cells: np.ndarray) -> FrameCoverage:
    outside = cells & ~roi
    missed = np.zeros((0, 2))
    if outside.any():
        count, _labels, stats, centroids = cv2.connectedComponentsWithStats(
            outside.astype(np.uint8), connectivity=8
        )
        big = stats[1:, cv2.CC_STAT_AREA] >= 4
        missed = centroids[1:][big][:, ::-1]
    return FrameCoverage(
        t, pixel_coverage(roi, cells), object_coverage(roi, cells), float(cells.mean()), missed
    )


def sample_frames(n_frames: int, count: int = 5) -> list[int]:
    """`count` frames spread evenly over the movie (all of them for short movies)."""
    if n_frames <= count:
        return list(range(n_frames))
    return sorted({int(round(x)) for x in np.linspace(0, n_frames - 1, count)})


def estimate_coverage(extractor, frames=None) -> MovieCoverage:
    """Coverage of the detected cells by the RoI on `frames` (default: 5 spread over the movie)."""
    frames = sample_frames(len(extractor.movie)) if frames is None else frames
    return MovieCoverage(
        tuple(frame_coverage(t, extractor.mask(t), extractor.cells(t)) for t in frames)
    )


@dataclass(frozen=True)
class Preflight:
    """The verdict of the missed-cell guard before a batch.

    `ok` False means: stop and ask (the message says what to do); `coverage` is None when no
    check was needed (plain JPEG2000, or the user accepted these settings already)."""

    ok: bool
    message: str
    coverage: MovieCoverage | None = None


def preflight(movie, settings, *, extra_roi=None, accepted: bool = False, frames=None) -> Preflight:
    """Check, before compressing `movie` with `settings`, that the RoI keeps the cells.

    Parameters
    ----------
    movie : Movie or (T, Y, X) array
    settings : FlowRoISettings
        Its ``coverage_target`` is the threshold.
    extra_roi : (T, Y, X) masks, optional
        The user's masks, protected on top of motion and appearance.
    accepted : bool
        The user chose to go ahead with these settings anyway (the widget's second click, the
        command line's ``--force``): no check, ``ok`` True.
    frames : sequence of int, optional
        Frames to check (default: five spread over the movie).

    Returns
    -------
    Preflight
        ``ok`` False with a message saying what to do when the estimated share of cell pixels
        inside the RoI is below ``settings.coverage_target``.
    """
    if not settings.uses_roi:
        return Preflight(True, "Plain JPEG2000: no region of interest to check.")
    if accepted:
        return Preflight(True, "Going ahead although the RoI may leave cells out (accepted).")
    if not settings.roi_sources:  # motion and appearance off: the user's own masks are the RoI
        return Preflight(True, "Only your own masks make the RoI: nothing to check.")
    from .roi import RoiExtractor

    coverage = estimate_coverage(RoiExtractor(movie, settings, extra_roi=extra_roi), frames)
    if coverage.pixel_share < settings.coverage_target:
        return Preflight(
            False,
            (
                f"The RoI is estimated to hold only {coverage.pixel_share:.1%} of the cell pixels "
                f"(target {settings.coverage_target:.0%}; worst frame {coverage.worst.t}). Cells left "
                "outside are smeared. Use suggested settings (Suggest settings / flowroi tune) that "
                "keep them, lower the coverage target, or compress anyway."
            ),
            coverage,
        )
    return Preflight(
        True, f"The RoI holds an estimated {coverage.pixel_share:.1%} of the cell pixels.", coverage
    )
