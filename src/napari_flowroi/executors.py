"""Where compression chunks run: threads of this process, or a dask.distributed cluster.

The batch (batch.py) plans the work as chunks of consecutive frames and hands them here with the
function that codes one chunk. Two executors run them:

- :func:`run_threads`: a pool of threads in this process (OpenCV and OpenJPEG release the GIL; the
  napari widget and ``compress_movie(workers=N)`` use it). Progress after every frame.
- :func:`run_distributed`: tasks on a dask.distributed cluster (:func:`dask_client`: an existing
  scheduler, a scheduler file, or a LocalCluster of worker processes started for the run). Tasks
  name the input by its PATH: every worker opens the movie and reads its own frames, so no movie
  travels through the scheduler, and the scheduler (not our code) decides which worker codes which
  chunk. A worker that dies costs the chunks it was running, which the scheduler gives to another
  worker. Progress after every frame too: each task reports its frames as dask events
  (:class:`FrameEvents`, ``Worker.log_event``) the client subscribes to, and a finished chunk
  counts whatever of it was not reported yet.

Scale-out is dask's: nothing here schedules work across machines by itself.
"""

from __future__ import annotations

import json
import signal
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from concurrent.futures import CancelledError as TaskCancelled
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from .errors import CancelledError, FlowRoIError

#: `scheduler=LOCAL`: start a cluster of worker processes on this machine for the run.
LOCAL = "local"
#: Times a chunk that raised is tried again (e.g. a network filesystem hiccup). A chunk whose
#: worker died is rescheduled by dask on its own, up to `distributed.scheduler.allowed-failures`.
RETRIES = 2
CONNECT_TIMEOUT = "10s"


class ClusterError(FlowRoIError):
    """The dask cluster cannot be used (not reachable, distributed not installed...)."""


class WorkerLostError(FlowRoIError):
    """Workers died while coding frames: the run stopped, finished frames are kept."""

    exit_status = 1  # not the user's input: the command line exits 1, still with one line


def _distributed():
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ClusterError(
            "Running on a dask cluster needs the 'distributed' package: "
            "pip install 'napari-flowroi[distributed]'."
        ) from exc
    return distributed


@contextmanager
def _sigint_ignored() -> Iterator[None]:
    """Ignore Ctrl-C while worker processes are started: they inherit it, so a Ctrl-C reaches
    only this process (which stops the run with one line) and not the workers (which would each
    print a traceback). Only possible from the main thread; elsewhere nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _check_scheduler_file(address: str) -> None:
    path = Path(address)
    try:
        info = json.loads(path.read_text())
    except FileNotFoundError:
        raise ClusterError(
            f"The dask scheduler file {address} does not exist. Give the file the "
            "scheduler wrote (dask scheduler --scheduler-file PATH), or its "
            "address (tcp://host:8786)."
        ) from None
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ClusterError(f"Cannot read the dask scheduler file {address} ({exc}).") from exc
    if not isinstance(info, dict) or not isinstance(info.get("address"), str):
        raise ClusterError(f"{address} is not a dask scheduler file (no scheduler address in it).")


@contextmanager
def dask_client(scheduler: Any, workers: int = 1) -> Iterator[Any]:
    """A distributed Client for `scheduler`.

    Parameters
    ----------
    scheduler : Client, str or LOCAL
        A Client (used as is), an address such as ``tcp://10.0.0.5:8786`` or a scheduler file
        path ending in ``.json`` (connected to), or LOCAL (a cluster of `workers` single-threaded
        processes on this machine, started here and shut down after).
    workers : int
        Worker processes of a LOCAL cluster.

    Raises
    ------
    ClusterError
        The scheduler cannot be reached, its file does not exist, or distributed is missing.
    """
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler == LOCAL:
        # quiet, loopback only, no dashboard: this cluster lives for one run
        with _sigint_ignored():
            cluster = distributed.LocalCluster(
                n_workers=max(1, int(workers)),
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
                silence_logs=50,
            )
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    address = str(scheduler)
    if address.endswith(".json"):
        _check_scheduler_file(address)
        kwargs = {"scheduler_file": address}
    else:
        kwargs = {"address": address}
    try:
        client = distributed.Client(**kwargs, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError) as exc:
        raise ClusterError(
            f"Cannot reach the dask scheduler at {address} ({' '.join(str(exc).split())[:160]}). "
            "Check the address (e.g. tcp://host:8786) and that the scheduler is running."
        ) from exc
    try:
        yield client
    finally:
        client.close()


def _chunk_failure(outcome: Any) -> BaseException | None:
    """The exception in an outcome of ``as_completed(with_results=True, raise_errors=False)``:
    dask gives an errored future's outcome as ``(type, exception, traceback)``, a cancelled one's
    as its CancelledError (a :class:`concurrent.futures.CancelledError`), a finished one's as
    its result (a chunk's list of records)."""
    if isinstance(outcome, tuple) and len(outcome) == 3 and isinstance(outcome[1], BaseException):
        return outcome[1]
    if isinstance(outcome, BaseException):
        return outcome
    return None


def is_killed_worker(exc: BaseException) -> bool:
    """Whether `exc` is dask's report of a task whose workers kept dying."""
    try:
        from distributed import KilledWorker
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KilledWorker)


