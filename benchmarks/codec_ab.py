"""Whole compressions of the shipped samples by two checkouts of napari-flowroi, interleaved:
the A/B that a change of the codec's binding must pass (throughput no worse, same files).

    python benchmarks/codec_ab.py BASELINE_SRC [--repeats 9] [--extra-input movie.tif]

BASELINE_SRC is the `src` folder of the other checkout (e.g. a worktree of main); this
checkout's `src` is the candidate. Each repeat runs every case with both, alternating which goes
first, as `flowroi compress ... --quiet` in a fresh process under the same interpreter, and
reports medians of the compression time the command reports (`seconds`), of the process's wall
time and of its CPU time (user + system, all threads), the candidate ÷ baseline ratios, the
ratio of each pair, and whether every frame's SHA-256 was the same.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]
SAMPLES = HERE / "src" / "napari_flowroi" / "sample_data"
CASES = [
    ("hsc_brightfield.tif", []),
    ("hela_nuclei.tif", []),
    ("hsc_brightfield.tif", ["--workers", "2", "--threads"]),
    ("hsc_brightfield.tif", ["--plain"]),
]
RUN = "import sys; from napari_flowroi.cli import main; sys.exit(main(sys.argv[1:]))"


def run_once(src: str, movie: Path, extra: list[str], dest: Path) -> dict:
    """One `flowroi compress` in a fresh process with `src` first on the path."""
    shutil.rmtree(dest, ignore_errors=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", RUN, "compress", str(movie), str(dest), "--quiet", *extra],
        env=dict(os.environ, PYTHONPATH=src),
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(done.stderr)
    manifest = json.loads((dest / "manifest.json").read_text())
    return {
        "seconds": json.loads(done.stdout)["seconds"],
        "wall": wall,
        "cpu": after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime,
        "frames": [f["sha256"] for f in manifest["frames"]],
        "rate": manifest["totals"]["achieved_rate"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("baseline", help="the other checkout's src folder")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--extra-input", type=Path, action="append", default=[])
    args = parser.parse_args()
    sources = {"baseline": str(Path(args.baseline).resolve()), "candidate": str(HERE / "src")}
    cases = [(SAMPLES / name, extra) for name, extra in CASES]
    cases += [(path.resolve(), []) for path in args.extra_input]
    runs: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            for i, (movie, extra) in enumerate(cases):
                order = ["baseline", "candidate"]
                if (repeat + i) % 2:
                    order.reverse()
                for who in order:
                    result = run_once(sources[who], movie, extra, Path(tmp) / f"{who}-{i}")
                    runs.setdefault(i, {}).setdefault(who, []).append(result)
    for i, (movie, extra) in enumerate(cases):
        a, b = runs[i]["baseline"], runs[i]["candidate"]

        def ratio(key, a=a, b=b):
            return statistics.median(r[key] for r in b) / statistics.median(r[key] for r in a)

        pairs = ", ".join(f"{y['seconds'] / x['seconds']:.2f}" for x, y in zip(a, b, strict=True))
        same = all(x["frames"] == y["frames"] for x, y in zip(a, b, strict=True))
        print(
            f"{movie.name} {' '.join(extra) or '(defaults)'}: candidate / baseline, medians of "
            f"{args.repeats}: compression time {ratio('seconds'):.3f} (pairs {pairs}), process "
            f"wall {ratio('wall'):.3f}, process CPU {ratio('cpu'):.3f}; same frames: {same}; "
            f"achieved rate {a[0]['rate']} / {b[0]['rate']}"
        )


if __name__ == "__main__":
    main()
