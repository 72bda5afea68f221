"""Compress movies into containers: plan, run, summarise.

1. **Plan** (`_plan`): open and check every input and its output before anything is written (the
   movie's axes, dtype, size against memory, the output's location and state, the content
   fingerprint a resume must match).
2. **Run** (`_run`): cut the frames still to do into chunks of consecutive frames, one task each,
   and hand them to an executor (executors.py: threads of this process, or a dask.distributed
   cluster whose workers open the input by its path). `compress_chunk` codes one chunk.
3. **Summarise** (`_finish`, `_summary`): write each manifest and report rates, RoI, coverage.

Plates (several movies, one container each) are in plates.py.
"""

from __future__ import annotations

import numbers
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codec import RATE_PROMISE, cpus_to_spare, encode_frame, prioritised_codes, rate_unmet
from .container import (
    PROGRESS,
    ContainerWriter,
    coverage_of,
    manifest_reserve,
    mean_roi_fraction,
    open_container,
    record_reserve,
    written_whole,
)
from .errors import CancelledError, InputError, OutputError, SettingsError
from .executors import dask_client, run_distributed, run_threads
from .guard import (
    BAND,
    NO_CELLS_FOUND,
    HandOverPool,
    Preflight,
    checked_frames,
    few_cells_found,
    frame_coverage,
    handed_frame,
    percent_below,
    reference_cells,
)
from .outputs import check_not_on_inputs
from .readers import (
    Movie,
    check_fits_memory,
    check_frame_folder,
    frame_digest,
    movie_digest,
    open_movie,
    require_motion,
)
from .readers.fingerprint import PENDING, read_digests
from .resolution import working_settings
from .roi import RoiExtractor
from .settings import FlowRoISettings

#: Frames per dask task. A task reads its frames (plus the neighbours its masks need) itself and
#: runs them through one RoiExtractor, so within a task no flow is computed twice; small enough
#: that progress moves and a killed run loses little.
CHUNK_FRAMES = 8

ProgressCallback = Callable[[int, int], None]


@dataclass(frozen=True)
class CompressionSummary:
    """What one compressed movie came to (`as_dict` is what the CLI prints).

    What was asked beside what was reached, so a reader decides without parsing sentences:
    ``requested_rate`` / ``achieved_rate`` (``rate_unmet``, ``rate_warning``), and
    ``coverage_target`` / ``cell_coverage["mean"]`` (``below_coverage_target``,
    ``coverage_note``, which ``as_dict`` lists last among the ``notes``)."""

    output: Path
    frames: int
    resumed_frames: int
    raw_bytes: int
    bytes_written: int
    achieved_rate: float
    mean_roi_fraction: float  # the RoI's mean share of the frame (container.mean_roi_fraction)
    seconds: float
    # things worth telling that are not errors (e.g. an empty RoI); the coverage below its target
    # is not one of them but coverage_note, made from the fields below (as_dict lists it with them)
    notes: tuple[str, ...] = ()
    cell_coverage: dict | None = None  # the missed-cell guard on the frames it checks (coverage_of)
    #: the guard's target the run was held to (settings.coverage_target; None without a RoI)
    coverage_target: float | None = None
    already_complete: bool = False  # the output already held this very compression
    requested_rate: float | None = None  # the rate asked for (None under a target PSNR)
    rate_unmet: bool = False  # achieved more than 5 % off requested_rate (codec.rate_unmet)

    @property
    def rate_warning(self) -> str | None:
        """What to tell the user when the rate was not met (None when it was): the CLI writes
        it on stderr, the widget shows it."""
        if not self.rate_unmet:
            return None
        said = (
            f"achieved rate {self.achieved_rate:.4g}:1, not the {self.requested_rate:g}:1 asked "
            f"for (more than {RATE_PROMISE:.0%} off)"
        )
        if self.achieved_rate < self.requested_rate:
            return (
                f"{said}: the frames are too small or too detailed for this rate (each frame's "
                "JP2 headers, manifest record and stored mask are fixed costs); `flowroi info` "
                "shows each frame's rate"
            )
        return f"{said}: the frames hold too little detail to fill their byte budget"

    @property
    def below_coverage_target(self) -> bool:
        """Whether the guard's estimate of the run (``cell_coverage["mean"]``) fell below the
        ``coverage_target`` asked for (a run compressed anyway: ``--force``, a second click)."""
        return (
            self.cell_coverage is not None
            and self.coverage_target is not None
            and self.cell_coverage["mean"] < self.coverage_target
        )

    @property
    def coverage_note(self) -> str | None:
        """What the command line tells when :attr:`below_coverage_target` (None otherwise); the
        widget words its own warning from the same fields (``readout.batch_done``)."""
        if not self.below_coverage_target:
            return None
        coverage = self.cell_coverage
        return BELOW_TARGET_NOTE.format(
            mean=percent_below(coverage["mean"]),
            worst=coverage["worst_frame"],
            low=percent_below(coverage["min"]),
            target=self.coverage_target,
        )

    def as_dict(self) -> dict[str, Any]:
        out = {
            "output": str(self.output),
            "frames": self.frames,
            "resumed_frames": self.resumed_frames,
            "raw_bytes": self.raw_bytes,
            "bytes_written": self.bytes_written,
            "achieved_rate": self.achieved_rate,
            "mean_roi_fraction": self.mean_roi_fraction,
            "seconds": round(self.seconds, 3),
        }
        if self.already_complete:
            out["already_complete"] = True
        if self.rate_unmet:
            out.update(rate_unmet=True, requested_rate=self.requested_rate)
        if self.cell_coverage is not None:
            out["cell_coverage"] = self.cell_coverage
        notes = [*self.notes, self.coverage_note] if self.coverage_note else list(self.notes)
        if notes:  # the coverage note where it always was in the printed JSON and summary.json
            out["notes"] = notes
        return out


