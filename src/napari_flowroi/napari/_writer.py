"""Save an image layer as a FlowRoI compressed stack with the default settings."""

from __future__ import annotations

from ..batch import compress_movie
from ..calibration import movie_from_layer
from ..settings import FlowRoISettings


def write_image(path: str, data, meta: dict) -> list[str]:
    """napari writer hook: compress the (T, Y, X) layer `data` into the container folder `path`.

    Uses the default settings (the tuning widget's "Compress stack" uses the settings chosen
    there); raises the core's FlowRoIError, whose message says what to do, for unusable layers.
    """
    movie = movie_from_layer({**meta, "data": data})  # keeps scale and name (calibration.py)
    compress_movie(movie, path, FlowRoISettings())
    return [str(path)]
