"""Compress a whole movie into a container, in parallel with dask, resumable and cancellable."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from .codec import encode_frame
from .container import ContainerWriter, manifest_reserve, record_reserve
from .errors import CancelledError, OutputError
from .inputs import Movie, input_fingerprint, open_movie, require_motion
from .roi import RoiExtractor
from .settings import FlowRoISettings

#: Frames per dask task. A task reads its frames (plus the neighbours its masks need) itself and
#: runs them through one RoiExtractor, so within a task no flow is computed twice; small enough
#: that progress moves and a killed run loses little.
CHUNK_FRAMES = 8

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class CompressionSummary:
    output: Path
    frames: int
    resumed_frames: int
    raw_bytes: int
    bytes_written: int
    achieved_rate: float
    mean_roi_fraction: float
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        return {"output": str(self.output), "frames": self.frames,
                "resumed_frames": self.resumed_frames, "raw_bytes": self.raw_bytes,
                "bytes_written": self.bytes_written, "achieved_rate": self.achieved_rate,
                "mean_roi_fraction": self.mean_roi_fraction, "seconds": round(self.seconds, 3)}


def check_output_location(source: Any, output: Path) -> None:
    if not isinstance(source, (str, Path)):
        return
    source_path = Path(source).resolve()
    out = output.resolve()
    if out == source_path or (source_path.is_dir() and source_path in out.parents):
        raise OutputError(f"Output {output} is inside the input {source}; write the compressed "
                          "stack somewhere else so the input stays untouched.")


def run_description(movie: Movie, settings: FlowRoISettings) -> dict[str, Any]:
    """What a run is: resuming is allowed only into a folder whose run matches this exactly."""
    return {"shape": list(movie.shape), "dtype": str(movie.dtype),
            "input": {**input_fingerprint(movie), "physical": movie.physical},
            "settings": settings.to_dict()}


def chunks(frames: Sequence[int], size: int) -> list[list[int]]:
    """Split frame indices into runs of consecutive frames of at most `size`."""
    out: list[list[int]] = []
    for t in frames:
        if out and out[-1][-1] == t - 1 and len(out[-1]) < size:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def compress_chunk(source: Any, output: Path, settings: FlowRoISettings, frames: list[int],
                   overhead_bytes: int, on_frame: Callable[[], None] | None = None,
                   cancel: threading.Event | None = None) -> list[dict]:
    """Code `frames` of the movie at `source` into the container at `output` (one dask task)."""
    movie = open_movie(source)
    # the cache holds what one chunk needs (its frames, their partners and the adjacent window)
    window = len(frames) + 2 * settings.adjacent_factor + 2
    extractor = None if settings.plain else RoiExtractor(movie, settings, cache_frames=window)
    writer = ContainerWriter(output)
    records = []
    try:
        for t in frames:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Compression cancelled; finished frames are kept and a "
                                     "rerun with the same settings resumes.")
            mask = None if extractor is None else extractor.mask(t)
            encoded = encode_frame(movie[t], mask, settings, overhead_bytes)
            records.append(writer.write_frame(t, encoded))
            if on_frame is not None:
                on_frame()
    finally:
        if extractor is not None:
            extractor.clear()
    return records


def compress_movie(source: Any, output: str | Path, settings: FlowRoISettings | None = None, *,
                   workers: int = 1, overwrite: bool = False,
                   progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None,
                   chunk_frames: int = CHUNK_FRAMES) -> CompressionSummary:
    """Compress `source` (path, array or Movie) into the container folder `output`.

    Resumes an interrupted run with the same settings; `progress(done, total)` is called after
    every frame (from worker threads); setting `cancel` stops at the next frame.
    """
    import dask

    settings = settings or FlowRoISettings()
    started = time.perf_counter()
    output = Path(output)
    movie = open_movie(source)
    if not settings.plain:
        require_motion(movie)
    check_output_location(source, output)
    run = run_description(movie, settings)
    writer = ContainerWriter(output)
    done = writer.begin(run, overwrite=overwrite)
    n_frames = len(movie)
    todo = [t for t in range(n_frames) if t not in done]
    # Each frame pays for its manifest record and its share of the rest, so the total rate is met.
    overhead = record_reserve(movie.frame_nbytes, settings.uses_roi, movie.dtype.kind == "f") \
        + manifest_reserve(run, n_frames)

    lock = threading.Lock()
    count = [len(done)]

    def on_frame():
        with lock:
            count[0] += 1
            current = count[0]
        if progress is not None:
            progress(current, n_frames)

    if progress is not None:
        progress(len(done), n_frames)
    # Frames of an in-memory movie are read through the Movie itself; paths are reopened by each
    # task so that workers read their own frames.
    source_for_tasks = source if isinstance(source, (str, Path)) else movie
    tasks = [dask.delayed(compress_chunk, pure=False)(source_for_tasks, output, settings, chunk,
                                                       overhead, on_frame, cancel)
             for chunk in chunks(todo, chunk_frames)]
    if tasks:
        dask.compute(*tasks, scheduler="threads", num_workers=max(1, int(workers)))
    manifest = writer.finish(run)
    totals = manifest["totals"]
    roi = [r["roi_fraction"] for r in manifest["frames"]]
    return CompressionSummary(
        output=output, frames=n_frames, resumed_frames=len(done), raw_bytes=totals["raw_bytes"],
        bytes_written=totals["bytes_written"], achieved_rate=totals["achieved_rate"],
        mean_roi_fraction=sum(roi) / len(roi), seconds=time.perf_counter() - started)