#: What the summary says about a movie whose RoI is empty in every frame (a constant or empty
#: well: nothing moved and nothing stands out).
EMPTY_ROI_NOTE = "RoI empty in all frames: no cells found (coded like plain JPEG2000)"
#: What the summary says when the movie's cells were too small for the flow_scale asked for.
FINE_CELLS_NOTE = (
    "the cells are at the limit of what flow_scale {asked:g} resolves: the RoI was looked for "
    "at full resolution (slower; docs/magnification.md)"
)
#: What the summary says when the guard's estimate of the run is below the coverage target
#: (``CompressionSummary.coverage_note``; the widget words this warning itself, with its own
#: controls, from the summary's fields: ``readout.batch_done``).
BELOW_TARGET_NOTE = (
    "the RoI holds an estimated {mean} of the cell pixels (worst frame {worst}: {low}), below the "
    "coverage target {target:.0%}: cells outside are smeared; `flowroi tune` suggests settings "
    "that keep them"
)
#: What the summary says when the output already held this very compression.
ALREADY_COMPLETE_NOTE = (
    "already complete: the output holds this compression (same input and "
    "settings); nothing was redone"
)


def check_output_location(source: Any, output: Path) -> None:
    """Refuse an output on, inside or around the input (see outputs.check_not_on_inputs)."""
    check_not_on_inputs(output, [source])


def run_description(
    movie: Movie, settings: FlowRoISettings, used: FlowRoISettings | None = None
) -> dict[str, Any]:
    """What a run is: resuming is allowed only into a folder whose run matches this exactly, and
    whose frames already coded were coded from these very pixels (:func:`check_same_pixels`).
    The input's ``content`` hash is written into the manifest when the last frame was read.
    `used` are the settings the RoI is looked for with (``resolution.working_settings``); where
    their ``flow_scale`` is not the one asked for, the run records it as ``roi_flow_scale``
    (`flowroi info` shows it: a reader of the stack knows the RoI was found at full resolution)."""
    found_at = {}
    if used is not None and used.flow_scale != settings.flow_scale and settings.uses_roi:
        found_at = {"roi_flow_scale": used.flow_scale}
    return {
        "shape": list(movie.shape),
        "dtype": str(movie.dtype),
        "input": {
            "source": movie.source,
            "shape": list(movie.shape),
            "dtype": str(movie.dtype),
            "content": PENDING,
            "physical": movie.physical,
        },
        "settings": settings.to_dict(),
        **found_at,
    }


