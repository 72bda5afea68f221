import numpy as np

from napari_flowroi.appearance import cell_score
from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

from ..conftest import far_from


def test_still_cells_are_found_by_appearance_and_missed_by_motion():
    movie = moving_discs(n_frames=4, shape=(192, 224), static_cells=True)
    frames = movie_from_array(movie.frames)
    motion_only = RoiExtractor(frames, FlowRoISettings(appearance_roi=False)).mask(2)
    both = RoiExtractor(frames, FlowRoISettings(appearance_roi=True)).mask(2)
    assert pixel_coverage(motion_only, movie.cells[2]) < 0.2
    assert pixel_coverage(both, movie.cells[2]) > 0.95


def test_appearance_mask_stays_near_the_cells(discs):
    extractor = RoiExtractor(movie_from_array(discs.frames), FlowRoISettings())
    cells = extractor.cells(3)
    assert pixel_coverage(cells, discs.cells[3]) > 0.9
    assert cells[far_from(discs.cells[3], 12)].mean() < 0.03


def test_bright_nuclei_on_a_dark_background_stand_out():
    image = np.full((100, 100), 20, np.uint8)
    image += np.random.default_rng(0).integers(0, 4, image.shape, dtype=np.uint8)
    image[40:55, 40:55] = 120  # a flat, bright nucleus: no inner texture, but brighter
    score = cell_score(image, 1.0)
    assert score[47, 47] > 10 and np.median(score) < 1


def test_appearance_only_needs_no_motion():
    frame = moving_discs(n_frames=1, shape=(96, 112)).frames
    extractor = RoiExtractor(
        movie_from_array(frame), FlowRoISettings(motion_roi=False, appearance_roi=True)
    )
    assert extractor.mask(0).any()
    assert list(extractor.frames_needed(0)) == [0]


def test_user_masks_are_always_protected(discs):
    extra = np.zeros(discs.frames.shape, bool)
    extra[:, :10, :10] = True
    extractor = RoiExtractor(
        movie_from_array(discs.frames),
        FlowRoISettings(motion_roi=False, appearance_roi=False),
        extra_roi=extra,
    )
    mask = extractor.mask(2)
    assert mask[:10, :10].all() and mask.sum() == 100


def test_a_faint_cell_is_kept_when_it_moves_and_not_when_it_stands_still():
    # one bright disc (a confident cell) and one faint disc between half and the full contrast
    from napari_flowroi.appearance import cell_regions

    rng = np.random.default_rng(3)
    score = np.abs(rng.normal(0, 0.4, (80, 120))).astype(np.float32)
    yy, xx = np.mgrid[:80, :120]
    bright = (yy - 40) ** 2 + (xx - 30) ** 2 < 100
    faint = (yy - 40) ** 2 + (xx - 90) ** 2 < 100
    score[bright] = 12.0
    score[faint] = 3.0
    regions = cell_regions(score, contrast=4.0, opening=1, closing=1, min_area=10)
    assert regions.count == 2
    assert pixel_coverage(regions.mask(), bright) > 0.95
    assert pixel_coverage(regions.mask(), faint) < 0.05
    from napari_flowroi.roi import moving_regions

    magnitude = np.where(faint, 3.0, 0.1).astype(np.float32)
    keep = moving_regions(regions, magnitude, floor=1.0, share=0.2)
    assert pixel_coverage(regions.mask(keep), faint) > 0.95
    assert pixel_coverage(regions.mask(keep), bright) < 0.05


def test_the_faint_skirt_of_a_bright_cell_is_trimmed():
    from napari_flowroi.appearance import cell_regions

    yy, xx = np.mgrid[:80, :80]
    r = np.hypot(yy - 40, xx - 40)
    score = np.where(r < 8, 40.0, np.where(r < 14, 3.0, 0.0)).astype(np.float32)  # core + skirt
    with_trim = cell_regions(score, contrast=4.0, opening=1, closing=1, min_area=5, peak_radius=8)
    without = cell_regions(score, contrast=4.0, opening=1, closing=1, min_area=5)
    assert with_trim.mask()[r < 7].all() and not with_trim.mask()[(r > 10) & (r < 13)].any()
    assert without.mask()[(r > 10) & (r < 13)].all()


def test_dim_nuclei_keep_grey_levels_in_a_dark_field_frame():
    from napari_flowroi.preprocess import to_uint8

    frame = np.full((64, 64), 1000, np.uint16)
    frame[5:15, 5:15] = 1040  # a dim nucleus, 40 counts above the background
    frame[30:50, 30:50] = 9000  # a bright one sets the top of the stretch
    linear, stable = to_uint8(frame), to_uint8(frame, stabilise=True)
    assert int(stable[10, 10]) - int(stable[0, 0]) > 3 * (int(linear[10, 10]) - int(linear[0, 0]))
    assert stable[40, 40] == 255 and stable[0, 0] == 0


