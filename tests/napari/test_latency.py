"""Time from a setting change to updated layers on a 1 MP frame (1040 x 1388 brightfield).

The figures are printed for docs/napari.md (`pytest tests/napari/test_latency.py -s`), not
asserted: speed belongs in benchmarks, not in a pass/fail bound that a busy machine would break.
Two figures per setting: *first* — the mask (and flow) layer shows the new RoI; *all* — the decoded
FlowRoI and JPEG2000 layers and the readout are updated too."""

from pathlib import Path
from statistics import median

import numpy as np
import pytest

from napari_flowroi.napari._widget import DEBOUNCE_MS

from .conftest import wait_idle, wait_preview

#: The full 1-MP movie lies in ../shared/data beside the repository (not shipped with the package).
FRAMES = (
    Path(__file__).resolve().parents[3] / "shared" / "data" / "basic-hsc-brightfield" / "frames"
)
REPEATS = 5


def _change(qtbot, widget, name, value, t=None):
    if name == "coverage_target":  # re-words the readout synchronously, computes nothing
        import time

        computed = len(widget.previewer.computed)
        started = time.perf_counter()
        widget.form.controls[name].value = value
        seconds = time.perf_counter() - started
        assert len(widget.previewer.computed) == computed and not widget.busy
        return seconds, seconds
    widget.first_update_seconds = None
    if name == "time step":
        widget.viewer.dims.set_current_step(0, value)
    else:
        widget.form.controls[name].value = value
    settings = widget.form.settings()
    wait_preview(
        qtbot,
        widget,
        t=t if t is not None else widget.model.t,
        settings=widget.model.previewer
        and __import__("napari_flowroi.settings", fromlist=["preview_key"]).preview_key(settings),
        timeout=120_000,
    )
    wait_idle(qtbot, widget, timeout=120_000)
    first = widget.first_update_seconds
    return (first if first is not None else widget.last_update_seconds), widget.last_update_seconds


@pytest.mark.slow
@pytest.mark.skipif(not FRAMES.is_dir(), reason="needs the 1 MP HSC brightfield frames")
def test_setting_changes_update_layers_of_a_1mp_frame(widget_on, qtbot):
    from napari_flowroi.readers import open_movie

    movie = open_movie(FRAMES)
    frames = np.stack([movie[t] for t in range(8)])
    assert frames.shape[1:] == (1040, 1388)
    viewer, widget = widget_on(frames, name="hsc 1MP")
    viewer.dims.set_current_step(0, 1)
    wait_preview(qtbot, widget, t=1, timeout=120_000)
    wait_idle(qtbot, widget, timeout=120_000)
    plans = {
        "roi_threshold": [round(0.40 + 0.03 * i, 2) for i in range(REPEATS)],
        "scaling_factor": [2.0 + 0.5 * i for i in range(REPEATS)],
        "compression_rate": [20.0 + 5 * i for i in range(REPEATS)],
        "coverage_target": [round(0.5 + 0.05 * i, 2) for i in range(REPEATS)],
        "adjacent_factor": [1, 2, 3, 4, 5][:REPEATS],
        "denoise": [False, True] * 3,
        "time step": [2, 3, 4, 5, 6][:REPEATS],
        "target_psnr": [30.0 + 2 * i for i in range(REPEATS)],
    }
    lines = []
    for name, values in plans.items():
        firsts, alls = [], []
        for value in values[:REPEATS]:
            first, full = _change(qtbot, widget, name, value)
            if full is not None:
                firsts.append(first)
                alls.append(full)
        if name == "adjacent_factor":
            _change(qtbot, widget, name, 0)
        if name == "target_psnr":
            from napari_flowroi.napari._settings_form import PSNR_OFF

            _change(qtbot, widget, name, PSNR_OFF)  # the control's "off" step
        lines.append(
            f"{name:>17}: first {median(firsts):.3f} s, all {median(alls):.3f} s "
            f"(median of {len(alls)}; all: min {min(alls):.3f}, max {max(alls):.3f})"
            if alls
            else f"{name:>17}: nothing to recompute (readout only)"
        )
    print(
        f"\n1 MP setting change -> layers updated (debounce {DEBOUNCE_MS / 1000:.2f} s "
        "included; first: mask layer, all: every layer and the readout):\n" + "\n".join(lines)
    )
    assert widget.last_preview is not None and not widget.last_preview.coarse