def check_same_pixels(output: Path, movie: Movie, state: str) -> None:
    """Refuse to resume or keep `output` when the frames it holds were coded from other pixels.

    A resume re-reads the frames already coded and compares each one's SHA-256 with the digest
    recorded while it was coded; a rerun onto a finished stack re-reads the whole movie and
    compares the manifest's content hash. Reading costs far less than coding (docs/decisions.md),
    and a changed pixel anywhere in what was coded is seen."""
    writer = ContainerWriter(output)
    if state == "resume":
        recorded = writer.finished_input_digests()
        if any(d is None for d in recorded.values()):
            changed = "an interrupted run recorded by an older napari-flowroi"
        else:
            found = read_digests(movie, sorted(recorded))
            bad = [t for t in sorted(recorded) if found[t] != recorded[t]]
            changed = (
                f"an interrupted run of an input whose pixels have changed since (frame {bad[0]})"
                if bad
                else ""
            )
    elif state == "complete":
        completed = writer.completed_run() or {}
        recorded = (completed.get("input") or {}).get("content")
        found = movie_digest(read_digests(movie, range(len(movie))).values())
        changed = (
            "a compressed stack of an input whose pixels have changed since (or a stack "
            "written by an older napari-flowroi)"
            if found != recorded
            else ""
        )
    else:
        return
    if changed:
        what = "finish it" if state == "resume" else "keep it"
        raise OutputError(
            f"Output {output} holds {changed}. Rerun with the same input to {what}, or pass "
            "--overwrite to start again."
        )


def chunks(frames: Sequence[int], size: int) -> list[list[int]]:
    """Split frame indices into runs of consecutive frames of at most `size`."""
    out: list[list[int]] = []
    for t in frames:
        if out and out[-1][-1] == t - 1 and len(out[-1]) < size:
            out[-1].append(t)
        else:
            out.append([t])
    return out


def extractor_window(settings: FlowRoISettings) -> int:
    """Frames a chunk's RoI extractor keeps (its ``cache_frames``).

    The frames go in order, so the cache holds a sliding window, not the chunk: frame t's RoI
    needs the adjacent window's frame masks (2 * adjacent + 1), each frame's flow partner, and
    one frame more for the look-ahead. Holding the whole chunk (up to 64 frames of flows and
    labels) took the process to 274 MiB on a 1-MP movie (plain JPEG2000: 84) and the page
    faults of that memory cost 0.4 s of system time per 40 frames."""
    return 2 * settings.adjacent_factor + 4


def compress_chunk(
    source: Any,
    output: Path,
    settings: FlowRoISettings,
    frames: list[int],
    overhead_bytes: int,
    on_frame: Callable[[], None] | None = None,
    cancel: Any = None,
    extra_roi: Any = None,
    known: dict | None = None,
    prepared: dict | None = None,
    checked: dict | None = None,
) -> list[dict]:
    """Code `frames` of the movie at `source` into the container at `output` (one task), with
    `settings` as the run's plan resolved them (``resolution.working_settings``: the RoI's
    resolution is decided once per movie, not per chunk).

    `source` is a path (the task opens it itself: on a cluster, workers read their own frames) or
    a Movie (threads in this process); so is `extra_roi`, masks always protected. `cancel` is
    anything with ``is_set()``. `known`: frame -> RoI already computed for these
    settings (the missed-cell guard's check, :func:`reusable_masks`), coded as they are;
    `prepared`: the frames that check prepared (``Preflight.prepared``), used as they are;
    `checked`: frame -> the share of the guard's cells inside its RoI that check measured.

    On the frames the missed-cell guard checks (``guard.checked_frames``) the record keeps the
    share of the guard's reference cells inside the RoI (``cell_coverage``, band included, as
    the check measures it); the run's coverage is their mean (``container.coverage_of``). Not
    the RoI's own cells on every frame: the RoI holds those by construction whenever the
    appearance source makes it, so that share read 100 % whatever the RoI missed (issue 21)."""
    movie = open_movie(source)
    if isinstance(extra_roi, (str, Path)):
        extra_roi = open_movie(extra_roi, masks=True)  # bool masks and integer labels too
    window = extractor_window(settings)
    extractor = (
        None
        if settings.plain
        else RoiExtractor(
            movie,
            settings,
            cache_frames=window,
            extra_roi=extra_roi,
            pool=HandOverPool(window, seeds=prepared),
            resolved=True,
        )
    )
    writer = ContainerWriter(output)
    records = []
    guarded = (
        set(checked_frames(len(movie))) if extractor is not None and settings.roi_sources else set()
    )

    def coverage_of_frame(t: int, mask: np.ndarray) -> float | None:
        """The share of frame t's guard cells inside its RoI, on the frames the guard checks
        (None where the guard finds no cells: nothing to judge, not 100 % held)."""
        if t not in guarded:
            return None
        if checked and t in checked:
            return checked[t]
        return frame_coverage(t, mask, reference_cells(extractor, t), band=BAND).judged_share

    def ready(t: int) -> tuple[np.ndarray, np.ndarray | None, float | None, np.ndarray | None, str]:
        """Frame t (read once), its RoI, the share of its cell pixels inside it (on the
        guard's frames), the frame as the encoder takes it (RoI priority given), and the hash of
        its pixels (resume)."""
        if extractor is None:
            frame = movie[t]
            return frame, None, None, None, frame_digest(frame)
        frame = extractor.frame(t)
        mask = known[t] if known and t in known else extractor.mask(t)
        coverage = coverage_of_frame(t, mask)
        codes = prioritised_codes(frame, mask, settings)
        return frame, mask, coverage, codes, frame_digest(frame)

    # While OpenJPEG codes frame t, frame t+1 is made ready (its RoI, and the RoI priority that
    # turns it into what the encoder takes) on a thread of its own when the process has CPUs to
    # spare (a single worker with the libraries' threads): the encode does not keep every core
    # busy, and this work (mostly one OpenCV thread) fills the gaps between encodes in wall time.
    # With coding threads fixed (one worker per core, dask processes) the frames go one after
    # the other as before. Same masks, same bytes either way.
    ahead = ThreadPoolExecutor(1) if extractor is not None and cpus_to_spare() else None
    try:
        upcoming = ahead.submit(ready, frames[0]) if ahead is not None and frames else None
        for i, t in enumerate(frames):
            if cancel is not None and cancel.is_set():
                raise CancelledError(
                    "Compression cancelled; finished frames are kept and a "
                    "rerun with the same settings resumes."
                )
            frame, mask, coverage, codes, digest = (
                upcoming.result() if upcoming is not None else ready(t)
            )
            if ahead is not None and i + 1 < len(frames):
                upcoming = ahead.submit(ready, frames[i + 1])
            encoded = encode_frame(frame, mask, settings, overhead_bytes, prioritised=codes)
            records.append(
                writer.write_frame(t, encoded, cell_coverage=coverage, input_digest=digest)
            )
            if on_frame is not None:
                on_frame()
    finally:
        if ahead is not None:
            ahead.shutdown(wait=True, cancel_futures=True)
        if extractor is not None:
            extractor.clear()
    return records