def _nuclei_in_cell_bodies():
    """A dark-field frame: two bright nuclei, each in a dim, textured cell body (cytoplasm) that
    reaches 20 px past the nucleus, and a lone dim nucleus; blurred by the optics, camera noise.
    Returns the frame, the nuclei, the dim nucleus and the cell bodies away from the nuclei."""
    import cv2

    rng = np.random.default_rng(5)
    yy, xx = np.mgrid[:192, :192]
    nuclei, bodies = np.zeros((192, 192), bool), np.zeros((192, 192), bool)
    for cy, cx in ((50, 50), (60, 140)):
        r = np.hypot(yy - cy, xx - cx)
        bodies |= r < 30
        nuclei |= r < 10
    texture = cv2.GaussianBlur(rng.normal(0, 1, (192, 192)), (0, 0), 2)
    texture /= texture.std()
    image = np.full((192, 192), 20.0)
    image[bodies] += 8 * (1 + 0.3 * texture[bodies])
    image[nuclei] = 220.0
    dim = np.hypot(yy - 150, xx - 100) < 9
    image[dim] = 45.0
    image = cv2.GaussianBlur(image, (0, 0), 1.5) + rng.normal(0, 1.0, image.shape)
    near = cv2.dilate(nuclei.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    return np.clip(image, 0, 255).astype(np.uint8), nuclei, dim, bodies & ~near


def test_dark_field_regions_end_at_their_own_edge_not_in_the_cell_body(monkeypatch):
    import napari_flowroi.appearance as appearance

    frame, nuclei, dim, bodies = _nuclei_in_cell_bodies()
    settings = FlowRoISettings(motion_roi=False, appearance_roi=True, roi_margin=0)
    mask = RoiExtractor(movie_from_array(frame[None]), settings).mask(0)
    assert pixel_coverage(mask, nuclei) > 0.995 and pixel_coverage(mask, dim) > 0.995
    # the body's texture has maxima of its own (DOME_Z 0.35), which the skirt trim judges
    # against their own peak (DARK_PEAK_TRIM 1, so that a dim nucleus beside a bright one stays
    # whole): two thirds of the body stay, what GOWT1 pays for HeLa's dim nuclei (RoI 3.3 ->
    # 3.8x the ideal's area; docs/decisions.md) ...
    assert mask[bodies].mean() < 0.75
    monkeypatch.setattr(appearance, "DARK_EDGE_SHARE", 0.0)  # without each object's own edge
    untrimmed = RoiExtractor(movie_from_array(frame[None]), settings).mask(0)
    assert untrimmed[bodies].mean() > 0.9
    # ... judged against the nucleus's peak (the rule before) a quarter
    monkeypatch.setattr(appearance, "DARK_EDGE_SHARE", 0.15)
    monkeypatch.setattr(appearance, "DARK_PEAK_TRIM", 0)
    monkeypatch.setattr(appearance, "OWN_BRIGHT_SHARE", 0.0)
    against_the_nucleus = RoiExtractor(movie_from_array(frame[None]), settings).mask(0)
    assert against_the_nucleus[bodies].mean() < 0.3


def _spread_cell(margin_level: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A flat phase-contrast-like frame: a textured cell body and, beside it, a flat margin (a
    lamellipodium) up to `margin_level` grey levels darker than the background that fades out
    over ~6 px (no edge of its own), under camera noise of 2 grey levels."""
    import cv2

    rng = np.random.default_rng(3)
    frame = 120 + rng.normal(0, 2.0, (160, 200))
    yy, xx = np.mgrid[0:160, 0:200]
    body = (yy - 80) ** 2 + (xx - 60) ** 2 < 18**2
    margin = ((yy - 80) ** 2 / 45**2 + (xx - 95) ** 2 / 65**2 < 1) & ~body
    frame -= margin_level * cv2.GaussianBlur(margin.astype(np.float32), (0, 0), 6)
    frame[body] += 40 * rng.standard_normal(int(body.sum()))
    return np.clip(frame, 0, 255).astype(np.uint8), margin, body


def test_a_flat_margin_attached_to_a_cell_is_kept_by_the_fail_safe():
    frame, margin, body = _spread_cell(margin_level=8)
    movie = movie_from_array(np.stack([frame, frame]))
    on = RoiExtractor(movie, FlowRoISettings(motion_roi=False)).mask(0)
    off = RoiExtractor(movie, FlowRoISettings(motion_roi=False, background_z=0)).mask(0)
    assert pixel_coverage(off, margin) < 0.5  # the contrast rule alone misses the flat margin
    assert pixel_coverage(on, margin) > 0.95 and pixel_coverage(on, body) > 0.99
    assert on[far_from(margin | body, 12)].mean() < 0.02  # and the calm background stays out


def test_the_fail_safe_keeps_more_as_its_threshold_falls():
    frame, margin, _ = _spread_cell(margin_level=6)
    movie = movie_from_array(np.stack([frame, frame]))
    kept = [
        pixel_coverage(
            RoiExtractor(movie, FlowRoISettings(motion_roi=False, background_z=z)).mask(0), margin
        )
        for z in (16.0, 8.0, 4.0)
    ]
    assert kept[0] <= kept[1] <= kept[2] and kept[2] > kept[0]


def test_a_speck_far_fainter_than_the_frames_cells_is_protected_only_when_it_moves():
    # a calm frame (E. coli on an agarose pad): a real cell stands out by 60 robust SDs, a speck
    # of the pad's texture by 5, above the cell contrast of 4
    from napari_flowroi.appearance import cell_regions
    from napari_flowroi.roi import moving_regions

    yy, xx = np.mgrid[:80, :120]
    cell = (yy - 40) ** 2 + (xx - 30) ** 2 < 100
    speck = (yy - 40) ** 2 + (xx - 90) ** 2 < 36
    score = np.where(cell, 60.0, np.where(speck, 5.0, 0.0)).astype(np.float32)
    kwargs = {"contrast": 4.0, "opening": 1, "closing": 1, "min_area": 10}
    plain = cell_regions(score, **kwargs)
    relative = cell_regions(score, peak_share=0.1, **kwargs)
    assert pixel_coverage(plain.mask(), speck) == 1.0  # above the contrast: a confident cell
    assert pixel_coverage(relative.mask(), cell) == 1.0
    assert pixel_coverage(relative.mask(), speck) == 0.0
    # it stays a candidate, so the motion source still protects it when it moves
    magnitude = np.where(speck, 3.0, 0.1).astype(np.float32)
    keep = moving_regions(relative, magnitude, floor=1.0, share=0.2)
    assert pixel_coverage(relative.mask(keep), speck) == 1.0


def test_a_dark_field_frame_uses_its_share_of_the_fail_safe_threshold(monkeypatch):
    # on a dark-field frame each fail-safe piece is cut at its object's own edge, so it may be
    # asked for less: the threshold it is given is DARK_Z_SHARE of background_z
    import napari_flowroi.appearance as appearance

    frame, *_ = _nuclei_in_cell_bodies()
    seen = []
    real = appearance.failsafe_pieces
    monkeypatch.setattr(
        appearance, "failsafe_pieces", lambda d, z, s: seen.append(z) or real(d, z, s)
    )
    monkeypatch.setattr(appearance, "DARK_Z_SHARE", 0.5)
    settings = FlowRoISettings(background_z=8.0)
    appearance.regions_for(frame, settings, dark_field=True)
    appearance.regions_for(frame, settings, dark_field=False)
    assert seen == [4.0, 8.0]


def test_the_fail_safe_does_not_spill_past_a_textured_cell(monkeypatch):
    # a 7-px contrast window straddling a textured cell's edge has contrast: untrimmed, the
    # fail-safe's contrast cue widened every textured cell by about half that window
    import napari_flowroi.appearance as appearance

    rng = np.random.default_rng(4)
    frame = 120 + rng.normal(0, 2.0, (160, 200))
    yy, xx = np.mgrid[0:160, 0:200]
    r = np.hypot(yy - 80, xx - 100)
    body = r < 20
    frame[body] += 40 * rng.standard_normal(int(body.sum()))
    movie = movie_from_array(np.stack([frame, frame]).clip(0, 255).astype(np.uint8))
    settings = FlowRoISettings(motion_roi=False, roi_margin=0)
    outside = (r >= 20) & (r < 26)  # the 6 px around the cell
    # at the default flow_scale (resolved: this small field shows too few blobs prepared, and its
    # cell's pixel-wide texture would send it to full resolution, resolution.too_fine_at_full)
    trimmed = RoiExtractor(movie, settings, resolved=True).mask(0)
    monkeypatch.setattr(appearance, "FAILSAFE_CONTRAST_TRIM", 0)
    untrimmed = RoiExtractor(movie, settings, resolved=True).mask(0)
    assert pixel_coverage(trimmed, body) > 0.99 and pixel_coverage(untrimmed, body) > 0.99
    assert trimmed[outside].sum() < 0.8 * untrimmed[outside].sum()
    assert not trimmed[r >= 30].any()


def _dark_regions(score, brightness, **options):
    """`appearance.cell_regions` of a small synthetic dark-field frame: cell contrast 4, no
    opening or closing, regions of >= 10 px; `options` as there (peak_radius, failsafe)."""
    from napari_flowroi.appearance import cell_regions

    return cell_regions(
        score, contrast=4.0, opening=1, closing=1, min_area=10, brightness=brightness, **options
    )


def _bright_and_dim(bright: np.ndarray, dim: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A dark-field frame's cell score and smoothed brightness: `bright` objects stand out (score
    12, brightness 200), `dim` ones do not by their score (1.5) but by their brightness (30)."""
    import cv2

    score = np.zeros(bright.shape, np.float32)
    score[bright], score[dim] = 12.0, 1.5
    brightness = np.zeros(bright.shape, np.float32)
    brightness[bright], brightness[dim] = 200.0, 30.0
    return score, cv2.GaussianBlur(brightness, (0, 0), 2.0)


def test_a_dim_nucleus_the_fail_safe_finds_on_a_dark_field_frame_is_kept(monkeypatch):
    # under camera noise a dim nucleus stays below the cell contrast, yet departs from the
    # background: on a dark-field frame uncertain means keep, for a piece no larger than a cell
    # (a larger dim piece is glow or cytoplasm around nuclei, which stays a candidate)

    import napari_flowroi.appearance as appearance

    yy, xx = np.mgrid[:160, :160]
    bright = np.hypot(yy - 40, xx - 40) < 10
    dim = np.hypot(yy - 40, xx - 139) < 8
    glow = np.hypot(yy - 110, xx - 80) < 25
    score, brightness = _bright_and_dim(bright, dim | glow)
    failsafe = bright | dim | glow

    def regions():
        return _dark_regions(score, brightness, failsafe=failsafe).mask()

    assert appearance.DARK_FAILSAFE_KEEP
    kept = regions()
    assert pixel_coverage(kept, bright) > 0.95 and pixel_coverage(kept, dim) > 0.95
    assert pixel_coverage(kept, glow) < 0.05
    monkeypatch.setattr(appearance, "DARK_FAILSAFE_KEEP", False)
    assert pixel_coverage(regions(), dim) < 0.05


def test_a_dim_nucleus_a_little_larger_than_the_median_one_is_kept(monkeypatch):
    # the keep's size limit is the upper fence of the frame's confident areas (Tukey's "larger
    # than usual"), not their median: nuclei vary in size, and a small field holds few of them;
    # glow several times a nucleus's area stays out

    import napari_flowroi.appearance as appearance

    yy, xx = np.mgrid[:200, :200]
    bright = np.zeros((200, 200), bool)
    for (y, x), r in zip(((30, 30), (30, 90), (30, 150), (90, 30)), (8, 9, 10, 11), strict=True):
        bright |= np.hypot(yy - y, xx - x) < r
    dim = np.hypot(yy - 90, xx - 100) < 12
    glow = np.hypot(yy - 160, xx - 130) < 30
    score, brightness = _bright_and_dim(bright, dim | glow)

    def kept():
        return _dark_regions(score, brightness, failsafe=bright | dim | glow).mask()

    assert appearance.DARK_FAILSAFE_KEEP == 2
    assert pixel_coverage(kept(), dim) > 0.95 and pixel_coverage(kept(), glow) < 0.05
    monkeypatch.setattr(appearance, "DARK_FAILSAFE_KEEP", 1)  # up to the median: left out
    assert pixel_coverage(kept(), dim) < 0.05


def test_a_dim_nucleus_beside_a_bright_one_is_trimmed_against_its_own_peak(monkeypatch):
    # on a dark-field frame the skirt trim (a share of the highest score nearby) judged a dim
    # nucleus against its bright neighbour's peak and cut most of it (HeLa's dim nuclei);
    # against its own object's peak it stays whole, and the bright one keeps its own trim
    import cv2

    import napari_flowroi.appearance as appearance

    yy, xx = np.mgrid[:100, :140]
    bright = np.hypot(yy - 50, xx - 40) < 12
    dim = np.hypot(yy - 50, xx - 72) < 9
    score = np.zeros((100, 140), np.float32)
    score[bright], score[dim] = 40.0, 6.0  # dim: confident, but < 0.25 x 40 and < 2 x 4
    brightness = np.zeros((100, 140), np.float32)
    brightness[bright], brightness[dim] = 200.0, 30.0
    brightness = cv2.GaussianBlur(brightness, (0, 0), 1.0)
    skirt = cv2.dilate(bright.astype(np.uint8), np.ones((7, 7), np.uint8)).astype(bool) & ~bright
    score[skirt & ~dim] = 5.0  # a faint rim around the bright one: its own trim removes it

    def regions():
        return _dark_regions(score, brightness, peak_radius=30).mask()

    assert appearance.DARK_PEAK_TRIM == 1
    kept = regions()
    assert pixel_coverage(kept, bright) > 0.99 and pixel_coverage(kept, dim) > 0.99
    assert kept[skirt & ~dim].mean() < 0.5
    monkeypatch.setattr(appearance, "DARK_PEAK_TRIM", 0)
    monkeypatch.setattr(appearance, "OWN_BRIGHT_SHARE", 0.0)  # the rule before, whole
    assert pixel_coverage(regions(), dim) < 0.5


def test_a_flat_dim_nucleus_on_the_frame_edge_keeps_its_inside(monkeypatch):
    # noisy HeLa: a dim nucleus's rim stands out by its contrast, its flat inside only by its
    # departure from the background (a few robust SDs under camera noise), below a quarter of
    # its own rim, so the skirt trim cut its inside; on the frame's edge its rim is no closed
    # ring and the hole fill did not give it back. The pixels above half the object's own
    # peak brightness stay (OWN_BRIGHT_SHARE)
    import cv2

    import napari_flowroi.appearance as appearance

    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:100, :140]
    dim = np.hypot(yy - 99, xx - 50) < 16  # cut by the frame's bottom edge
    inside = np.hypot(yy - 99, xx - 50) < 11
    brightness = rng.normal(0, 1.0, (100, 140)).astype(np.float32)
    brightness[dim] += 30.0
    brightness = cv2.GaussianBlur(brightness, (0, 0), 1.0)
    score = np.zeros((100, 140), np.float32)
    score[dim] = 25.0  # the rim's contrast ...
    score[inside] = 5.0  # ... its flat inside: confident, < 0.25 x 25 and < 2 x 4

    def regions():
        return _dark_regions(score, brightness, peak_radius=30).labels > 0

    assert appearance.OWN_BRIGHT_SHARE == 0.5
    assert pixel_coverage(regions(), inside) > 0.99
    monkeypatch.setattr(appearance, "OWN_BRIGHT_SHARE", 0.0)  # the rule before
    assert pixel_coverage(regions(), inside) < 0.5


def test_only_objects_bright_as_cells_keep_their_half_maximum():
    # a faint dome of glow (CHO's, 2.5-3.4 robust SDs) would be kept whole by its own, low half
    # maximum: only objects whose peak stands out by the cell contrast are judged so
    from napari_flowroi._robust import robust_stats
    from napari_flowroi.appearance import _own_bright

    rng = np.random.default_rng(4)
    brightness = rng.normal(0, 1.0, (60, 90)).astype(np.float32)
    basins = np.zeros((60, 90), np.int32)
    basins[10:30, 10:30], basins[10:30, 50:70] = 1, 2
    brightness[10:30, 10:30] = 20.0  # a nucleus: ~20 robust SDs of the background's noise
    brightness[10:30, 50:70] = 2.0  # a faint dome: ~2
    peaks = np.array([0.0, brightness[basins == 1].max(), brightness[basins == 2].max()])
    kept = _own_bright(brightness, basins, peaks, 4.0, robust_stats(brightness))
    assert kept[basins == 1].mean() > 0.99
    assert not kept[basins == 2].any() and not kept[basins == 0].any()


def test_small_still_pieces_are_protected_only_when_they_move(monkeypatch):
    # a light-field frame with five cells and three specks of debris as confident as they are
    # (U373's bright specks): with DEBRIS_SHARE the specks, far smaller than the frame's typical
    # cell, stay candidates that the motion source keeps only when they move
    import napari_flowroi.appearance as appearance
    from napari_flowroi.roi import moving_regions

    yy, xx = np.mgrid[:120, :300]
    cells = np.zeros((120, 300), bool)
    for x in (30, 80, 130, 180, 230):
        cells |= (yy - 40) ** 2 + (xx - x) ** 2 < 15**2
    specks = np.zeros_like(cells)
    for x in (40, 140, 260):
        specks |= (yy - 100) ** 2 + (xx - x) ** 2 < 3**2
    score = np.where(cells | specks, 30.0, 0.0).astype(np.float32)
    kwargs = {"contrast": 4.0, "opening": 1, "closing": 1, "min_area": 10}
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.0)
    before = appearance.cell_regions(score, **kwargs)
    assert pixel_coverage(before.mask(), specks) == 1.0
    monkeypatch.setattr(appearance, "DEBRIS_SHARE", 0.25)
    after = appearance.cell_regions(score, **kwargs)
    assert pixel_coverage(after.mask(), cells) == 1.0
    assert pixel_coverage(after.mask(), specks) == 0.0
    assert after.count == before.count  # still candidates, not dropped
    moving = (yy - 100) ** 2 + (xx - 40) ** 2 < 3**2  # one speck moves
    magnitude = np.where(moving, 3.0, 0.1).astype(np.float32)
    keep = moving_regions(after, magnitude, floor=1.0, share=0.2)
    assert pixel_coverage(after.mask(keep), moving) == 1.0
    assert pixel_coverage(after.mask(keep), specks & ~moving) == 0.0
    # uncertain means keep: too few confident regions to say what a typical cell is
    few = np.where((cells & (xx < 55)) | (specks & (xx < 200)), 30.0, 0.0).astype(np.float32)
    assert appearance.DEBRIS_MIN_CELLS > 3
    held = appearance.cell_regions(few, **kwargs).mask()
    assert pixel_coverage(held, specks & (xx < 200)) == 1.0
    # dark-field frames (each object cut at its own edge) are left alone
    dark = appearance.cell_regions(score, brightness=score, **kwargs)
    assert pixel_coverage(dark.mask(), specks) == 1.0