class AnySet:
    """Set when any of its events is: the user's cancel or the run's own stop after an error."""

    def __init__(self, *events):
        self.events = [e for e in events if e is not None]

    def is_set(self) -> bool:
        return any(e.is_set() for e in self.events)


def _cancelled() -> CancelledError:
    return CancelledError(
        "Compression cancelled; finished frames are kept and a rerun with the "
        "same settings resumes."
    )


def run_threads(
    tasks: list,
    run_chunk: Callable,
    workers: int,
    advance: Callable[[int], None],
    cancel: Any,
    on_job_done: Callable[[Any], None],
) -> None:
    """Run chunks on a pool of `workers` threads in this process; progress after every frame.

    Parameters
    ----------
    tasks : list of (job, chunk)
        The job (its source, output, settings, overhead, extra RoI) and the frame indices.
    run_chunk : callable
        ``run_chunk(source, output, settings, frames, overhead, on_frame, cancel, extra_roi)``
        (batch.compress_chunk).
    advance : callable
        Called with the number of frames just finished.
    cancel : object with ``is_set()`` or None
        The user's cancel: chunks stop at their next frame.
    on_job_done : callable
        Called with a job once all its chunks have finished.

    Notes
    -----
    On the first error (or Ctrl-C) the other chunks stop at their next frame and are waited for,
    so nothing writes into the output after this returns. A real error wins over the
    CancelledErrors of the chunks it stopped.
    """
    stop = threading.Event()
    should_stop = AnySet(cancel, stop)
    error: BaseException | None = None
    with ThreadPoolExecutor(max_workers=max(1, int(workers)), thread_name_prefix="flowroi") as pool:
        futures = {
            pool.submit(
                run_chunk,
                job.source,
                job.output,
                job.settings,
                chunk,
                job.overhead,
                lambda: advance(1),
                should_stop,
                job.extra_roi,
            ): job
            for job, chunk in tasks
        }
        pending = set(futures)
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    exc = future.exception()
                    if exc is not None:
                        if error is None or (
                            isinstance(error, CancelledError)
                            and not isinstance(exc, CancelledError)
                        ):
                            error = exc
                        stop.set()
                        continue
                    job = futures[future]
                    job.pending -= 1
                    if job.pending == 0:
                        on_job_done(job)
        except BaseException:  # Ctrl-C while waiting: stop the chunks, then go
            stop.set()
            raise
    if error is not None:
        raise error


#: The dask event topic tasks report their frames on (:class:`FrameEvents`). One topic for every
#: run, each event naming its run: the scheduler keeps a bounded log per topic and never drops a
#: topic, so a topic per run would grow a long-lived shared cluster's memory by every run.
FRAMES_TOPIC = "napari-flowroi-frames"
#: The runs of this process waiting for frame events: run id -> its counter.
_RUNS: dict[str, _ChunkProgress] = {}
#: Runs of this process under way per client (its id): the client is subscribed to
#: FRAMES_TOPIC while it has any, so that two runs sharing one client do not end each other's.
_SUBSCRIBED: dict[str, int] = {}
_SUBSCRIBED_LOCK = threading.Lock()


def _subscribe(client) -> None:
    with _SUBSCRIBED_LOCK:
        if not _SUBSCRIBED.get(client.id):
            client.subscribe_topic(FRAMES_TOPIC, _frame_event)
        _SUBSCRIBED[client.id] = _SUBSCRIBED.get(client.id, 0) + 1


def _unsubscribe(client) -> None:
    """End the subscription with the client's last run: the scheduler then stops sending it
    frame events. Without this, after Ctrl-C the scheduler of a local cluster went on passing
    the events of the chunks still running to the client being closed and logged each failed
    write with a traceback."""
    with _SUBSCRIBED_LOCK:
        left = _SUBSCRIBED.pop(client.id, 1) - 1
        if left > 0:
            _SUBSCRIBED[client.id] = left
            return
    # the client may be closed or its scheduler gone (a run that failed for that reason): the
    # run's own error must not be hidden by this one
    with suppress(Exception):
        client.unsubscribe_topic(FRAMES_TOPIC)


class FrameEvents:
    """A task's ``on_frame`` on a cluster: after each frame it codes, a dask event on
    :data:`FRAMES_TOPIC` saying how many frames of chunk `chunk` of run `run` are done
    (``Worker.log_event``; the scheduler passes it to the clients that subscribed,
    :func:`run_distributed`).

    A chunk's frames go in order, so the count says which are written. A retried chunk (its
    worker died) starts counting again from 0 and the client keeps the largest count per chunk:
    progress never counts a frame twice."""

    def __init__(self, run: str, chunk: int):
        self.run, self.chunk, self.done = run, chunk, 0

    def __call__(self) -> None:
        from distributed import get_worker

        self.done += 1
        get_worker().log_event(FRAMES_TOPIC, [self.run, self.chunk, self.done])


