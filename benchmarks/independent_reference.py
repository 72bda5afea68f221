"""HSC's coverage against a reference that does not share the RoI's principle.

    python benchmarks/independent_reference.py [--reach 10] [--docs docs]

HSC's shipped reference (`reference_cells.tif`) marks cells by local contrast, the principle of
the RoI's appearance rule, so issue 21 keeps it for reporting and never lets HSC choose a
default: a rule measured against a reference that shares its principle is measured against
itself. This script measures the default RoI of HSC, clean and with camera noise, against a
second reference made another way, background subtraction over time
(`common.cells_over_time`: each frame's difference from the per-pixel median of the frames
around it, where a cell that moves is absent). On every 4th frame of the movie and the coded
frames (`generalise.coverage_frames_of`): the share of that reference's pixels inside the RoI,
within the guard's 2-px band of it, and (beside them) the same for the local-contrast reference;
the area each reference marks; and the same coverage with the subtraction's threshold at 4 and
8 robust SDs instead of 6, since its edge convention (how much of the halo it takes) moves the
figure. Writes docs/independent-reference.md and benchmarks/results/independent_reference.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from generalise import MIN_COVERAGE, MIN_FRAME_COVERAGE, coverage_frames_of  # noqa: E402

from napari_flowroi import guard  # noqa: E402
from napari_flowroi.masks import grow  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

#: The subtraction's thresholds reported beside the default (robust SDs).
OTHER_Z = (4.0, 8.0)
#: Reference pixels within this many px of the RoI counted as held: none, the guard's band
#: (the codec keeps the detail of structure within 3 px of the RoI) and 4 px (the brief's
#: allowance where a figure hangs on a reference's edge convention).
BANDS = (0, guard.BAND, 4)


def held(roi: np.ndarray, cells: np.ndarray, band: int = 0) -> tuple[int, int]:
    """(cell pixels inside `roi` or within `band` px of it, cell pixels)."""
    inside = grow(roi, band) if band else roi
    return int(np.count_nonzero(cells & inside)), int(np.count_nonzero(cells))


#: Made once for the clean and the noisy clip: (movie, t, reach) -> background, and
#: (movie, t, reach, z) -> reference.
_BACKGROUNDS: dict = {}
_REFERENCES: dict = {}


def over_time(case, t: int, reach: int, z: float) -> np.ndarray:
    """:func:`common.cells_over_time` of `case`'s clean movie (the camera noise is not a cell),
    as a bool mask, made once for both clips (and the background once for every `z`)."""
    key = (case.movie_name, t, reach, z)
    if key not in _REFERENCES:
        movie = case.clean if case.clean is not None else case.movie
        if key[:3] not in _BACKGROUNDS:
            _BACKGROUNDS[key[:3]] = common.background_over_time(movie, t, reach)
        background = _BACKGROUNDS[key[:3]]
        _REFERENCES[key] = (
            common.cells_over_time(movie, t, reach=reach, z=z, background=background) > 0
        )
    return _REFERENCES[key]


def measure(case, frames: list[int], reach: int) -> dict:
    """Coverage of `case`'s default RoI on `frames` by both references (see the module
    docstring), summed over the frames, with the worst frame."""
    extractor = RoiExtractor(case.movie, FlowRoISettings(), cache_frames=8)
    totals: dict[str, list[int]] = {}
    worst: dict[str, float] = {}
    areas: dict[str, int] = {}
    for t in frames:
        roi = extractor.mask(t)
        references = {
            "over time": over_time(case, t, reach, common.OVER_TIME_Z),
            "local contrast": case.cells(t) > 0,
        }
        for z in OTHER_Z:
            references[f"over time z{z:g}"] = over_time(case, t, reach, z)
        for name, cells in references.items():
            areas[name] = areas.get(name, 0) + int(np.count_nonzero(cells))
            for band in BANDS:
                key = f"{name}|{band}"
                inside, total = held(roi, cells, band)
                pair = totals.setdefault(key, [0, 0])
                pair[0] += inside
                pair[1] += total
                share = inside / total if total else 1.0
                worst[key] = min(worst.get(key, 1.0), share)
    pixels = len(frames) * case.movie.shape[1] * case.movie.shape[2]
    return {
        "movie": case.name,
        "frames": frames,
        "coverage": {k: v[0] / v[1] if v[1] else 1.0 for k, v in totals.items()},
        "worst_frame": worst,
        "area_share": {k: v / pixels for k, v in areas.items()},
    }


def table(results: dict) -> list[str]:
    def cell(row, name, band):
        key = f"{name}|{band}"
        return f"{row['coverage'][key]:.2%} ({row['worst_frame'][key]:.2%})"

    lines = [
        "| clip | frames | reference | share of the frame | covered | within 2 px | within 4 px |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in results["rows"]:
        names = [
            ("over time", f"over time, {common.OVER_TIME_Z:g} robust SDs"),
            *((f"over time z{z:g}", f"over time, {z:g} robust SDs") for z in OTHER_Z),
            ("local contrast", "local contrast (shipped)"),
        ]
        for name, label in names:
            lines.append(
                f"| {row['movie']} | {len(row['frames'])} | {label} | "
                f"{row['area_share'][name]:.1%} | "
                + " | ".join(cell(row, name, band) for band in BANDS)
                + " |"
            )
    return lines


def write_doc(results: dict, path: Path) -> None:
    common.write_page(
        path,
        "# HSC against a reference made another way",
        common.generated_line("`python benchmarks/independent_reference.py`", results),
        (
            "HSC's shipped reference marks cells by local contrast, the principle of the RoI's "
            'appearance rule, so it never chooses a default (docs/benchmarks.md, "Leave one '
            'movie out"). Here the default RoI of HSC is measured against a second reference '
            "made by background subtraction over time (`benchmarks/common.py`, "
            f"`cells_over_time`: the frame's difference from the per-pixel median of up to "
            f"{results['reach']} frames on either side, more than "
            f"{common.OVER_TIME_Z:g} robust SDs; the reference of the noisy clip is the clean "
            "movie's). It cannot see a cell that stays put for most of that window, and it "
            "takes in each cell's halo and blur. *covered* = share of that reference's pixels "
            "inside the RoI over every 4th frame of the movie and the coded frames (worst frame "
            "in brackets; issue 21's targets ≥ "
            f"{MIN_COVERAGE:.0%} and every frame ≥ {MIN_FRAME_COVERAGE:.0%}); *within 2 px* "
            "counts the pixels within the missed-cell guard's band of the RoI as held (the "
            "codec keeps the detail of structure within 3 px of it), *within 4 px* those within "
            "4 px (where a figure hangs on the reference's edge); the rows at other thresholds "
            "move how far into the halo the reference reaches. What it shows and what was "
            'decided: docs/decisions.md, "HSC against a reference made another way".'
        ),
        table(results),
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reach", type=int, default=common.OVER_TIME_REACH)
    parser.add_argument("--docs", default=str(HERE.parent / "docs"))
    args = parser.parse_args(argv)
    started = time.perf_counter()
    began = time.strftime("%Y-%m-%d %H:%M")
    rows = []
    for case in common.load_cases(False, ["HSC"]):
        rows.append(measure(case, coverage_frames_of(case), args.reach))
        print(case.name, rows[-1]["coverage"], flush=True)
    results = {
        "started": began,
        "wall_seconds": time.perf_counter() - started,
        "reach": args.reach,
        "rows": rows,
    }
    out = HERE / "results" / "independent_reference.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    write_doc(results, Path(args.docs) / "independent-reference.md")
    print("\n".join(table(results)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