def test_a_background_ramp_does_not_turn_a_dark_field_frame_light():
    # preprocess.flattened_position: the dark-field test is asked again of the frame less its
    # smooth trend, so a ramp many times the cells' contrast does not hide a fluorescence frame
    import cv2

    from napari_flowroi.preprocess import DARK_FIELD, _stretches, flattened_position

    rng = np.random.default_rng(5)
    spots = np.zeros((256, 256), np.float32)
    spots[tuple(rng.integers(10, 246, (2, 60)))] = 1
    spots = cv2.GaussianBlur(spots, (0, 0), 4) * 20000  # dim nuclei, ~200 counts high
    dark = 1000 + spots + rng.normal(0, 5, spots.shape)
    ramp = np.linspace(0, 2000, 256, dtype=np.float32)[None, :]
    for frame, is_dark in ((dark, True), (dark + ramp, True), (3000 - spots * 5 + ramp, False)):
        frame = np.clip(frame, 0, 65535).astype(np.uint16)
        linear, stabilised = _stretches(frame)
        assert (stabilised is not linear) == is_dark
        assert (flattened_position(frame) < DARK_FIELD) == is_dark
    raw = np.clip(dark + ramp, 0, 65535).astype(np.uint16)
    low, median, high = np.percentile(raw, (0.5, 50, 99.5))
    assert (median - low) / (high - low) > DARK_FIELD  # the raw test alone would say light


