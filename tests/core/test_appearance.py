import numpy as np

from napari_flowroi.appearance import cell_score
from napari_flowroi.inputs import movie_from_array
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

from ..conftest import far_from


def test_still_cells_are_found_by_appearance_and_missed_by_motion():
    movie = moving_discs(n_frames=4, shape=(192, 224), static_cells=True)
    frames = movie_from_array(movie.frames)
    motion_only = RoiExtractor(frames, FlowRoISettings(appearance_roi=False)).mask(2)
    both = RoiExtractor(frames, FlowRoISettings(appearance_roi=True)).mask(2)
    assert pixel_coverage(motion_only, movie.cells[2]) < 0.2
    assert pixel_coverage(both, movie.cells[2]) > 0.95


def test_appearance_mask_stays_near_the_cells(discs):
    extractor = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings())
    cells = extractor.cells(3)
    assert pixel_coverage(cells, discs.cells[3]) > 0.9
    assert cells[far_from(discs.cells[3], 12)].mean() < 0.03


def test_bright_nuclei_on_a_dark_background_stand_out():
    image = np.full((100, 100), 20, np.uint8)
    image += np.random.default_rng(0).integers(0, 4, image.shape, dtype=np.uint8)
    image[40:55, 40:55] = 120  # a flat, bright nucleus: no inner texture, but brighter
    score = cell_score(image, 1.0)
    assert score[47, 47] > 10 and np.median(score) < 1


def test_appearance_only_needs_no_motion():
    frame = moving_discs(n_frames=1, shape=(96, 112)).frames
    extractor = RoiExtractor(movie_from_array(frame),
                             FlowRoISettings(motion_roi=False, appearance_roi=True))
    assert extractor.mask(0).any()
    assert list(extractor.frames_needed(0)) == [0]


def test_user_masks_are_always_protected(discs):
    extra = np.zeros(discs.frames.shape, bool)
    extra[:, :10, :10] = True
    extractor = RoiExtractor(movie_from_array(discs.frames),
                             FlowRoISettings(motion_roi=False, appearance_roi=False),
                             extra_roi=extra)
    mask = extractor.mask(2)
    assert mask[:10, :10].all() and mask.sum() == 100
