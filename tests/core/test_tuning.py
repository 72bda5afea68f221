"""The Qt-free tuning model: what a setting change costs, previews, failures, preflight."""

import sys
import threading

import numpy as np
import pytest

from napari_flowroi.errors import CancelledError, InputError
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs
from napari_flowroi.tuning import TuningModel


@pytest.fixture(scope="module")
def discs():
    return moving_discs(n_frames=5, shape=(96, 128), seed=2).frames


def test_the_model_imports_no_qt_or_napari():
    import subprocess

    code = (
        "import sys, napari_flowroi.tuning, napari_flowroi.readout, napari_flowroi.guard; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('qtpy', 'PyQt5', 'PyQt6', 'PySide2', 'PySide6', 'napari', 'magicgui')]; "
        "print(bad); sys.exit(bool(bad))"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize(
    "change, kind",
    [
        ({"coverage_target": 0.5}, "readout"),
        ({"compression_rate": 20.0}, "coding"),
        ({"scaling_factor": 2.0}, "coding"),
        ({"target_psnr": 35.0}, "coding"),
        ({"roi_threshold": 0.3}, "roi"),
        ({"adjacent_factor": 2}, "roi"),
        ({"denoise": False}, "roi"),
    ],
)
def test_change_kind_says_what_a_setting_recomputes(change, kind):
    base = FlowRoISettings()
    assert TuningModel.change_kind(base, base.replace(**change)) == kind
    assert TuningModel.change_kind(base, base) == "none"


def test_plain_jpeg2000_does_not_depend_on_roi_settings():
    plain = FlowRoISettings(plain=True)
    assert TuningModel.change_kind(plain, plain.replace(roi_threshold=0.2)) == "readout"
    assert TuningModel.change_kind(plain, plain.replace(compression_rate=10.0)) == "coding"


def test_preview_events_and_readout_only_changes(discs):
    model = TuningModel()
    seen, changes = [], []
    model.preview_ready.connect(seen.append)
    model.settings_changed.connect(lambda s, kind: changes.append(kind))
    model.set_movie(discs)
    model.set_frame(2)
    settings, t = model.target()
    full = model.compute(model.settings, t, on_coarse=model.accept_preview)
    assert model.accept_preview(full)
    assert [p.coarse for p in seen] == [True, False] and model.last_preview is full
    computed = len(model.previewer.computed)
    assert model.set_settings(model.settings.replace(coverage_target=0.5)) == "readout"
    assert model.cached() is full and len(model.previewer.computed) == computed
    model.set_settings(model.settings.replace(compression_rate=20.0))
    assert model.cached() is None and model.cached(coarse=True) is not None  # mask reused
    assert not model.accept_preview(full)  # stale: not what the user looks at any more
    assert changes == ["readout", "coding"]


def test_a_superseded_preview_stops_before_coding(discs):
    model = TuningModel()
    model.set_movie(discs)
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(CancelledError):
        model.compute(model.settings, 1, cancel)
    assert model.cached(coarse=True) is not None or model.t != 1


def test_a_failing_frame_is_not_retried(discs):
    movie = discs.astype(np.float32)
    movie[0, 3, 3] = np.nan
    model = TuningModel()
    model.set_movie(movie)
    model.set_frame(0)
    with pytest.raises(InputError):
        model.compute(model.settings, 0)
    assert model.target() is None  # the widget stops asking
    model.set_frame(2)
    assert model.target() is not None


def test_an_rgb_image_is_refused():
    model = TuningModel()
    with pytest.raises(InputError, match="RGB"):
        model.set_movie(np.zeros((64, 64, 3), np.uint8), "photo", rgb=True)
    assert model.movie is None


def test_size_factor_finds_plain_jpeg2000_of_equal_cell_quality(discs):
    model = TuningModel(FlowRoISettings(compression_rate=20))
    model.set_movie(discs)
    full = model.compute(model.settings, 2)
    factor = model.compute_size_factor(full)
    gain = full.psnr_roi_flowroi - full.psnr_roi_plain
    if factor is not None:
        assert (factor > 1) == (gain > 0)


def test_preflight_stops_once_then_goes_ahead_when_accepted():
    still = moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=3)
    model = TuningModel(FlowRoISettings(appearance_roi=False))
    model.set_movie(still.frames)
    verdict = model.preflight()
    assert not verdict.ok and "estimated to hold only" in verdict.message
    # the setting for cells much larger in pixels than ours, unless it is asked for already
    assert "flow scale of 0.25" in verdict.message
    shrunk = TuningModel(FlowRoISettings(appearance_roi=False, flow_scale=0.25))
    shrunk.set_movie(still.frames)
    refused = shrunk.preflight()
    assert not refused.ok and "flow scale" not in refused.message
    model.accept_coverage()
    assert model.preflight().ok and model.preflight().coverage is None
    assert model.preflight(settings=FlowRoISettings(plain=True)).ok


