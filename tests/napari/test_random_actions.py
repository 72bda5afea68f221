"""Issue 22: no crash under any sequence of layer actions — switch, delete, add, reorder, change
frame — before, during and between batches, on movies of different lengths and sizes. Seeded, on
small movies, in a drawn (shown) viewer: the crashes were in the OpenGL draw."""

import numpy as np

from napari_flowroi.synthetic import moving_discs

from .conftest import wait_idle

ACTIONS = ("switch", "delete", "add", "reorder", "frame", "batch")
SHAPES = ((6, 64, 80), (3, 48, 48), (9, 72, 60), (4, 96, 64))


def test_fifty_random_layer_actions_during_and_between_batches_do_not_crash(
    make_napari_viewer, qtbot, tmp_path
):
    from napari.layers import Image

    from napari_flowroi.napari._widget import FlowRoIWidget

    rng = np.random.default_rng(22)
    viewer = make_napari_viewer(show=True)
    made = 0

    def add():
        nonlocal made
        frames, h, w = SHAPES[made % len(SHAPES)]
        movie = moving_discs(n_frames=frames, shape=(h, w), seed=made).frames
        viewer.add_image(movie, name=f"movie {made}")
        made += 1

    for _ in range(3):
        add()
    widget = FlowRoIWidget(viewer)
    viewer.window.add_dock_widget(widget)
    widget.model.accept_coverage(widget.form.settings())
    batches, done = [], []
    for step in range(50):
        movies = [layer for layer in viewer.layers if isinstance(layer, Image)]
        movies = [m for m in movies if "flowroi_role" not in m.metadata]
        action = ACTIONS[rng.integers(len(ACTIONS))]
        if action == "switch" and movies:
            widget.source.value = movies[rng.integers(len(movies))]
        elif action == "delete" and len(movies) > 1:
            viewer.layers.remove(movies[rng.integers(len(movies))])
        elif action == "add" or not movies:
            add()
        elif action == "reorder" and len(viewer.layers) > 1:
            viewer.layers.move(int(rng.integers(len(viewer.layers))), 0)
        elif action == "frame":
            viewer.dims.set_current_step(0, int(rng.integers(0, 12)))
        elif action == "batch" and widget.source.value is not None and not widget.busy_line.running:
            widget.model.accept_coverage(widget.form.settings())
            job = widget.compress(output=tmp_path / f"batch{step}.flowroi", workers=1)
            if job is not None:
                batches.append(job)
        qtbot.wait(int(rng.integers(5, 120)))  # the canvas draws, workers run, events arrive
        done.append(action)
        layer = widget.source.value
        if layer is not None and widget.model.movie is not None:
            assert widget.model.t < len(widget.model.movie)
            assert layer in viewer.layers
    qtbot.waitUntil(lambda: all(job.done for job in batches), timeout=180_000)
    wait_idle(qtbot, widget)
    assert len(done) == 50 and batches  # batches ran among the actions
    previews = [layer for layer in viewer.layers if "flowroi_role" in layer.metadata]
    sources = {layer.metadata["flowroi_source"] for layer in previews}
    assert len(sources) <= 1  # one set of preview layers, of the picked movie at most
