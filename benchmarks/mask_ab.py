"""The RoI mask's CPU time per megapixel of two source trees, interleaved (issue 21's mask target).

For A/B measurements of a change to the mask's speed: each round runs, for every source tree
(`--trees`, e.g. the main branch's ``src`` and this one's) in turn, a fresh process with that tree
first on the import path, which streams frames through one extractor for each movie of
../shared/data, the default settings on one OpenCV thread, as ``speed.mask_speed`` does (the
frames in memory; the stream's first frame, and any first import, not counted). The order of the
trees rotates from round to round. Prints each run and, per movie, the median s/MP of each tree
and the median of the per-round ratios (each tree ÷ the first), with the load average.

    python benchmarks/mask_ab.py --trees MAIN/src THIS/src --rounds 5
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def child(frames: int, movies: list[str]) -> dict:
    """(child process) s/MP of the default mask per movie, with this process's import path."""
    import cv2
    import numpy as np

    # the tree under test first: common.py puts this checkout's src on the path when imported
    from napari_flowroi.readers import movie_from_array, open_movie
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    sys.path.insert(0, str(HERE))
    import common
    import speed

    cv2.setNumThreads(1)
    data = common.shared_data_dir()
    out = {"tree": str(Path(sys.modules["napari_flowroi"].__file__).parents[1])}
    for name in movies:
        movie = open_movie(data / speed.MASK_MOVIES[name])
        first = common.MOVIES[name][1][1]
        last = min(len(movie), first + frames)
        clip = np.stack([np.asarray(movie[t]) for t in range(first - 1, last)])
        extractor = RoiExtractor(movie_from_array(clip), FlowRoISettings(), cache_frames=6)
        extractor.mask(0)  # the stream's first frame (and any first import)
        started = time.process_time()
        for t in range(1, len(clip)):
            extractor.mask(t)
        spent = time.process_time() - started
        out[name] = spent / (len(clip) - 1) / (clip.shape[1] * clip.shape[2] / 1e6)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", help="source trees (src folders)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=7)
    parser.add_argument("--movies", default="HSC,U373,E.coli,GOWT1,HeLa,CHO")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    movies = [m.strip() for m in args.movies.split(",") if m.strip()]
    if args.child:
        print(json.dumps(child(args.frames, movies)))
        return
    runs = {tree: [] for tree in args.trees}
    loads = []
    for round_ in range(args.rounds):
        shift = round_ % len(args.trees)
        for tree in args.trees[shift:] + args.trees[:shift]:
            command = [sys.executable, __file__, "--child", "--frames", str(args.frames)]
            command += ["--movies", ",".join(movies)]
            env = dict(os.environ, PYTHONPATH=tree)
            found = subprocess.run(command, check=True, capture_output=True, text=True, env=env)
            measured = json.loads(found.stdout.strip().splitlines()[-1])
            if Path(measured.pop("tree")).resolve() != Path(tree).resolve():
                raise SystemExit(f"{tree}: the child imported another napari_flowroi")
            runs[tree].append(measured)
            loads.append(os.getloadavg()[0])
            print(round_, tree, json.dumps(runs[tree][-1]), flush=True)
    first = args.trees[0]
    print(f"load average (1 min) during the runs: {min(loads):.1f}-{max(loads):.1f}")
    header = "| movie | " + " | ".join(f"s/MP {Path(t).parent.name or t}" for t in args.trees)
    print(header + " | " + " | ".join(f"÷ first, {i}" for i in range(1, len(args.trees))) + " |")
    for name in movies:
        medians = [statistics.median(r[name] for r in runs[t]) for t in args.trees]
        ratios = [
            statistics.median(b[name] / a[name] for a, b in zip(runs[first], runs[t], strict=True))
            for t in args.trees[1:]
        ]
        print(
            f"| {name} | "
            + " | ".join(f"{m:.4f}" for m in medians)
            + " | "
            + " | ".join(f"{r:.3f}" for r in ratios)
            + " |"
        )


if __name__ == "__main__":
    main()
