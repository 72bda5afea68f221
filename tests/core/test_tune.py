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


def test_the_suggestion_passes_the_check_compress_makes_or_says_it_does_not(monkeypatch):
    """tune judged coverage on three frames against the guard's reference together with the
    appearance cells; compress's check (guard.preflight) on five frames against the guard's
    reference alone refused the suggestion (E. coli: tune 97.8 %, compress 96.6 %), and its
    refusal pointed back to tune. The best eligible candidate compress's check passes is
    suggested; when none of the first COMPRESS_CHECKS does, the best stays and says so."""
    from napari_flowroi import tune
    from napari_flowroi.guard import preflight

    movie = movie_from_array(
        moving_discs(n_frames=6, shape=(160, 192), noise=4.0, static_cells=True).frames
    )
    base = FlowRoISettings(compression_rate=8)
    honest = suggest_settings(movie, base)
    assert not honest.plain_suggested  # the synthetic discs: FlowRoI wins at 8:1
    verdict = preflight(movie, honest.settings)
    assert verdict.ok and honest.compress_check == verdict.coverage.pixel_share
    assert not honest.compress_refuses and honest.as_dict()["compress_check"]["passes"]

    checked = []

    def refusing_the_first(extractor):
        checked.append(extractor.settings)
        return 0.9 if len(checked) == 1 else 0.99

    monkeypatch.setattr(tune, "compress_check", refusing_the_first)
    second = suggest_settings(movie, base)
    assert second.settings == checked[1] != checked[0] and second.compress_check == 0.99

    monkeypatch.setattr(tune, "compress_check", lambda extractor: 0.9)
    refused = suggest_settings(movie, base)
    assert refused.best is not None and refused.compress_refuses
    assert "--force" in refused.summary() and "90.0%" in refused.summary()
    assert refused.as_dict()["compress_check"] == {"coverage": 0.9, "passes": False}


def test_the_compress_checks_share_the_prepared_frames_and_give_preflights_figures(monkeypatch):
    """tune puts up to COMPRESS_CHECKS candidates through compress's check; guard.preflight
    makes a new frame pool each call, so every check prepared the same frames again (~0.7 s
    each on E. coli). Through the grid's extractor (with_settings) each frame is prepared once
    for all the checks, and each check's figure is preflight's, to the bit."""
    import napari_flowroi.roi as roi
    from napari_flowroi.guard import preflight
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.tune import candidate_settings, compress_check

    movie = movie_from_array(
        moving_discs(n_frames=9, shape=(160, 192), noise=4.0, static_cells=True).frames
    )
    base = FlowRoISettings(compression_rate=8)
    candidates = candidate_settings(base)[::12]  # motion + appearance, motion only, appearance
    assert len({(c.motion_roi, c.appearance_roi) for c in candidates}) == 3
    expected = [preflight(movie, c).coverage.pixel_share for c in candidates]

    prepared, real = [], roi.prepare_frames

    def counting(frame, settings, *args, **kwargs):
        prepared.append(1)
        return real(frame, settings, *args, **kwargs)

    monkeypatch.setattr(roi, "prepare_frames", counting)
    reference = RoiExtractor(movie, base.replace(motion_roi=True))
    shares = [compress_check(reference.with_settings(c)) for c in candidates]
    assert shares == expected  # the check's own figures, not an approximation of them
    once = len(prepared)
    assert 0 < once <= len(movie)  # each frame prepared at most once for the three checks
    prepared.clear()
    for c in candidates:
        preflight(movie, c)
    assert len(prepared) == 3 * once  # preflight: the same frames, three times


def test_no_progress_is_reported_after_the_search_stopped(monkeypatch):
    # Ctrl-C (or an error) in one candidate: dask raises at once while the others under way go
    # on in its threads; their "trying settings" lines came after the command's last line. A
    # candidate that finished while the interrupted one was reporting still reported once the
    # lock was free, before dask had handed the error to the caller (seen on a loaded 2-core
    # machine): here a third candidate is made to finish then
    import time

    from napari_flowroi import tune

    movie = movie_from_array(moving_discs(n_frames=8, shape=(64, 64), n_cells=3, seed=1).frames)
    calls, third_done = [], threading.Event()
    running, started, finished = [0], [0], threading.Condition()
    real = tune._evaluate

    def evaluate(*args, **kwargs):
        with finished:
            running[0] += 1
            started[0] += 1
            later = started[0] > 2
        try:
            candidate = real(*args, **kwargs)
            if later:
                third_done.set()
            return candidate
        finally:
            with finished:
                running[0] -= 1
                finished.notify_all()

    def progress(done, total):
        calls.append(done)
        if len(calls) == 2:
            # a third candidate has finished and waits for the lock this report holds (the
            # sleep only lets it get there: the fixed search ignores it whenever it comes)
            third_done.wait(10)
            time.sleep(0.05)
            raise KeyboardInterrupt

    monkeypatch.setattr(tune, "_evaluate", evaluate)
    with pytest.raises(KeyboardInterrupt):
        suggest_settings(movie, FlowRoISettings(), workers=2, progress=progress)
    with finished:  # the candidates under way finish (no sleep: a loaded machine waits longer)
        assert finished.wait_for(lambda: running[0] == 0, timeout=60)
    assert calls == [1, 2]
