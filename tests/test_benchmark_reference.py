"""The benchmarks' reference cells and ideal RoI (benchmarks/common.py): a Cell Tracking Challenge
gold-truth frame that annotates only some cells is completed from the silver truth, and an object
the data's README says to count neither way belongs to the ideal RoI, never to the cells."""

from pathlib import Path

import numpy as np
import pytest

from napari_flowroi.readers import movie_from_array

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import common

    return common


def test_a_silver_cell_the_gold_lacks_is_added_and_a_shared_one_keeps_the_gold_outline(common):
    gold = np.zeros((20, 20), np.uint16)
    silver = np.zeros((20, 20), np.uint16)
    gold[2:6, 2:6] = 1  # annotated by both, drawn a pixel wider by the silver truth
    silver[2:7, 2:7] = 4
    silver[12:16, 12:16] = 9  # left out of the gold frame
    out = common.completed(gold, silver)
    assert (out[2:6, 2:6] == 1).all()
    assert out[6, 6] == 0  # the silver outline of a gold cell is not taken
    assert (out[12:16, 12:16] > 1).all() and len(np.unique(out)) == 3


def test_an_unannotated_object_is_in_the_ideal_but_not_in_the_cells(common):
    cells = np.zeros((40, 40), np.int32)
    cells[5:10, 5:10] = 1
    disc = common._disc((40, 40), (30, 30, 6))
    case = common.Case(
        "x",
        "x",
        False,
        movie_from_array(np.zeros((2, 40, 40), np.uint8)),
        [1],
        [1],
        lambda t: cells,
        unannotated_fn=lambda t: disc,
    )
    ideal = case.ideal(1)
    assert ideal[30, 30] and not (case.cells(1) > 0)[30, 30]
    assert (ideal & ~disc == common.ideal_mask(cells)).all()
    plain = common.Case("y", "y", False, case.movie, [1], [1], lambda t: cells)
    assert (plain.ideal(1) == common.ideal_mask(cells)).all()


def test_every_whole_candidate_never_chosen_is_in_the_grid(monkeypatch):
    # a candidate marked by its whole name (generalise.REPORTED_ONLY_KEYS) that no longer names
    # one of the grid's candidates would let that candidate be chosen again without a word
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import generalise

    names = {generalise._key(candidate) for candidate in generalise.CANDIDATES}
    assert set(generalise.REPORTED_ONLY_KEYS) <= names
    assert all(generalise.reported_only(key) for key in generalise.REPORTED_ONLY_KEYS)


def _moving_disc_movie(count=21, size=160, radius=9, step=6, seed=3):
    """A plate with smooth texture and shading, a dark disc crossing it `step` px a frame, a
    still disc, and the lamp 20 % brighter on frame count // 2 + 1."""
    rng = np.random.default_rng(seed)
    import cv2

    texture = cv2.GaussianBlur(rng.normal(0, 6, (size, size)).astype(np.float32), (0, 0), 3)
    shading = np.linspace(0, 30, size, dtype=np.float32)[None, :]
    yy, xx = np.mgrid[:size, :size]
    frames, centres = [], []
    for t in range(count):
        frame = 140 + shading + texture + rng.normal(0, 1.5, (size, size)).astype(np.float32)
        centre = (size // 2, 12 + step * t % (size - 24))
        frame[(yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= radius**2] -= 60
        frame[(yy - 30) ** 2 + (xx - 30) ** 2 <= radius**2] -= 60  # a cell that never moves
        if t == count // 2 + 1:
            frame *= 1.2
        frames.append(np.clip(frame, 0, 255).astype(np.uint8))
        centres.append(centre)
    return movie_from_array(np.stack(frames)), centres, (yy, xx)


def test_the_reference_over_time_marks_the_moving_cell_not_the_plate_nor_the_lamp(common):
    movie, centres, (yy, xx) = _moving_disc_movie()
    t = len(centres) // 2
    found = common.cells_over_time(movie, t) > 0
    centre = centres[t]
    disc = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= 9**2
    near = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= 13**2
    assert found[disc].mean() > 0.95  # the moving cell, whole
    assert not found[~near].any()  # no plate, shading or flicker of the lamp elsewhere
    # the frame after, brighter by the lamp: still only the cell
    after = common.cells_over_time(movie, t + 1) > 0
    centre = centres[t + 1]
    near = (yy - centre[0]) ** 2 + (xx - centre[1]) ** 2 <= 13**2
    assert after[near].any() and not after[~near].any()
    # what it cannot see: the cell that never moves is part of the background
    still = (yy - 30) ** 2 + (xx - 30) ** 2 <= 9**2
    assert not found[still].any()


def test_the_default_roi_holds_the_shipped_hsc_cells_found_by_subtraction_over_time(common):
    """Issue 21's coverage targets on the shipped brightfield cut, against cells found by a
    principle the RoI does not use (its shipped mask is local contrast, the RoI's own)."""
    import tifffile

    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.sample_data import movie_path
    from napari_flowroi.settings import FlowRoISettings

    movie = movie_from_array(tifffile.imread(movie_path("hsc_brightfield")))
    extractor = RoiExtractor(movie, FlowRoISettings(), cache_frames=8)
    held = total = 0
    for t in range(1, len(movie) - 1):
        cells = common.cells_over_time(movie, t) > 0
        inside = np.count_nonzero(cells & extractor.mask(t))
        assert inside >= 0.97 * np.count_nonzero(cells), t  # every frame
        held, total = held + inside, total + np.count_nonzero(cells)
    assert total > 0.1 * (len(movie) - 2) * movie.shape[1] * movie.shape[2]  # it found cells
    assert held >= 0.99 * total
