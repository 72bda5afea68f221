import numpy as np

from napari_flowroi.guard import estimate_coverage, frame_coverage, sample_frames
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs


def test_guard_flags_still_cells_that_motion_misses():
    movie = moving_discs(n_frames=4, shape=(192, 224), static_cells=True)
    frames = movie_from_array(movie.frames)
    motion_only = estimate_coverage(RoiExtractor(frames, FlowRoISettings(appearance_roi=False)))
    with_appearance = estimate_coverage(RoiExtractor(frames, FlowRoISettings()))
    assert motion_only.pixel_share < 0.3 and with_appearance.pixel_share > 0.95
    worst = motion_only.worst
    assert len(worst.missed) >= 3  # the still discs, as points to show


def test_guard_estimate_tracks_true_coverage_on_moving_cells(discs):
    extractor = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings(appearance_roi=False))
    estimate = estimate_coverage(extractor, [2, 5])
    truth = np.mean(
        [(extractor.mask(t) & discs.cells[t]).sum() / discs.cells[t].sum() for t in (2, 5)]
    )
    assert abs(estimate.pixel_share - truth) < 0.05


def test_frame_coverage_reports_missed_cells_where_they_are():
    cells = np.zeros((50, 50), bool)
    cells[5:10, 5:10] = True
    cells[30:40, 30:40] = True
    roi = np.zeros_like(cells)
    roi[5:10, 5:10] = True
    coverage = frame_coverage(0, roi, cells)
    assert coverage.object_share == 0.5
    assert np.allclose(coverage.missed, [[34.5, 34.5]])


def test_sampled_frames_spread_over_the_movie():
    assert sample_frames(3) == [0, 1, 2]
    assert sample_frames(100, 5) == [0, 25, 50, 74, 99]
