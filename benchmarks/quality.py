"""Rate-distortion, gain at matched cell PSNR, mask coverage and the settings sweep."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from common import (GAIN_RATES, RATES, Case, ClipQuality, codec, coverage, gain, ideal_mask,
                    plain_ladder, settings_label)
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings

FULL_GRID = {"roi_threshold": (0.2, 0.4, 0.6, 0.8), "adjacent_factor": (0, 2),
             "scaling_factor": (2.0, 5.0), "denoise": (True, False)}
QUICK_GRID = {"roi_threshold": (0.4, 0.8), "adjacent_factor": (0,),
              "scaling_factor": (2.0, 5.0), "denoise": (True,)}
#: Scaling factors tried in a second stage around the best mask settings of each movie.
REFINE_SCALING = (1.5, 3.0, 10.0)
#: ... and wider RoI margins (expert setting), since cells left outside the RoI dominate the loss.
REFINE_MARGIN = (6, 12)
SWEEP_KEYS = ("roi_threshold", "adjacent_factor", "scaling_factor", "denoise", "roi_margin")


def grid_settings(grid: dict, base: FlowRoISettings) -> list[FlowRoISettings]:
    keys = list(grid)
    return [base.replace(**dict(zip(keys, values))) for values in itertools.product(*grid.values())]


class MaskSource:
    """RoI masks of one movie for many settings; the optical flow depends only on the denoise
    switch (and expert flow settings), so it is computed once per switch and shared."""

    def __init__(self, movie):
        self.movie = movie
        self.base: dict = {}
        self.extractors: dict = {}

    def mask(self, settings: FlowRoISettings, t: int) -> np.ndarray:
        key = (settings.roi_threshold, settings.adjacent_factor, settings.denoise, settings.roi_margin)
        if key not in self.extractors:
            ex = RoiExtractor(self.movie, settings, cache_frames=64)
            if settings.denoise in self.base:
                ex.motion = self.base[settings.denoise].motion
            else:
                self.base[settings.denoise] = ex
            self.extractors[key] = ex
        return self.extractors[key].mask(t)


def encode_clip(case: Case, frames, originals, masks, settings, rate, keep_decoded=False):
    """Code the clip with FlowRoI (masks given) or plain JPEG2000 (masks None) at `rate`."""
    s = settings.replace(compression_rate=float(rate))
    q = ClipQuality(case.movie.dtype)
    decoded = {}
    for t in frames:
        enc = codec.encode_frame(originals[t], None if masks is None else masks[t], s)
        dec = codec.decode_frame(enc)
        q.add(originals[t], dec, case.cells(t), enc.bytes_written)
        if keep_decoded:
            decoded[t] = dec
    out = {"requested": float(rate), **q.as_dict()}
    return out, decoded


def sweep_case(case: Case, masks: MaskSource, grid: dict, rates, log) -> dict:
    """Gain at matched cell PSNR for every setting of the grid, on the case's sweep frames."""
    frames = case.sweep_frames
    originals = {t: case.movie[t] for t in frames}
    ladder = plain_ladder(case, frames, originals)
    records = []

    def run(s):
        mk = {t: masks.mask(s, t) for t in frames}
        cov = [coverage(mk[t], case.cells(t)) for t in frames]
        gains = {}
        for r in rates:
            point, _ = encode_clip(case, frames, originals, mk, s, r)
            g, flag = gain(point, ladder)
            gains[str(r)] = {"gain": g, "flag": flag, "psnr_cells": point["psnr_cells"],
                             "rate": point["rate"]}
        score = math.exp(np.mean([math.log(v["gain"]) for v in gains.values()]))
        rec = {"settings": {k: getattr(s, k) for k in SWEEP_KEYS}, "label": settings_label(s),
               "gains": gains, "score": score,
               **{k: float(np.mean([c[k] for c in cov])) for k in cov[0]}}
        records.append(rec)
        return rec

    started = time.perf_counter()
    for s in grid_settings(grid, FlowRoISettings()):
        run(s)
    best = max(records, key=lambda r: r["score"])
    # Second stage: other scaling factors around the best mask settings.
    if len(grid["roi_threshold"]) > 2:
        seen = {r["label"] for r in records}
        for sf in REFINE_SCALING:
            s = FlowRoISettings().replace(**{**best["settings"], "scaling_factor": sf})
            if settings_label(s) not in seen:
                run(s)
        best = max(records, key=lambda r: r["score"])
        seen = {r["label"] for r in records}
        for margin in REFINE_MARGIN:
            s = FlowRoISettings().replace(**{**best["settings"], "roi_margin": margin})
            if settings_label(s) not in seen:
                run(s)
    log(f"  sweep {case.name}: {len(records)} settings in {time.perf_counter() - started:.0f} s")
    return {"frames": frames, "rates": list(rates), "records": records}


def best_settings(sweep: dict) -> FlowRoISettings:
    best = max(sweep["records"], key=lambda r: r["score"])
    return FlowRoISettings().replace(**best["settings"])


def quality_case(case: Case, masks: MaskSource, configs: dict, log, rates=RATES) -> dict:
    """Rate-distortion of plain JPEG2000 (ladder and exact rates), FlowRoI under each config and
    the ideal (reference-cell) RoI; gains at GAIN_RATES; coverage; decoded clips for downstream."""
    started = time.perf_counter()
    frames = case.frames
    originals = {t: case.movie[t] for t in frames}
    ladder = plain_ladder(case, frames, originals)
    result = {"frames": frames, "ladder": ladder, "curves": {}, "coverage": {}, "gains": {},
              "settings": {}}
    decoded = {}
    ideal = {t: ideal_mask(case.cells(t)) for t in frames}
    runs = {"plain JPEG2000": (FlowRoISettings(), None)}
    for name, s in configs.items():
        mk = {t: masks.mask(s, t) for t in frames}
        runs[name] = (s, mk)
        cov = [coverage(mk[t], case.cells(t)) for t in frames]
        result["coverage"][name] = {k: float(np.mean([c[k] for c in cov])) for k in cov[0]}
        result["settings"][name] = settings_label(s)
    scalings = []
    for name, s in configs.items():
        if s.scaling_factor not in scalings:
            scalings.append(s.scaling_factor)
    for sf in scalings:
        name = f"ideal mask (scale {sf:g})"
        runs[name] = (FlowRoISettings().replace(scaling_factor=sf), ideal)
        result["settings"][name] = f"reference cells dilated 2 px, scale {sf:g}"
    cov = [coverage(ideal[t], case.cells(t)) for t in frames]
    result["coverage"]["ideal mask"] = {k: float(np.mean([c[k] for c in cov])) for k in cov[0]}
    for name, (s, mk) in runs.items():
        curve = []
        for r in rates:
            point, dec = encode_clip(case, frames, originals, mk, s, r, keep_decoded=r in GAIN_RATES)
            curve.append(point)
            if dec:
                decoded[(name, r)] = dec
        result["curves"][name] = curve
        if mk is not None:
            result["gains"][name] = {str(int(p["requested"])): dict(zip(("gain", "flag"), gain(p, ladder)))
                                     for p in curve if p["requested"] in GAIN_RATES}
    log(f"  quality {case.name}: {time.perf_counter() - started:.0f} s")
    return result, originals, decoded
