"""The executors (executors.py): threads of this process, and dask.distributed clients."""

import threading

import pytest

from napari_flowroi.errors import CancelledError
from napari_flowroi.executors import ClusterError, dask_client, run_threads


class _Job:
    def __init__(self, name):
        self.name, self.source, self.output, self.settings = name, None, None, None
        self.overhead, self.extra_roi, self.pending = 0, None, 0


def test_a_real_error_wins_over_the_cancellations_it_caused_and_all_chunks_stop():
    started, stopped = threading.Event(), []

    def run_chunk(source, output, settings, frames, overhead, on_frame, cancel, extra_roi):
        if frames == [0]:
            started.wait(5)
            raise ValueError("a real problem")
        started.set()
        while not cancel.is_set():
            threading.Event().wait(0.01)
        stopped.append(frames)
        raise CancelledError("stopped")

    job = _Job("A1")
    job.pending = 2
    with pytest.raises(ValueError, match="a real problem"):
        run_threads([(job, [0]), (job, [1])], run_chunk, 2, lambda n: None, None, lambda j: None)
    assert stopped == [[1]]  # the other chunk was stopped and waited for


def test_every_finished_job_is_reported_once():
    done = []

    def run_chunk(*args):
        return []

    jobs = [_Job("A1"), _Job("A2")]
    tasks = [(jobs[0], [0]), (jobs[0], [1]), (jobs[1], [0])]
    for job, _ in tasks:
        job.pending += 1
    run_threads(tasks, run_chunk, 2, lambda n: None, None, done.append)
    assert sorted(job.name for job in done) == ["A1", "A2"]


def test_a_scheduler_file_that_does_not_exist_or_is_not_one_is_refused(tmp_path):
    pytest.importorskip("distributed")
    with (
        pytest.raises(ClusterError, match="does not exist"),
        dask_client(str(tmp_path / "scheduler.json")),
    ):
        pass
    (tmp_path / "other.json").write_text('{"settings": 1}')
    with (
        pytest.raises(ClusterError, match="not a dask scheduler file"),
        dask_client(str(tmp_path / "other.json")),
    ):
        pass
