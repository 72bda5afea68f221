import numpy as np
import pytest

from napari_flowroi.errors import InputError
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import (
    RoiExtractor,
    clean_mask,
    motion_saliency,
    partner_frame,
    threshold_saliency,
)
from napari_flowroi.settings import FlowRoISettings

from ..conftest import far_from

#: These tests are about the motion source alone.
MOTION = FlowRoISettings(appearance_roi=False)


class CountingMovie:
    """A movie that records which frames were read."""

    def __init__(self, frames):
        self.frames, self.reads = frames, []
        self.shape = frames.shape

    def __len__(self):
        return len(self.frames)

    def __getitem__(self, t):
        self.reads.append(t)
        return self.frames[t]


@pytest.mark.parametrize("fixture", ["discs", "drifting_discs"])
def test_mask_covers_moving_discs_and_not_still_background(request, fixture):
    movie = request.getfixturevalue(fixture)
    extractor = RoiExtractor(movie_from_array(movie.frames), MOTION)
    for t in range(len(movie.frames)):
        mask = extractor.mask(t)
        assert pixel_coverage(mask, movie.cells[t]) > 0.95, t
    background = [extractor.mask(t)[far_from(movie.cells[t], 24)].mean() for t in range(8)]
    assert np.mean(background) < 0.05


def test_drift_alone_creates_almost_no_roi(drift_only):
    extractor = RoiExtractor(movie_from_array(drift_only.frames), MOTION)
    fractions = [extractor.mask(t).mean() for t in range(len(drift_only.frames))]
    assert np.mean(fractions) < 0.05


def test_still_movie_gives_empty_roi():
    frames = np.repeat(np.random.default_rng(1).integers(0, 255, (1, 64, 80), np.uint8), 4, axis=0)
    extractor = RoiExtractor(movie_from_array(frames), MOTION)
    assert not extractor.mask(2).any()


def test_mask_of_one_frame_reads_only_its_neighbours(discs):
    from napari_flowroi.resolution import spare_frames

    movie = CountingMovie(discs.frames)
    extractor = RoiExtractor(movie, MOTION.replace(adjacent_factor=1))
    # frame 0 once, when the extractor is made: the movie's RoI resolution (resolution.py); the
    # discs' frame 0 says nothing about their size, so the middle frame is asked too
    assert movie.reads == [0, *spare_frames(len(discs.frames))] == [0, 4]
    extractor.mask(5)
    assert sorted(set(movie.reads[2:])) == [3, 5, 6]  # frame 4 is still in the frame cache
    assert list(extractor.frames_needed(5)) == [3, 4, 5, 6]
    # extractors for other settings share the decision's frames: nothing read again
    extractor.with_settings(MOTION.replace(adjacent_factor=1, roi_threshold=0.5)).mask(5)
    assert len(movie.reads) == 5


def test_each_flow_is_computed_once_per_extractor(discs, monkeypatch):
    import napari_flowroi.roi as roi

    calls = []
    real = roi.aligned_flow_in
    monkeypatch.setattr(
        roi, "aligned_flow_in", lambda c, *a, **k: calls.append(id(c)) or real(c, *a, **k)
    )
    extractor = RoiExtractor(movie_from_array(discs.frames), MOTION.replace(adjacent_factor=1))
    # the change gate (roi.CHANGE_GATE_Z) measures the flow in a sample of the frame first, then
    # around the regions that changed: two calls per frame with the gate on, one without, and
    # one on a frame too small for a spread sample (the whole frame's flow)
    spread = len(roi.sample_boxes(extractor.prepared(0).shape)) > 1
    per_frame = 2 if roi.CHANGE_GATE_Z > 0 and spread else 1
    for t in range(len(discs.frames)):
        extractor.mask(t)
    assert len(calls) == per_frame * len(discs.frames)
    assert len(set(calls)) == len(discs.frames)  # each frame's flow once, from its own image


