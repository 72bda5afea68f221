"""Rate-distortion, gain at matched cell PSNR, mask coverage and the settings sweep."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
from common import (
    GAIN_RATES,
    RATES,
    Case,
    ClipQuality,
    coverage,
    gain,
    plain_ladder,
    settings_label,
    sources_label,
)

from napari_flowroi import codec
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings

#: The RoI sources compared (the RoI is their union): the FlowRoI method (motion), the default
#: (motion + appearance) and appearance alone (threshold and adjacent factor do not apply).
SOURCES = {
    "motion+appearance": {"motion_roi": True, "appearance_roi": True},
    "motion": {"motion_roi": True, "appearance_roi": False},
    "appearance": {"motion_roi": False, "appearance_roi": True},
}
#: Stage 1 (every case, denoise on): sources x threshold x adjacent x scaling.
FULL_GRID = {
    "sources": tuple(SOURCES),
    "roi_threshold": (0.4, 0.7),
    "adjacent_factor": (0, 2),
    "scaling_factor": (2.0, 4.0, 8.0),
    "denoise": (True,),
}
QUICK_GRID = {
    "sources": tuple(SOURCES),
    "roi_threshold": (0.4, 0.8),
    "adjacent_factor": (0,),
    "scaling_factor": (2.0, 4.0),
    "denoise": (True,),
}
#: Stage 2: denoise off for the best few settings over all cases (and each case's own best) ...
DENOISE_TOP = 3
#: ... other scaling factors around each case's best ...
REFINE_SCALING = (6.0, 10.0)
#: ... and wider RoI margins (expert setting), since cells left outside the RoI dominate the loss.
REFINE_MARGIN = (6, 12)
SWEEP_KEYS = (
    "motion_roi",
    "appearance_roi",
    "roi_threshold",
    "adjacent_factor",
    "scaling_factor",
    "denoise",
    "roi_margin",
)


def grid_settings(grid: dict, base: FlowRoISettings) -> list[FlowRoISettings]:
    """The grid's settings; appearance-only settings ignore threshold and adjacent factor, so they
    are listed once (at the base threshold and adjacent factor)."""
    keys = [k for k in grid if k != "sources"]
    out, seen = [], set()
    for source in grid.get("sources", ("motion+appearance",)):
        for values in itertools.product(*(grid[k] for k in keys)):
            changes = dict(zip(keys, values, strict=True))
            if not SOURCES[source]["motion_roi"]:
                changes.update(
                    roi_threshold=base.roi_threshold, adjacent_factor=base.adjacent_factor
                )
            s = base.replace(**SOURCES[source], **changes)
            if s not in seen:
                seen.add(s)
                out.append(s)
    return out


def _mask_key(s: FlowRoISettings) -> FlowRoISettings:
    """Settings with everything that does not change the mask set to one value."""
    return s.replace(
        scaling_factor=1.0,
        compression_rate=40.0,
        target_psnr=0.0,
        feather=4.0,
        background_sigma=2.0,
        coverage_target=0.98,
        plain=False,
    )


class MaskSource:
    """RoI masks of one movie for many settings: one extractor and its FramePool
    (RoiExtractor.with_settings), so a prepared frame, a flow and the cell regions of a frame are
    computed once per setting they depend on (denoise, flow, cell contrast), whatever the
    threshold, adjacent factor, sources or coding."""

    def __init__(self, movie):
        self.movie = movie
        self.base: RoiExtractor | None = None
        self.extractors: dict = {}

    def extractor(self, settings: FlowRoISettings) -> RoiExtractor:
        key = _mask_key(settings)
        if key not in self.extractors:
            if self.base is None:
                self.base = RoiExtractor(self.movie, key.replace(motion_roi=True), cache_frames=64)
            self.extractors[key] = self.base.with_settings(key)
        return self.extractors[key]

    def mask(self, settings: FlowRoISettings, t: int) -> np.ndarray:
        return self.extractor(settings).mask(t)


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


class CaseSweep:
    """Gain at matched cell PSNR of many settings on one case's sweep frames (records by label)."""

    def __init__(self, case: Case, masks: MaskSource, rates):
        self.case, self.masks, self.rates = case, masks, tuple(rates)
        self.frames = case.sweep_frames
        self.originals = {t: case.movie[t] for t in self.frames}
        self.ladder = plain_ladder(case, self.frames, self.originals)
        self.records: dict = {}
        self.seconds = 0.0

    def run(self, s: FlowRoISettings) -> dict:
        label = settings_label(s)
        if label in self.records:
            return self.records[label]
        started = time.perf_counter()
        case, frames = self.case, self.frames
        mk = {t: self.masks.mask(s, t) for t in frames}
        cov = [coverage(mk[t], case.cells(t)) for t in frames]
        gains = {}
        for r in self.rates:
            point, _ = encode_clip(case, frames, self.originals, mk, s, r)
            g, flag = gain(point, self.ladder)
            gains[str(r)] = {
                "gain": g,
                "flag": flag,
                "psnr_cells": point["psnr_cells"],
                "rate": point["rate"],
            }
        score = math.exp(np.mean([math.log(v["gain"]) for v in gains.values()]))
        rec = {
            "settings": {k: getattr(s, k) for k in SWEEP_KEYS},
            "label": label,
            "sources": sources_label(s),
            "gains": gains,
            "score": score,
            **{k: float(np.mean([c[k] for c in cov])) for k in cov[0]},
        }
        self.records[label] = rec
        self.seconds += time.perf_counter() - started
        return rec

    def best(self) -> dict:
        return max(self.records.values(), key=lambda r: r["score"])

    def refine(self) -> None:
        """Other scaling factors, then wider margins, around this case's best."""
        best = self.best()
        for sf in REFINE_SCALING:
            self.run(FlowRoISettings().replace(**{**best["settings"], "scaling_factor": sf}))
        best = self.best()
        for margin in REFINE_MARGIN:
            self.run(FlowRoISettings().replace(**{**best["settings"], "roi_margin": margin}))

    def as_dict(self) -> dict:
        return {
            "frames": self.frames,
            "rates": list(self.rates),
            "seconds": self.seconds,
            "records": list(self.records.values()),
        }


