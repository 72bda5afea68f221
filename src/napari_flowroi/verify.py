"""Kept for imports written before the container package: see :mod:`napari_flowroi.container`."""

from .container import Problem, verify_container

__all__ = ["Problem", "verify_container"]
