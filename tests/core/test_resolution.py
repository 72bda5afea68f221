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


def test_a_share_too_close_to_one_half_is_looked_at_in_full():
    # fine and broad spots side by side: the share of fine blobs lies within two standard errors
    # (1 / sqrt(blobs)) of FINE_SHARE, so the prepared frame does not say, and frame 0 is looked
    # at in full (noisy HSC at 0.35x: 11 blobs, 0.45 fine, stayed at 0.5 and lost half its cells)
    image = np.concatenate([_spots(128, 0.8, 30), _spots(128, 4.0, 30, seed=4)], axis=1)
    share, count = finest_blob_share(image)
    assert abs(share - 0.5) < 1 / np.sqrt(count)
    assert too_fine(image) is None
    assert too_fine(image, sure=False) is (share >= 0.5)
    movie = movie_from_array(np.stack([image] * 3))
    settings = FlowRoISettings()

    def prepared(t):
        return image, image

    full = settings.replace(flow_scale=1.0)
    assert working_settings(movie, settings, prepared=prepared, in_full=lambda t: True) == full
    assert working_settings(movie, settings, prepared=prepared, in_full=lambda t: False) is settings

    # a view asked for (cells said to be large) is never looked at in full: the share decides
    def never(t) -> bool:
        raise AssertionError("looked at in full")

    view = settings.replace(flow_scale=0.25)
    used = working_settings(movie, view, prepared=prepared, in_full=never)
    assert used == (view.replace(flow_scale=1.0) if share >= 0.5 else view)


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
    monkeypatch.setattr(
        resolution, "too_fine", lambda image, **kw: calls.append(1) or real(image, **kw)
    )
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


def _hela_at_twice_the_magnification(frames: int | None = None):
    """The packaged HeLa nuclei cut and its reference cells at twice the magnification (bicubic;
    the cells by nearest neighbour): nuclei ~2x as many pixels across as the defaults were
    chosen on."""
    import tifffile

    from napari_flowroi.sample_data import cells_path, movie_path

    movie = tifffile.imread(movie_path("hela_nuclei"))[:frames]
    cells = tifffile.imread(cells_path("hela_nuclei"))[:frames]
    twice = np.stack(
        [cv2.resize(f, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC) for f in movie]
    )
    cells = np.stack(
        [cv2.resize(c.astype(np.float32), None, fx=2, fy=2, interpolation=0) > 0 for c in cells]
    )
    return twice, cells


def test_below_half_resolution_the_roi_holds_nuclei_twice_as_large():
    # docs/magnification.md: at 2x the defaults miss pixels deep inside large nuclei (on this cut
    # 2.5-6.7 % of the cell pixels per frame); at flow_scale 0.25 the RoI is found on the movie
    # seen at half its pixel size, as the defaults were chosen, and brought back to full size
    from napari_flowroi.metrics import pixel_coverage

    movie, cells = _hela_at_twice_the_magnification()
    halved = RoiExtractor(movie_from_array(movie), FlowRoISettings(flow_scale=0.25))
    default = RoiExtractor(movie_from_array(movie), FlowRoISettings())
    assert halved.view is not None and default.view is None
    assert halved.shape == movie.shape[1:] and halved.view.shape == (256, 384)
    held = [pixel_coverage(halved.mask(t), cells[t]) for t in range(len(movie))]
    assert min(held) >= 0.99
    # the cut does show the loss this is for
    assert min(pixel_coverage(default.mask(t), cells[t]) for t in range(len(movie))) < 0.98


