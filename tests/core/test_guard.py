import numpy as np

from napari_flowroi.guard import BAND, estimate_coverage, frame_coverage, sample_frames
from napari_flowroi.masks import grow
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


def test_cell_pixels_at_the_rois_edge_count_as_held_farther_ones_do_not():
    # the codec keeps structure's detail within a few px of the RoI, and the change reference
    # marks a moving edge on both sides of it: a rim just outside the RoI is not a missed cell
    roi = np.zeros((60, 60), bool)
    roi[20:40, 20:40] = True
    rim = grow(roi, 2)  # the RoI and 2 px around it
    assert frame_coverage(0, roi, rim, band=BAND).pixel_share == 1.0
    assert frame_coverage(0, roi, rim).pixel_share < 1.0  # without the band: the rim is out
    beyond = np.zeros_like(roi)
    beyond[20:40, 44:50] = True  # 4 px and more from the RoI
    assert frame_coverage(0, roi, rim | beyond, band=BAND).pixel_share < 0.85
