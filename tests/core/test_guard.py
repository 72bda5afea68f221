import numpy as np
import pytest

from napari_flowroi.guard import (
    BAND,
    checked_frames,
    estimate_coverage,
    frame_coverage,
    sample_frames,
)
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


def test_the_check_measures_frames_between_the_movies_ends():
    assert checked_frames(100, 5) == [1, 25, 49, 74, 98]
    assert checked_frames(6) == [1, 2, 3, 4]
    assert checked_frames(3) == [1]
    assert checked_frames(2) == [0, 1]  # no frame between two others: the ends it is


def test_an_end_frame_would_count_where_a_cell_is_going_as_a_missed_cell():
    # a dark disc crossing a calm grey field, 6 px a frame; the RoI is exactly the disc. The
    # first frame can only be compared with two later ones, which both hold the disc where it
    # is going: that place reads as a cell the RoI left out. A frame between two others is
    # compared with both sides, so the check (the frames checked_frames picks) reads it whole.
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:120, :160]
    movie = np.empty((7, 120, 160), np.uint8)
    discs = []
    for t in range(len(movie)):
        disc = (yy - 60) ** 2 + (xx - 40 - 6 * t) ** 2 <= 15**2
        discs.append(disc)
        movie[t] = np.clip(np.where(disc, 70, 150) + rng.normal(0, 2, disc.shape), 0, 255)
    extractor = RoiExtractor(movie, FlowRoISettings(), cache_frames=8)
    rois = dict(enumerate(discs))
    first = estimate_coverage(extractor, [0], rois=rois).pixel_share
    checked = estimate_coverage(extractor, rois=rois)
    assert first < 0.9
    assert 0 not in [f.t for f in checked.frames]
    # the check passes (its target): the judged frames read 95.6-100 % (a sliver of the disc's
    # blurred edge lies past the band); 0.99 held only while frames with no cells counted as 1.0
    assert checked.judged and checked.pixel_share >= FlowRoISettings().coverage_target


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


def test_otsu_threshold_splits_bright_from_dark_as_scikit_images_does():
    from skimage.filters import threshold_otsu

    from napari_flowroi.guard import _otsu

    for seed in range(5):
        rng = np.random.default_rng(seed)
        dark = rng.normal(0.0, 1.0, 6000)
        bright = rng.normal(rng.uniform(4, 9), rng.uniform(0.5, 2.0), 2000)
        image = np.concatenate([dark, bright]).astype(np.float32).reshape(80, 100)
        ours, theirs = _otsu(image), threshold_otsu(image)
        # one grey level apart at most (scikit-image returns its bin's centre, this the edge)
        assert abs(ours - theirs) <= 1.5 * (image.max() - image.min()) / 255
        assert np.mean((image >= ours) != (image > theirs)) < 0.005  # the same bright class


def test_checked_frames_sharing_neighbours_get_the_reference_each_gets_alone(drifting_discs):
    # estimate_coverage hands change_cells the standardised frames of the frames before
    from napari_flowroi.guard import change_cells

    frames = movie_from_array(drifting_discs.frames)
    settings = FlowRoISettings(appearance_roi=False)
    shared: dict = {}
    together = {
        t: change_cells(RoiExtractor(frames, settings), t, shared=shared) for t in (0, 2, 3, 7)
    }
    for t, reference in together.items():
        alone = change_cells(RoiExtractor(frames, settings), t)
        assert reference.any() and np.array_equal(reference, alone), t
    assert min(shared) >= 7 - 2  # frames no later check compares with are let go


def test_an_exposure_jump_does_not_make_still_background_change(discs):
    # a frame 40 % brighter (lamp, exposure) than its neighbours: each frame is compared in its
    # own robust units, so the jump itself is no change and hides none
    from napari_flowroi.guard import change_cells

    jumped = discs.frames.astype(np.float32)
    jumped[4] = jumped[4] * 1.4 + 10
    settings = FlowRoISettings(appearance_roi=False)
    steady = change_cells(RoiExtractor(movie_from_array(discs.frames), settings), 4)
    bright = change_cells(RoiExtractor(movie_from_array(jumped), settings), 4)
    assert steady.any()
    # the moving discs are still seen (compared in raw units, the whole frame changes, the
    # change's robust spread with it, and nothing passes), and nothing more is
    assert 0.5 * steady.sum() <= bright.sum() <= 1.5 * steady.sum()
    assert (bright & ~grow(discs.cells[4], 6)).mean() < 0.01  # not the background


def test_a_refusal_never_prints_an_estimate_that_reaches_the_target():
    from napari_flowroi.guard import percent_below

    # 97.98 % against a 98 % target printed "98.0% (target 98%)"
    assert percent_below(0.9798) == "97.9%"
    assert percent_below(0.97) == "97.0%"
    assert percent_below(1.0) == "100.0%"
    assert percent_below(0.0) == "0.0%"


def test_only_lone_outlying_pixels_are_replaced_before_the_change_is_measured():
    from napari_flowroi.guard import _without_outliers

    rng = np.random.default_rng(3)
    frame = rng.normal(100, 2, (64, 64)).astype(np.float32)
    frame[20:23, 10:50] += 60  # a bright 3-px line: structure, kept
    frame[40, 30] = 4000  # a hot pixel
    cleaned = _without_outliers(frame)
    assert abs(cleaned[40, 30] - 100) < 10
    changed = cleaned != frame
    assert changed.sum() < 0.01 * frame.size and not changed[21, 11:49].any()


