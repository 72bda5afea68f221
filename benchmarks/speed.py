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
    import glymur
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

    parser = argparse.ArgumentParser()
    parser.add_argument("--memory", type=int, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps(_memory_child(args.memory, args.workers)))
