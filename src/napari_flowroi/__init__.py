"""napari-flowroi: optical-flow-driven region-of-interest JPEG2000 for time-lapse microscopy.

The public API is the names in ``__all__``::

    from napari_flowroi import FlowRoISettings, compress_movie, open_container

    summary = compress_movie("movie.ome.tif", "movie.flowroi", FlowRoISettings(compression_rate=32))
    frames = open_container("movie.flowroi").frames()   # lazy dask array (T, Y, X)

The core imports no Qt and no napari; the napari side lives in ``napari_flowroi.napari``.
docs/architecture.md maps every module to its job.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

try:  # written by setuptools-scm from the git tag when the package is built or installed
    from ._version import version as __version__
except ImportError:  # a source tree on sys.path that was never built or installed
    __version__ = "0+unknown"

from .settings import FlowRoISettings  # noqa: E402  (light: the manifest reads it at napari start)

# The heavier entry points are imported on first use, so `import napari_flowroi` (which napari
# does for every plugin at start-up) does not pull in OpenCV, dask and Pillow's codec.
_LAZY = {
    "compress_movie": "napari_flowroi.batch",
    "compress_movies": "napari_flowroi.plates",
    "open_container": "napari_flowroi.container",
    "verify_container": "napari_flowroi.container",
    "suggest_settings": "napari_flowroi.tune",
    "open_movie": "napari_flowroi.readers",
    # ND2, CZI, LIF, OME-TIFF, OME-Zarr (the formats extra); Fiji hyperstacks (no extra)
    "compress_file": "napari_flowroi.microscopy",
    "roi_masks": "napari_flowroi.batch",  # the full-resolution masks the compressor codes
}

__all__ = ["FlowRoISettings", "__version__", *sorted(_LAZY)]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'napari_flowroi' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
