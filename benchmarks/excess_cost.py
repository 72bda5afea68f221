"""Issue 21, "85 % of the ideal": what each part of the default RoI's excess costs in gain.

    python benchmarks/excess_cost.py [--movies CHO,HeLa] [--out FILE.md] [--json out.json]

Writes benchmarks/results/excess_cost.md (the table and how it was made) unless ``--out`` says
otherwise.

``roi_excess.py`` says where the RoI's area beyond the reference cells + 2 px lies; this says what
that area costs. Per clip (clean and noisy, the coded frames of common.MOVIES) the default RoI is
coded at 8 and 16:1 with one part of it removed at a time, using the reference masks (so these are
bounds for a rule that could tell those parts apart, not a rule):

- *without lone pieces*: RoI pieces that touch no reference cell removed (debris, texture, camera
  noise, and objects the reference leaves out);
- *without lone pieces at the border*: only those of them that touch the frame's edge (on CHO the
  reference leaves out nuclei cut by the border; the data README says so);
- *within 4 px*: the RoI cut to the reference cells + 4 px (every far piece and halo gone; what is
  left is the RoI's own edge, compare the benchmark's "of ideal + 4 px").

The gain of each (matched cell PSNR against plain JPEG2000, as in docs/benchmarks.md) beside the
default's and the ideal's tells which part of the excess a tighter rule would have to remove to
reach 85 % of the ideal, and whether that part is the RoI's or the reference's.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from common import gain, ideal_mask, plain_ladder  # noqa: E402
from quality import encode_clip  # noqa: E402

from napari_flowroi.masks import grow  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

RATES = (8, 16)
VARIANTS = ("default", "without lone pieces", "without lone pieces at the border", "within 4 px")


def lone_pieces(roi: np.ndarray, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The RoI's pieces (8-connected) touching no reference cell, and those of them touching the
    frame's edge."""
    _count, labels = cv2.connectedComponents(roi.astype(np.uint8), connectivity=8)
    held = np.unique(labels[cells])
    lone = roi & ~np.isin(labels, held[held > 0])
    edge = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    return lone, lone & np.isin(labels, edge[edge > 0])


def variants(roi: np.ndarray, cells: np.ndarray) -> dict[str, np.ndarray]:
    lone, at_border = lone_pieces(roi, cells)
    return {
        "default": roi,
        "without lone pieces": roi & ~lone,
        "without lone pieces at the border": roi & ~at_border,
        "within 4 px": roi & grow(cells, common.IDEAL_MARGIN + 2),
    }


def run_case(case) -> dict:
    frames = case.frames
    originals = {t: np.asarray(case.movie[t]) for t in frames}
    ladder = plain_ladder(case, frames, originals)
    extractor = RoiExtractor(case.movie, FlowRoISettings(), cache_frames=8)
    cells = {t: case.cells(t) > 0 for t in frames}
    per_frame = {t: variants(extractor.mask(t), cells[t]) for t in frames}
    ideal = {t: ideal_mask(case.cells(t)) for t in frames}
    ideal_area = float(np.mean([ideal[t].mean() for t in frames]))
    row = {}
    for name in (*VARIANTS, "ideal"):
        masks = ideal if name == "ideal" else {t: per_frame[t][name] for t in frames}
        gains = []
        for rate in RATES:
            point, _ = encode_clip(case, frames, originals, masks, FlowRoISettings(), rate)
            gains.append(gain(point, ladder)[0])
        area = float(np.mean([masks[t].mean() for t in frames])) / ideal_area
        row[name] = {"area": area, "gains": gains}
    return row


def table(results: dict) -> list[str]:
    head = " | ".join(f"{v}: area, gain 8 / 16:1" for v in (*VARIANTS, "ideal"))
    lines = [f"| clip | {head} |", "|---" * (len(VARIANTS) + 2) + "|"]
    for clip, row in results.items():
        cells = [
            f"{row[v]['area']:.2f}, {row[v]['gains'][0]:.2f} / {row[v]['gains'][1]:.2f}"
            for v in (*VARIANTS, "ideal")
        ]
        lines.append(f"| {clip} | " + " | ".join(cells) + " |")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", default="", help="comma-separated, e.g. CHO,HeLa")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "excess_cost.md")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    movies = [m for m in args.movies.split(",") if m]
    results = {}
    for case in common.load_cases(False, movies):
        results[case.name] = run_case(case)
        print(f"{case.name}: done", file=sys.stderr, flush=True)
    lines = table(results)
    print("\n".join(lines))
    header = [
        "# What each part of the default RoI's excess costs (issue 21)",
        "",
        (
            f"*Generated by `python benchmarks/excess_cost.py` on {time.strftime('%Y-%m-%d %H:%M')};"
            " the variants are described in the script's docstring. Areas are shares of the"
            " reference cells + 2 px; gains at matched cell PSNR against plain JPEG2000 on the"
            " benchmark's coded frames.*"
        ),
        "",
    ]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(header + lines) + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
