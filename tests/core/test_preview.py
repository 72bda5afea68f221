"""The Qt-free per-frame preview behind the napari widget."""

import numpy as np
import pytest

from napari_flowroi.masks import grow
from napari_flowroi.preview import Previewer, preview_stack
from napari_flowroi.rd_curve import rate_distortion
from napari_flowroi.settings import FlowRoISettings


@pytest.fixture
def previewer(discs):
    return Previewer(discs.frames)


def test_preview_reports_both_codings_at_the_same_rate(previewer, discs):
    p = previewer.preview(FlowRoISettings(compression_rate=20), 3)
    assert p.mask.shape == p.flowroi.shape == p.plain.shape == discs.frames.shape[1:]
    assert p.flowroi.dtype == p.plain.dtype == discs.frames.dtype
    assert p.flowroi_rate == pytest.approx(20, rel=0.1)
    assert p.plain_rate == pytest.approx(20, rel=0.1)
    assert 0 < p.roi_fraction < 1 and p.roi_fraction == pytest.approx(p.mask.mean())
    assert p.mask[discs.cells[3]].mean() > 0.5  # the moving discs are in the RoI
    for value in (
        p.psnr_roi_flowroi,
        p.psnr_outside_flowroi,
        p.psnr_roi_plain,
        p.psnr_outside_plain,
    ):
        assert 15 < value < 80
    # FlowRoI spends the bytes on the RoI: better inside, worse outside than plain JPEG2000
    assert p.psnr_roi_flowroi > p.psnr_roi_plain
    assert p.psnr_outside_flowroi < p.psnr_outside_plain
    assert p.seconds > 0 and p.readout()["flowroi"]["rate"] == p.flowroi_rate


def test_previews_are_cached_and_a_threshold_change_reuses_the_flow(previewer, monkeypatch):
    from napari_flowroi import roi

    calls = []
    original = roi.aligned_flow

    def counting(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(roi, "aligned_flow", counting)
    s = FlowRoISettings()
    first = previewer.preview(s, 2)
    assert previewer.preview(s, 2) is first
    assert previewer.computed == [(s, 2)]
    flows = len(calls)
    assert flows >= 1
    changed = s.replace(roi_threshold=0.3)
    previewer.preview(changed, 2)
    assert previewer.computed == [(s, 2), (changed, 2)]
    assert len(calls) == flows  # the flow of frame 2 is shared through the movie's pool
    previewer.preview(s.replace(denoise=not s.denoise), 2)
    assert len(calls) > flows  # what the flow depends on changed: computed again


def test_plain_settings_give_an_empty_mask_and_identical_codings(previewer):
    p = previewer.preview(FlowRoISettings(plain=True), 1)
    assert not p.mask.any() and p.magnitude is None
    np.testing.assert_array_equal(p.flowroi, p.plain)
    assert p.full_size("magnitude").shape == p.mask.shape


def test_preview_stack_computes_only_the_frames_indexed(previewer, discs):
    s = FlowRoISettings()
    stack = preview_stack(previewer, s, "mask")
    assert stack.shape == discs.frames.shape and stack.chunksize[0] == 1
    assert previewer.computed == []
    assert np.asarray(stack[4]).any()
    assert previewer.computed == [(s, 4)]
    assert preview_stack(previewer, s, "magnitude")[4].compute().shape == discs.frames.shape[1:]


def test_rate_distortion_curve_falls_with_rate_for_both_codings(previewer):
    s = FlowRoISettings(compression_rate=30)
    curve = rate_distortion(previewer, s, 3, rates=(10, 30, 90))
    assert len(curve.flowroi_rates) == len(curve.plain_rates) == 3
    assert np.all(np.diff(curve.plain_psnr_roi) < 0)
    assert np.all(np.diff(curve.flowroi_psnr_roi) < 0)


def test_float_movies_use_their_value_range_as_psnr_peak(discs):
    movie = discs.frames.astype(np.float32) / 255.0 * 7.5
    p = Previewer(movie).preview(FlowRoISettings(), 2)
    assert p.flowroi.dtype == np.float32
    assert 15 < p.psnr_roi_flowroi < 80


def test_a_new_compression_rate_recodes_without_recomputing_the_roi_priority(monkeypatch):
    import napari_flowroi.preview as preview_module
    from napari_flowroi.codec import decode_frame, encode_frame
    from napari_flowroi.preview import Previewer
    from napari_flowroi.synthetic import moving_discs

    movie = moving_discs(n_frames=4, shape=(96, 112), n_cells=3).frames
    calls = []
    real = preview_module.prioritised_codes
    monkeypatch.setattr(
        preview_module, "prioritised_codes", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    previewer = Previewer(movie)
    settings = FlowRoISettings(compression_rate=8)
    first = previewer.preview(settings, 2)
    second = previewer.preview(settings.replace(compression_rate=16), 2)
    assert len(calls) == 1 and second.flowroi_rate > first.flowroi_rate
    # what the preview shows is what the batch writes at that rate
    batch = decode_frame(encode_frame(movie[2], second.mask, settings.replace(compression_rate=16)))
    assert np.array_equal(batch, second.flowroi)
    previewer.preview(settings.replace(scaling_factor=4), 2)  # another priority: recomputed
    assert len(calls) == 2


def test_the_previews_cell_coverage_comes_from_the_guards_reference_not_the_rois_detector(
    discs, monkeypatch
):
    # A cell the guard's reference sees outside the RoI must lower the coverage the preview
    # reports, even though the appearance detector (the RoI's own) holds every cell it finds.
    import napari_flowroi.guard as guard

    half = np.zeros(discs.frames.shape[1:], bool)
    half[:, : half.shape[1] // 2] = True  # "cells" over the whole left half of the frame
    monkeypatch.setattr(guard, "change_cells", lambda extractor, t, **_: half)
    p = Previewer(discs.frames).preview(FlowRoISettings(compression_rate=20), 3)
    # counted the way the check before a batch counts (cell pixels within guard.BAND px held)
    held = grow(p.mask, guard.BAND)
    assert p.coverage.pixel_share == pytest.approx(held[half].mean())
    assert p.coverage.pixel_share < 0.9
