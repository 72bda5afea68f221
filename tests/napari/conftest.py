import numpy as np
import pytest
import tifffile

from napari_flowroi.sample_data import movie_path


@pytest.fixture(scope="session")
def hsc_cut() -> np.ndarray:
    """A small cut of the shipped HSC brightfield movie: 6 frames of 192x192 uint8."""
    return np.ascontiguousarray(tifffile.imread(movie_path("hsc_brightfield"))[:6, 96:288, 96:288])


@pytest.fixture
def widget_on(make_napari_viewer, qtbot):
    """Dock the FlowRoI widget on a viewer showing `movie`; returns (viewer, widget)."""
    from napari_flowroi.napari._widget import FlowRoIWidget

    def make(movie, name="movie"):
        viewer = make_napari_viewer()
        viewer.add_image(movie, name=name)
        widget = FlowRoIWidget(viewer)
        viewer.window.add_dock_widget(widget, name="FlowRoI compression")
        created.append(widget)
        return viewer, widget

    created = []
    yield make
    for widget in created:  # no worker may outlive its test
        wait_idle(qtbot, widget)


def wait_done(qtbot, job, timeout=60_000):
    """Wait until a widget's job has finished. Waits on the job's state, never on its `finished`
    signal: a short job can finish before a test would start listening for the signal."""
    qtbot.waitUntil(lambda: job.done, timeout=timeout)


def wait_idle(qtbot, widget, timeout=60_000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def wait_preview(qtbot, widget, settings=None, t=None, timeout=60_000):
    """Wait until the layers show the preview of (settings, t) (defaults: what the widget shows)."""

    def shown():
        p = widget.last_preview
        return (
            p is not None
            and (settings is None or p.settings == settings)
            and (t is None or p.t == t)
            and not widget.busy
        )

    qtbot.waitUntil(shown, timeout=timeout)
    return widget.last_preview


def compress_and_wait(qtbot, widget, output, timeout=120_000, **kwargs):
    """Start the widget's batch into `output` (Compress tab) and wait until its worker has
    finished (whatever the outcome: tests read it from the messages and files)."""
    worker = widget.compress(output=output, **kwargs)
    wait_done(qtbot, worker, timeout=timeout)