def test_below_half_resolution_the_roi_and_the_guard_are_those_of_the_movie_seen_smaller():
    from napari_flowroi.guard import change_cells
    from napari_flowroi.masks import to_shape

    movie, _ = _hela_at_twice_the_magnification(frames=4)
    shape = movie.shape[1:]
    size = (shape[1] // 2, shape[0] // 2)  # the movie at half its pixel size, area averaged
    small = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in movie])
    seen = RoiExtractor(movie_from_array(small), FlowRoISettings(), resolved=True)
    halved = RoiExtractor(movie_from_array(movie), FlowRoISettings(flow_scale=0.25))
    for t in range(len(movie)):
        assert np.array_equal(halved.mask(t), to_shape(seen.mask(t), shape)), t
        assert np.array_equal(halved.cells(t), to_shape(seen.cells(t), shape)), t
    # the frames the RoI was found on are the movie's seen smaller, prepared at 0.5
    assert np.array_equal(halved.prepared(1), seen.prepared(1))
    assert np.array_equal(halved.appearance_image(1), seen.appearance_image(1))
    assert halved.dark_field(1) == seen.dark_field(1)
    # the missed-cell guard's reference cells too (its pixel sizes count twice the movie's)
    assert np.array_equal(change_cells(halved, 1), to_shape(change_cells(seen, 1), shape))
    # the flow in the movie's own pixels
    np.testing.assert_allclose(halved.motion(1).magnitude, 2 * seen.motion(1).magnitude, rtol=1e-5)


def test_a_batch_below_half_resolution_codes_the_masks_roi_masks_exports(tmp_path, coded_masks):
    import napari_flowroi.batch as batch
    from napari_flowroi import roi_masks

    movie, _ = _hela_at_twice_the_magnification(frames=6)
    settings = FlowRoISettings(flow_scale=0.25)
    coded = coded_masks(movie)
    batch.compress_movie(movie, tmp_path / "out", settings, workers=2, chunk_frames=2)
    masks = roi_masks(movie, settings)
    extractor = RoiExtractor(movie_from_array(movie), settings)
    assert sorted(coded) == list(range(len(movie)))
    for t, mask in coded.items():
        assert mask.shape == movie.shape[1:]
        assert np.array_equal(masks[t], mask) and np.array_equal(extractor.mask(t), mask), t