@dataclass
class _Job:
    """One movie to compress: everything decided before any frame is coded."""

    name: str
    source: Any  # what tasks open: the path, or the Movie for in-memory arrays
    output: Path
    movie: Movie
    settings: FlowRoISettings
    run: dict
    state: str  # ContainerWriter.check: new, resume, replace or complete
    created: bool  # the output folder did not exist before this run
    extra_roi: Any = None  # masks always protected: a path tasks open, or frames in memory
    known: dict | None = None  # frame -> RoI the guard's check computed
    prepared: dict | None = None  # the frames that check prepared (with `known`)
    checked: dict | None = None  # frame -> that check's coverage of it (with `known`)
    overhead: int = 0
    done: set = field(default_factory=set)
    pending: int = 0  # chunks not finished yet
    seconds: float = 0.0

    @property
    def writer(self) -> ContainerWriter:
        return ContainerWriter(self.output)


# --- plan --------------------------------------------------------------------------------------------


def _plan(
    source: Any,
    output: Path,
    settings: FlowRoISettings,
    overwrite: bool,
    name: str = "",
    extra_roi: Any = None,
    preflight: Preflight | None = None,
) -> _Job:
    """Open and check one input and its output; nothing is written."""
    movie = open_movie(source)
    if not settings.plain and settings.motion_roi:
        require_motion(movie)
    check_fits_memory(movie, settings.plain)  # per frame: a refusal means no worker could
    check_frame_folder(movie)
    check_not_on_inputs(output, [source, extra_roi])
    known = reusable_masks(preflight, movie, settings, extra_roi)
    # the RoI's resolution, decided here once so that every chunk looks at the same one (the
    # check before the batch decided it already when its masks are reused)
    handed = preflight.prepared if known is not None else decided_on_frame_0(movie, settings)
    used = handed.get(("working settings", settings)) or working_settings(movie, settings)
    run = run_description(movie, settings, used)
    if extra_roi is not None:
        run["input"]["roi_mask"] = _check_extra_roi(extra_roi, movie, settings)
    state = ContainerWriter(output).check(run, overwrite)
    check_same_pixels(output, movie, state)
    task_source = (
        str(Path(source))
        if isinstance(source, (str, Path))
        else source
        if getattr(source, "by_path", False)
        else movie
    )  # formats.Plane opens by path
    task_extra = str(Path(extra_roi)) if isinstance(extra_roi, (str, Path)) else extra_roi
    return _Job(
        name=name or output.name,
        source=task_source,
        output=output,
        movie=movie,
        settings=used,
        run=run,
        state=state,
        created=not output.exists(),
        extra_roi=task_extra,
        known=known,
        # the check's prepared frames and coverage go with its masks: the same movie and settings
        # (without them, frame 0 as the decision above prepared it)
        prepared=handed or None,
        checked=(
            {f.t: f.judged_share for f in preflight.coverage.frames} if known is not None else None
        ),
    )


