"""Running compression chunks on a dask.distributed cluster (docs/cluster.md).

The batch hands this module tasks that name the input by its PATH: every worker opens the movie
and reads its own frames, so no movie travels through the scheduler, and the scheduler (not our
code) decides which worker codes which chunk. A worker that dies costs the chunks it was running,
which the scheduler gives to another worker.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from .errors import FlowRoIError

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
        raise ClusterError("Running on a dask cluster needs the 'distributed' package: "
                           "pip install 'napari-flowroi[distributed]'.") from exc
    return distributed


@contextmanager
def dask_client(scheduler: Any, workers: int = 1) -> Iterator[Any]:
    """A distributed Client for `scheduler`: a Client (used as is), an address such as
    ``tcp://10.0.0.5:8786`` or a scheduler file path (connected to), or LOCAL (a cluster of
    `workers` single-threaded processes on this machine, started here and shut down after)."""
    distributed = _distributed()
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    if scheduler == LOCAL:
        # quiet, loopback only, no dashboard: this cluster lives for one run
        cluster = distributed.LocalCluster(
            n_workers=max(1, int(workers)), threads_per_worker=1, processes=True,
            host="127.0.0.1", dashboard_address=None, silence_logs=50)
        try:
            with distributed.Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    address = str(scheduler)
    kwargs = {"scheduler_file": address} if address.endswith(".json") else {"address": address}
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


def is_killed_worker(exc: BaseException) -> bool:
    try:
        from distributed import KilledWorker
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, KilledWorker)
