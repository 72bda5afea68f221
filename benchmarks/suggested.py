"""Suggested settings (tune.suggest_settings) per movie and rate, and the guard's accuracy.

Suggested settings: for every case (clean and noisy) and rate, `suggest_settings` searches its
candidate grid on a few of the case's quality frames (the noisy frames for a noisy case), judging
cells by appearance as it does for a user; the suggestion is then measured like every other gain
here, against the reference cells on all the quality frames. A plain-JPEG2000 suggestion is coded
through the same rate-controlled encoder (no RoI), so it measures about 1.

Guard accuracy: `guard.estimate_coverage(...).pixel_share` (share of the cells found by local
contrast that lie inside the RoI) against the share of reference-cell pixels inside the same RoI,
on the quality frames.
"""

from __future__ import annotations

import time

import numpy as np
from common import Case, settings_label
from quality import MaskSource, measure_settings

from napari_flowroi.guard import estimate_coverage
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.tune import suggest_settings

MOTION_ONLY = FlowRoISettings().replace(appearance_roi=False)
GUARD_SETTINGS = {"default": FlowRoISettings(), "motion only": MOTION_ONLY}


def tune_case(
    case: Case,
    masks: MaskSource,
    rates,
    tune_frames,
    frames,
    originals,
    ladder,
    log,
    workers: int = 2,
) -> dict:
    out = {"tune_frames": list(tune_frames), "rates": {}}
    for r in rates:
        base = FlowRoISettings().replace(compression_rate=float(r))
        t0 = time.perf_counter()
        sug = suggest_settings(case.movie, base, frames=list(tune_frames), workers=workers)
        wall = time.perf_counter() - t0
        s = sug.settings
        measured = measure_settings(case, masks, s, r, frames, originals, ladder)
        out["rates"][str(r)] = {
            "label": settings_label(s),
            "plain": bool(s.plain),
            "settings": {
                k: getattr(s, k)
                for k in (
                    "plain",
                    "motion_roi",
                    "appearance_roi",
                    "roi_threshold",
                    "adjacent_factor",
                    "scaling_factor",
                    "denoise",
                )
            },
            "tune_gain": None if sug.best is None else sug.best.gain,
            "tune_coverage": None if sug.best is None else sug.best.coverage,
            "candidates": len(sug.candidates),
            "seconds": sug.seconds,
            "wall_seconds": wall,
            "measured": measured,
        }
        log(
            f"    tune {case.name} {r}:1: {settings_label(s)} in {wall:.1f} s -> gain "
            f"{measured['flag']}{measured['gain']:.2f}"
        )
    return out


def guard_case(case: Case, masks: MaskSource, frames) -> dict:
    out = {}
    for name, s in GUARD_SETTINGS.items():
        ex = masks.extractor(s)
        est = estimate_coverage(ex, frames=list(frames))
        ref = [pixel_coverage(ex.mask(t), case.cells(t) > 0) for t in frames]
        out[name] = {
            "label": settings_label(s),
            "estimate": est.pixel_share,
            "estimate_per_frame": [f.pixel_share for f in est.frames],
            "reference": float(np.mean(ref)),
            "reference_per_frame": ref,
            "detected_cell_fraction": float(np.mean([f.cell_fraction for f in est.frames])),
            "reference_cell_fraction": float(np.mean([np.mean(case.cells(t) > 0) for t in frames])),
            "difference_pp": 100 * (est.pixel_share - float(np.mean(ref))),
        }
    return out
