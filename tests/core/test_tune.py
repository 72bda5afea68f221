import threading

import pytest

from napari_flowroi.errors import CancelledError
from napari_flowroi.readers import movie_from_array
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs
from napari_flowroi.tune import candidate_settings, suggest_settings


def test_suggestion_keeps_the_cells_and_is_not_worse_than_plain():
    movie = movie_from_array(
        moving_discs(n_frames=6, shape=(160, 192), noise=4.0, static_cells=True).frames
    )
    seen = []
    suggestion = suggest_settings(
        movie, FlowRoISettings(compression_rate=12), progress=lambda d, n: seen.append((d, n))
    )
    assert seen[-1][0] == seen[-1][1] == len(candidate_settings(FlowRoISettings()))
    if suggestion.plain_suggested:
        assert suggestion.settings.plain
    else:
        assert suggestion.best.coverage >= 0.98 and suggestion.best.gain >= 1.0
        # still cells: a motion-only RoI cannot be the answer
        assert suggestion.settings.appearance_roi
    motion_only = [c for c in suggestion.candidates if not c.settings.appearance_roi]
    assert max(c.coverage for c in motion_only) < 0.5
    assert (
        suggestion.as_dict()["candidates"][0]["gain"]
        >= suggestion.as_dict()["candidates"][-1]["gain"]
    )


def test_suggestion_can_be_cancelled():
    movie = movie_from_array(moving_discs(n_frames=4, shape=(96, 112)).frames)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        suggest_settings(movie, cancel=cancel)


def test_a_candidate_is_judged_by_its_worst_frame_coverage():
    # the widget's verdict reads each frame: a candidate that misses half the cells on one
    # sampled frame must not be reported at the mean of a good and a bad frame
    import numpy as np

    from napari_flowroi.ladders import ladder_rates, plain_rate_ladder
    from napari_flowroi.tune import _evaluate

    frames = moving_discs(n_frames=3, shape=(96, 112), noise=2.0).frames
    cells = {t: np.zeros(frames[t].shape, bool) for t in (0, 1)}
    for t in cells:
        cells[t][20:60, 20:60] = True
    roi = {0: cells[0].copy(), 1: cells[1].copy()}
    roi[1][40:60] = False  # half the cells of frame 1 left out

    class Extractor:
        settings = FlowRoISettings(compression_rate=8)

        def mask(self, t):
            return roi[t]

    originals = {t: frames[t] for t in (0, 1)}
    ladders = {t: plain_rate_ladder(originals[t], ladder_rates(8.0), cells[t]) for t in (0, 1)}
    candidate = _evaluate(Extractor(), originals, cells, ladders)
    assert candidate.coverage == pytest.approx(0.5)