def _frame_event(event) -> None:
    """The client's ``subscribe_topic`` handler: `event` is (timestamp, [run, chunk, frames
    done]); runs of other processes on the same cluster are not ours."""
    run, chunk, done = event[1]
    counter = _RUNS.get(run)
    if counter is not None:
        counter.reached(chunk, done)


class _ChunkProgress:
    """The client's side of :class:`FrameEvents`: `advance` by the frames newly reported of
    each chunk, whether by an event or by the chunk's result (which may come before its last
    events), and nothing once the run is over (an event can arrive after it). An exception of
    `advance` called for an event (on the client's event loop) is kept for the run's own thread
    to raise (:meth:`check`), as it would have been raised there before."""

    def __init__(self, sizes: list[int], advance: Callable[[int], None]):
        self.sizes, self.advance = sizes, advance
        self.counted = [0] * len(sizes)
        self.lock = threading.Lock()
        self.closed = False
        self.error: BaseException | None = None

    def reached(self, chunk: int, done: int, *, in_run: bool = False) -> None:
        with self.lock:  # events come on the client's event loop, results on the run's thread
            new = min(done, self.sizes[chunk]) - self.counted[chunk]
            if self.closed or new <= 0:
                return
            self.counted[chunk] += new
            try:
                self.advance(new)  # under the lock: the counts reach the progress bar in order
            except BaseException as exc:
                if in_run:
                    raise
                self.error, self.closed = exc, True

    def check(self) -> None:
        if self.error is not None:
            raise self.error


def run_distributed(
    tasks: list,
    run_chunk: Callable,
    client: Any,
    advance: Callable[[int], None],
    cancel: Any,
    on_job_done: Callable[[Any], None],
    task_kwargs: Callable[[Any, list], dict] | None = None,
) -> None:
    """Run chunks as tasks on a dask.distributed cluster; progress after every frame.

    Same parameters as :func:`run_threads`, with the Client instead of a worker count;
    `task_kwargs(job, chunk)`: keyword arguments of that chunk's task (what it alone needs is
    sent with it, not with every task). Tasks are
    submitted with ``pure=False, retries=RETRIES``; a chunk whose workers keep dying raises
    :class:`WorkerLostError`. Each task reports its frames as dask events (:class:`FrameEvents`,
    naming this run), so progress moves as frames are written, not a chunk (8 frames) at a time
    when the chunk's result comes back.
    """
    from uuid import uuid4

    from distributed import as_completed

    run = uuid4().hex
    counter = _ChunkProgress([len(chunk) for _, chunk in tasks], advance)
    futures, subscribed = {}, False
    try:
        _RUNS[run] = counter
        # before the first task is submitted, on the same connection: no event comes before it
        _subscribe(client)
        subscribed = True
        for index, (job, chunk) in enumerate(tasks):
            future = client.submit(
                run_chunk,
                job.source,
                str(job.output),
                job.settings,
                chunk,
                job.overhead,
                FrameEvents(run, index),
                None,
                job.extra_roi,
                **(task_kwargs(job, chunk) if task_kwargs is not None else {}),
                pure=False,
                retries=RETRIES,
            )
            futures[future] = (job, chunk, index)
        # loop=client.loop: as_completed otherwise waits on the *default* client's event loop,
        # which is another loop whenever the caller holds a Client of its own (a notebook's, a
        # test's); dask then binds the futures' events to that loop, and a future reset after a
        # worker died (its result was on the dead worker) raised "bound to a different event
        # loop" when waited on again. with_results: each chunk's outcome is fetched inside that
        # same loop, so this thread never waits on a future a second time.
        outcomes = as_completed(
            list(futures), loop=client.loop, with_results=True, raise_errors=False
        )
        for future, outcome in outcomes:
            job, chunk, index = futures[future]
            if cancel is not None and cancel.is_set():
                raise _cancelled()
            counter.check()  # the progress callback raised for an event
            failure = _chunk_failure(outcome)
            if failure is not None:
                if is_killed_worker(failure):
                    raise WorkerLostError(
                        f"dask workers died repeatedly while coding frames {chunk[0]}-"
                        f"{chunk[-1]} of {job.name} (out of memory?); finished frames are "
                        "kept: rerun the same command to resume."
                    ) from failure
                if isinstance(failure, TaskCancelled):
                    raise WorkerLostError(
                        f"the dask cluster cancelled the coding of frames {chunk[0]}-{chunk[-1]} "
                        f"of {job.name} (scheduler restarted?); finished frames are kept: rerun "
                        "the same command to resume."
                    ) from failure
                raise failure
            job.pending -= 1
            if job.pending == 0:
                on_job_done(job)
            # the frames whose events are still on the way
            counter.reached(index, len(chunk), in_run=True)
        counter.check()
    finally:
        with counter.lock:
            counter.closed = True
        _RUNS.pop(run, None)
        if subscribed:
            _unsubscribe(client)
        # Release every task, finished ones too: a finished chunk whose result sat on a worker
        # that died later would otherwise be recomputed by dask while the manifest is written.
        client.cancel(list(futures))
