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
