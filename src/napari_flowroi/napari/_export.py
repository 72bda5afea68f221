"""Export of the compressed stack just written, decoded, to one (OME-)TIFF (calibration.decompress,
as `flowroi decompress` does), from the Compress tab."""

from __future__ import annotations

from . import _worker


def export_tiff(panel, path):
    """Decode the panel's last compressed stack into the TIFF `path` in a worker."""
    from ..container import decompress

    dock, busy = panel.dock, panel.dock.busy_line
    if panel.last_output is None:
        dock.notify("Compress a stack first.", "warning")
        return None
    if not busy.start("the export", f"Decoding {panel.last_output.name} into {path}…"):
        return None

    def step(item):
        done, total = item
        busy.show_text(f"Export: {done} of {total} frames decoded", done, total)

    def returned(_info):
        panel.status.value = f"Decoded stack written to {path}."
        dock.notify(panel.status.value, "info")

    return busy.run(
        dock,
        _worker.progress_steps,
        decompress,
        panel.last_output,
        path,
        overwrite=True,
        yielded=step,
        returned=returned,
        errored=busy.failed,
        finished=busy.end,
    )


def ask_export(panel):
    from qtpy.QtWidgets import QFileDialog

    start = str(panel.last_output.with_suffix(".tif")) if panel.last_output else ""
    path, _ = QFileDialog.getSaveFileName(
        panel.native, "Export decoded stack", start, "TIFF (*.tif *.tiff)"
    )
    if path:
        panel.export(path)
