"""The change gate of rule `cells` (roi.CHANGE_GATE_Z, flow.changed_regions): a candidate region
that did not change between a frame and its partner, once the drift is removed, is not asked
whether it moves, and the flow is measured only around the regions that changed."""

import cv2
import numpy as np
import pytest

import napari_flowroi.flow as flow
from napari_flowroi import roi
from napari_flowroi.flow import (
    MIN_BOX_SIDE,
    SAMPLE_SHARE,
    boxes_area,
    boxes_exceed,
    changed_regions,
    flow_boxes,
    shift_image,
)
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

from ..conftest import far_from

MOTION = FlowRoISettings(appearance_roi=False)


# Frames large enough for the gate: its sample (flow.sample_boxes) is a grid of boxes spread over
# the frame; a frame too small for more than one box gets the whole frame's flow instead
# (roi.RoiExtractor._region_motion), which the conftest's 192x224 discs are.
@pytest.fixture(scope="module")
def big_discs():
    return moving_discs(n_frames=8, shape=(384, 448), n_cells=16)


@pytest.fixture(scope="module")
def big_drifting_discs():
    return moving_discs(n_frames=8, shape=(384, 448), n_cells=16, drift=(1.5, -2.0))


@pytest.fixture(scope="module")
def big_drift_only():
    return moving_discs(
        n_frames=8, shape=(384, 448), n_cells=16, drift=(1.5, -2.0), static_cells=True
    )