def _dim_spots(rng) -> tuple[np.ndarray, tuple]:
    """80 dim nuclei (~200 counts high, blurred by 4 px) on a 512 x 512 float32 frame, and
    their centres (rows, columns)."""
    import cv2

    spots = np.zeros((512, 512), np.float32)
    where = tuple(rng.integers(16, 496, (2, 80)))
    spots[where] = 1
    return cv2.GaussianBlur(spots, (0, 0), 4) * 20000, where


def _spot_contrast(image: np.ndarray, where: tuple) -> float:
    """The median of each spot's centre against the background 12 px to its left (a ramp
    rising to the right leaves that side no brighter)."""
    rows, cols = where
    image = image.astype(np.float32)
    return float(np.median(image[rows, cols] - image[rows, np.maximum(cols - 12, 0)]))


def test_a_frame_dark_only_under_its_trend_is_stretched_less_the_trend():
    # preprocess._trend_stretch: the 256 grey levels go to the cells, not to the ramp
    from napari_flowroi.preprocess import _stretches

    rng = np.random.default_rng(6)
    spots, where = _dim_spots(rng)
    dark = 1000 + spots + rng.normal(0, 5, spots.shape)
    ramp = np.linspace(0, 8000, 512, dtype=np.float32)[None, :]
    contrast = []
    for frame in (dark, dark + ramp):
        _, stabilised = _stretches(np.clip(frame, 0, 65535).astype(np.uint16))
        contrast.append(_spot_contrast(stabilised, where))
    # 180 grey levels as filmed and now; stretched over the ramp's range they kept 9
    assert contrast[1] > 0.8 * contrast[0] > 20


