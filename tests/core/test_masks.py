import cv2
import numpy as np
import pytest

from napari_flowroi.masks import (
    drop_small,
    lookup,
    regions_with_areas,
    regions_with_stats,
    to_shape,
)


def _random_masks():
    rng = np.random.default_rng(3)
    masks = [(rng.random((120, 150)) < share).astype(np.uint8) for share in (0.05, 0.3, 0.5, 0.6)]
    blobs = cv2.GaussianBlur(rng.normal(0, 1, (128, 160)).astype(np.float32), (0, 0), 3)
    masks += [(blobs > level).astype(np.uint8) for level in (0.0, 0.1, 0.2)]
    masks += [(rng.random(shape) < 0.5).astype(np.uint8) for shape in ((1, 40), (40, 1), (7, 9))]
    return masks + [np.zeros((30, 40), np.uint8), np.ones((30, 40), np.uint8)]


@pytest.mark.parametrize("mask", _random_masks())
def test_regions_with_stats_label_like_opencvs_default(mask):
    # the flow boxes follow this order (a later box's flow overwrites an earlier one's overlap)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    found = regions_with_stats(mask)
    assert found[0] == count
    assert np.array_equal(found[1], labels)
    assert np.array_equal(found[2], stats)


def test_regions_with_stats_pads_odd_masks_without_changing_labels_or_stats():
    # masks of an odd number of rows or columns are labelled with a background row or column
    # added: the labels and every stats row, the background's too, must be OpenCV's on the mask
    # as it is, whether regions touch the last row or column or not, and with no background
    rng = np.random.default_rng(17)
    cases = [np.ones((7, 9), np.uint8), np.ones((1, 1), np.uint8), np.zeros((5, 3), np.uint8)]
    for trial in range(300):
        rows, cols = (int(n) for n in rng.integers(1, 60, 2))
        mask = (rng.random((rows, cols)) < rng.random()).astype(np.uint8)
        if trial % 3 == 0:  # smooth regions as well as speckle
            mask = (cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)), (0, 0), 2) > 0.1).astype(
                np.uint8
            )
        if trial % 4 == 1:  # a background last row and column: the pad only extends them
            mask[-1], mask[:, -1] = 0, 0
        if trial % 4 == 2:  # a region along the last column and row
            mask[:, -1], mask[-1] = 1, 1
        cases.append(mask)
    for mask in cases:
        count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
        found = regions_with_stats(mask.astype(bool))
        assert found[0] == count
        assert found[1].flags.c_contiguous and found[1].dtype == np.int32
        assert np.array_equal(found[1], labels)
        assert np.array_equal(found[2], stats)


def test_regions_with_areas_are_the_labelling_with_stats_and_its_areas():
    # cell_regions and drop_small label without the statistics: the same count and labels (the
    # regions' numbering is the RoI's region order) and the same areas, the background's too
    rng = np.random.default_rng(23)
    cases = _random_masks()
    for trial in range(200):
        rows, cols = (int(n) for n in rng.integers(1, 80, 2))
        mask = (rng.random((rows, cols)) < rng.random()).astype(np.uint8)
        if trial % 2:  # smooth regions as well as speckle
            blurred = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)), (0, 0), 2)
            mask = (blurred > 0.1).astype(np.uint8)
        cases.append(mask)
    for mask in cases:
        count, labels, stats = regions_with_stats(mask)
        # bool, 0/1 bytes, and bytes of other non-zero values (255) alike
        for given in (mask.astype(bool), mask, mask * np.uint8(255)):
            found = regions_with_areas(given)
            assert found[0] == count
            assert found[1].dtype == np.int32 and np.array_equal(found[1], labels)
            assert np.array_equal(found[2], stats[:, cv2.CC_STAT_AREA])


@pytest.mark.parametrize("min_area", [0, 3, 20, 10_000])
def test_drop_small_keeps_exactly_the_regions_large_enough(min_area):
    for mask in _random_masks():
        count, labels = cv2.connectedComponents(mask, connectivity=8)
        area = np.bincount(labels.ravel(), minlength=count)
        expected = mask.astype(bool) & (area[labels] >= min_area)
        assert np.array_equal(drop_small(mask, min_area), expected)


@pytest.mark.parametrize("count", [1, 2, 200, 256, 257, 3000])
@pytest.mark.parametrize("dtype", [bool, np.float32, np.int64])
def test_lookup_is_each_labels_entry(count, dtype):
    rng = np.random.default_rng(count)
    labels = rng.integers(0, count, (70, 90)).astype(np.int32)
    table = (
        (rng.random(count) * 100 - 50).astype(dtype)
        if dtype is not bool
        else rng.random(count) < 0.5
    )
    if dtype is np.float32:
        table[0] = np.inf  # the callers' sentinels survive
        table[-1] = -np.inf
    for these in (labels, labels.astype(np.intp), labels[::2, 1::3]):  # int32, intp, a view
        found = lookup(table, these)
        assert found.dtype == table.dtype and np.array_equal(found, table[these])


@pytest.mark.parametrize("shape", [(255, 255), (511, 511), (60, 90), (256, 320), (240, 300)])
def test_to_shape_interpolates_and_thresholds_at_one_half(shape):
    # an empty mask comes back empty without the resize; any other is the linear resize of its
    # 0/255 bytes, thresholded at one half
    for mask in _random_masks()[:7] + [np.zeros((128, 160), np.uint8)]:
        expected = cv2.resize(mask * np.uint8(255), shape[::-1], interpolation=cv2.INTER_LINEAR)
        for given in (mask, mask.astype(bool)):
            found = to_shape(given, shape)
            assert found.dtype == bool and found.shape == shape
            assert np.array_equal(found, expected > 127)


def test_to_shape_at_twice_the_size_is_the_linear_resize_thresholded():
    # the repeated-pixel path (exactly 2x) against OpenCV's linear resize on masks of every
    # density and size, odd ones and single rows or columns included
    rng = np.random.default_rng(11)
    for trial in range(200):
        rows, cols = (int(n) for n in rng.integers(1, 90, 2))
        mask = rng.random((rows, cols)) < rng.random()
        if trial % 4 == 0:  # smooth regions as well as speckle
            mask = cv2.GaussianBlur(rng.normal(0, 1, (rows, cols)), (0, 0), 2) > 0.1
        expected = cv2.resize(
            mask.astype(np.uint8) * np.uint8(255),
            (2 * cols, 2 * rows),
            interpolation=cv2.INTER_LINEAR,
        )
        found = to_shape(mask, (2 * rows, 2 * cols))
        assert found.dtype == bool and np.array_equal(found, expected > 127)