def test_each_frame_is_read_once_for_its_mask(discs):
    movie = CountingMovie(discs.frames)
    extractor = RoiExtractor(movie, FlowRoISettings())
    decision = list(movie.reads[1:])  # the middle frame, where frame 0 said nothing
    for t in range(len(discs.frames)):
        extractor.mask(t)
        extractor.frame(t)  # what the batch hands the encoder
    # each frame once, but the frame the decision read besides frame 0 (its preparation is
    # reused by its mask; its pixels, gone from the frame cache, are read again for the encoder)
    assert sorted(movie.reads) == sorted([*range(len(discs.frames)), *decision])
    assert len(decision) <= 1


def test_flow_measured_around_the_regions_selects_what_the_whole_frames_flow_selects(discs):
    from napari_flowroi.flow import aligned_flow
    from napari_flowroi.roi import CELLS_FLOW_ITERATIONS, motion_floor, moving_regions

    extractor = RoiExtractor(movie_from_array(discs.frames), MOTION)
    share = 1.0 - MOTION.roi_threshold
    agree, moving = [], 0
    for t in range(1, len(discs.frames)):
        regions = extractor.regions(t)
        flow, _ = aligned_flow(
            extractor.prepared(t),
            extractor.prepared(t - 1),
            "farneback",
            iterations=CELLS_FLOW_ITERATIONS,
        )
        magnitude = np.hypot(flow[..., 0], flow[..., 1]) / MOTION.flow_scale
        whole = moving_regions(
            regions,
            magnitude,
            share=share,
            floor=motion_floor(magnitude, min_motion=MOTION.min_motion),
        )
        around = extractor.region_motion(t)
        # the regions the change gate (roi.CHANGE_GATE_Z) asked
        boxed = (
            moving_regions(regions, around.magnitude, floor=around.floor, share=share)
            & around.asked
        )
        agree.append(np.array_equal(whole[1:] & around.asked[1:], boxed[1:]))
        # what the gate did not ask and the whole frame's flow calls moving: specks only (one
        # 1-px region on these frames), never a disc
        area = np.bincount(regions.labels.ravel(), minlength=regions.count + 1)
        assert (area[whole & ~around.asked] <= 4).all(), t
        moving += int(boxed.sum())
    assert moving > 0 and all(agree)


def test_with_appearance_on_only_regions_it_does_not_protect_are_asked_whether_they_move(
    monkeypatch,
):
    import napari_flowroi.flow as flow
    from napari_flowroi.synthetic import moving_discs

    discs = moving_discs(n_frames=6, shape=(384, 448), n_cells=4)
    discs.frames[~discs.cells] = 110  # a flat background: nothing there for motion to decide

    pixels = []
    real = flow.dense_flow
    monkeypatch.setattr(
        flow,
        "dense_flow",
        lambda current, *a, **k: pixels.append(current.size) or real(current, *a, **k),
    )
    extractor = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings())
    for t in range(len(discs.frames)):
        regions, asked = extractor.regions(t), extractor.regions_to_test(t)
        assert not (asked & regions.confident).any()
        assert pixel_coverage(extractor.mask(t), discs.cells[t]) > 0.9
    frame_pixels = extractor.prepared(0).size
    assert sum(pixels) < 0.5 * frame_pixels * len(discs.frames)  # flow only around a few regions
    # with the appearance source off (or neighbouring frames unioned) every region is asked
    for settings in (MOTION, FlowRoISettings(adjacent_factor=1)):
        asked = RoiExtractor(movie_from_array(discs.frames), settings).regions_to_test(3)
        assert asked[1:].all() and not asked[0]