def test_a_dark_field_frame_whose_trend_lifts_its_median_is_stretched_less_the_trend():
    # preprocess.TREND_SHIFT: a ramp too mild to turn the raw test light-field still took the
    # square-root stretch's grey levels from dim nuclei (HeLa with 500 counts: 96.3 % held)
    import cv2

    from napari_flowroi.preprocess import DARK_FIELD, _stretches

    rng = np.random.default_rng(7)
    spots, where = _dim_spots(rng)
    bright = np.zeros_like(spots)
    bright[tuple(rng.integers(16, 496, (2, 40)))] = 1
    bright = cv2.GaussianBlur(bright, (0, 0), 6) * 400000  # bright nuclei set the range's top
    dark = 1000 + spots + bright + rng.normal(0, 5, spots.shape)
    ramp = np.linspace(0, 600, 512, dtype=np.float32)[None, :]
    contrast = []
    for frame in (dark, dark + ramp):
        frame = np.clip(frame, 0, 65535).astype(np.uint16)
        low, median, high = np.percentile(frame[::2, ::2], (0.5, 50, 99.5))
        assert (median - low) / (high - low) < DARK_FIELD  # the raw test: dark-field both times
        contrast.append(_spot_contrast(_stretches(frame)[1], where))
    assert contrast[1] > 0.8 * contrast[0] > 5


