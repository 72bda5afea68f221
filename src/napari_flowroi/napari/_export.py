"""Exports from the Compress tab: the compressed stack just written, decoded, to one (OME-)TIFF
(container.decompress, as `flowroi decompress` does), and the exact RoI masks a compression with
these settings codes (batch.write_roi_masks, as `flowroi roi` does)."""

from __future__ import annotations

import threading
from functools import partial

from . import _worker


def _run_with_frames(panel, progress_text, func, *args, returned, **kwargs):
    """Run `func(*args, progress=..., **kwargs)` as the dock's long job: each (done, total) it
    reports is shown in the busy line as `progress_text` (a format string of done and total)."""
    busy = panel.dock.busy_line

    def step(item):
        done, total = item
        busy.show_text(progress_text.format(done=done, total=total), done, total)

    return busy.run(
        panel.dock,
        _worker.progress_steps,
        func,
        *args,
        yielded=step,
        returned=returned,
        errored=busy.failed,
        finished=busy.end,
        **kwargs,
    )


def export_tiff(panel, path):
    """Decode the panel's last compressed stack into the TIFF `path` in a worker."""
    from ..container import decompress

    dock, busy = panel.dock, panel.dock.busy_line
    if panel.last_output is None:
        dock.notify("Compress a stack first.", "warning")
        return None
    if not busy.start("the export", f"Decoding {panel.last_output.name} into {path}…"):
        return None

    # the job's Cancel sets this event, and decompress stops before the next frame with it
    # (removing its temporary file), not only between the job's steps
    cancel = threading.Event()

    def returned(_info):
        panel.status.value = f"Decoded stack written to {path}."
        dock.notify(panel.status.value, "info")

    return _run_with_frames(
        panel,
        "Export: {done} of {total} frames decoded",
        partial(decompress, cancel=cancel),
        panel.last_output,
        path,
        overwrite=True,
        cancel=cancel,
        returned=returned,
    )


def ask_export(panel, *_):
    from qtpy.QtWidgets import QFileDialog

    start = str(panel.last_output.with_suffix(".tif")) if panel.last_output else ""
    path, _ = QFileDialog.getSaveFileName(
        panel.native, "Export decoded stack", start, "TIFF (*.tif *.tiff)"
    )
    if path:
        panel.export(path)


def export_roi_masks(panel, path):
    """Write the exact RoI masks of the picked movie (its RoI channel) with the form's settings
    to the TIFF `path` in a worker: uint8, 255 = RoI, one page a frame. The container keeps only
    a coarse block grid of them (docs/decisions.md, issue 22 item 5)."""
    from ..batch import write_roi_masks
    from ..errors import FlowRoIError

    dock, busy = panel.dock, panel.dock.busy_line
    layer, settings = dock.picker.layer, dock.settings()
    if layer is None or dock.model.movie is None:
        dock.notify("Pick a movie layer first.", "warning")
        return None
    if settings is None:
        return None
    try:
        movie = dock.picker.channel_movie(layer, dock.picker.axes.index)
    except FlowRoIError as exc:
        dock.notify(str(exc))
        return None
    if not busy.start("the RoI export", f"Computing the RoI of {len(movie)} frames into {path}…"):
        return None
    # the job's Cancel sets this event, and write_roi_masks stops at the next frame with it
    cancel = threading.Event()

    def returned(share):
        panel.status.value = (
            f"Exact RoI masks written to {path} (uint8, 255 = RoI, one page a frame; the RoI "
            f"covers {100 * share:.0f} % of the frame on average)."
        )
        dock.notify(panel.status.value, "info")

    return _run_with_frames(
        panel,
        "RoI export: {done} of {total} frames",
        partial(write_roi_masks, cancel=cancel),
        movie,
        path,
        settings,
        extra_roi=dock.model.extra_roi,
        cancel=cancel,
        returned=returned,
    )


def ask_roi_masks(panel, *_):
    from qtpy.QtWidgets import QFileDialog

    output = str(panel.output.value or "")
    start = output.removesuffix(".flowroi") + "-roi.tif" if output not in ("", ".") else ""
    path, _ = QFileDialog.getSaveFileName(
        panel.native, "Export exact RoI masks", start, "TIFF (*.tif *.tiff)"
    )
    if path:
        panel.export_masks(path)