def test_adjacent_factor_unions_neighbouring_masks(discs):
    movie = movie_from_array(discs.frames)
    alone = RoiExtractor(movie, MOTION.replace(adjacent_factor=0))
    union = RoiExtractor(movie, MOTION.replace(adjacent_factor=1))
    expected = alone.mask(3) | alone.mask(4) | alone.mask(5)
    assert np.array_equal(alone.mask(4), alone.motion_mask(4))  # motion is the only source
    expected = alone.motion_mask(3) | alone.motion_mask(4) | alone.motion_mask(5)
    assert np.array_equal(union.motion_mask(4), expected)
    assert np.array_equal(union.mask(4), expected)


@pytest.mark.parametrize("rule", ["cells", "quantile"])
def test_higher_threshold_never_shrinks_the_mask(discs, rule):
    movie = movie_from_array(discs.frames)
    small = RoiExtractor(movie, MOTION.replace(roi_rule=rule, roi_threshold=0.05)).mask(3)
    large = RoiExtractor(movie, MOTION.replace(roi_rule=rule, roi_threshold=0.6)).mask(3)
    assert small.sum() < large.sum() or rule == "cells"
    assert large.any() and not (small & ~large).any()


def test_cells_rule_follows_cell_outlines_and_drops_still_texture(discs):
    # the default rule keeps the moving discs with their outlines: next to nothing 8 px away
    extractor = RoiExtractor(movie_from_array(discs.frames), MOTION)
    for t in (2, 5):
        mask = extractor.mask(t)
        assert pixel_coverage(mask, discs.cells[t]) > 0.95
        assert mask[far_from(discs.cells[t], 8)].mean() < 0.02


def test_quantile_rule_is_still_the_papers(discs):
    extractor = RoiExtractor(
        movie_from_array(discs.frames), MOTION.replace(roi_rule="quantile", roi_threshold=0.2)
    )
    assert pixel_coverage(extractor.mask(3), discs.cells[3]) > 0.9


def test_motion_floor_follows_the_movies_flow_noise():
    from napari_flowroi.roi import motion_floor

    rng = np.random.default_rng(0)
    calm = np.abs(rng.normal(0, 0.05, (64, 64)))
    noisy = np.abs(rng.normal(0, 1.0, (64, 64)))
    assert motion_floor(calm, min_motion=0.5) == 0.5
    assert motion_floor(noisy, min_motion=0.5) > 2.0


@pytest.mark.parametrize("dtype", [np.uint16, np.float32])
def test_other_dtypes_give_the_same_kind_of_mask(dtype):
    from napari_flowroi.synthetic import moving_discs

    movie = moving_discs(n_frames=4, shape=(192, 224), dtype=dtype)
    mask = RoiExtractor(movie_from_array(movie.frames), MOTION).mask(2)
    assert pixel_coverage(mask, movie.cells[2]) > 0.95


def test_single_frame_is_refused():
    with pytest.raises(InputError, match="two frames"):
        RoiExtractor(movie_from_array(np.zeros((1, 32, 32), np.uint8)), MOTION)


def test_first_frame_pairs_with_the_second():
    assert partner_frame(0, 5) == 1 and partner_frame(3, 5) == 2


def test_saliency_is_normalised_and_threshold_keeps_the_top_share():
    magnitude = np.linspace(0, 4, 10000, dtype=np.float32).reshape(100, 100)
    saliency = motion_saliency(magnitude, 0.7)
    assert saliency.min() >= 0 and saliency.max() == pytest.approx(1.0)
    kept = threshold_saliency(saliency, magnitude, 0.2, min_motion=0.0)
    assert kept.mean() == pytest.approx(0.2, abs=0.02)
    assert not threshold_saliency(saliency, magnitude, 0.2, min_motion=10).any()


def test_clean_mask_drops_specks_and_fills_holes():
    mask = np.zeros((60, 60), bool)
    mask[10:30, 10:30] = True
    mask[20, 20] = False  # a hole
    mask[50, 50] = True  # a speck
    cleaned = clean_mask(mask, opening=3, closing=5, min_area=40)
    assert cleaned[20, 20] and not cleaned[50, 50]


