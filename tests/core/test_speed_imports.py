"""The command's start-up and a movie's compression, light-background or dark-field, load no
scikit-image or scipy.ndimage: their first import costs ~0.2-0.3 s of CPU, as much as a tenth of
a short movie's whole compression (docs/speed.md). The dark-field rule's watershed is OpenCV's
flood (reconstruction.watershed_basins), not scikit-image's."""

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


def test_checking_and_compressing_a_dark_field_movie_loads_neither(tmp_path):
    # bright discs on a dark background: the dark-field rule's h-maxima and watershed run
    code = f"""
import numpy as np
from napari_flowroi import reconstruction
from napari_flowroi.batch import compress_movie
from napari_flowroi.guard import preflight
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

flooded = []
real = reconstruction.watershed_basins
def counted(*args):
    flooded.append(1)
    return real(*args)
import napari_flowroi.appearance as appearance
appearance.watershed_basins = counted

frames = moving_discs(n_frames=6, shape=(128, 160), n_cells=4, noise=2.0, seed=3).frames
dark = np.abs(frames.astype(np.int16) - int(np.median(frames))).astype(np.uint8)
movie = movie_from_array(dark)
settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
assert RoiExtractor(movie, settings).dark_field(2)
verdict = preflight(movie, settings)
compress_movie(movie, {str(tmp_path / "out")!r}, settings, preflight=verdict)
assert flooded  # the watershed did run
"""
    assert _loaded_after(code) == dict.fromkeys(HEAVY, False)


def test_the_probe_sees_an_import():
    # the assertions above are not vacuous: the probe does see scikit-image's watershed import
    assert _loaded_after("from skimage.segmentation import watershed") == dict.fromkeys(HEAVY, True)


def test_a_float_movie_is_stretched_without_numpys_median_and_percentile(tmp_path):
    # numpy 2's np.percentile and np.median import numpy.ma on their first call (16 ms of the
    # command); the 8-bit stretch of a float frame takes its percentiles and median from
    # _robust, as an integer frame's already did (the same values: test_mask_speed_equivalence)
    code = f"""
import numpy as np
from napari_flowroi.batch import compress_movie
from napari_flowroi.guard import preflight
from napari_flowroi.readers import movie_from_array
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

frames = moving_discs(n_frames=6, shape=(128, 160), n_cells=4, noise=2.0, seed=3).frames
movie = movie_from_array(frames.astype(np.float32) * np.float32(0.01))
settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
verdict = preflight(movie, settings)
compress_movie(movie, {str(tmp_path / "out")!r}, settings, preflight=verdict)
import sys
print({{"numpy.ma": "numpy.ma" in sys.modules}})
"""
    done = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert done.stdout.strip().splitlines()[-1] == "{'numpy.ma': False}"