def test_dark_field_departure_counts_no_camera_noise_the_square_root_spreads():
    """A dark-field frame whose left half lies a few raw counts deep (GOWT1's lower-left: 1-3
    counts, elsewhere 4-5) under the same additive camera noise: the square-root stretch spreads
    that half's noise, so at the stretched level alone its background departs from the floor by
    more than the dark-field fail-safe's threshold; taken at the linear level too
    (appearance.DARK_TWO_LEVELS) it does not, while dim nuclei 2 counts above either half's
    background stand out at both levels."""
    from napari_flowroi import appearance, preprocess

    rng = np.random.default_rng(3)
    rows, cols = np.mgrid[:256, :256]
    level = np.where(cols < 128, 1.5, 4.5)
    dim_dark = (rows - 128) ** 2 + (cols - 64) ** 2 < 12**2
    dim_light = (rows - 60) ** 2 + (cols - 190) ** 2 < 12**2
    bright = (rows - 200) ** 2 + (cols - 190) ** 2 < 15**2
    raw = level + 2.0 * (dim_dark | dim_light) + 150.0 * bright + rng.normal(0, 1.0, level.shape)
    prepared = preprocess.to_uint8(np.clip(np.rint(raw), 0, 255).astype(np.uint8), stabilise=True)
    known = ~far_from(bright, 4)  # the bright nucleus and 4 px around it: a candidate
    dark_background = (cols < 120) & ((rows - 128) ** 2 + (cols - 64) ** 2 > 30**2)
    settings = FlowRoISettings()
    z = settings.background_z * appearance.DARK_Z_SHARE
    stretched = appearance.background_departure(prepared, 1.0, known)
    both = appearance.background_departure(prepared, 1.0, known, two_levels=True)
    assert (stretched[dark_background] > z).mean() > 0.01
    assert (both[dark_background] > z).mean() < 0.002
    for nucleus in (dim_dark, dim_light):
        assert np.median(both[nucleus]) > 2 * z