def test_settings_that_change_only_the_threshold_reuse_flows_and_cells(discs, monkeypatch):
    import napari_flowroi.roi as roi

    flows, cells = [], []
    real_flow, real_cells = roi.RoiExtractor._region_motion, roi.regions_for
    monkeypatch.setattr(
        roi.RoiExtractor, "_region_motion", lambda *a, **k: flows.append(1) or real_flow(*a, **k)
    )
    monkeypatch.setattr(roi, "regions_for", lambda *a, **k: cells.append(1) or real_cells(*a, **k))
    first = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings())
    first.mask(3)
    second = first.with_settings(FlowRoISettings(roi_threshold=0.3))
    second.mask(3)
    assert len(flows) == 1 and len(cells) == 1
    # other cells are other regions to ask about: their flow is measured anew
    third = first.with_settings(FlowRoISettings(cell_contrast=6.0))
    third.mask(3)
    assert len(flows) == 2 and len(cells) == 2


def test_fill_holes_fills_enclosed_background_only():
    from napari_flowroi.masks import fill_holes

    ring = np.zeros((40, 40), bool)
    ring[10:30, 10:30] = True
    ring[15:25, 15:25] = False  # enclosed hole
    filled = fill_holes(ring)
    assert filled[20, 20] and not filled[2, 2] and filled.sum() == 400


def test_extractors_with_other_thresholds_share_one_pool(discs):
    extractor = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings())
    other = extractor.with_settings(FlowRoISettings(roi_threshold=0.5, scaling_factor=3.0))
    assert other.pool is extractor.pool
    extractor.mask(3)
    assert other.regions(3) is extractor.regions(3) and other.motion(3) is extractor.motion(3)


def test_roi_masks_are_bitwise_the_masks_a_compression_codes(tmp_path, discs, coded_masks):
    import napari_flowroi.batch as batch
    from napari_flowroi import roi_masks

    coded = coded_masks(discs.frames)
    settings = FlowRoISettings(compression_rate=16, adjacent_factor=1)
    batch.compress_movie(discs.frames, tmp_path / "out", settings, workers=2)
    masks = roi_masks(discs.frames, settings)
    assert masks.shape == discs.frames.shape and masks.dtype == bool
    assert sorted(coded) == list(range(len(discs.frames)))
    for t, mask in coded.items():
        assert np.array_equal(masks[t], mask), t
    assert not roi_masks(discs.frames, settings.replace(plain=True)).any()


def test_flowroi_roi_writes_the_masks_compress_would_code(tmp_path, small_movie, capsys):
    import json

    import pytest
    import tifffile

    from napari_flowroi import roi_masks
    from napari_flowroi.cli import main

    movie_file = tmp_path / "movie.tif"
    tifffile.imwrite(movie_file, small_movie, photometric="minisblack", metadata={"axes": "TYX"})
    out = tmp_path / "roi.tif"
    assert main(["roi", str(movie_file), str(out), "--roi-margin", "3"]) == 0
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    n = len(small_movie)
    assert f"finding the RoI: {n}/{n} frames (100 %)" in captured.err  # progress, in a log
    written = tifffile.imread(out)
    expected = roi_masks(small_movie, FlowRoISettings(roi_margin=3))
    assert written.shape == small_movie.shape and written.dtype == np.uint8
    assert np.array_equal(written > 0, expected)
    assert report["mean_roi_fraction"] == pytest.approx(expected.mean(), abs=5e-5)
    # an existing file is kept unless --overwrite
    assert main(["roi", str(movie_file), str(out)]) == 2
    capsys.readouterr()
    assert main(["roi", str(movie_file), str(out), "--overwrite", "--quiet"]) == 0
    assert "finding the RoI" not in capsys.readouterr().err


