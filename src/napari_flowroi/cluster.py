"""Kept for imports written before executors.py: the dask knowledge lives in
:mod:`napari_flowroi.executors`."""

from .executors import (
    CONNECT_TIMEOUT,
    LOCAL,
    RETRIES,
    ClusterError,
    WorkerLostError,
    dask_client,
    is_killed_worker,
)

__all__ = [
    "CONNECT_TIMEOUT",
    "LOCAL",
    "RETRIES",
    "ClusterError",
    "WorkerLostError",
    "dask_client",
    "is_killed_worker",
]