def _nuclei_field(*, spacing, radius, bright=200.0, dim=15.0, noise=2.0, size=160, seed=0):
    """A dark-field 8-bit frame of bright nuclei on a grid (radius px, `spacing` apart; their
    brightness 0.8-1.2 x `bright` above a background of 30) with one dim nucleus (`dim` above the
    background) among them, blurred by 1 px and under camera noise; returns it and the dim one."""
    import cv2

    rng = np.random.default_rng(seed)
    image = np.full((size, size), 30.0)
    rows, cols = np.mgrid[:size, :size]
    centre = size // 2 + spacing // 2
    for y in range(spacing // 2, size, spacing):
        for x in range(spacing // 2, size, spacing):
            disc = (rows - y) ** 2 + (cols - x) ** 2 <= radius**2
            image[disc] += (
                dim if (y, x) == (centre, centre) else bright * (0.8 + 0.4 * rng.random())
            )
    dim_nucleus = (rows - centre) ** 2 + (cols - centre) ** 2 <= radius**2
    image = cv2.GaussianBlur(image, (0, 0), 1.0) + rng.normal(0, noise, image.shape)
    return np.clip(image, 0, 255).astype(np.uint8), dim_nucleus


def test_a_dim_nucleus_among_many_bright_ones_is_an_object_of_its_own(monkeypatch):
    """Where bright nuclei crowd a dark-field frame, the whole frame's brightness spread is
    theirs: counted in it, a dim nucleus rose too little to be a dome of its own, fell into a
    bright neighbour's basin and was cut at that neighbour's edge share. Its spread capped at
    CROWDED_SPREAD times the background's own (appearance.dome_stats), the dim nucleus is kept."""
    from napari_flowroi import appearance

    settings = FlowRoISettings()
    for seed in range(3):
        image, dim_nucleus = _nuclei_field(spacing=20, radius=6, seed=seed)
        held = appearance.regions_for(image, settings, dark_field=True).mask()[dim_nucleus]
        assert held.mean() > 0.8
    monkeypatch.setattr(appearance, "CROWDED_SPREAD", np.inf)  # the whole frame's spread
    lost = appearance.regions_for(image, settings, dark_field=True).mask()[dim_nucleus]
    assert lost.mean() < 0.2


def test_dome_stats_cap_only_a_crowded_frames_spread():
    """The domes' spread is the whole frame's where the background sets it, at most
    CROWDED_SPREAD times the background's own where nuclei crowd the frame, and that own spread
    is at least one grey level (below it the 8-bit frame's rounding, not noise)."""
    from napari_flowroi import appearance
    from napari_flowroi._robust import robust_stats

    rng = np.random.default_rng(0)
    background = np.ones((128, 128), bool)
    sparse = rng.normal(0, 2.0, (128, 128)).astype(np.float32)
    sparse[:16, :16] += 150  # 1.6 % of the frame
    background[:24, :24] = False
    assert appearance.dome_stats(sparse, background) == robust_stats(sparse)
    crowded = rng.normal(0, 2.0, (128, 128)).astype(np.float32)
    crowded[:, :80] += rng.uniform(50, 250, (128, 80)).astype(np.float32)  # 62 % of the frame
    clear = np.zeros((128, 128), bool)
    clear[:, 88:] = True
    median, spread = appearance.dome_stats(crowded, clear)
    own = robust_stats(crowded[:, 88:])[1]
    assert median == robust_stats(crowded)[0]
    assert robust_stats(crowded)[1] > 10 * own and 2.5 * own < spread <= 3.5 * own
    flat = crowded.copy()
    flat[:, 80:] = 0.0  # a background without noise: its spread counts as one grey level
    assert appearance.dome_stats(flat, clear)[1] == appearance.CROWDED_SPREAD * 1.0


def test_the_background_of_a_crowded_dark_field_frame_is_its_dark_class():
    """With no candidate found (a frame crowded with nuclei), every pixel lies clear of them;
    on a dark-field frame only the dark class (Otsu's) counts as background."""
    from napari_flowroi import appearance

    image, _ = _nuclei_field(spacing=12, radius=5)  # 60 % of the frame 70 grey levels up
    nothing = np.zeros(image.shape, bool)
    dark = appearance.background_pixels(image, nothing, 0.5, dark_field=True)
    light = appearance.background_pixels(image, nothing, 0.5, dark_field=False)
    assert light.all()
    assert dark[image < 40].mean() > 0.99  # the background between the nuclei
    assert dark[image > 100].mean() < 0.25  # the nuclei, their blurred rims included
    assert not dark[image > 150].any()


def _crowded_uint16(rng, *, share: float, size: int = 256) -> np.ndarray:
    """A fluorescence frame whose nuclei (blurred discs, 300-3,000 counts above an offset of 500,
    photon noise on top) cover about `share` of it."""
    import cv2

    covered = np.zeros((size, size), np.float32)
    rows, cols = np.mgrid[:size, :size]
    while (covered > 0).mean() < share:
        y, x = rng.integers(0, size, 2)
        radius = rng.integers(6, 12)
        disc = (rows - y) ** 2 + (cols - x) ** 2 <= radius**2
        covered[disc & (covered == 0)] = rng.uniform(300, 3000)
    light = 500 + cv2.GaussianBlur(covered, (0, 0), 1.5)
    return np.clip(rng.poisson(light), 0, 65535).astype(np.uint16)


def test_a_fluorescence_frame_mostly_covered_by_nuclei_stays_dark_field(monkeypatch):
    """When nuclei cover more than half of the frame its median is a nucleus's and the median
    test takes it for light-field; its densest level, the background's narrow peak at the dark
    end, still says dark-field (preprocess._mode_position)."""
    from napari_flowroi import preprocess

    rng = np.random.default_rng(11)
    sparse, crowded = _crowded_uint16(rng, share=0.2), _crowded_uint16(rng, share=0.65)
    for frame in (sparse, crowded):
        linear, stabilised = preprocess._stretches(frame)
        assert stabilised is not linear
    low, median, high = np.percentile(crowded[::2, ::2], (0.5, 50, 99.5))
    assert (median - low) / (high - low) > preprocess.DARK_FIELD  # the median test says light
    monkeypatch.setattr(preprocess, "_mode_position", lambda *args: 0.5)
    linear, stabilised = preprocess._stretches(crowded)
    assert stabilised is linear


def test_the_densest_level_is_no_padding_and_needs_a_peak(monkeypatch):
    """A light-field frame (background mid-range, a dark and a bright cell) with a third of it
    black padding stays light-field: the padding is given the frame's median before the densest
    level is looked for (preprocess.padding). Grey levels spread evenly have no densest level to
    place (preprocess.MODE_PEAK)."""
    from napari_flowroi import preprocess

    rng = np.random.default_rng(12)
    frame = rng.normal(30000, 300, (256, 256))
    frame[60:120, 40:200] -= 8000
    frame[150:190, 60:120] += 6000
    frame[:, :86] = 0  # padding of a rotated or stitched image
    frame = np.clip(frame, 0, 65535).astype(np.uint16)
    linear, stabilised = preprocess._stretches(frame)
    assert stabilised is linear
    even = rng.integers(0, 60000, (128, 128)).astype(np.float32)
    assert preprocess._mode_position(even, 0.0, 60000.0) == 0.5
    monkeypatch.setattr(preprocess, "MODE_PEAK", 0.0)
    assert preprocess._mode_position(even, 0.0, 60000.0) != 0.5


def test_a_crowded_dark_field_score_counts_in_the_backgrounds_own_units():
    """appearance.score_stats: the whole frame's median and spread where the background sets
    them; where nuclei crowd the frame (its spread over CROWDED_SPREAD times the background's),
    the background's own, in which a dim nucleus stands out (in the whole frame's it lies below
    the median)."""
    from napari_flowroi import appearance
    from napari_flowroi._robust import robust_stats

    rng = np.random.default_rng(13)
    crowded = rng.normal(30, 2, (128, 128)).astype(np.float32)
    crowded[:, :77] = rng.uniform(80, 250, (128, 77))  # 60 % of the frame nuclei
    background = crowded < 60
    median, spread = appearance.score_stats(crowded, background)
    whole = robust_stats(crowded)
    assert whole[1] > appearance.CROWDED_SPREAD * spread
    assert abs(median - 30) < 1 and spread < 3
    dim = 45.0  # a dim nucleus 15 grey levels above the background
    assert (dim - median) / spread > 5 and (dim - whole[0]) / whole[1] < 0
    sparse = rng.normal(30, 2, (128, 128)).astype(np.float32)
    sparse[:20, :20] += 150  # 2 % of the frame
    assert appearance.score_stats(sparse, sparse < 60) == robust_stats(sparse)


def test_a_black_border_far_below_the_light_is_padding_not_background():
    """preprocess.padding: zeros under a 16-bit fluorescence frame's camera offset (a drift
    correction's border) are padding, given the frame's median before the stretch, so the frame
    stays dark-field with its nuclei's grey levels; zeros in an 8-bit frame whose dark
    background is clipped at 0 (GOWT1) are light, not padding."""
    from napari_flowroi import preprocess

    rng = np.random.default_rng(14)
    spots, where = _dim_spots(rng)
    frame = np.clip(33000 + spots + rng.normal(0, 5, spots.shape), 0, 65535).astype(np.uint16)
    bordered = frame.copy()
    bordered[:, :16] = 0  # 3 % of the frame
    found = preprocess.padding(bordered)
    assert found is not None and found[0][:, :16].all() and not found[0][:, 16:].any()
    linear, stabilised = preprocess._stretches(bordered)
    assert stabilised is not linear  # dark-field, as without the border
    as_filmed = _spot_contrast(preprocess._stretches(frame)[1], where)
    assert _spot_contrast(stabilised, where) > 0.8 * as_filmed > 5
    clipped = np.clip(rng.normal(2, 2, (128, 128)), 0, 255).astype(np.uint8)
    clipped[40:60, 40:60] = 200
    assert preprocess.padding(clipped) is None


def test_without_padding_handling_a_black_border_flattens_the_nuclei(monkeypatch):
    """The counterfactual of the test above: with the border taken for light, the stretch
    starts at 0 and the nuclei, 50-200 counts above a 33,000-count offset, keep almost no grey
    levels."""
    from napari_flowroi import preprocess

    rng = np.random.default_rng(14)
    spots, where = _dim_spots(rng)
    frame = np.clip(33000 + spots + rng.normal(0, 5, spots.shape), 0, 65535).astype(np.uint16)
    frame[:, :16] = 0
    monkeypatch.setattr(preprocess, "padding", lambda frame: None)
    assert _spot_contrast(preprocess._stretches(frame)[1], where) <= 2


def _spots(step: int, sigma: float) -> np.ndarray:
    """A float32 brightness image of Gaussian spots of `sigma` px on a grid `step` px apart, of
    random heights (seeded)."""
    import cv2

    rng = np.random.default_rng(0)
    image = np.zeros((160, 160), np.float32)
    for y in range(step // 2, 160, step):
        for x in range(step // 2, 160, step):
            image[y, x] = rng.uniform(20, 100)
    return cv2.GaussianBlur(image, (0, 0), sigma) * np.float32(sigma**2)


def test_objects_too_small_for_the_reduced_image_are_found_at_full_size(monkeypatch):
    """The dark-field objects are found on the brightness halved (BASIN_SHRINK), unless the
    typical object found there is smaller than MIN_BASIN_AREA: then as the image is (a low
    magnification's nuclei, which the halving merges). Spots 8 px apart (16 px each halved)
    get the full-size basins; spots 24 px apart (144 px) keep the halved ones."""
    from napari_flowroi import appearance

    def basins(image: np.ndarray, *, shrink: int, least: int):
        monkeypatch.setattr(appearance, "BASIN_SHRINK", shrink)
        monkeypatch.setattr(appearance, "MIN_BASIN_AREA", least)
        return appearance._basins(image, image > 0.05 * image.max(), 1.0)

    def same(a, b) -> bool:
        return a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])

    small, large = _spots(8, 1.3), _spots(24, 4.0)
    for image, full_size in ((small, True), (large, False)):
        found = basins(image, shrink=2, least=32)
        at_full_size = basins(image, shrink=1, least=32)
        halved = basins(image, shrink=2, least=0)
        assert not same(at_full_size, halved)  # the two ways differ on both images
        assert same(found, at_full_size) == full_size
        assert same(found, halved) != full_size


def test_a_black_border_mixed_with_the_light_by_a_resize_is_still_padding():
    """Resized (a lower magnification, binning, the half-size frame the RoI is found on), a black
    border's edge is a column of pixels that mix it with the light; on a small frame that
    column is more than PADDING_SHARE of it, and the other pixels' low end landed on it: the
    border was taken for light (HeLa at 0.35x, drift-corrected: 85.52 % of the cell pixels).
    The pixels beside the padding are left out of the gap test and filled with it."""
    import cv2

    from napari_flowroi import preprocess

    rng = np.random.default_rng(15)
    spots, where = _dim_spots(rng)
    frame = np.clip(33000 + spots + rng.normal(0, 5, spots.shape), 0, 65535).astype(np.uint16)
    frame[:, :26] = 0  # a black strip whose edge the resize below mixes with a little light
    small = cv2.resize(frame, (175, 175), interpolation=cv2.INTER_AREA)
    mixed = (small > 0) & (small < 30000)
    assert mixed.mean() > preprocess.PADDING_SHARE  # a column of mixed pixels
    found = preprocess.padding(small)
    assert found is not None
    assert found[0][mixed].all() and found[0][small == 0].all()
    assert not found[0][small > 30000].any()  # no pixel of the light