def decided_on_frame_0(movie: Movie, settings: FlowRoISettings) -> dict:
    """The RoI's resolution for `movie` (``resolution.working_settings``) and frame 0 prepared
    for that decision, as a check's pool hands them over (``guard.HANDED_OVER``; empty when
    nothing is decided: plain JPEG2000, no RoI source, full resolution asked for).

    Without a check whose masks the run reuses, the plan decides the resolution itself; the chunk
    that codes frame 0 then starts from its preparation instead of preparing it a second time
    (its pool key holds the settings it depends on, so a decision for full resolution, whose
    chunks prepare at 1.0, leaves it unused). An extractor on a keeping pool makes the decision
    as every other extractor does (``RoiExtractor`` on frame 0's pool entry)."""
    if settings.plain:
        return {}
    pool = HandOverPool(keep=True)
    RoiExtractor(movie, settings, pool=pool).clear()  # clear: the raw frame 0 goes at once
    return pool.kept


def reusable_masks(
    preflight: Preflight | None, movie: Movie, settings: FlowRoISettings, extra_roi: Any = None
) -> dict | None:
    """The masks of the missed-cell guard's check (``Preflight.masks``: frame -> RoI)
    that this run may code as they are: made under these very settings, from this very movie
    (the same Movie object, or the same file opened twice, as the command line does), with user
    masks given or not alike, of the movie's frame size; else None (an array checked and then
    compressed is wrapped anew each time and is not recognised: it is computed again).

    The check and the run read the same frames through the same extractor code, so its masks
    are bitwise those the run would compute (tests/core/test_mask_speed_equivalence.py)."""
    if preflight is None or not preflight.masks or settings.plain:
        return None
    checked = preflight.movie
    same_movie = checked is movie or (
        isinstance(checked, Movie)
        and movie.source != "array"
        and checked.source == movie.source
        and Path(movie.source).exists()
    )
    same = (
        same_movie
        and preflight.settings == settings
        and preflight.user_masks == (extra_roi is not None)
        and all(
            roi.shape == tuple(movie.shape[1:]) and 0 <= t < len(movie)
            for t, roi in preflight.masks.items()
        )
    )
    return dict(preflight.masks) if same else None


def _check_extra_roi(extra_roi: Any, movie: Movie, settings: FlowRoISettings) -> str:
    """Check user masks against the movie; return how the manifest names them."""
    masks, label = opened_masks(extra_roi, settings)
    check_mask_shape(masks, label, movie)
    return label


def opened_masks(extra_roi: Any, settings: FlowRoISettings) -> tuple[Any, str]:
    """The user's masks opened (a path or path-like is read as masks: bool, or any integer
    labels) and how messages and the manifest name them: the path, a layer's name, a Movie's
    source file, else "masks given in memory". One naming and one refusal of masks with plain
    JPEG2000 for `compress_movie` and `roi_masks`."""
    if extra_roi is not None and settings.plain:
        raise InputError("A RoI mask was given with plain JPEG2000, which has no RoI; drop one.")
    if isinstance(extra_roi, (str, bytes)) or hasattr(extra_roi, "is_file"):
        return open_movie(extra_roi, masks=True), str(extra_roi)
    label = getattr(extra_roi, "name", None) or (
        extra_roi.source
        if isinstance(extra_roi, Movie) and extra_roi.source != "array"
        else "masks given in memory"
    )
    return extra_roi, label


def check_mask_shape(masks: Any, label: str, movie: Movie) -> None:
    """Refuse user masks that are not one mask of the movie's frame size per movie frame."""
    shape = tuple(getattr(masks, "shape", ()))
    if shape != tuple(movie.shape):
        raise InputError(
            f"The RoI mask {label} has shape {shape}, the movie {tuple(movie.shape)}; "
            "give one mask frame of the movie's size per movie frame."
        )


def _begin(job: _Job, overwrite: bool) -> None:
    done = job.writer.begin(job.run, overwrite=overwrite)
    n_frames = len(job.movie)
    job.done = set(range(n_frames)) if done is None else done
    # Each frame pays for its manifest record and its share of the rest, so the total rate is met.
    job.overhead = record_reserve(
        job.movie.frame_nbytes, job.settings.uses_roi, job.movie.dtype.kind == "f"
    ) + manifest_reserve(job.run, n_frames)