def best_settings(sweep: dict) -> FlowRoISettings:
    best = max(sweep["records"], key=lambda r: r["score"])
    return FlowRoISettings().replace(**best["settings"])


def measure_settings(
    case: Case, masks: MaskSource, settings: FlowRoISettings, rate, frames, originals, ladder
) -> dict:
    """Gain of `settings` at `rate` on the quality frames (plain=True: plain JPEG2000 through
    the same rate-controlled encoder, which must come out at about 1)."""
    mk = None if settings.plain else {t: masks.mask(settings, t) for t in frames}
    point, _ = encode_clip(case, frames, originals, mk, settings, rate)
    g, flag = gain(point, ladder)
    out = {"gain": g, "flag": flag, "psnr_cells": point["psnr_cells"], "rate": point["rate"]}
    if mk is not None:
        out["pixel_coverage"] = float(
            np.mean([coverage(mk[t], case.cells(t))["pixel_coverage"] for t in frames])
        )
    return out


def quality_case(case: Case, masks: MaskSource, configs: dict, log, rates=RATES) -> dict:
    """Rate-distortion of plain JPEG2000 (ladder and exact rates), FlowRoI under each config and
    the ideal (reference-cell) RoI; gains at GAIN_RATES; coverage; decoded clips for downstream."""
    started = time.perf_counter()
    frames = case.frames
    originals = {t: case.movie[t] for t in frames}
    ladder = plain_ladder(case, frames, originals)
    result = {
        "frames": frames,
        "ladder": ladder,
        "curves": {},
        "coverage": {},
        "gains": {},
        "settings": {},
    }
    decoded = {}
    ideal = {t: case.ideal(t) for t in frames}
    runs = {"plain JPEG2000": (FlowRoISettings(), None)}
    for name, s in configs.items():
        mk = {t: masks.mask(s, t) for t in frames}
        runs[name] = (s, mk)
        cov = [coverage(mk[t], case.cells(t)) for t in frames]
        result["coverage"][name] = {k: float(np.mean([c[k] for c in cov])) for k in cov[0]}
        result["settings"][name] = settings_label(s)
    scalings = []
    for _name, s in configs.items():
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
            point, dec = encode_clip(
                case, frames, originals, mk, s, r, keep_decoded=r in GAIN_RATES
            )
            curve.append(point)
            if dec:
                decoded[(name, r)] = dec
        result["curves"][name] = curve
        if mk is not None:
            result["gains"][name] = {
                str(int(p["requested"])): dict(zip(("gain", "flag"), gain(p, ladder), strict=True))
                for p in curve
                if p["requested"] in GAIN_RATES
            }
    log(f"  quality {case.name}: {time.perf_counter() - started:.0f} s")
    return result, originals, decoded
