"""The fast h-maxima (napari_flowroi.reconstruction) gives what scikit-image's gives."""

import cv2
import numpy as np
import pytest
from skimage.morphology import h_maxima as skimage_h_maxima
from skimage.morphology import reconstruction

from napari_flowroi.appearance import coarse_background
from napari_flowroi.reconstruction import _reconstruct, h_maxima


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