# --- run ---------------------------------------------------------------------------------------------


def compress_jobs(
    jobs: list[_Job],
    *,
    workers: int,
    overwrite: bool,
    progress: ProgressCallback | None,
    cancel: threading.Event | None,
    chunk_frames: int,
    scheduler: Any,
) -> list[CompressionSummary]:
    """Run planned jobs on threads (no `scheduler`) or a dask cluster; return their summaries."""
    started = time.perf_counter()
    if scheduler is None:
        return _run(jobs, None, workers, overwrite, progress, cancel, chunk_frames, started)
    in_memory = [
        job.name
        for job in jobs
        if not _by_path(job.source) or not (job.extra_roi is None or _by_path(job.extra_roi))
    ]
    if in_memory:
        raise InputError(
            "A movie held in memory cannot be sent to a dask cluster (its workers "
            "read frames from files). Save it as a TIFF first, or compress "
            "without a scheduler (threads in this process)."
        )

    # connect (or start the local cluster) before anything is written
    with dask_client(scheduler, workers) as client:
        return _run(jobs, client, workers, overwrite, progress, cancel, chunk_frames, started)


def check_run_options(workers: Any, chunk_frames: Any) -> None:
    """Refuse a number of workers or a chunk length that is not a whole number of at least 1
    (None: the default chunk), before anything is opened: the threads ran max(1, int(workers))
    of them, so 0, -3 or 2.5 went through silently. The command line checks its own options."""
    for name, value in (("workers", workers), ("chunk_frames", chunk_frames)):
        if value is None and name == "chunk_frames":
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise SettingsError(f"{name} must be a whole number of at least 1, not {value!r}")


def _by_path(source: Any) -> bool:
    """Whether a task can open `source` itself: a path, or a formats.Plane /
    microscopy.MotionChannelMasks."""
    return isinstance(source, str) or getattr(source, "by_path", False)


def _run(
    jobs, client, workers, overwrite, progress, cancel, chunk_frames, started
) -> list[CompressionSummary]:
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

    def job_done(job: _Job) -> None:
        finished_at[id(job)] = time.perf_counter()

    known = {job.output: job.known for job in jobs if job.known}
    prepared = {job.output: job.prepared for job in jobs if job.prepared}
    checked = {job.output: job.checked for job in jobs if job.checked}

    def run_chunk(source, output, *rest):
        """compress_chunk with the masks the guard's check computed for this job's movie and
        the frames it prepared."""
        return compress_chunk(
            source,
            output,
            *rest,
            known=known.get(output),
            prepared=prepared.get(output),
            checked=checked.get(output),
        )

    try:
        if tasks and client is None:
            run_threads(tasks, run_chunk, workers, advance, cancel, job_done)
        elif tasks:
            run_distributed(
                tasks, compress_chunk, client, advance, cancel, job_done, task_kwargs=chunk_share
            )
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
    return [_finish(job, finished_at.get(id(job), time.perf_counter()) - started) for job in jobs]


def chunk_share(job: _Job, chunk: list[int]) -> dict:
    """What a dask task coding `chunk` of `job` gets of the check's hand-over (``compress_chunk``'s
    `known`, `prepared`, `checked`): the masks and figures of its own frames, and the prepared
    frames it may read (its own, their flow partners and the adjacent window's, a frame or two
    more). Threads share the whole hand-over in memory; a task is sent its share only, so the
    scheduler holds each well's masks once and a task no more than its frames' (measured: a
    12-frame 0.77-MP well's whole hand-over pickles to 8.5 MB in 3.7 ms, against 0.235 s of CPU
    it saves the well's run; docs/decisions.md)."""
    share: dict = {}
    frames = set(chunk)
    if job.known:
        share["known"] = {t: m for t, m in job.known.items() if t in frames}
        share["checked"] = {t: c for t, c in (job.checked or {}).items() if t in frames}
    if job.prepared:
        reach = job.settings.adjacent_factor + 2
        low, high = chunk[0] - reach, chunk[-1] + reach
        prepared = {
            (kind, key): value
            for (kind, key), value in job.prepared.items()
            if (t := handed_frame(kind, key)) is not None and low <= t <= high
        }
        if prepared:
            share["prepared"] = prepared
    return {name: value for name, value in share.items() if value}


