"""Peak memory of a long streamed movie: 100 vs 2,000 synthetic 1-MP frames.

Each length runs in a fresh process that compresses a movie whose frames are generated when read
(nothing holds the whole movie, as when reading a long TIFF frame by frame) and reports its peak
resident memory (ru_maxrss). Flat memory means the two peaks are about the same.

    .venv/bin/python benchmarks/long_movie.py                  # 100 and 2000 frames, FlowRoI
    .venv/bin/python benchmarks/long_movie.py --plain          # plain JPEG2000 (about 3x faster)
    .venv/bin/python benchmarks/long_movie.py --frames 100 400 --size 1024

FlowRoI costs ~0.1-0.15 s per 1-MP frame on one worker (2,000 frames: ~4 minutes); --plain measures the
streaming, encoding and container writing alone.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(n_frames: int, size: int, plain: bool, workers: int) -> dict:
    import numpy as np

    from napari_flowroi.batch import compress_movie
    from napari_flowroi.readers import Movie
    from napari_flowroi.settings import FlowRoISettings
    from napari_flowroi.synthetic import moving_discs

    base = moving_discs(n_frames=2, shape=(size, size), n_cells=12, radius=20).frames

    def read(t: int):
        return np.roll(base[t % 2], 2 * t, axis=1)  # a new frame each time, made on demand

    movie = Movie(
        shape=(n_frames, size, size),
        dtype=np.dtype(np.uint8),
        read=read,
        source=f"synthetic-{n_frames}x{size}",
    )
    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = compress_movie(
            movie,
            Path(out) / "long.flowroi",
            FlowRoISettings(plain=plain, compression_rate=40),
            workers=workers,
        )
        seconds = time.perf_counter() - started
    return {
        "frames": n_frames,
        "size": f"{size}x{size}",
        "plain": plain,
        "workers": workers,
        "seconds": round(seconds, 1),
        "seconds_per_frame": round(seconds / n_frames, 3),
        "achieved_rate": summary.achieved_rate,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[100, 2000])
    parser.add_argument("--size", type=int, default=1024, help="frame side in pixels [1024]")
    parser.add_argument("--plain", action="store_true", help="plain JPEG2000 (no flow)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.frames[0], args.size, args.plain, args.workers)))
        return
    for n_frames in args.frames:
        command = [
            sys.executable,
            __file__,
            "--child",
            "--frames",
            str(n_frames),
            "--size",
            str(args.size),
            "--workers",
            str(args.workers),
        ] + (["--plain"] * args.plain)
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        print(result.stdout.strip().splitlines()[-1], flush=True)


if __name__ == "__main__":
    main()
