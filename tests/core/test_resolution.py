"""resolution.py: the RoI is looked for at full resolution when a movie's cells are at the limit of
what the prepared frame resolves, and at `flow_scale` otherwise."""

import cv2
import numpy as np
import pytest

from napari_flowroi.readers import movie_from_array
from napari_flowroi.resolution import finest_blob_share, too_fine, working_settings
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings


def _spots(size: int, sigma: float, count: int, seed: int = 3) -> np.ndarray:
    """A grey 8-bit field of `count` bright Gaussian spots of `sigma` px, with a little noise."""
    rng = np.random.default_rng(seed)
    image = np.zeros((size, size), np.float32)
    for y, x in rng.integers(int(4 * sigma) + 2, size - int(4 * sigma) - 2, (count, 2)):
        image[y, x] += 1.0
    image = cv2.GaussianBlur(image, (0, 0), sigma)
    image = 60 + 120 * image / image.max() + rng.normal(0, 1.0, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8)


def test_spots_a_pixel_wide_are_too_fine_and_broad_ones_are_not():
    share, count = finest_blob_share(_spots(256, 0.8, 60))
    assert count >= 30 and share > 0.9
    assert too_fine(_spots(256, 0.8, 60))
    share, count = finest_blob_share(_spots(256, 5.0, 15))
    assert count >= 10 and share < 0.2
    assert not too_fine(_spots(256, 5.0, 15))


def test_a_field_with_few_blobs_keeps_the_flow_scale():
    # a nearly empty field (E. coli's first frames: two small colonies) says nothing about size
    assert not too_fine(_spots(256, 0.8, 4))
    flat = np.full((128, 128), 90, np.uint8)
    assert finest_blob_share(flat) == (0.0, 0)


def _movie(sigma: float, frames: int = 3) -> np.ndarray:
    """Spots that would be `sigma / 2` px at the default flow_scale, drifting a pixel a frame."""
    first = _spots(256, sigma, 80)
    return np.stack([np.roll(first, t, axis=1) for t in range(frames)])


def test_working_settings_go_to_full_resolution_only_for_fine_cells():
    fine, broad = movie_from_array(_movie(1.6)), movie_from_array(_movie(10.0))
    settings = FlowRoISettings(roi_threshold=0.6)
    used = working_settings(fine, settings)
    assert used == settings.replace(flow_scale=1.0)  # nothing else changes
    assert working_settings(broad, settings) is settings
    # nothing to decide: plain coding, full resolution asked already, no automatic source
    for other in (
        settings.replace(plain=True),
        settings.replace(flow_scale=1.0),
        settings.replace(motion_roi=False, appearance_roi=False),
    ):
        assert working_settings(fine, other) is other


def test_a_first_frame_that_cannot_be_prepared_keeps_the_flow_scale():
    # a NaN frame 0 is that frame's own error (reported when it is shown or coded); the other
    # frames still get their RoI at the flow_scale asked for
    frames = _movie(1.6).astype(np.float32)
    frames[0, 5, 5] = np.nan
    settings = FlowRoISettings()
    assert working_settings(movie_from_array(frames), settings) is settings
    extractor = RoiExtractor(movie_from_array(frames), settings)
    assert extractor.settings == settings and extractor.mask(2).shape == frames.shape[1:]


def test_an_extractor_decides_once_and_shares_the_decision(monkeypatch):
    import napari_flowroi.resolution as resolution

    calls = []
    real = resolution.too_fine
    monkeypatch.setattr(resolution, "too_fine", lambda image: calls.append(1) or real(image))
    extractor = RoiExtractor(movie_from_array(_movie(1.6)), FlowRoISettings())
    assert extractor.settings.flow_scale == 1.0 and extractor.requested.flow_scale == 0.5
    other = extractor.with_settings(FlowRoISettings(roi_threshold=0.5))
    assert other.settings.flow_scale == 1.0
    again = extractor.with_settings(FlowRoISettings())
    assert len(calls) == 2  # one per distinct settings, not per extractor
    extractor.mask(1)
    assert again.prepared(1) is extractor.prepared(1)  # same resolution: one pool entry
    resolved = RoiExtractor(
        movie_from_array(_movie(1.6)), FlowRoISettings(), resolved=True
    )  # a batch chunk: the plan decided
    assert resolved.settings.flow_scale == 0.5 and len(calls) == 2


@pytest.mark.parametrize("sigma", [1.6, 10.0])
def test_the_mask_is_full_size_whatever_the_resolution(sigma):
    movie = _movie(sigma)
    mask = RoiExtractor(movie_from_array(movie), FlowRoISettings()).mask(1)
    assert mask.shape == movie.shape[1:] and mask.dtype == bool


def test_the_preview_says_at_which_resolution_it_found_the_roi():
    from napari_flowroi.preview import Previewer

    fine = Previewer(_movie(1.6, frames=4))
    assert fine.coarse(FlowRoISettings(), 2).looked_at == 1.0
    assert fine.preview(FlowRoISettings(compression_rate=8), 2).looked_at == 1.0
    broad = Previewer(_movie(10.0, frames=4))
    assert broad.coarse(FlowRoISettings(), 2).looked_at == 0.5
    assert broad.coarse(FlowRoISettings(plain=True), 2).looked_at == 0.0