def test_going_ahead_despite_the_guard_holds_for_that_movie_only():
    """A 'compress anyway' is about one movie: another movie (or the same data read again)
    is checked again, and a suggestion of the movie before is dropped."""
    still = moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=3)
    model = TuningModel(FlowRoISettings(appearance_roi=False))
    model.set_movie(still.frames)
    first = model.movie
    model.accept_coverage()
    assert model.coverage_accepted() and model.preflight().ok
    model.suggestion = object()  # as set_suggestion leaves it
    model.set_movie(still.frames[:, ::-1].copy())
    assert not model.coverage_accepted() and not model.preflight().ok
    assert model.suggestion is None
    model.accept_coverage(movie=first)  # the guard's answer about the movie before
    assert not model.coverage_accepted()


def test_plan_shows_the_cache_and_asks_for_one_job_per_target(discs):
    model = TuningModel()
    model.set_movie(discs)
    plan = model.plan()
    assert plan is not None and plan[1] == model.t
    assert model.plan() is None  # the running job computes this target already
    model.set_frame(3)
    superseded = plan[2]
    newer = model.plan()
    assert superseded.is_set() and newer is not None and newer[1] == 3
    assert not model.job_finished(superseded)  # the newer job is still running
    steps = list(_drain(model.preview_steps(*newer)))
    for item in steps:
        model.accept_step(item)
    assert not model.job_finished(newer[2])  # cached now: nothing left to compute
    assert model.plan() is None and model.last_preview.t == 3
    assert model.last_assessment.coded and model.last_assessment.t == 3


def test_a_preview_job_planned_before_a_switch_to_a_shorter_movie_neither_fails_nor_shows(discs):
    # frame 4 of a 5-frame movie is planned; the user switches to a 3-frame movie before the
    # worker starts: the job computes nothing on the new movie (frame 4 is not in it) and none
    # of its steps is shown
    model = TuningModel()
    model.set_movie(discs)
    model.set_frame(4)
    settings, t, cancel = model.plan()
    model.set_movie(discs[:3])
    assert cancel.is_set() and model.t == 2
    steps = model.preview_steps(settings, t, cancel)
    assert list(_drain(steps)) == []
    # a step computed before the switch is refused as well
    old = TuningModel()
    old.set_movie(discs)
    old.set_frame(4)
    coarse = old.coarse(old.settings, 4)
    assert not model.accept_step(coarse, cancel=cancel)
    assert model.last_preview is None
    # work done with the replaced movie's previewer leaves nothing in the model's memory, which
    # is keyed by (settings, frame) and would otherwise answer for the new movie's frame 1
    replaced = model.previewer
    model.set_movie(discs)
    model.assess(replaced.coarse(model.settings, 1), replaced)
    assert model.assessment(model.settings, 1) is None
    model.assess(model.coarse(model.settings, 1))
    assert model.assessment(model.settings, 1) is not None