def test_a_check_below_half_resolution_hands_the_views_frames_to_the_batch(tmp_path, monkeypatch):
    # the check prepares each frame of the movie seen smaller once (and frame 0 at flow_scale
    # for the decision); the batch after it prepares none again and codes the same bytes
    from napari_flowroi import resolution, roi
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.guard import preflight

    movie, _ = _hela_at_twice_the_magnification(frames=6)
    settings = FlowRoISettings(flow_scale=0.25, compression_rate=16, coverage_target=0.0)
    compress_movie(movie, tmp_path / "straight", settings)
    prepared: list[tuple] = []
    real = roi.prepare_frames

    def counting(frame, settings):
        prepared.append((frame.shape, settings.flow_scale))
        return real(frame, settings)

    monkeypatch.setattr(roi, "prepare_frames", counting)
    monkeypatch.setattr(resolution, "prepare_frames", counting)
    source = movie_from_array(movie)  # the same movie object: the run knows it was checked
    verdict = preflight(source, settings)
    half = (movie.shape[1] // 2, movie.shape[2] // 2)
    # every frame through the view, at 0.5 of the view; frame 0 at 0.25 of the frame once, and
    # where it says nothing the middle frame too (no look in full where a smaller view is asked
    # for, resolution.working_settings)
    decision = [p for p in prepared if p == (movie.shape[1:], 0.25)]
    assert 1 <= len(decision) <= 1 + len(resolution.spare_frames(len(movie)))
    assert sorted(prepared) == sorted([(half, 0.5)] * len(movie) + decision)
    in_check = len(prepared)
    compress_movie(source, tmp_path / "reused", settings, preflight=verdict)
    assert len(prepared) == in_check  # the run prepared none again

    def coded(container):
        return {f.name: f.read_bytes() for f in sorted((container / "frames").iterdir())}

    assert coded(tmp_path / "reused") == coded(tmp_path / "straight")


def test_cells_too_fine_to_show_when_prepared_are_found_at_full_resolution(monkeypatch):
    """Spots of 0.7 px (finer than the prepared frame resolves at all: too few blobs there to
    say) are looked for on frame 0 at full resolution, and the movie goes there; broad spots
    as few stay at the flow_scale (resolution.too_fine_at_full)."""
    import napari_flowroi.resolution as resolution

    def movie(sigma: float, count: int):
        first = _spots(256, sigma, count)
        return movie_from_array(np.stack([np.roll(first, t, axis=1) for t in range(3)]))

    settings = FlowRoISettings()
    tiny = movie(0.7, 60)
    assert resolution.too_fine(resolution.prepare_frames(tiny[0], settings)[1]) is None
    assert working_settings(tiny, settings).flow_scale == 1.0
    assert working_settings(movie(6.0, 6), settings) is settings
    # not where a smaller view is asked for (large cells): the prepared frame's word alone
    view = settings.replace(flow_scale=0.25)
    assert resolution.too_fine(resolution.prepare_frames(tiny[0], view)[1]) is None
    assert working_settings(tiny, view) is view
    monkeypatch.setattr(resolution, "too_fine_at_full", lambda image, flow_scale: False)
    assert working_settings(tiny, settings) is settings


def test_the_spare_frame_is_the_middle_one():
    from napari_flowroi.resolution import spare_frames

    assert spare_frames(20) == [10]
    assert spare_frames(3) == [1]
    assert spare_frames(2) == [1]
    assert spare_frames(1) == []


def test_a_blank_first_frame_is_not_what_decides(monkeypatch):
    # frame 0 flat (nothing to say at either resolution), the other frames tiny spots: the
    # middle frame decides, as frame 0 would have
    frames = _movie(1.6, frames=5)
    settings = FlowRoISettings()
    assert working_settings(movie_from_array(frames), settings).flow_scale == 1.0
    frames[0] = 90
    assert working_settings(movie_from_array(frames), settings).flow_scale == 1.0
    import napari_flowroi.resolution as resolution

    monkeypatch.setattr(resolution, "spare_frames", lambda count: [])
    assert working_settings(movie_from_array(frames), settings) is settings


def test_a_defocused_first_frame_is_not_what_decides(monkeypatch):
    # frame 0 out of focus (autofocus still settling) shows broad blobs, "not too fine"; the
    # middle frame, prepared, shows the tiny spots: the movie goes to full resolution
    frames = _movie(1.6, frames=5)
    settings = FlowRoISettings()
    frames[0] = _spots(256, 3.0, 40)  # the same field of view would blur; broad spots say it
    import napari_flowroi.resolution as resolution

    assert resolution.too_fine(resolution.prepare_frames(frames[0], settings)[1]) is False
    assert working_settings(movie_from_array(frames), settings).flow_scale == 1.0
    monkeypatch.setattr(resolution, "spare_frames", lambda count: [])
    assert working_settings(movie_from_array(frames), settings) is settings
    # broad spots stay at the flow_scale, frame 0 and the middle one agreeing
    assert working_settings(movie_from_array(_movie(10.0, frames=5)), settings) is settings


def test_a_blob_at_the_frames_edge_is_not_counted():
    # within 3 of its sigmas of the edge a blob's answer is to OpenCV's border extension, not
    # the frame: a drift correction's or a stage jitter's edge gave HSC at 0.35x a dozen broad
    # blobs there and the rule kept half resolution (resolution.blob_scales)
    from napari_flowroi.resolution import blob_scales

    rng = np.random.default_rng(0)

    def spot(y: int, x: int) -> np.ndarray:
        image = np.zeros((128, 128), np.float32)
        image[y, x] = 1.0
        noise = rng.normal(0, 0.5, image.shape).astype(np.float32)
        return cv2.GaussianBlur(image, (0, 0), 4.0) * 1000 + 50 + noise

    centre, edge = blob_scales(spot(64, 64)), blob_scales(spot(64, 3))
    assert centre.size == 1 and centre[0] >= 2.8  # a broad spot in the middle: one blob
    assert edge.size == 0  # the same spot 3 px from the edge: none
