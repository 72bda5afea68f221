"""Issue 21: where does the RoI's area outside the reference cells + 2 px come from, stage by stage,
and which reference-cell pixels does it miss, and at which stage?

    python benchmarks/roi_excess.py [--movies U373,CHO] [--frames 2] [--json out.json]

Per clip (clean and noisy) and on its first `--frames` coded frames (common.MOVIES), the default
RoI is rebuilt from the extractor's public stages, each pixel counted by the FIRST stage that adds
it, in the order the RoI is made:

1. *score cells*: the confident regions of the cell score alone (``background_z`` 0, the rule
   before issue 21), at full resolution, before the margin;
2. *fail-safe*: what the fail-safe adds to the confident regions (pieces touching a cell, holes);
3. *motion*: moving candidate regions the appearance source does not hold (rule ``cells``);
4. *margin*: the ``roi_margin`` grow of all of it (the mask the codec gets);
5. *feather* (reported apart, not in the RoI share): the band up to ``feather`` px outside the
   RoI where the codec still half protects detail.

Each stage's excess (pixels outside the reference cells + 2 px) is split by where it lies:
*halo* (within 8 px of a reference cell: rims, a fat margin), *ring* (8-24 px: phase halos of
spread cells) or *far* (debris, texture, an unannotated object), all as shares of the ideal RoI's area so the columns add up to
the RoI / ideal ratio minus its overlap. Missed reference pixels are split by stage: *no
candidate* (the score never reached half the cell contrast, the fail-safe found nothing), *still
candidate* (a candidate that is not confident and was not seen moving). Prints a Markdown table
and writes the JSON it came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

from napari_flowroi.masks import grow, to_shape  # noqa: E402
from napari_flowroi.roi import RoiExtractor, moving_regions  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

#: Excess within HALO_PX of a reference cell counts as *halo*, within RING_PX as *ring* (phase
#: halos of spread cells, a fat margin), farther as *far* (debris, texture, unannotated objects).
HALO_PX = 8
RING_PX = 24
STAGES = ("score cells", "fail-safe", "motion", "margin")


def lone_pieces(roi: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The RoI's pieces (8-connected) touching no reference cell, and those of them touching the
    frame's edge."""
    _count, labels = cv2.connectedComponents(roi.astype(np.uint8), connectivity=8)
    held = np.unique(labels[cells])
    lone = roi & ~np.isin(labels, held[held > 0])
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return lone, lone & np.isin(labels, edge[edge > 0])


def _stages(extractor: RoiExtractor, t: int) -> dict[str, np.ndarray]:
    """The cumulative RoI after each stage (full resolution)."""
    s = extractor.settings
    shape = extractor.shape
    base = extractor.with_settings(s.replace(background_z=0.0))
    score_cells = to_shape(base.regions(t).mask(), shape)
    confident = to_shape(extractor.regions(t).mask(), shape)
    regions = extractor.regions(t)
    motion = extractor.region_motion(t)
    keep = moving_regions(
        regions, motion.magnitude, floor=motion.floor, share=1.0 - s.roi_threshold
    ) & extractor.regions_to_test(t)
    moving = to_shape(regions.mask(keep), shape)
    out = {"score cells": score_cells}
    out["fail-safe"] = out["score cells"] | confident
    out["motion"] = out["fail-safe"] | moving
    out["margin"] = grow(out["motion"], s.roi_margin)
    return out