def _outliers_replaced_densely(frame):
    # guard._without_outliers as first written: OpenCV's box filter counts every pixel's
    # outlying neighbours (the reference the sparse count must equal, edges included)
    import cv2

    from napari_flowroi._robust import median as sample_median
    from napari_flowroi.guard import OUTLIER_Z

    median = cv2.medianBlur(frame, 3)
    departure = cv2.absdiff(frame, median)
    low, high = cv2.minMaxLoc(median)[:2]
    spread = max(1.4826 * sample_median(departure[::8, ::8]), 1e-6 * max(abs(low), high, 1.0))
    outliers = cv2.compare(departure, OUTLIER_Z * spread, cv2.CMP_GT)
    crowd = cv2.boxFilter(outliers, cv2.CV_16U, (3, 3), normalize=False)
    lone = (outliers > 0) & (crowd.reshape(outliers.shape) <= 2 * 255)
    return np.where(lone, median.reshape(frame.shape), frame).astype(np.float32)


@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 2), (3, 5), (37, 41), (64, 64)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_the_outliers_lone_test_counts_neighbours_as_the_box_filter_did(shape, dtype):
    # the sparse count at the outliers (guard._outlying_around) against the box filter over the
    # whole frame, with hot pixels alone, in pairs and in threes, on the frame's edges and corners
    from napari_flowroi.guard import _without_outliers

    rng = np.random.default_rng(sum(shape))
    frame = rng.normal(100, 2, shape).clip(0, 255).astype(dtype)
    rows, cols = shape
    spots = [(0, 0), (rows - 1, cols - 1), (0, cols // 2), (rows // 2, 0), (rows // 2, cols // 2)]
    for r, c in spots + [tuple(p) for p in rng.integers(0, (rows, cols), (8, 2))]:
        frame[r, c] = 250
        if rng.random() < 0.4:  # a pair or a three, to be kept
            frame[min(r + 1, rows - 1), c] = 250
            if rng.random() < 0.5:
                frame[r, min(c + 1, cols - 1)] = 250
    found = _without_outliers(frame)
    assert found.dtype == np.float32
    if min(shape) < 3:  # no 3x3 window: the frame as it is
        assert np.array_equal(found, frame.astype(np.float32))
    else:
        assert np.array_equal(found, _outliers_replaced_densely(frame))
        assert not np.array_equal(found, frame.astype(np.float32))  # some were replaced


def test_a_check_that_finds_no_cells_says_so_instead_of_an_estimate():
    # a frame without guard cells counts as held (pixel_share 1.0); a movie without any read
    # "The RoI holds an estimated 100.0% of the cell pixels"
    import numpy as np

    from napari_flowroi.guard import preflight
    from napari_flowroi.settings import FlowRoISettings

    verdict = preflight(np.full((6, 64, 64), 7, np.uint8), FlowRoISettings())
    assert verdict.ok and "no cells" in verdict.message and "100" not in verdict.message


def test_frames_without_cells_do_not_lift_the_estimate():
    """A frame where the reference finds no cell reads 1.0 by definition; averaged in, four such
    frames lifted one judged frame at 85 % to 97 %, the check's target, where the run's summary
    (container.coverage_of) averages the judged frames only."""
    from napari_flowroi.guard import FrameCoverage, MovieCoverage

    none = np.zeros((0, 2))
    empty = [FrameCoverage(t, 1.0, 1.0, 0.0, none) for t in (1, 3, 5, 8)]
    judged = FrameCoverage(10, 0.85, 0.8, 0.2, none)
    coverage = MovieCoverage((*empty, judged))
    assert coverage.judged == (judged,)
    assert coverage.pixel_share == pytest.approx(0.85)
    assert coverage.object_share == pytest.approx(0.8)
    assert MovieCoverage(tuple(empty)).pixel_share == 1.0  # nothing judged: nothing missed


@pytest.fixture
def cells_enter_late(tmp_path):
    """12 frames of moving discs, the first 7 of them empty (the discs' background only): the
    guard's check (frames 1, 3, 5, 8, 10) finds cells on frames 8 and 10 only."""
    import tifffile

    movie = moving_discs(n_frames=12, shape=(192, 224), n_cells=4).frames.copy()
    movie[:7] = np.median(movie[7])
    path = tmp_path / "late.tif"
    tifffile.imwrite(path, movie, photometric="minisblack")
    return path


def test_a_check_resting_on_some_frames_says_on_which(cells_enter_late, capsys):
    import json

    import tifffile

    from napari_flowroi.cli import main
    from napari_flowroi.guard import preflight

    verdict = preflight(movie_from_array(tifffile.imread(cells_enter_late)), FlowRoISettings())
    assert verdict.ok
    assert "found cells on 2 of the 5 frames it checks (frames 8, 10)" in verdict.message
    out = cells_enter_late.parent / "late.flowroi"
    assert main(["compress", str(cells_enter_late), str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["cell_coverage"]["frames_checked"] == [8, 10]
    assert any("found cells on 2 of the 5 frames" in note for note in summary["notes"])
    assert "flowroi: note: the missed-cell guard found cells on 2 of the 5" in captured.err
