"""Real movies the integration tests read from ../shared/data at test time.

The Cell Tracking Challenge U373 movie's conditions of use forbid shipping it: nothing of it is
written into the repository or the data folder.
"""

import json
from pathlib import Path

import pytest
import tifffile

from napari_flowroi.readers import open_movie

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "data"
U373 = SHARED / "ctc-phc-c2dh-u373-02"
#: A frame with human (gold) truth: cells spreading and migrating, bright specks of debris.
U373_FRAME = 59


@pytest.fixture(scope="session")
def u373_gold():
    """(movie, gold instance labels of U373_FRAME) of the phase-contrast U373 movie."""
    if not U373.is_dir():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {U373}")
    movie = open_movie(U373 / "frames.tif")
    index = json.loads((U373 / "masks_index.json").read_text())["masks_gt.tif_frame_indices"]
    return movie, tifffile.imread(U373 / "masks_gt.tif")[index.index(U373_FRAME)]
