"""Issue 21: what a stillness test on the motion source's candidates would cut (a measurement for
a change to roi.py, which this benchmark does not make).

    python benchmarks/still_pieces.py [--movies U373,E.coli] [--still 2,3] [--debris 0.25]

The motion source (rule ``cells``) keeps a candidate region when enough of its pixels flow faster
than the frame's floor. Around a small speck of debris the measured flow is not the speck's own:
on U373 most of the specks the debris cut (appearance.DEBRIS_SHARE) demotes flow "faster than the
floor" over 50-100 % of their pixels, while the grey levels inside them change between the frame
and its partner no more than the background's do (mean absolute difference 1-9 grey levels,
background 2-3; the cells 11-30). This rebuilds the default RoI (every 4th frame and the coded
frames of each clip) with one more condition on the candidates the motion source keeps: their
mean absolute frame difference must reach `k` times the background's (pixels outside every
region), and reports the coverage of the reference cells and the RoI / ideal ratio with and
without it. The RoI is rebuilt as RoiExtractor.mask makes it (appearance source, and the motion
source's frames t-k..t+k); with `k` 0 it is checked to be the extractor's own mask.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

from napari_flowroi import appearance  # noqa: E402
from napari_flowroi.masks import grow, to_shape  # noqa: E402
from napari_flowroi.metrics import pixel_coverage  # noqa: E402
from napari_flowroi.roi import RoiExtractor, moving_regions, partner_frame  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402


def _frame_mask(extractor: RoiExtractor, u: int, still: float) -> np.ndarray:
    """The motion source's mask of frame u, with the stillness condition at `still` (0 = off)."""
    s = extractor.settings
    regions = extractor.regions(u)
    motion = extractor.region_motion(u)
    keep = moving_regions(
        regions, motion.magnitude, floor=motion.floor, share=1.0 - s.roi_threshold
    ) & extractor.regions_to_test(u)
    if still > 0:
        current = extractor.prepared(u).astype(np.float32)
        other = extractor.prepared(partner_frame(u, len(extractor.movie))).astype(np.float32)
        change = np.abs(current - other)
        background = float(change[regions.labels == 0].mean())
        area = np.bincount(regions.labels.ravel(), minlength=regions.count + 1)
        inside = np.bincount(
            regions.labels.ravel(), weights=change.ravel(), minlength=regions.count + 1
        )
        keep &= inside / np.maximum(area, 1) >= still * background
    return grow(to_shape(regions.mask(keep), extractor.shape), s.roi_margin)


def measure(case, stills, debris: float) -> dict:
    frames = sorted(set(range(1, len(case.movie) - 1, 4)) | set(case.frames))
    saved = appearance.DEBRIS_SHARE
    appearance.DEBRIS_SHARE = debris
    try:
        extractor = RoiExtractor(case.movie, FlowRoISettings(), cache_frames=16)
        k = extractor.settings.adjacent_factor
        out = {}
        for still in (0.0, *stills):
            cover, ratio = [], []
            for t in frames:
                cells = case.cells(t) > 0
                if not cells.any():
                    continue
                mask = extractor.appearance_mask(t).copy()
                for u in range(max(0, t - k), min(len(case.movie), t + k + 1)):
                    mask |= _frame_mask(extractor, u, still)
                if still == 0:
                    assert (mask == extractor.mask(t)).all()
                cover.append(pixel_coverage(mask, cells))
                if t in case.frames:
                    ratio.append(mask.mean() / case.ideal(t).mean())
            out[still] = {
                "coverage": float(np.mean(cover)),
                "worst_frame": float(np.min(cover)),
                "roi_over_ideal": float(np.mean(ratio)),
            }
    finally:
        appearance.DEBRIS_SHARE = saved
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--movies", default="U373,E.coli,HSC")
    parser.add_argument("--still", default="2,3")
    parser.add_argument("--debris", type=float, default=0.25)
    args = parser.parse_args(argv)
    wanted = [m.strip() for m in args.movies.split(",") if m.strip()]
    stills = [float(v) for v in args.still.split(",") if v.strip()]
    print(f"DEBRIS_SHARE {args.debris:g}")
    print(
        "| clip | still k | covered (worst frame) | RoI / ideal (mean of the coded frames' ratios) |"
    )
    print("|---|---|---|---|")
    for case in common.load_cases(False, wanted):
        for still, r in measure(case, stills, args.debris).items():
            print(
                f"| {case.name} | {still:g} | {r['coverage']:.2%} ({r['worst_frame']:.2%}) | "
                f"{r['roi_over_ideal']:.2f} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
