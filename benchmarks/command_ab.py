"""The whole ``flowroi compress`` command of two source trees and plain JPEG2000, interleaved.

For A/B measurements of a change to the command's speed: each pair of source trees (`--trees`,
e.g. the main branch's ``src`` and this one's) runs FlowRoI with the defaults, and the first
tree runs ``--plain``, in a rotating order, each in a fresh process pinned to one CPU (start-up,
the missed-cell guard's check and writing the container included) on the 12-frame 1-MP uint16
movie of benchmarks/speed.py (``movie_inputs``). Prints each run and the medians of the per-round
ratios (wall time from outside the process, and the child's CPU time).

    python benchmarks/command_ab.py --trees MAIN/src THIS/src --rounds 5
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
import speed  # noqa: E402


def run(tree: str, source: Path, out: Path, plain: bool, pin: list[str]) -> dict:
    """One command in a fresh process with `tree` first on the import path."""
    command = [*pin, sys.executable, "-m", "napari_flowroi.cli", "compress", str(source)]
    command += [str(out), "--compression-rate", "32", "--workers", "1", "--quiet"]
    command += ["--plain"] if plain else []
    env = dict(os.environ, PYTHONPATH=tree)
    before = os.times()
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - started
    after = os.times()
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    shutil.rmtree(out)
    return {"wall": wall, "cpu": cpu}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trees", nargs="+", required=True, help="source trees (src folders)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args()
    cpus = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus[-1])] if shutil.which("taskset") else []
    names = [("plain", args.trees[0], True)] + [
        (f"flowroi {i}", tree, False) for i, tree in enumerate(args.trees)
    ]
    runs: dict[str, list[dict]] = {name: [] for name, _, _ in names}
    with tempfile.TemporaryDirectory() as tmp:
        source = speed.movie_inputs(common.shared_data_dir(), Path(tmp), args.frames)[
            "HeLa 1024x1024 uint16"
        ]
        for r in range(args.rounds):
            order = names[r % len(names) :] + names[: r % len(names)]
            for name, tree, plain in order:
                runs[name].append(run(tree, source, Path(tmp) / "out", plain, pin))
                print(r, name, runs[name][-1], flush=True)
    plain = runs["plain"]
    for name, _, _ in names[1:]:
        for key in ("wall", "cpu"):
            ratios = [f[key] / p[key] for f, p in zip(runs[name], plain, strict=True)]
            print(
                f"{name} ({args.trees[int(name.split()[1])]}) / plain, {key}: "
                f"{statistics.median(ratios):.3f} (rounds {min(ratios):.3f}-{max(ratios):.3f})"
            )
    print(f"load average (1 min) at the end: {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