def _discard_if_empty(job: _Job) -> None:
    """A run that stopped before its first frame leaves no folder it created."""
    progress = job.output / PROGRESS
    if job.created and job.output.exists() and not any(progress.glob("frame_*.json")):
        job.writer.abandon()


# --- summarise ---------------------------------------------------------------------------------------


def _summary(job: _Job, manifest: dict, seconds: float) -> CompressionSummary:
    totals = manifest["totals"]
    roi = [r["roi_fraction"] for r in manifest["frames"]]
    already = job.state == "complete"
    notes = [ALREADY_COMPLETE_NOTE] if already else []
    if job.settings.uses_roi and not any(roi):
        notes.append(EMPTY_ROI_NOTE)
    asked = job.run["settings"]["flow_scale"]
    if job.settings.flow_scale != asked and not already:
        notes.append(FINE_CELLS_NOTE.format(asked=asked))
    coverage = coverage_of(manifest["frames"])
    if job.settings.roi_sources and any(roi) and not already:
        if coverage is None:
            notes.append(NO_CELLS_FOUND)  # the RoI holds something the guard cannot judge
        else:
            checked = len(checked_frames(len(job.movie)))
            rests = few_cells_found(coverage["frames_checked"], checked)
            if rests:
                notes.append(rests)
    requested = None if job.settings.target_psnr > 0 else job.settings.compression_rate
    return CompressionSummary(
        output=job.output,
        frames=len(job.movie),
        resumed_frames=len(job.done),
        raw_bytes=totals["raw_bytes"],
        bytes_written=totals["bytes_written"],
        achieved_rate=totals["achieved_rate"],
        mean_roi_fraction=mean_roi_fraction(roi),
        seconds=seconds,
        notes=tuple(notes),
        cell_coverage=coverage,
        coverage_target=job.settings.coverage_target if coverage is not None else None,
        already_complete=already,
        requested_rate=requested,
        rate_unmet=requested is not None and rate_unmet(requested, totals["achieved_rate"]),
    )


def _finish(job: _Job, seconds: float) -> CompressionSummary:
    if (
        job.state == "complete"
        and len(job.done) == len(job.movie)
        and not (job.output / PROGRESS).exists()
    ):
        manifest = open_container(job.output).manifest
    else:
        manifest = job.writer.finish(job.run)
    return _summary(job, manifest, seconds)


# --- entry points ------------------------------------------------------------------------------------


def _settings(settings: Any) -> FlowRoISettings:
    """The defaults for None; refuse anything but a FlowRoISettings in one line (a dict of
    settings failed deep in the run with an AttributeError)."""
    if settings is None:
        return FlowRoISettings()
    if not isinstance(settings, FlowRoISettings):
        raise SettingsError(
            f"settings must be a FlowRoISettings, not {type(settings).__name__}; build one with "
            "FlowRoISettings(compression_rate=16, ...) or FlowRoISettings.from_dict(...)."
        )
    return settings


def compress_movie(
    source: Any,
    output: str | Path,
    settings: FlowRoISettings | None = None,
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    chunk_frames: int = CHUNK_FRAMES,
    scheduler: Any = None,
    extra_roi: Any = None,
    preflight: Preflight | None = None,
) -> CompressionSummary:
    """Compress `source` (path, array or Movie) into the container folder `output`.

    Parameters
    ----------
    source : str, Path, array or Movie
        A TIFF stack, a folder of frames, or (T, Y, X) frames in memory.
    output : str or Path
        The container folder to write.
    settings : FlowRoISettings, optional
        Defaults when omitted.
    workers : int
        Threads of this process (no `scheduler`), or processes of a LOCAL cluster.
    overwrite : bool
        Replace an existing container of another run.
    progress : callable, optional
        ``progress(done, total)``: after every frame on threads (called from worker threads), per
        chunk on a cluster.
    cancel : threading.Event, optional
        Set it to stop at the next frame; finished frames are kept.
    chunk_frames : int
        Consecutive frames per task.
    scheduler : optional
        executors.LOCAL, a dask.distributed address or scheduler file, or a Client; the input
        must then be a path.
    extra_roi : optional
        Masks or labels (T, Y, X) always protected: a TIFF path or frames in memory.
    preflight : Preflight, optional
        The missed-cell guard's verdict on this movie with these settings and `extra_roi`
        (``guard.preflight``, ``jobs.check_coverage``): the masks its check computed are coded
        instead of being computed again (on a dask cluster each task is sent its frames' share,
        :func:`chunk_share`; a verdict made under other settings or on another source is not
        used). The same bytes either way.

    Returns
    -------
    CompressionSummary
        A rerun into a container of this very compression (same input content and settings)
        does nothing and says so (``already_complete``); an interrupted run resumes.
    """
    check_run_options(workers, chunk_frames)
    settings = _settings(settings)
    output = Path(output)
    job = _plan(source, output, settings, overwrite, extra_roi=extra_roi, preflight=preflight)
    return compress_jobs(
        [job],
        workers=workers,
        overwrite=overwrite,
        progress=progress,
        cancel=cancel,
        chunk_frames=chunk_frames,
        scheduler=scheduler,
    )[0]


