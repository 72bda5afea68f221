"""Suggest settings: the best RoI settings for a movie at its compression rate, cells kept.

A few frames spread over the movie are coded with each candidate (RoI sources x RoI threshold x
adjacent factor x scaling factor) at the chosen compression rate. Each candidate gets:

- its estimated cell coverage: share of the cells found from appearance and of the guard's own
  reference (change over time, guard.py) inside the RoI, on the worst sampled frame;
- its gain: the candidate's rate divided by the rate at which plain JPEG2000 gives the same PSNR
  inside those cells (> 1: FlowRoI's files are smaller at equal quality inside the cells); the
  worst sampled frame counts.

The suggestion is the candidate with the largest gain among those whose coverage reaches the
target and whose gain is at least MIN_GAIN; when none qualifies, plain JPEG2000 is suggested,
because then FlowRoI would not clearly beat it on this movie at this rate.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .codec import decode_frame, encode_frame
from .errors import CancelledError
from .guard import change_cells, checked_coverage, checked_frames, percent_below
from .ladders import ladder_rates, plain_rate_ladder
from .metrics import pixel_coverage, psnr
from .roi import RoiExtractor
from .settings import FlowRoISettings

#: The grid searched. Motion-based candidates vary threshold and adjacent factor; every candidate
#: varies the scaling factor.
SOURCES = (
    {"motion_roi": True, "appearance_roi": True},
    {"motion_roi": True, "appearance_roi": False},
    {"motion_roi": False, "appearance_roi": True},
)
THRESHOLDS = (0.4, 0.7)
ADJACENT = (0, 1)
SCALING = (2.0, 4.0, 8.0)
FRAMES = 3
#: A candidate must beat plain JPEG2000 by this much on the sampled frames to be suggested: the
#: estimate comes from three frames and from detected (not true) cells, and at high rates wins of
#: 1-2 % measured this way turned into losses of 1-4 % against the reference cells (benchmark).
MIN_GAIN = 1.03
#: Eligible candidates, best first, put through the check `flowroi compress` makes before a run
#: (guard.preflight: five frames, the guard's own reference and band) until one passes. The grid
#: judges coverage on three frames against the guard's reference together with the appearance
#: cells, which a candidate with the appearance source on holds by construction, so a suggestion
#: could read 97.8 % here and be refused by compress at 96.6 % (E. coli, first 8 frames, 40:1),
#: whose refusal points back to `flowroi tune`.
COMPRESS_CHECKS = 3


@dataclass(frozen=True)
class Candidate:
    settings: FlowRoISettings
    coverage: float  # estimated share of cell pixels inside the RoI, worst sampled frame
    gain: float  # plain bytes / FlowRoI bytes at equal PSNR inside the cells
    roi_fraction: float
    psnr_cells: float  # FlowRoI, mean over the sampled frames
    psnr_cells_plain: float  # plain JPEG2000 at the same rate

    def as_dict(self) -> dict:
        s = self.settings
        return {
            "sources": list(s.roi_sources),
            "roi_threshold": s.roi_threshold,
            "adjacent_factor": s.adjacent_factor,
            "scaling_factor": s.scaling_factor,
            "coverage": round(self.coverage, 4),
            "gain": round(self.gain, 3),
            "roi_fraction": round(self.roi_fraction, 3),
            "psnr_cells": round(self.psnr_cells, 2),
            "psnr_cells_plain": round(self.psnr_cells_plain, 2),
        }


@dataclass(frozen=True)
class Suggestion:
    settings: FlowRoISettings  # what to use (plain=True when FlowRoI does not win)
    best: Candidate | None  # the winning candidate, None when plain is suggested
    candidates: tuple[Candidate, ...]
    frames: tuple[int, ...]
    seconds: float
    #: The estimate of the check `flowroi compress` makes before a run (guard.preflight) for
    #: `settings`; None when plain JPEG2000 is suggested (nothing to check).
    compress_check: float | None = None

    @property
    def plain_suggested(self) -> bool:
        return self.best is None

    @property
    def compress_refuses(self) -> bool:
        """Whether `flowroi compress` (and the widget's Compress stack) will stop at the missed-cell
        check with `settings`: no eligible candidate tried passed it."""
        return (
            self.compress_check is not None and self.compress_check < self.settings.coverage_target
        )

    def summary(self) -> str:
        if self.best is None:
            return (
                "No FlowRoI setting kept the cells and beat plain JPEG2000 by "
                f"{MIN_GAIN - 1:.0%} at this rate on frames {list(self.frames)}; plain "
                "JPEG2000 is suggested."
            )
        b = self.best
        said = (
            f"Sources {' + '.join(b.settings.roi_sources)}, RoI threshold "
            f"{b.settings.roi_threshold:g}, adjacent factor {b.settings.adjacent_factor}, "
            f"scaling factor {b.settings.scaling_factor:g}: cells {b.coverage:.1%} inside the "
            f"RoI, files {b.gain:.2f}x smaller than plain JPEG2000 at the same quality "
            "inside the cells."
        )
        if self.compress_refuses:
            target = self.settings.coverage_target
            said += (
                f" But the missed-cell check before compressing (five frames, the guard's own "
                f"reference) estimates {percent_below(self.compress_check)}, below the "
                f"{100 * target:g}% target, for these settings: compressing with them is "
                "refused unless forced (--force) or given a lower --coverage-target; plain "
                "JPEG2000 keeps every cell."
            )
        return said

    def as_dict(self) -> dict:
        return {
            "suggested": self.settings.to_dict(),
            "plain_suggested": self.plain_suggested,
            "summary": self.summary(),
            "frames": list(self.frames),
            "seconds": round(self.seconds, 2),
            **(
                {
                    "compress_check": {
                        "coverage": round(self.compress_check, 4),
                        "passes": not self.compress_refuses,
                    }
                }
                if self.compress_check is not None
                else {}
            ),
            "candidates": [c.as_dict() for c in sorted(self.candidates, key=lambda c: -c.gain)],
        }


def candidate_settings(base: FlowRoISettings) -> list[FlowRoISettings]:
    out = []
    for sources in SOURCES:
        thresholds = THRESHOLDS if sources["motion_roi"] else (base.roi_threshold,)
        adjacent = ADJACENT if sources["motion_roi"] else (0,)
        for threshold, k, scaling in itertools.product(thresholds, adjacent, SCALING):
            out.append(
                base.replace(
                    plain=False,
                    target_psnr=0.0,
                    roi_threshold=threshold,
                    adjacent_factor=k,
                    scaling_factor=scaling,
                    **sources,
                )
            )
    return out


def suggest_settings(
    movie,
    base: FlowRoISettings | None = None,
    frames=None,
    progress: Callable[[int, int], None] | None = None,
    cancel: threading.Event | None = None,
    workers: int = 2,
) -> Suggestion:
    """Suggest RoI settings that keep the cells and beat plain JPEG2000 at `base`'s rate.

    Every candidate of a small grid (RoI sources, threshold, adjacent factor, scaling factor) is
    tried on a few frames: candidates whose RoI leaves cells out (the missed-cell guard, below
    ``base.coverage_target``) are dropped, the rest are ranked by their gain over plain JPEG2000 at
    the same PSNR inside the cells (`ladders.plain_rate_ladder`). Plain JPEG2000 is suggested when
    no candidate wins by the margin (docs/guard.md).

    Parameters
    ----------
    movie : Movie or (T, Y, X) array
        The movie (see `napari_flowroi.open_movie`).
    base : FlowRoISettings, optional
        Settings the candidates start from; its compression rate and coverage target are kept.
    frames : sequence of int, optional
        Frames to try the candidates on (default: a few spread over the movie).
    progress : callable, optional
        Called as ``progress(done, total)`` after each candidate.
    cancel : threading.Event, optional
        Set it to stop early; `CancelledError` is raised.
    workers : int
        Threads that try candidates at once.

    Returns
    -------
    Suggestion
        ``settings`` to use (``plain=True`` when plain JPEG2000 is the better choice), the best
        candidate and every candidate's figures, and ``summary()`` in words.
    """
    import dask

    started = time.perf_counter()
    base = (base or FlowRoISettings()).replace(plain=False, target_psnr=0.0)
    frames = tuple(checked_frames(len(movie), FRAMES) if frames is None else frames)
    candidates = candidate_settings(base)
    # one extractor for the motion settings: all candidates share its frames and flows
    reference = RoiExtractor(movie, base.replace(motion_roi=True))
    originals = {t: movie[t] for t in frames}
    cells = {t: reference.cells(t) for t in frames}
    # coverage is checked against the guard's own reference too (change over time, independent
    # of the appearance source), so candidates with appearance on do not read 100 % by design
    guarded = {t: change_cells(reference, t) | cells[t] for t in frames}
    for t in frames:
        reference.motion(t)  # computed once here, not raced for by the workers
    # plain JPEG2000 around the target rate (ladders.LADDER_FACTORS), PSNR inside the cells
    ladders = {
        t: plain_rate_ladder(originals[t], ladder_rates(base.compression_rate), cells[t])
        for t in frames
    }
    lock, done, stopped = threading.Lock(), [0], threading.Event()

    def evaluate(settings: FlowRoISettings) -> Candidate:
        if stopped.is_set() or (cancel is not None and cancel.is_set()):
            raise CancelledError("Suggesting settings was cancelled.")
        try:
            candidate = _evaluate(
                reference.with_settings(settings), originals, cells, ladders, guarded
            )
        except BaseException:
            with lock:
                stopped.set()
            raise
        # under the lock, so that no progress is reported once the search has stopped
        with lock:
            if not stopped.is_set():
                done[0] += 1
                if progress:
                    try:
                        progress(done[0], len(candidates))
                    except BaseException:
                        # the search stops here, before dask hands the error to the caller: a
                        # candidate that finished in another thread in between reported a third
                        # line after the stop (tests/core/test_tune.py, on a loaded machine)
                        stopped.set()
                        raise
        return candidate

    try:
        results = dask.compute(
            *[dask.delayed(evaluate, pure=False)(c) for c in candidates],
            scheduler="threads",
            num_workers=max(1, workers),
            # not napari's global dask cache: it is not thread-safe, and the widget runs this in
            # a worker while napari computes slices on the main thread (readers.movie.array_frame)
            callbacks=(),
        )
    except BaseException:
        # an error or Ctrl-C: dask raises at once while the candidates under way go on in its
        # threads; they start nothing more and say nothing after the command's last line (a
        # "trying settings" line came after "flowroi: interrupted")
        with lock:
            stopped.set()
        raise
    eligible = sorted(
        (c for c in results if c.coverage >= base.coverage_target and c.gain >= MIN_GAIN),
        key=lambda c: (c.gain, c.coverage),
        reverse=True,
    )
    best, check = (eligible[0] if eligible else None), None
    for candidate in eligible[:COMPRESS_CHECKS]:  # the best that compress's own check passes
        if cancel is not None and cancel.is_set():
            raise CancelledError("Suggesting settings was cancelled.")
        share = compress_check(reference.with_settings(candidate.settings))
        if share >= candidate.settings.coverage_target:
            best, check = candidate, share
            break
        if check is None:  # none passes: the best is kept, and its refusal is said
            check = share
    suggested = base.replace(plain=True) if best is None else best.settings
    return Suggestion(suggested, best, tuple(results), frames, time.perf_counter() - started, check)


def compress_check(extractor: RoiExtractor) -> float:
    """The share of the guard's cells in the RoI that `flowroi compress`'s check
    (:func:`guard.preflight`) estimates for ``extractor.settings`` (refused below
    ``coverage_target``), computed as the check does (:func:`guard.checked_coverage`).

    Through `extractor`, made by ``RoiExtractor.with_settings`` from the grid's extractor, the
    checks of successive candidates share one frame pool with the grid and with each other:
    prepared frames, flows, cell regions and the guard's change reference are keyed by the
    settings they depend on, which the candidates share, so only the masks are computed per
    candidate. ``preflight`` makes a new pool each call (it hands its prepared frames to a
    batch), which prepared the same frames again for every candidate checked (~0.7 s each on
    *E. coli*). The figure is the check's own: tests/core/test_tune.py compares it with
    ``preflight``'s."""
    return checked_coverage(extractor)[1].pixel_share


def _evaluate(extractor: RoiExtractor, originals, cells, ladders, guarded=None) -> Candidate:
    settings = extractor.settings
    coverage, gains, fractions, quality, plain_quality = [], [], [], [], []
    for t, original in originals.items():
        roi = extractor.mask(t)
        encoded = encode_frame(original, roi, settings)
        q = psnr(original, decode_frame(encoded), cells[t])
        rate = encoded.compression_rate
        gains.append(ladders[t].gain(rate, q))
        coverage.append(pixel_coverage(roi, (guarded or cells)[t]))
        fractions.append(float(roi.mean()))
        quality.append(q)
        plain_quality.append(ladders[t].quality_at(rate))
    # the worst frame's gain and coverage: a setting must not lose or miss cells on any sampled
    # frame (the widget's verdict reads each frame, so a mean let a suggestion contradict it)
    return Candidate(
        settings,
        float(np.min(coverage)),
        float(np.min(gains)),
        float(np.mean(fractions)),
        float(np.mean(quality)),
        float(np.mean(plain_quality)),
    )
