"""Compress movies into containers, in parallel, resumable and cancellable.

Work is cut into chunks of consecutive frames (one task each). Without a scheduler the chunks run
on threads in this process (OpenCV and OpenJPEG release the GIL; the napari widget and
`compress_movie(workers=N)` use this). With a scheduler (`scheduler=cluster.LOCAL` for worker
processes on this machine, a dask.distributed address, or a Client) every chunk is a task that
opens the input by its path and reads its own frames; the scheduler balances the chunks of all
movies of a plate over the workers.
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from .codec import encode_frame
from .container import ContainerWriter, PROGRESS, manifest_reserve, record_reserve, write_atomic
from .errors import CancelledError, InputError, OutputError
from .guard import frame_coverage
from .inputs import (Movie, check_frame_folder, input_fingerprint, list_wells, open_movie,
                     require_motion, well_name)
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
    notes: tuple[str, ...] = ()  # things worth telling that are not errors (e.g. an empty RoI)
    cell_coverage: dict | None = None  # the missed-cell guard over all frames (see coverage_of)

    def as_dict(self) -> dict[str, Any]:
        out = {"output": str(self.output), "frames": self.frames,
               "resumed_frames": self.resumed_frames, "raw_bytes": self.raw_bytes,
               "bytes_written": self.bytes_written, "achieved_rate": self.achieved_rate,
               "mean_roi_fraction": self.mean_roi_fraction, "seconds": round(self.seconds, 3)}
        if self.cell_coverage is not None:
            out["cell_coverage"] = self.cell_coverage
        if self.notes:
            out["notes"] = list(self.notes)
        return out


#: What the summary says about a movie where nothing moved (a constant or empty well).
EMPTY_ROI_NOTE = "RoI empty in all frames: no motion found (coded like plain JPEG2000)"


def coverage_of(records: list[dict]) -> dict | None:
    """The guard's estimate over a container's frames: mean and worst share of the cell pixels
    (found from appearance, independently of motion) inside the RoI."""
    shares = [(r["cell_coverage"], r["index"]) for r in records if "cell_coverage" in r]
    if not shares:
        return None
    worst, worst_frame = min(shares)
    return {"mean": round(sum(v for v, _ in shares) / len(shares), 4), "min": worst,
            "worst_frame": worst_frame}


@dataclass(frozen=True)
class PlateSummary:
    """One summary for several movies (the wells of a plate): per well and in total."""

    output: Path
    wells: tuple[tuple[str, CompressionSummary], ...]
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        wells = [{"well": name, **summary.as_dict()} for name, summary in self.wells]
        raw = sum(s.raw_bytes for _, s in self.wells)
        written = sum(s.bytes_written for _, s in self.wells)
        return {"output": str(self.output), "wells": wells, "totals": {
            "wells": len(wells), "frames": sum(s.frames for _, s in self.wells),
            "resumed_frames": sum(s.resumed_frames for _, s in self.wells),
            "raw_bytes": raw, "bytes_written": written,
            "achieved_rate": round(raw / written, 4) if written else 0.0,
            "seconds": round(self.seconds, 3)}}


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
                   cancel: Any = None, extra_roi: Any = None) -> list[dict]:
    """Code `frames` of the movie at `source` into the container at `output` (one task).

    `source` is a path (the task opens it itself: on a cluster, workers read their own frames) or
    a Movie (threads in this process); so is `extra_roi`, masks always protected. `cancel` is
    anything with ``is_set()``."""
    movie = open_movie(source)
    if isinstance(extra_roi, (str, Path)):
        extra_roi = open_movie(extra_roi)
    # the cache holds what one chunk needs (its frames, their partners and the adjacent window)
    window = len(frames) + 2 * settings.adjacent_factor + 2
    extractor = None if settings.plain else RoiExtractor(movie, settings, cache_frames=window,
                                                         extra_roi=extra_roi)
    writer = ContainerWriter(output)
    records = []
    try:
        for t in frames:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Compression cancelled; finished frames are kept and a "
                                     "rerun with the same settings resumes.")
            coverage = None
            if extractor is not None:
                mask = extractor.mask(t)
                coverage = frame_coverage(t, mask, extractor.cells(t)).pixel_share
            else:
                mask = None
            encoded = encode_frame(movie[t], mask, settings, overhead_bytes)
            records.append(writer.write_frame(t, encoded, cell_coverage=coverage))
            if on_frame is not None:
                on_frame()
    finally:
        if extractor is not None:
            extractor.clear()
    return records


@dataclass
class _Job:
    """One movie to compress: everything decided before any frame is coded."""

    name: str
    source: Any          # what tasks open: the path, or the Movie for in-memory arrays
    output: Path
    movie: Movie
    settings: FlowRoISettings
    run: dict
    state: str           # ContainerWriter.check: new, resume, replace or complete
    created: bool        # the output folder did not exist before this run
    extra_roi: Any = None  # masks always protected: a path tasks open, or frames in memory
    overhead: int = 0
    done: set = field(default_factory=set)
    pending: int = 0     # chunks not finished yet
    seconds: float = 0.0

    @property
    def writer(self) -> ContainerWriter:
        return ContainerWriter(self.output)


def _plan(source: Any, output: Path, settings: FlowRoISettings, overwrite: bool,
          keep_complete: bool, name: str = "", extra_roi: Any = None) -> _Job:
    """Open and check one input and its output; nothing is written."""
    movie = open_movie(source)
    if not settings.plain and settings.motion_roi:
        require_motion(movie)
    check_frame_folder(movie)
    check_output_location(source, output)
    run = run_description(movie, settings)
    if extra_roi is not None:
        run["input"]["roi_mask"] = _check_extra_roi(extra_roi, movie, settings)
    state = ContainerWriter(output).check(run, overwrite)
    if state == "complete" and not keep_complete:
        raise OutputError(f"Output {output} already holds a compressed stack. "
                          "Choose another output or pass --overwrite to replace it.")
    task_source = str(Path(source)) if isinstance(source, (str, Path)) else \
        source if getattr(source, "by_path", False) else movie  # formats.Plane opens by path
    task_extra = str(Path(extra_roi)) if isinstance(extra_roi, (str, Path)) else extra_roi
    return _Job(name=name or output.name, source=task_source, output=output, movie=movie,
                settings=settings, run=run, state=state, created=not output.exists(),
                extra_roi=task_extra)


def _check_extra_roi(extra_roi: Any, movie: Movie, settings: FlowRoISettings) -> str:
    """Check user masks against the movie; return how the manifest names them."""
    if settings.plain:
        raise InputError("A RoI mask was given with plain JPEG2000, which has no RoI; drop one.")
    if isinstance(extra_roi, (str, Path)):
        masks = open_movie(extra_roi)
        label = str(extra_roi)
    else:
        masks, label = extra_roi, getattr(extra_roi, "name", "masks given in memory")
    shape = tuple(getattr(masks, "shape", ()))
    if shape != tuple(movie.shape):
        raise InputError(f"The RoI mask {label} has shape {shape}, the movie {tuple(movie.shape)}; "
                         "give one mask frame of the movie's size per movie frame.")
    return label


def _begin(job: _Job, overwrite: bool) -> None:
    done = job.writer.begin(job.run, overwrite=overwrite, keep_complete=True)
    n_frames = len(job.movie)
    job.done = set(range(n_frames)) if done is None else done
    # Each frame pays for its manifest record and its share of the rest, so the total rate is met.
    job.overhead = record_reserve(job.movie.frame_nbytes, job.settings.uses_roi,
                                  job.movie.dtype.kind == "f") + manifest_reserve(job.run, n_frames)


def _summary(job: _Job, manifest: dict, seconds: float) -> CompressionSummary:
    totals = manifest["totals"]
    roi = [r["roi_fraction"] for r in manifest["frames"]]
    notes = [EMPTY_ROI_NOTE] if job.settings.uses_roi and not any(roi) else []
    coverage = coverage_of(manifest["frames"])
    if coverage is not None and coverage["mean"] < job.settings.coverage_target:
        notes.append(f"the RoI holds an estimated {coverage['mean']:.1%} of the cell pixels "
                     f"(worst frame {coverage['worst_frame']}: {coverage['min']:.1%}), below the "
                     f"coverage target {job.settings.coverage_target:.0%}: cells outside are "
                     "smeared; try `flowroi tune` or --appearance-roi")
    return CompressionSummary(
        output=job.output, frames=len(job.movie), resumed_frames=len(job.done),
        raw_bytes=totals["raw_bytes"], bytes_written=totals["bytes_written"],
        achieved_rate=totals["achieved_rate"], mean_roi_fraction=sum(roi) / len(roi),
        seconds=seconds, notes=tuple(notes), cell_coverage=coverage)


def _finish(job: _Job, seconds: float) -> CompressionSummary:
    if job.state == "complete" and len(job.done) == len(job.movie) and \
            (job.output / "manifest.json").is_file() and not (job.output / PROGRESS).exists():
        manifest = json.loads((job.output / "manifest.json").read_text())
    else:
        manifest = job.writer.finish(job.run)
    return _summary(job, manifest, seconds)


class _AnySet:
    """Set when any of its events is: the user's cancel or the run's own stop after an error."""

    def __init__(self, *events):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _compress_jobs(jobs: list[_Job], *, workers: int, overwrite: bool,
                   progress: ProgressCallback | None, cancel: threading.Event | None,
                   chunk_frames: int, scheduler: Any) -> list[CompressionSummary]:
    started = time.perf_counter()
    if scheduler is None:
        return _compress_jobs_with(jobs, None, workers, overwrite, progress, cancel, chunk_frames,
                                   started)
    in_memory = [job.name for job in jobs if not _by_path(job.source)
                 or not (job.extra_roi is None or _by_path(job.extra_roi))]
    if in_memory:
        raise InputError("A movie held in memory cannot be sent to a dask cluster (its workers "
                         "read frames from files). Save it as a TIFF first, or compress "
                         "without a scheduler (threads in this process).")
    from .cluster import dask_client

    # connect (or start the local cluster) before anything is written
    with dask_client(scheduler, workers) as client:
        return _compress_jobs_with(jobs, client, workers, overwrite, progress, cancel,
                                   chunk_frames, started)


def _by_path(source: Any) -> bool:
    """Whether a task can open `source` itself: a path, or a formats.Plane / ContainerMasks."""
    return isinstance(source, str) or getattr(source, "by_path", False)


def _compress_jobs_with(jobs, client, workers, overwrite, progress, cancel, chunk_frames,
                        started) -> list[CompressionSummary]:
    try:
        for job in jobs:
            _begin(job, overwrite)
    except OutputError:
        for job in jobs:
            _discard_if_empty(job)
        raise
    total = sum(len(job.movie) for job in jobs)
    lock = threading.Lock()
    count = [sum(len(job.done) for job in jobs)]

    def advance(frames: int) -> None:
        with lock:
            count[0] += frames
            current = count[0]
        if progress is not None:
            progress(current, total)

    if progress is not None:
        progress(count[0], total)
    tasks = []
    for job in jobs:
        todo = [t for t in range(len(job.movie)) if t not in job.done]
        for chunk in chunks(todo, chunk_frames):
            tasks.append((job, chunk))
            job.pending += 1
    finished_at = {id(job): started for job in jobs if job.pending == 0}
    try:
        if tasks and client is None:
            _run_threads(tasks, workers, advance, cancel, finished_at)
        elif tasks:
            _run_distributed(tasks, client, advance, cancel, finished_at)
    except InputError:
        # bad input found half-way (a NaN frame, a truncated file): leave nothing behind that
        # this run created; the input was only read
        for job in jobs:
            if job.created:
                job.writer.abandon()
        raise
    except OutputError:  # disk full or unwritable before the first frame: no empty run left
        for job in jobs:
            _discard_if_empty(job)
        raise
    return [_finish(job, finished_at.get(id(job), time.perf_counter()) - started)
            for job in jobs]


def _discard_if_empty(job: _Job) -> None:
    """A run that stopped before its first frame leaves no folder it created."""
    progress = job.output / PROGRESS
    if job.created and job.output.exists() and not any(progress.glob("frame_*.json")):
        job.writer.abandon()


def _run_threads(tasks, workers, advance, cancel, finished_at) -> None:
    """Chunks on a pool of threads in this process; progress after every frame. On the first
    error (or Ctrl-C) the other chunks stop at their next frame and are waited for, so nothing
    writes into the output after this returns."""
    stop = threading.Event()
    should_stop = _AnySet(cancel, stop)
    error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, int(workers)),
                            thread_name_prefix="flowroi") as pool:
        futures = {pool.submit(compress_chunk, job.source, job.output, job.settings, chunk,
                               job.overhead, lambda: advance(1), should_stop, job.extra_roi): job
                   for job, chunk in tasks}
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    exc = future.exception()
                    if exc is not None:
                        if error is None or (isinstance(error, CancelledError)
                                             and not isinstance(exc, CancelledError)):
                            error = exc
                        stop.set()
                        continue
                    job = futures[future]
                    job.pending -= 1
                    if job.pending == 0:
                        finished_at[id(job)] = time.perf_counter()
        except BaseException:  # Ctrl-C while waiting: stop the chunks, then go
            stop.set()
            raise
    if error is not None:
        raise error  # a real error wins over the CancelledErrors of the chunks it stopped


def _run_distributed(tasks, client, advance, cancel, finished_at) -> None:
    """Chunks as tasks on a dask.distributed cluster; progress per finished chunk."""
    from distributed import as_completed

    from .cluster import RETRIES, WorkerLostError, is_killed_worker

    futures = {}
    for job, chunk in tasks:
        future = client.submit(compress_chunk, job.source, str(job.output), job.settings,
                               chunk, job.overhead, None, None, job.extra_roi, pure=False,
                               retries=RETRIES)
        futures[future] = (job, chunk)
    try:
        for future in as_completed(list(futures)):
            job, chunk = futures[future]
            if cancel is not None and cancel.is_set():
                raise CancelledError("Compression cancelled; finished frames are kept and a "
                                     "rerun with the same settings resumes.")
            if future.status != "finished":
                exc = future.exception()
                if is_killed_worker(exc):
                    raise WorkerLostError(
                        f"dask workers died repeatedly while coding frames {chunk[0]}-"
                        f"{chunk[-1]} of {job.name} (out of memory?); finished frames are "
                        "kept: rerun the same command to resume.") from exc
                raise exc
            job.pending -= 1
            if job.pending == 0:
                finished_at[id(job)] = time.perf_counter()
            advance(len(chunk))
    except BaseException:
        client.cancel(list(futures))
        raise


def compress_movie(source: Any, output: str | Path, settings: FlowRoISettings | None = None, *,
                   workers: int = 1, overwrite: bool = False,
                   progress: ProgressCallback | None = None,
                   cancel: threading.Event | None = None,
                   chunk_frames: int = CHUNK_FRAMES, scheduler: Any = None,
                   extra_roi: Any = None) -> CompressionSummary:
    """Compress `source` (path, array or Movie) into the container folder `output`.

    Resumes an interrupted run with the same settings. Without `scheduler`, `workers` threads of
    this process code the frames and `progress(done, total)` is called after every frame (from
    worker threads); setting `cancel` stops at the next frame. With `scheduler` (cluster.LOCAL,
    a dask.distributed address or Client) the input must be a path; progress comes per chunk.
    `extra_roi`: masks or labels (T, Y, X) always protected, a TIFF path or frames in memory.
    """
    settings = settings or FlowRoISettings()
    output = Path(output)
    job = _plan(source, output, settings, overwrite, keep_complete=False, extra_roi=extra_roi)
    return _compress_jobs([job], workers=workers, overwrite=overwrite, progress=progress,
                          cancel=cancel, chunk_frames=chunk_frames, scheduler=scheduler)[0]


def plate_inputs(sources: Sequence[str | Path]) -> list[Path] | None:
    """The movies of a plate run, or None for a single movie: several inputs, or one folder of
    movies (see inputs.list_wells)."""
    paths = [Path(s) for s in sources]
    if len(paths) > 1:
        return paths
    return list_wells(paths[0]) if paths else None


def compress_movies(sources: Sequence[str | Path], output_dir: str | Path,
                    settings: FlowRoISettings | None = None, *, workers: int = 1,
                    overwrite: bool = False, progress: ProgressCallback | None = None,
                    cancel: threading.Event | None = None, chunk_frames: int = CHUNK_FRAMES,
                    scheduler: Any = None) -> PlateSummary:
    """Compress several movies (e.g. one per well) into `output_dir`/<name>.flowroi, side by side.

    Every input is opened and checked before anything is written. A well whose stack is already
    complete with the same input and settings is kept (a rerun finishes a plate); all chunks of
    all wells go to the same pool or cluster. `summary.json` in `output_dir` is the returned
    summary."""
    settings = settings or FlowRoISettings()
    started = time.perf_counter()
    output_dir = Path(output_dir)
    if output_dir.exists() and not output_dir.is_dir():
        raise OutputError(f"Output {output_dir} is a file; give a folder for the compressed wells.")
    if not sources:
        raise InputError("No input movies given.")
    names: dict[str, Path] = {}
    for source in sources:
        name = well_name(Path(source))
        if name in names:
            raise InputError(f"Two inputs are both called {name} ({names[name]} and {source}); "
                             "rename one so each well gets its own output.")
        names[name] = Path(source)
    jobs = [_plan(source, output_dir / f"{name}.flowroi", settings, overwrite,
                  keep_complete=True, name=name) for name, source in names.items()]
    for source in sources:
        check_output_location(source, output_dir)
    summaries = _compress_jobs(jobs, workers=workers, overwrite=overwrite, progress=progress,
                               cancel=cancel, chunk_frames=chunk_frames, scheduler=scheduler)
    plate = PlateSummary(output_dir, tuple((job.name, s) for job, s in zip(jobs, summaries)),
                         time.perf_counter() - started)
    write_atomic(output_dir / "summary.json", (json.dumps(plate.as_dict(), indent=2) + "\n").encode())
    return plate
