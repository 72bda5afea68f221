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
    model.accept_coverage()
    assert model.preflight().ok and model.preflight().coverage is None
    assert model.preflight(settings=FlowRoISettings(plain=True)).ok
