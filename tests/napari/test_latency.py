"""Time from a setting change to updated layers on a 1 MP frame (1040 x 1388 brightfield).

The figure is printed for docs/napari.md (`pytest tests/napari/test_latency.py -s`), not asserted:
speed belongs in benchmarks, not in a pass/fail bound that a busy machine would break."""

from pathlib import Path
from statistics import median

import numpy as np
import pytest

from .conftest import wait_preview

#: The full 1-MP movie lies in ../shared/data beside the repository (not shipped with the package).
FRAMES = Path(__file__).resolve().parents[3] / "shared" / "data" / "basic-hsc-brightfield" / "frames"


@pytest.mark.slow
@pytest.mark.skipif(not FRAMES.is_dir(), reason="needs the 1 MP HSC brightfield frames")
def test_threshold_change_updates_layers_of_a_1mp_frame_quickly(widget_on, qtbot):
    from napari_flowroi.inputs import open_movie

    movie = open_movie(FRAMES)
    frames = np.stack([movie[t] for t in range(3)])
    assert frames.shape[1:] == (1040, 1388)
    viewer, widget = widget_on(frames, name="hsc 1MP")
    viewer.dims.set_current_step(0, 1)
    first = wait_preview(qtbot, widget, t=1)
    times, compute = [], []
    for i in range(20):
        value = round(0.30 + 0.01 * i, 2)
        widget.form.controls["roi_threshold"].value = value
        p = wait_preview(qtbot, widget, settings=first.settings.replace(roi_threshold=value), t=1)
        times.append(widget.last_update_seconds)
        compute.append(p.seconds)
    print(f"\n1 MP setting change -> layers updated: median {median(times):.3f} s "
          f"(compute {median(compute):.3f} s, debounce {0.12:.2f} s), "
          f"min {min(times):.3f} s, max {max(times):.3f} s over {len(times)} changes")
    assert all(t is not None for t in times)  # every change reached the layers
