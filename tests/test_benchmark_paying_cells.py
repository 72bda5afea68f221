"""benchmarks/roi_gap.PayingCells: which reference cells count as paying, and how they compare
against the clean frame (the issue-10 table's columns rest on it)."""

import importlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def roi_gap(monkeypatch):
    # the benchmarks folder on the path for this test only (its module names are generic)
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    return importlib.import_module("roi_gap")


@pytest.fixture
def scene():
    labels = np.zeros((64, 64), np.int32)
    labels[4:14, 4:14] = 1  # 100 px
    labels[30:33, 30:33] = 2  # 9 px, below MIN_CELL_AREA
    labels[45:55, 45:55] = 3  # 100 px
    rng = np.random.default_rng(0)
    clean = np.full((64, 64), 100.0)
    clean[labels > 0] = 160.0
    noisy = clean + rng.normal(0, 4, clean.shape)
    return labels, clean, noisy


def test_counts_cells_more_than_a_db_below_plain(scene, roi_gap):
    labels, clean, noisy = scene
    plain = noisy + 0.5  # close to the frame everywhere
    decoded = plain.copy()
    decoded[labels == 1] = clean[labels == 1]  # noise of cell 1 dropped: far below plain
    decoded[labels == 2] += 6.0  # the small cell too
    paying = roi_gap.PayingCells()
    paying.add(noisy, decoded, plain, labels, 255.0)
    assert roi_gap.MIN_CELL_AREA > 9
    assert (paying.worse, paying.total) == (2, 3)
    assert (paying.worse_big, paying.total_big) == (1, 2)
    assert paying.clean_differences == []  # no clean frame given


def test_against_the_clean_frame_a_denoised_cell_is_better(scene, roi_gap):
    labels, clean, noisy = scene
    plain = noisy.copy()
    plain[labels == 1] += 0.5
    decoded = noisy.copy()
    decoded[labels == 1] = clean[labels == 1]  # pays against the noisy frame, exact against clean
    decoded[labels == 3] += 12.0  # pays against both
    paying = roi_gap.PayingCells()
    paying.add(noisy, decoded, plain, labels, 255.0, clean=clean)
    assert paying.worse == 2
    differences = sorted(paying.clean_differences)
    assert differences[0] < -1 and differences[1] > 1
    assert paying.worse_vs_clean == 1
    assert paying.median_clean_difference() == pytest.approx(np.median(differences))
