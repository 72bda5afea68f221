"""Save an image layer as a FlowRoI compressed stack with the default settings."""

from __future__ import annotations

import os

from ..batch import compress_movie
from ..calibration import movie_from_layer
from ..settings import FlowRoISettings


def write_image(path: str, data, meta: dict) -> list[str]:
    """napari writer hook: compress the (T, Y, X) layer `data` into the container folder `path`.

    Uses the default settings (the tuning widget's "Compress stack" uses the settings chosen
    there) and every core; napari's writer contract runs it in the GUI thread, so progress is
    shown frame by frame in napari's activity dock. Raises the core's FlowRoIError, whose message
    says what to do, for unusable layers.
    """
    from napari.utils import progress

    movie = movie_from_layer({**meta, "data": data})  # keeps scale and name (calibration.py)
    from ._worker import progress_steps

    steps = progress_steps(
        compress_movie, movie, path, FlowRoISettings(), workers=max(1, os.cpu_count() or 1)
    )
    with progress(total=len(movie), desc=f"FlowRoI: saving {meta.get('name', 'layer')}") as bar:
        for done, total in steps:  # the frames are coded in threads; this thread reports
            bar.set_description(f"FlowRoI: saving, {done}/{total} frames")
            bar.update(done - bar.n)
    return [str(path)]
