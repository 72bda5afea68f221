"""Line noise and defective lines (lines.py): whole rows or columns offset from the rest are
found and taken out of the images the RoI and the guard are measured on, a sensor's dead or hot
lines are given their neighbours, and a frame with neither is left as it is."""

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile

from napari_flowroi import lines, preprocess
from napari_flowroi.settings import FlowRoISettings

SAMPLES = Path(preprocess.__file__).parent / "sample_data"


def _field(shape=(240, 320), noise=3.0, seed=0) -> np.ndarray:
    """A smooth background with bright round cells and white camera noise (float64)."""
    rng = np.random.default_rng(seed)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    image = 100.0 + 0.05 * cols
    for _ in range(12):
        y, x = rng.uniform(20, shape[0] - 20), rng.uniform(20, shape[1] - 20)
        image += 60.0 * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * 8.0**2))
    return image + rng.normal(0.0, noise, shape)


def _lined(image, rows=0.0, cols=0.0, seed=1):
    rng = np.random.default_rng(seed)
    return (
        image + rng.normal(0.0, rows, (image.shape[0], 1)) + rng.normal(0.0, cols, image.shape[1])
    )


def _line_spread(image: np.ndarray, axis: int) -> float:
    """SD of the line-to-line jumps of the lines' median departures (what the correction removes)."""
    values = image if axis == 0 else image.T
    offsets = lines.row_offsets(np.asarray(values, np.float32))
    jumps = offsets[1:-1] - 0.5 * (offsets[:-2] + offsets[2:])
    return float(np.std(jumps) / np.sqrt(1.5))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_a_frame_without_line_noise_is_left_as_it_is(dtype):
    image = np.clip(_field(), 0, 255).astype(dtype)
    assert lines.has_line_noise(image) == (False, False)
    assert lines.without_lines(image) is image


@pytest.mark.parametrize("name", ["hela_nuclei.tif", "gowt1_nuclei.tif"])
def test_the_shipped_real_frames_have_no_line_noise(name):
    frames = tifffile.imread(SAMPLES / name)
    settings = FlowRoISettings()
    for frame in frames:
        for image in (frame, preprocess.resize(frame, settings.flow_scale)):
            assert lines.without_lines(image) is image


@pytest.mark.parametrize(
    ("rows", "cols", "found"), [(6.0, 0.0, (True, False)), (0.0, 6.0, (False, True))]
)
def test_offset_rows_or_columns_are_found_and_taken_out(rows, cols, found):
    clean = _field()
    image = _lined(clean, rows, cols).astype(np.float32)
    assert lines.has_line_noise(image) == found
    fixed = lines.without_lines(image)
    assert fixed.dtype == np.float32 and fixed.shape == image.shape
    axis = 0 if rows else 1
    before, after = _line_spread(image, axis), _line_spread(fixed, axis)
    # the offsets (SD 6) are gone down to what the pixels' noise (SD 3) leaves a line's median
    assert before > 4.0 and after < 0.5
    # and the cells and the background are where they were, within the pixels' noise
    assert np.abs(fixed - clean).mean() < 3.0


def test_an_integer_frame_is_corrected_in_its_own_type_and_range():
    image = np.clip(_lined(_field(noise=2.0) - 95.0, rows=8.0), 0, 255).astype(np.uint8)
    fixed = lines.without_lines(image)
    assert fixed is not image and fixed.dtype == np.uint8
    assert _line_spread(fixed, 0) < 0.25 * _line_spread(image, 0)


def test_the_rois_images_are_corrected_before_the_stretch(monkeypatch):
    # the prepared frame the RoI is found on (halved, 8-bit, denoised)
    settings = FlowRoISettings()
    lined = np.clip(_lined(_field((480, 640)), rows=10.0), 0, 255).astype(np.uint8)
    corrected = preprocess.prepare_frames(lined, settings)[0].astype(np.float32)
    monkeypatch.setattr(preprocess, "without_lines", lambda image: image)
    kept = preprocess.prepare_frames(lined, settings)[0].astype(np.float32)
    assert _line_spread(kept, 0) > 4.0 * _line_spread(corrected, 0)


def test_defective_columns_and_rows_are_given_their_neighbours():
    clean = np.clip(_field((240, 320), noise=2.0), 0, 255).astype(np.uint8)
    image = clean.copy()
    image[:, 100] = 0  # a dead column
    image[:, [150, 153]] = 255  # two hot ones three apart (the columns between them move too)
    image[:, 200:202] = 0  # two side by side
    image[60] = 255  # a hot row
    noise = lines.pixel_noise(image)
    assert lines.defective_rows(image.T, noise) == [(100, 100), (150, 150), (153, 153), (200, 201)]
    assert lines.defective_rows(image, noise) == [(60, 60)]
    fixed = lines.without_lines(image)
    # the repaired lines hold what the lines beside them hold (the cells' smooth light and noise)
    assert np.abs(fixed.astype(int) - clean.astype(int)).max() <= 20
    assert np.abs(fixed.astype(int) - clean.astype(int)).mean() < 0.2


def test_lines_at_the_edge_and_wide_structures_are_left_as_they_are():
    clean = np.clip(_field((240, 320), noise=2.0), 0, 255).astype(np.uint8)
    image = clean.copy()
    image[:, 0] = 255  # the first column: neighbours on one side only
    image[:, 250:258] = 230  # an 8-px-wide bright bar: structure, not a sensor's line
    noise = lines.pixel_noise(image)
    assert lines.defective_rows(image.T, noise) == []
    assert lines.without_lines(image) is image


def test_line_noise_above_correlated_pixel_noise_is_found(monkeypatch):
    # pixel noise correlated along the rows (a camera's readout filter, as HeLa's) makes the
    # blocks of a row disagree more than independent pixels would; line noise above the pixels'
    # own noise is found from less evidence (lines.STRONG_Z)
    rng = np.random.default_rng(0)
    correlated = cv2.blur(rng.normal(0.0, 6.0, (256, 256)).astype(np.float32), (5, 1))
    image = _lined(_field((256, 256), noise=0.0) + correlated, rows=3.0, seed=10)
    image = image.astype(np.float32)
    assert lines.has_line_noise(image)[0]
    monkeypatch.setattr(lines, "STRONG_Z", lines.LINE_Z)
    assert not lines.has_line_noise(image)[0]


def test_a_float_frame_holding_inf_is_left_as_it_is_without_a_warning():
    # (reading refuses such a frame; a caller of the library may still hand one over)
    image = np.clip(_field(), 0, 255).astype(np.float32)
    image[5, 5] = np.inf
    image[100:110, 40] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert lines.without_lines(image) is image
