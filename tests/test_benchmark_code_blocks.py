"""benchmarks/paying_cells: the wavelet bands and code-block squares its attribution rests on."""

import importlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def paying_cells(monkeypatch):
    # the benchmarks folder on the path for this test only (its module names are generic)
    monkeypatch.syspath_prepend(str(Path(__file__).parents[1] / "benchmarks"))
    return importlib.import_module("paying_cells")


def test_smooth_frames_have_no_detail(paying_cells):
    # the 9/7 wavelet has four vanishing moments: a constant has no detail anywhere (the
    # symmetric extension keeps it constant), a ramp none away from the frame's edges
    # (the lifting constants have 9 decimals: "no detail" is 1e-8 of the values)
    for shape in ((67, 90), (66, 91)):  # odd and even lengths end differently
        flat = paying_cells.detail_bands(np.full(shape, 37.0))
        assert all(np.abs(b).max() < 1e-5 for level in flat for b in level.values())
    ramp = np.add.outer(np.arange(192) * 0.5, np.arange(192) * 2.0)
    for bands in paying_cells.detail_bands(ramp):
        for band in bands.values():
            # the mirrored ramp's kink at the edge reaches a few coefficients into each band
            assert np.abs(band[6:-6, 6:-6]).max() < 1e-4 * np.abs(ramp).max()


def test_band_shapes_follow_the_levels(paying_cells):
    # odd sizes: the low-pass half takes the extra sample, so the next level starts from it
    bands = paying_cells.detail_bands(np.zeros((1040, 1387)), levels=3)
    assert [b["HL"].shape for b in bands] == [(520, 693), (260, 347), (130, 173)]
    assert [b["LH"].shape for b in bands] == [(520, 694), (260, 347), (130, 174)]
    assert [b["HH"].shape for b in bands] == [(520, 693), (260, 347), (130, 173)]


def test_a_point_shows_in_the_finest_bands_where_it_lies(paying_cells):
    image = np.zeros((64, 64))
    image[21, 40] = 100.0
    finest = paying_cells.detail_bands(image, levels=1)[0]
    for band in finest.values():
        y, x = np.unravel_index(np.argmax(np.abs(band)), band.shape)
        assert abs(y - 10) <= 1 and abs(x - 20) <= 1


def test_blocks_are_the_aligned_squares_a_cell_touches(paying_cells):
    labels = np.zeros((300, 300), np.int32)
    labels[120:135, 60:70] = 4  # crosses the first row boundary (128)
    blocks = paying_cells._blocks(labels, 4)
    side = paying_cells.BLOCK
    assert blocks[: 2 * side, :side].all()
    assert blocks.sum() == 2 * side * side
