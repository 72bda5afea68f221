"""Does the default RoI hold under uneven illumination, which our movies barely have?

    python benchmarks/illumination.py [--movies HeLa,E.coli] [--ramps 500,2000,8000]

Each clean movie's three coded frames and their neighbours (`common.MOVIES`), altered two ways
that widefield movies we do not have may show, and the default RoI's coverage of the reference
cells (mean and worst frame) next to the missed-cell guard's estimate on the same frames:

- *vignette*: the light above the camera's offset (the frame's 0.5th percentile) dimmed towards
  the corners, to half at the corners of the frame;
- *ramp G*: G counts added across the frame, left to right (a background gradient of uneven
  illumination or autofluorescence); only on 16-bit movies, whose headroom holds it (an 8-bit
  movie would clip).

Prints a Markdown table; the figures and what they mean are in docs/decisions.md ("Uneven
illumination").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import acquisition  # noqa: E402
import common  # noqa: E402


def vignetted(frame: np.ndarray, corner: float = 0.5) -> np.ndarray:
    """`frame` with the light above its 0.5th percentile scaled down to `corner` at the corners
    (a radial falloff, 1 at the centre)."""
    rows, cols = frame.shape
    y, x = np.mgrid[0:rows, 0:cols]
    radius2 = ((y - rows / 2) / (rows / 2)) ** 2 + ((x - cols / 2) / (cols / 2)) ** 2
    gain = 1 - (1 - corner) * radius2 / 2
    offset = float(np.percentile(frame, 0.5))
    out = offset + (frame.astype(np.float32) - offset) * gain
    return np.clip(np.round(out), 0, np.iinfo(frame.dtype).max).astype(frame.dtype)


def ramped(frame: np.ndarray, counts: float) -> np.ndarray:
    """`frame` with 0 .. `counts` added from its left to its right edge."""
    add = np.linspace(0, counts, frame.shape[1], dtype=np.float32)[None, :]
    return np.clip(frame.astype(np.float32) + add, 0, np.iinfo(frame.dtype).max).astype(frame.dtype)


def measure(case, alter) -> tuple[float, float, float | None]:
    """(mean coverage, worst frame, the guard's mean estimate; None where its reference found no
    cell) of the default RoI on `case`'s coded frames altered by `alter` (acquisition.measure,
    each frame altered alike)."""
    row = acquisition.measure(case, "", lambda frame, index, t: alter(frame), 1)
    return row["covered"], row["worst"], row["guard"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", default="", help="comma-separated subset of the movies")
    parser.add_argument("--ramps", default="500,2000,8000", help="counts added across the frame")
    args = parser.parse_args(argv)
    movies = tuple(m for m in args.movies.split(",") if m)
    ramps = [float(g) for g in args.ramps.split(",") if g]
    print("| movie | altered | covered (worst frame) | guard's estimate (difference) |")
    print("|---|---|---|---|")
    for case in common.load_cases(False, movies):
        if case.noisy:
            continue
        variants = [("as filmed", lambda f: f), ("vignette, corners at half", vignetted)]
        if case.movie.dtype == np.uint16:
            variants += [(f"ramp {g:g}", lambda f, g=g: ramped(f, g)) for g in ramps]
        for name, alter in variants:
            mean, worst, estimate = measure(case, alter)
            guess = (
                "found no cells"
                if estimate is None
                else f"{100 * estimate:.2f}% ({100 * abs(estimate - mean):.2f} pp)"
            )
            print(
                f"| {case.name} | {name} | {100 * mean:.2f}% ({100 * worst:.2f}%) | {guess} |",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