def _drain(steps):
    while True:
        try:
            yield next(steps)
        except StopIteration:
            return


def test_sources_and_dead_controls_say_what_drew_the_roi_and_what_does_nothing(discs):
    from napari_flowroi.tuning import dead_controls, source_map

    model = TuningModel(FlowRoISettings(motion_roi=False))
    user = np.zeros(discs.shape, np.uint8)
    user[:, :10, :10] = 1
    model.set_extra_roi(user)
    model.set_movie(discs)
    extractor = model.previewer.extractor(model.settings)
    labels = source_map(extractor, model.settings, 1)
    assert (labels[:10, :10] == 3).all() and (labels == 2).any() and not (labels == 1).any()
    dead = dead_controls(extractor, model.settings, 1)
    assert dead["roi_threshold"] == "Motion RoI is off" and "scaling_factor" not in dead
    both_off = model.settings.replace(appearance_roi=False)
    model.set_extra_roi(None)
    plain_dead = dead_controls(model.previewer.extractor(both_off), both_off, 1)
    assert "no RoI" in plain_dead["scaling_factor"]
    motion = FlowRoISettings()
    covered = dead_controls(model.previewer.extractor(motion), motion, 1)
    motion_only = motion.replace(appearance_roi=False)
    assert "roi_threshold" not in dead_controls(
        model.previewer.extractor(motion_only), motion_only, 1
    )
    if "roi_threshold" in covered:  # appearance already holds what moves, or nothing moves
        moves = model.previewer.extractor(motion).motion_mask(1).any()
        assert ("already covers" if moves else "moves enough for Motion RoI") in covered[
            "roi_threshold"
        ]


def test_the_cells_are_measured_with_the_guards_cells_not_the_roi(monkeypatch):
    from napari_flowroi import roi

    # a RoI that misses the still cells: the flow's noise on them, which the change gate (on by
    # default) rightly drops, leaving no RoI and no RoI figures to compare
    monkeypatch.setattr(roi, "CHANGE_GATE_Z", 0.0)
    still = moving_discs(n_frames=5, shape=(160, 192), static_cells=True, seed=3)
    model = TuningModel(FlowRoISettings(appearance_roi=False, compression_rate=20))
    model.set_movie(still.frames)
    full = model.compute(model.settings, 2)
    cells = model.assess(full)
    assert cells.coded and cells.coverage < 0.5
    # the RoI's own figures flatter it; the cells' do not
    assert cells.cell_gain < full.psnr_roi_flowroi - full.psnr_roi_plain


def test_a_suggestion_the_verdict_contradicts_on_a_frame_is_not_kept(discs):
    """A candidate that reads well on average but whose RoI holds no cell on its frames (both
    sources off, figures claimed) is replaced: by a candidate whose verdict holds on every
    frame tried, or by plain JPEG2000 (issue 22, item 4)."""
    from napari_flowroi.tune import Candidate, Suggestion

    model = TuningModel()
    model.set_movie(discs)
    model.set_settings(FlowRoISettings(compression_rate=12))
    frames = (1, 3)
    no_roi = model.settings.replace(motion_roi=False, appearance_roi=False)
    flattering = Candidate(no_roi, coverage=1.0, gain=3.0, roi_fraction=0.0, psnr_cells=50.0,
                           psnr_cells_plain=40.0)  # fmt: skip
    honest = Candidate(model.settings.replace(scaling_factor=4.0), 1.0, 1.5, 0.3, 45.0, 40.0)
    raw = Suggestion(no_roi, flattering, (flattering, honest), frames, 1.0)
    for t in frames:  # the flattering one fails the verdict's check on every frame
        assert not model._verdict_holds(no_roi, t, None)
    agreed = model.agreed_suggestion(raw)
    assert agreed.best is not flattering
    if agreed.best is None:
        assert agreed.settings.plain
    else:
        assert all(model._verdict_holds(agreed.best.settings, t, None) for t in frames)
