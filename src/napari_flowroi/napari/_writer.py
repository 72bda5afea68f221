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
    shown frame by frame in napari's activity dock. A one-frame layer (a 2-D image) is saved as
    plain JPEG2000, and a notification says so: motion needs two frames, and the Save dialog has
    no control to choose plain coding (the core's refusal said "Use --plain" there). Raises the
    core's FlowRoIError, whose message says what to do, for unusable layers.
    """
    from napari.utils import progress
    from napari.utils.notifications import show_info

    movie = movie_from_layer({**meta, "data": data})  # keeps scale and name (calibration.py)
    from ._worker import progress_steps

    settings = FlowRoISettings()
    if len(movie) < 2:
        settings = settings.replace(plain=True)
    steps = progress_steps(
        compress_movie, movie, path, settings, workers=max(1, os.cpu_count() or 1)
    )
    with progress(total=len(movie), desc=f"FlowRoI: saving {meta.get('name', 'layer')}") as bar:
        for done, total in steps:  # the frames are coded in threads; this thread reports
            bar.set_description(f"FlowRoI: saving, {done}/{total} frames")
            bar.update(done - bar.n)
    if settings.plain:
        show_info(
            f"{meta.get('name', 'The layer')} has one frame; motion needs two, so it was saved "
            "as plain JPEG2000 (no region of interest)."
        )
    return [str(path)]
