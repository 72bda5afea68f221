"""Hashes of the default RoI masks of every benchmark frame, to show a speed-up changes no mask.

For each movie of ../shared/data, clean and with the benchmark's camera noise (benchmarks/common.py),
one extractor with the default settings computes the mask of every evaluated frame and of the
frames the mask-time stream runs through (speed.mask_speed: the middle evaluated frame and the 7
after it); prints one SHA-256 per clip and one over all of them. Run it on two source trees
(e.g. main's ``src`` and this checkout's) and compare:

    PYTHONPATH=MAIN/src python benchmarks/mask_hash.py
    PYTHONPATH=THIS/src python benchmarks/mask_hash.py
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--movies", default="", help="a subset by name, comma-separated")
    parser.add_argument("--stream", type=int, default=7, help="frames after the middle one")
    args = parser.parse_args()

    import cv2
    import numpy as np

    # the tree on PYTHONPATH first: common.py puts this checkout's src on the path when imported
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    sys.path.insert(0, str(HERE))
    import common

    cv2.setNumThreads(1)
    movies = [m.strip() for m in args.movies.split(",") if m.strip()]
    print("tree", Path(sys.modules["napari_flowroi"].__file__).parents[1], flush=True)
    total = hashlib.sha256()
    for case in common.load_cases(quick=False, movies=movies):
        middle = common.MOVIES[case.movie_name][1][1]
        stream = range(middle, min(len(case.movie), middle + args.stream + 1))
        frames = sorted(set(case.frames) | set(stream))
        extractor = RoiExtractor(case.movie, FlowRoISettings(), cache_frames=6)
        digest = hashlib.sha256()
        for t in frames:
            mask = np.ascontiguousarray(extractor.mask(t), dtype=bool)
            digest.update(np.int64(t).tobytes() + mask.tobytes())
        total.update(digest.digest())
        print(f"{case.name:14s} {len(frames):2d} frames {digest.hexdigest()[:16]}", flush=True)
    print("all", total.hexdigest())


if __name__ == "__main__":
    main()
