import cv2
import numpy as np
import pytest

from napari_flowroi.flow import (
    _clear_uncovered_border,
    _median_flow,
    aligned_flow,
    aligned_flow_in,
    coarse_drift,
    dense_flow,
    estimate_drift,
    flow_boxes,
    shift_image,
)
from napari_flowroi.preprocess import to_uint8


def test_phase_correlation_finds_a_known_shift(discs):
    frame = to_uint8(discs.frames[0])
    moved = shift_image(frame, 3.0, -5.0)
    dy, dx = estimate_drift(frame, moved)
    assert abs(dy - 3.0) < 0.3 and abs(dx + 5.0) < 0.3


def test_phase_correlation_of_identical_frames_is_zero(discs):
    # OpenCV pads a side to its optimal DFT size; unguarded, 224 -> 225 read 0.5 px of x shift.
    frame = to_uint8(discs.frames[0])
    assert frame.shape[1] == 224
    assert estimate_drift(frame, frame.copy()) == (0.0, 0.0)


def test_aligned_flow_removes_drift(drift_only):
    current, previous = (to_uint8(drift_only.frames[t]) for t in (4, 3))
    raw = dense_flow(current, previous)
    flow, (dy, dx) = aligned_flow(current, previous, "farneback")
    # frame t is frame t-1 moved by (1.5, -2): the previous frame lies at (-1.5, +2) from here
    assert abs(dy + 1.5) < 0.2 and abs(dx - 2.0) < 0.2
    assert np.median(np.hypot(*raw.reshape(-1, 2).T)) > 1.5
    assert np.median(np.hypot(*flow.reshape(-1, 2).T)) < 0.2


def test_both_flow_methods_see_a_moving_disc(discs):
    current, previous = (to_uint8(discs.frames[t]) for t in (3, 2))
    for method in ("farneback", "dis"):
        magnitude = np.hypot(*dense_flow(current, previous, method).reshape(-1, 2).T)
        magnitude = magnitude.reshape(current.shape)
        assert magnitude[discs.cells[3]].mean() > 3 * magnitude[~discs.cells[3]].mean(), method


def _sparse_mask(seed: int, shape=(240, 320)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, shape).astype(np.float32), (0, 0), 4)
    return blobs > 2.5 * blobs.std()


@pytest.mark.parametrize("seed", range(4))
def test_flow_boxes_hold_every_region_with_its_context(seed):
    mask = _sparse_mask(seed)
    margin = 12
    covered = np.zeros(mask.shape, bool)
    for rows, cols in flow_boxes(mask, margin):
        covered[rows, cols] = True
    assert len(flow_boxes(mask, margin)) > 1 and mask.any()  # boxes, not the whole frame
    # every region pixel has `margin` pixels of context inside a box (where the frame allows)
    context = cv2.dilate(mask.astype(np.uint8), np.ones((2 * margin + 1,) * 2, np.uint8)) > 0
    assert covered[context].all()


@pytest.mark.parametrize("count", [1, 7, 4095, 4096, 4097, 10_001, 128 * 160])
def test_median_flow_is_the_median_of_every_4th_measured_pixel(count):
    rng = np.random.default_rng(count)
    flow = rng.normal(0, 1, (128, 160, 2)).astype(np.float32)
    measured = np.zeros(128 * 160, bool)
    measured[rng.choice(measured.size, count, replace=False)] = True
    measured = measured.reshape(128, 160)
    sample = flow[measured]
    expected = np.median(sample[::4] if len(sample) >= 4096 else sample, axis=0)
    assert np.array_equal(_median_flow(flow, measured), expected)


def test_flow_in_boxes_is_the_box_flows_less_their_median(drift_only):
    # the numpy expressions aligned_flow_in replaced, written out
    current, other = (to_uint8(f) for f in drift_only.frames[2:4])
    boxes = [(slice(10, 70), slice(20, 90)), (slice(80, 170), slice(100, 200))]
    flow, measured, (dy, dx) = aligned_flow_in(current, other, boxes, "farneback")
    coarse_dy, coarse_dx = coarse_drift(current, other)
    aligned_other = shift_image(other, -coarse_dy, -coarse_dx)
    raw = np.zeros(current.shape + (2,), np.float32)
    for rows, cols in boxes:
        raw[rows, cols] = dense_flow(
            np.ascontiguousarray(current[rows, cols]),
            np.ascontiguousarray(aligned_other[rows, cols]),
        )
    sample = raw[measured]
    residual = np.median(sample[::4] if len(sample) >= 4096 else sample, axis=0)
    assert np.abs(residual).max() > 0.01  # a residual drift to remove
    raw[measured] -= residual
    _clear_uncovered_border(raw, coarse_dy, coarse_dx)
    assert np.array_equal(flow, raw)
    assert (dy, dx) == (coarse_dy + float(residual[1]), coarse_dx + float(residual[0]))


def _boxes_as_before(mask: np.ndarray, margin: int) -> list[tuple[slice, slice]]:
    """flow_boxes as it was written before its boxes became arrays (one slice pair per region in
    a Python loop, the smaller grouping by min())."""
    from napari_flowroi.masks import regions_with_stats

    def boxes(m, grow_by):
        count, _labels, stats = regions_with_stats(m)
        height, width = m.shape
        return [
            (
                slice(max(0, y - grow_by), min(height, y + h + grow_by)),
                slice(max(0, x - grow_by), min(width, x + w + grow_by)),
            )
            for x, y, w, h, _pixels in stats[1:count]
        ]

    def area(bs):
        return sum((r.stop - r.start) * (c.stop - c.start) for r, c in bs)

    if not mask.any():
        return []
    height, width = mask.shape
    own = boxes(mask.astype(np.uint8), margin)
    grown = cv2.dilate(mask.astype(np.uint8), np.ones((margin + 1,) * 2, np.uint8))
    best = min(own, boxes(grown, margin // 2), key=area)
    if area(best) > 0.7 * height * width:
        return [(slice(0, height), slice(0, width))]
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("density", [0.5, 1.0, 1.5, 2.5, 3.0])
def test_flow_boxes_are_the_boxes_of_the_loop_they_replaced(seed, density):
    rng = np.random.default_rng(seed)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, (200, 260)).astype(np.float32), (0, 0), 3)
    mask = blobs > density * blobs.std()  # dense (whole frame) to sparse (a few boxes)
    for margin in (3, 4, 12, 13):
        assert flow_boxes(mask, margin) == _boxes_as_before(mask, margin)
    assert flow_boxes(np.zeros((40, 50), bool), 12) == []