def test_roi_masks_report_each_frame_and_a_cancel_writes_nothing(tmp_path, discs):
    import threading

    import pytest

    from napari_flowroi.batch import roi_masks, write_roi_masks
    from napari_flowroi.errors import CancelledError

    reports = []
    masks = roi_masks(discs.frames, FlowRoISettings(), progress=lambda *r: reports.append(r))
    n = len(discs.frames)
    assert reports == [(i, n) for i in range(1, n + 1)]
    assert masks.shape == discs.frames.shape

    cancel, out = threading.Event(), tmp_path / "roi.tif"

    def cancel_after_two(done, total):
        if done == 2:
            cancel.set()

    with pytest.raises(CancelledError):
        write_roi_masks(discs.frames, out, progress=cancel_after_two, cancel=cancel)
    assert not out.exists()


def test_user_masks_are_named_alike_by_compress_and_by_roi_masks(tmp_path, discs):
    # one naming (batch.opened_masks): a Movie opened from a file is named by its path, in the
    # manifest and in the refusal of a mask of the wrong size alike
    import pytest
    import tifffile

    from napari_flowroi import roi_masks
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.container import open_container
    from napari_flowroi.errors import InputError
    from napari_flowroi.readers import open_movie

    masks = np.zeros(discs.frames.shape, np.uint8)
    masks[:, 5:15, 5:25] = 1
    mask_file = tmp_path / "masks.tif"
    tifffile.imwrite(mask_file, masks, photometric="minisblack")
    settings = FlowRoISettings(compression_rate=16)
    compress_movie(discs.frames, tmp_path / "out", settings, extra_roi=open_movie(mask_file))
    named = open_container(tmp_path / "out").manifest["input"]["roi_mask"]
    assert named == str(mask_file)
    short = tmp_path / "short.tif"
    tifffile.imwrite(short, masks[:-1], photometric="minisblack")
    for call in (
        lambda: roi_masks(discs.frames, settings, extra_roi=open_movie(short)),
        lambda: compress_movie(
            discs.frames, tmp_path / "o2", settings, extra_roi=open_movie(short)
        ),
    ):
        with pytest.raises(InputError, match=f"The RoI mask {short} has shape"):
            call()


def test_the_rois_mean_share_has_one_name_and_one_rounding_in_roi_compress_info_and_api(
    tmp_path, discs, capsys
):
    """`flowroi roi` called it `roi_share` (unrounded), compress and info `mean_roi_fraction`
    (unrounded, and 4 decimals): one key, one rounding, one value for the same masks."""
    import json

    import tifffile

    from napari_flowroi.batch import compress_movie, write_roi_masks
    from napari_flowroi.cli import main
    from napari_flowroi.container import open_container

    movie_file = tmp_path / "movie.tif"
    tifffile.imwrite(movie_file, discs.frames, photometric="minisblack", metadata={"axes": "TYX"})
    options = ["--quiet", "--compression-rate", "16"]
    assert main(["roi", str(movie_file), str(tmp_path / "roi.tif"), *options]) == 0
    roi = json.loads(capsys.readouterr().out)
    out = str(tmp_path / "out.flowroi")
    assert main(["compress", str(movie_file), out, "--force", *options]) == 0
    compressed = json.loads(capsys.readouterr().out)
    assert main(["info", str(tmp_path / "out.flowroi")]) == 0
    info = json.loads(capsys.readouterr().out)
    share = roi["mean_roi_fraction"]
    assert "roi_share" not in roi and 0 < share < 1
    assert share == compressed["mean_roi_fraction"] == info["mean_roi_fraction"]
    assert share == round(share, 4)  # 4 decimals: 0.01 % of the frame
    # the API gives the same figure, rounded alike
    settings = FlowRoISettings(compression_rate=16)
    again = compress_movie(discs.frames, tmp_path / "api.flowroi", settings)
    assert again.mean_roi_fraction == share
    assert write_roi_masks(discs.frames, tmp_path / "api.tif", settings) == share
    assert open_container(tmp_path / "api.flowroi").summary()["mean_roi_fraction"] == share
