import numpy as np

from napari_flowroi.flow import aligned_flow, dense_flow, estimate_drift, shift_image
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
