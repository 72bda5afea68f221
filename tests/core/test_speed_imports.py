"""The command's start-up and a light-background movie's compression load no scikit-image or
scipy.ndimage: their first import costs ~0.2-0.3 s of CPU, as much as a tenth of a short
movie's whole compression (docs/speed.md). Only the dark-field rule's watershed needs them."""

import json
import subprocess
import sys

HEAVY = ("scipy.ndimage", "skimage")


def _loaded_after(code: str) -> dict:
    """Which of HEAVY a fresh interpreter has loaded after running `code`."""
    probe = code + (
        f"\nimport json, sys\nprint(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_commands_start_up_loads_neither_scikit_image_nor_scipy_ndimage():
    loaded = _loaded_after(
        "import napari_flowroi.cli, napari_flowroi.batch, napari_flowroi.guard, napari_flowroi.jobs"
    )
    assert loaded == dict.fromkeys(HEAVY, False)


def test_checking_and_compressing_a_light_background_movie_loads_neither(tmp_path):
    # the guard's check (its reference cells, Otsu included) and the batch: no watershed is
    # needed where cells are not bright on a dark background
    code = f"""
import numpy as np
from napari_flowroi.batch import compress_movie
from napari_flowroi.guard import preflight
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

frames = moving_discs(n_frames=6, shape=(128, 160), n_cells=4, noise=2.0, seed=3).frames
movie = movie_from_array(frames)
settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
assert not RoiExtractor(movie, settings).dark_field(2)
verdict = preflight(movie, settings)
assert verdict.ok and verdict.coverage is not None
compress_movie(movie, {str(tmp_path / "out")!r}, settings, preflight=verdict)
"""
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_a_dark_field_movie_does_load_them():
    # the probe itself can see the import (the dark-field rule's watershed)
    code = """
import numpy as np
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.readers import movie_from_array
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

frames = moving_discs(n_frames=4, shape=(128, 160), n_cells=4, noise=2.0, seed=3).frames
# the discs' departure from the background: bright discs on a dark background
dark = np.abs(frames.astype(np.int16) - int(np.median(frames))).astype(np.uint8)
extractor = RoiExtractor(movie_from_array(dark), FlowRoISettings())
assert extractor.dark_field(1)
extractor.mask(1)
"""
    assert _loaded_after(code)["scipy.ndimage"]