__all__ = [
    "CHUNK_FRAMES",
    "CompressionSummary",
    "EMPTY_ROI_NOTE",
    "ALREADY_COMPLETE_NOTE",
    "chunks",
    "compress_chunk",
    "compress_movie",
    "run_description",
    "coverage_of",
]


# --- the masks a compression codes, without coding (`flowroi roi`, `roi_masks`) -----------------
def roi_masks(
    movie,
    settings: FlowRoISettings | None = None,
    *,
    extra_roi=None,
    frames=None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
):
    """The full-resolution RoI masks the compressor codes, one per frame.

    The same extractor and the same call (``roi.RoiExtractor.mask``) as ``compress_movie``, so
    the masks are bitwise those a compression with these settings uses (tested).

    Parameters
    ----------
    movie : str, Path, array or Movie
        Anything ``napari_flowroi.open_movie`` opens: a (T, Y, X) stack, a folder of frames,
        an array.
    settings : FlowRoISettings, optional
        The compression settings (default: the defaults).
    extra_roi : (T, Y, X) masks or labels, optional
        The user's masks, always protected (as ``compress_movie``'s `extra_roi`).
    frames : sequence of int, optional
        Only these frames (default: all).
    progress : callable, optional
        ``progress(done, total)`` after every frame.
    cancel : optional
        Anything with ``is_set()``: when set, the next frame raises
        ``napari_flowroi.errors.CancelledError``.

    Returns
    -------
    ndarray
        bool (len(frames), Y, X); all False for plain JPEG2000, which has no RoI.

    Examples
    --------
    >>> from napari_flowroi import FlowRoISettings, roi_masks
    >>> masks = roi_masks("movie.tif", FlowRoISettings(compression_rate=16))  # doctest: +SKIP
    """
    settings = _settings(settings)
    movie = open_movie(movie)
    extra_roi, label = opened_masks(extra_roi, settings)
    if extra_roi is not None:  # the same check as compress_movie's, before any frame is worked on
        check_mask_shape(extra_roi, label, movie)
    frames = range(len(movie)) if frames is None else list(frames)
    out = np.zeros((len(frames), *movie.shape[1:]), bool)
    if settings.plain:
        return out
    # frames in order, as a chunk codes them
    extractor = RoiExtractor(
        movie, settings, cache_frames=extractor_window(settings), extra_roi=extra_roi
    )
    try:
        for i, t in enumerate(frames):
            if cancel is not None and cancel.is_set():
                raise CancelledError("the RoI masks were cancelled; nothing was written")
            out[i] = extractor.mask(t)
            if progress is not None:
                progress(i + 1, len(frames))
    finally:
        extractor.clear()
    return out


def write_roi_masks(
    movie,
    output,
    settings: FlowRoISettings | None = None,
    *,
    extra_roi=None,
    progress: Callable[[int, int], None] | None = None,
    cancel: Any = None,
):
    """Write :func:`roi_masks` of `movie` to the TIFF `output` (uint8, 255 = RoI, one page per
    frame), for ``flowroi roi`` and the widget's *Export RoI masks…*; returns the RoI's mean
    share of the frame, rounded as every output reports it (``container.mean_roi_fraction``).
    `progress` and `cancel` as :func:`roi_masks` (cancelled: nothing is written)."""

    masks = roi_masks(movie, settings, extra_roi=extra_roi, progress=progress, cancel=cancel)
    import tifffile  # only `flowroi roi` writes a TIFF here

    # written whole or not at all (as decompress does), so a full disk or a kill never leaves a
    # cut-off mask TIFF under the name a rerun would refuse to replace
    with written_whole(Path(output)) as tmp:
        tifffile.imwrite(tmp, masks.astype(np.uint8) * 255, photometric="minisblack")
    # per frame, then their mean, as a compression's summary and `flowroi info` report it
    return mean_roi_fraction(frame.mean() for frame in masks)