def _two_discs(shift: float, drift=(0.0, 0.0)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two textured discs on a textured background; in the second frame the left disc moved by
    `shift` px to the right and the whole field by `drift` (dy, dx). Returns both frames and the
    labels of the discs in the second frame (1 left, 2 right)."""
    rng = np.random.default_rng(3)
    shape = (384, 512)  # the flow's sample (flow.sample_boxes) is then 2x2 boxes, off the discs
    background = cv2.GaussianBlur(rng.normal(90, 60, shape).astype(np.float32), (0, 0), 3)
    texture = cv2.GaussianBlur(rng.normal(0, 40, shape).astype(np.float32), (0, 0), 3)
    yy, xx = np.mgrid[: shape[0], : shape[1]]

    def frame(left_x: float) -> tuple[np.ndarray, np.ndarray]:
        labels = np.zeros(shape, np.int32)
        labels[np.hypot(yy - 192, xx - left_x) < 22] = 1
        labels[np.hypot(yy - 192, xx - 440) < 22] = 2
        image = background.copy()
        disc = labels > 0
        image[disc] = 170 + texture[disc]
        return np.clip(image, 0, 255).astype(np.uint8), labels

    first, _ = frame(60.0)
    second, labels = frame(60.0 + shift)
    second = shift_image(second, *drift)
    labels = np.round(shift_image(labels.astype(np.float32), *drift)).astype(np.int32)
    # a little noise (the frames the gate sees are denoised): a noiseless frame has differences
    # of 0 where still, so a drift read 0.08 px off (the moved disc pulls the phase correlation)
    # would already count as change
    noisy = [np.clip(f + rng.normal(0, 1, shape), 0, 255).astype(np.uint8) for f in (first, second)]
    return noisy[0], noisy[1], labels


@pytest.mark.parametrize("drift", [(0.0, 0.0), (2.5, -3.0)])
def test_a_moved_region_changed_and_a_still_one_did_not(drift):
    first, second, labels = _two_discs(4.0, drift)
    # the drift of `first` seen from `second` (the flow's sample measures it in the extractor)
    back = (-drift[0], -drift[1])
    found = changed_regions(second, shift_image(first, *drift), labels, 2, back, z=3.0)
    assert found.tolist() == [False, True, False]
    # left in place, the drift makes the still disc look changed too
    if drift != (0.0, 0.0):
        assert changed_regions(second, first, labels, 2, (0.0, 0.0), z=3.0)[1:].all()


@pytest.mark.parametrize("fixture", ["big_discs", "big_drifting_discs"])
def test_motion_alone_keeps_the_moving_discs_with_the_gate_on(request, fixture, monkeypatch):
    monkeypatch.setattr(roi, "CHANGE_GATE_Z", 3.0)
    movie = request.getfixturevalue(fixture)
    extractor = RoiExtractor(movie_from_array(movie.frames), MOTION)
    assert len(flow.sample_boxes(extractor.prepared(0).shape)) > 1  # the gate runs here
    for t in range(len(movie.frames)):
        assert pixel_coverage(extractor.mask(t), movie.cells[t]) > 0.95, t
    background = [extractor.mask(t)[far_from(movie.cells[t], 24)].mean() for t in range(8)]
    assert np.mean(background) < 0.05


def test_the_gate_leaves_a_drifting_still_field_without_roi(big_drift_only, monkeypatch):
    monkeypatch.setattr(roi, "CHANGE_GATE_Z", 3.0)
    frames = big_drift_only.frames
    extractor = RoiExtractor(movie_from_array(frames), MOTION)
    # the bound of test_roi.py's test without the gate
    assert np.mean([extractor.mask(t).mean() for t in range(len(frames))]) < 0.05


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_motion_alone_keeps_the_discs_of_a_frame_too_small_for_a_spread_sample(seed):
    # 128x160: one sample box, on the discs; the boxes' and the sample's floor read the discs'
    # own flow (3.9 px a frame against their 2.5) and motion kept none of them (seeds 1, 3)
    movie = moving_discs(n_frames=5, shape=(128, 160), seed=seed)
    extractor = RoiExtractor(movie_from_array(movie.frames), MOTION)
    assert len(flow.sample_boxes(extractor.prepared(0).shape)) == 1
    for t in range(len(movie.frames)):
        assert pixel_coverage(extractor.mask(t), movie.cells[t]) > 0.95, t
    background = [extractor.mask(t)[far_from(movie.cells[t], 24)].mean() for t in range(5)]
    assert np.mean(background) < 0.05


def test_a_still_region_is_not_asked_and_its_flow_not_measured(monkeypatch):
    first, second, labels = _two_discs(4.0)
    frames = np.stack([first, second, second])  # frame 2 repeats frame 1: nothing changed
    pixels = []
    real = flow.dense_flow
    monkeypatch.setattr(
        flow, "dense_flow", lambda c, *a, **k: pixels.append(c.size) or real(c, *a, **k)
    )
    asked = {}
    for gate in (0.0, 3.0):
        monkeypatch.setattr(roi, "CHANGE_GATE_Z", gate)
        pixels.clear()
        extractor = RoiExtractor(movie_from_array(frames), MOTION)
        motion = extractor.region_motion(2)
        asked[gate] = (motion.asked, sum(pixels), extractor.frame_mask(2).any())
    assert asked[0.0][0][1:].all() and asked[0.0][1] > 0
    # nothing asked: the flow and its magnitude are zero at the flow resolution, in float32, as
    # the flow in no box is (roi.py skips the division and the magnitude then)
    shape = extractor.prepared(2).shape
    assert motion.flow.shape == shape + (2,) and motion.magnitude.shape == shape
    assert motion.flow.dtype == motion.magnitude.dtype == np.float32
    assert not motion.flow.any() and not motion.magnitude.any()
    assert motion.floor >= MOTION.min_motion
    # no region asked: the flow only in the sample of the frame that gives the drift and noise
    assert not asked[3.0][0].any() and not asked[3.0][2]  # a repeated frame moved nowhere
    sample = max(SAMPLE_SHARE * extractor.prepared(2).size, MIN_BOX_SIDE**2)  # one box at least
    assert 0 < asked[3.0][1] <= sample
    # frame 1: the moved disc is asked and kept, the still one not kept (whether it is asked
    # depends on the drift the flow's sample reads to a tenth of a pixel; the unit test above
    # checks the gate with the drift given)
    extractor = RoiExtractor(movie_from_array(frames), MOTION)
    regions = extractor.regions(1)
    motion = extractor.region_motion(1)
    labels = cv2.resize(labels, regions.labels.shape[::-1], interpolation=cv2.INTER_NEAREST)
    moved = np.bincount(regions.labels[labels == 1]).argmax()
    assert motion.asked[moved]
    mask = cv2.resize(extractor.frame_mask(1).view(np.uint8), labels.shape[::-1]) > 0
    assert pixel_coverage(mask, labels == 1) > 0.95
    assert pixel_coverage(mask, labels == 2) < 0.05


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("share", [0.05, 0.15, 0.4])
def test_boxes_exceed_answers_as_the_boxes_area_would(seed, share):
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, (180, 260)).astype(np.float32), (0, 0), 3)
    mask = blobs > (1.5 + 0.3 * seed) * blobs.std()
    area = boxes_area(flow_boxes(mask, roi.FLOW_CONTEXT))
    exceeds, boxes = boxes_exceed(mask, roi.FLOW_CONTEXT, share)
    assert exceeds == (area > share * mask.size)
    assert boxes is None or boxes == flow_boxes(mask, roi.FLOW_CONTEXT)
