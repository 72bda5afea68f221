"""The still-debris cut (appearance.DEBRIS_SHARE) on a real phase-contrast movie (issue 21 item 2).

Reads the Cell Tracking Challenge U373 movie from ../shared/data at test time (its conditions of
use forbid shipping it: nothing of it is written into the repository or the data folder).
"""

import numpy as np
import pytest

import napari_flowroi.appearance as appearance
from napari_flowroi.masks import to_shape
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings

from .conftest import U373_FRAME as FRAME


@pytest.fixture(scope="module")
def u373(u373_gold):
    movie, gold = u373_gold
    return movie, gold > 0


def test_the_debris_cut_demotes_specks_and_keeps_the_cells(u373, monkeypatch):
    movie, gold = u373
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.0)
    before = RoiExtractor(movie, FlowRoISettings())
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.25)
    after = RoiExtractor(movie, FlowRoISettings())
    # extractors compute lazily: each under its own constant
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.0)
    kept, mask_before = before.regions(FRAME), before.mask(FRAME)
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.25)
    cut, mask_after = after.regions(FRAME), after.mask(FRAME)
    demoted = kept.mask() & ~cut.mask()
    count = len(np.unique(kept.labels[demoted]))
    assert count >= 5  # U373's specks, most of its confident regions on this frame
    pieces = to_shape(demoted, movie.shape[1:])
    # what the cut demotes is debris: not one pixel of it in the human-annotated cells
    assert pieces.sum() > 1000 and not (pieces & gold).any()
    # and the RoI still holds the cells, and is no larger
    assert pixel_coverage(mask_after, gold) >= 0.99
    assert mask_after.sum() <= mask_before.sum()
    assert np.count_nonzero(mask_after & ~mask_before) == 0
