"""One way to run long work: a napari thread worker with progress, cancel and safe callbacks.

`run(owner, func, ...)` starts `func` in a napari worker. Generator functions report progress by
yielding; plain functions receive a `cancel` event when they accept one. Every callback is skipped
once the owner widget is closed or its Qt object deleted, so a worker finishing after the viewer
was closed does not touch dead widgets ("wrapped C/C++ object has been deleted").
"""

from __future__ import annotations

import threading
from collections.abc import Callable


def qt_deleted(qobject) -> bool:
    """Whether the C++ side of a Qt object is gone (PyQt5/6 or PySide2/6)."""
    try:
        from qtpy import API_NAME

        if API_NAME.startswith("PySide"):
            import shiboken6 as shiboken  # type: ignore[import-not-found]

            return not shiboken.isValid(qobject)
        from qtpy import sip

        return sip.isdeleted(qobject)
    except Exception:  # noqa: BLE001 - no binding helper: assume alive
        return False


class Job:
    """A running worker and its cancel event."""

    def __init__(self, worker, cancel: threading.Event):
        self.worker = worker
        self.cancel_event = cancel
        self.done = False
        worker.finished.connect(self._finished)

    def _finished(self):
        self.done = True

    def cancel(self) -> None:
        """Ask the work to stop at its next check (the worker finishes normally)."""
        self.cancel_event.set()

    @property
    def finished(self):
        return self.worker.finished


def run(
    owner,
    func: Callable,
    *args,
    yielded=None,
    returned=None,
    errored=None,
    finished=None,
    cancel: threading.Event | None = None,
    **kwargs,
) -> Job:
    """Start `func(*args, **kwargs)` in a napari worker; callbacks run in the GUI thread and are
    dropped once `owner.closed` is true or its native widget is deleted."""
    import inspect

    from napari.qt.threading import FunctionWorker, GeneratorWorker

    cancel = cancel or threading.Event()
    # napari's worker classes built directly, not through napari.qt.threading.create_worker:
    # that wrapper also connects the worker to the viewer's task-status bar through lambdas of
    # two arguments, and PySide6 6.12 passes `errored`'s exception as a third one (TypeError in
    # the GUI thread, docs/decisions.md). Built directly, an error is not re-raised in the GUI
    # thread (the wrapper's `_ignore_errors=True`): `errored` callbacks report it. The dock
    # shows its own progress in the busy line.
    kind = GeneratorWorker if inspect.isgeneratorfunction(func) else FunctionWorker
    worker = kind(func, *args, **kwargs)

    def guarded(callback):
        def call(*values):
            if getattr(owner, "closed", False) or qt_deleted(owner.native):
                return
            callback(*values)

        return call

    job = Job(worker, cancel)  # first: `job.done` is true when `finished` callbacks run
    for signal, callback in (
        ("yielded", yielded),
        ("returned", returned),
        ("errored", errored),
        ("finished", finished),
    ):
        if callback is not None and hasattr(worker, signal):
            getattr(worker, signal).connect(guarded(callback))
    worker.start()
    return job


def progress_steps(func: Callable, *args, **kwargs):
    """Generator for a worker: runs `func(*args, progress=..., **kwargs)` in a thread and yields
    its (done, total) reports; returns what `func` returns (or raises what it raised). The worker
    thread stays free to deliver progress while `func` works."""
    import queue

    events: queue.Queue = queue.Queue()
    outcome: dict = {}

    def work():
        try:
            outcome["value"] = func(
                *args, progress=lambda done, total: events.put((done, total)), **kwargs
            )
        except BaseException as exc:  # noqa: BLE001 - handed to the GUI thread below
            outcome["error"] = exc
        finally:
            events.put(None)

    thread = threading.Thread(
        target=work, name=f"flowroi-{getattr(func, '__name__', 'job')}", daemon=True
    )
    thread.start()
    while (item := events.get()) is not None:
        yield item
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