def measure(case, frames: list[int], settings: FlowRoISettings) -> dict:
    extractor = RoiExtractor(case.movie, settings, cache_frames=8)
    rows = []
    for t in frames:
        labels = case.cells(t)
        cells = labels > 0
        ideal = case.ideal(t)
        near = grow(cells, HALO_PX)
        ring = grow(cells, RING_PX) & ~near
        stages = _stages(extractor, t)
        # the mask the codec gets (each source is resized and grown on its own: the union of
        # resized masks differs from the resized union by a pixel here and there)
        final = stages["margin"] = extractor.mask(t)
        ideal_area = max(int(ideal.sum()), 1)
        row = {"t": t, "ideal_share": float(ideal.mean()), "roi_share": float(final.mean())}
        before = np.zeros_like(cells)
        for name in STAGES:
            added = stages[name] & ~before & ~ideal
            row[name] = {
                "halo": float((added & near).sum() / ideal_area),
                "ring": float((added & ring).sum() / ideal_area),
                "far": float((added & ~near & ~ring).sum() / ideal_area),
            }
            before = stages[name]
        feather = grow(final, int(np.ceil(settings.feather))) & ~final & ~ideal
        row["feather"] = float(feather.sum() / ideal_area)
        # pieces of the RoI that touch no reference cell at all (debris, objects the reference
        # lacks); an object the data's README says to count neither way counts as a cell here
        other = case.unannotated(t)
        lone, _at_border = lone_pieces(final, cells if other is None else cells | other)
        row["lone_pieces"] = cv2.connectedComponents(lone.astype(np.uint8), connectivity=8)[0] - 1
        row["lone_area"] = float(lone.sum() / ideal_area)
        # the missed reference pixels, by stage
        missed = cells & ~final
        regions = extractor.regions(t)
        candidate = to_shape(regions.labels > 0, extractor.shape)
        n_cells = max(int(cells.sum()), 1)
        row["missed"] = float(missed.sum() / n_cells)
        row["missed_candidate"] = float((missed & candidate).sum() / n_cells)
        row["missed_none"] = float((missed & ~candidate).sum() / n_cells)
        # missed pixels right at a cell's edge (the outer 2 px of the reference) or deeper
        inner = cv2.erode(cells.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
        row["missed_edge"] = float((missed & ~inner).sum() / n_cells)
        rows.append(row)
    return {"frames": frames, "rows": rows}


def _mean(rows, *path) -> float:
    values = []
    for r in rows:
        v = r
        for p in path:
            v = v[p]
        values.append(v)
    return float(np.mean(values))


def table(results: dict) -> list[str]:
    lines = [
        "| clip | RoI / ideal | "
        + " | ".join(f"{n}: halo / ring / far" for n in STAGES)
        + " | lone pieces (area) | feather band | missed: candidate / none (edge) |",
        "|---|---|" + "---|" * len(STAGES) + "---|---|---|",
    ]
    for name, r in results.items():
        rows = r["rows"]
        ratio = np.mean([x["roi_share"] / x["ideal_share"] for x in rows])
        cells = [
            " / ".join(f"{_mean(rows, s, part):.2f}" for part in ("halo", "ring", "far"))
            for s in STAGES
        ]
        lines.append(
            f"| {name} | {ratio:.2f} | "
            + " | ".join(cells)
            + f" | {np.mean([x['lone_pieces'] for x in rows]):.0f} ({_mean(rows, 'lone_area'):.2f})"
            + f" | {_mean(rows, 'feather'):.2f}"
            + f" | {_mean(rows, 'missed_candidate'):.2%} / {_mean(rows, 'missed_none'):.2%}"
            + f" ({_mean(rows, 'missed_edge'):.2%}) |"
        )
    return lines


def run(movies=(), n_frames: int = 2, settings: FlowRoISettings | None = None, log=print):
    """:func:`measure` on every clip of common.load_cases (`movies`: a subset by name), on the
    first `n_frames` coded frames of each."""
    settings = settings or FlowRoISettings()
    out = {}
    for case in common.load_cases(False, movies):
        frames = case.frames[:n_frames]
        out[case.name] = measure(case, frames, settings)
        log(f"  {case.name}: done")
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--movies", default="")
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--json", default=str(HERE / "results" / "roi_excess.json"))
    args = parser.parse_args(argv)
    wanted = [m.strip() for m in args.movies.split(",") if m.strip()]
    results = run(wanted, args.frames, log=lambda m: print(m, file=sys.stderr, flush=True))
    Path(args.json).parent.mkdir(exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=1))
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
