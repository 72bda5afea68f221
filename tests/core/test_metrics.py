import numpy as np
import pytest

from napari_flowroi import metrics


def test_psnr_inside_a_region_ignores_errors_outside_it():
    original = np.full((10, 10), 100, np.uint8)
    decoded = original.copy()
    decoded[:5] += 10
    inside = np.zeros((10, 10), bool)
    inside[5:] = True
    assert metrics.psnr(original, decoded, inside) == float("inf")
    assert metrics.psnr(original, decoded, ~inside) == pytest.approx(10 * np.log10(255 ** 2 / 100))


def test_coverage_by_pixels_and_by_objects():
    cells = np.zeros((20, 20), bool)
    cells[2:6, 2:6] = True
    cells[12:16, 12:16] = True
    roi = np.zeros_like(cells)
    roi[2:6, 2:6] = True
    assert metrics.pixel_coverage(roi, cells) == 0.5
    assert metrics.object_coverage(roi, cells) == 0.5
    assert metrics.pixel_coverage(roi, np.zeros_like(cells)) == 1.0


def test_gain_at_matched_quality_interpolates_the_baseline_curve():
    rates, qualities = [8, 16, 32, 64], [40, 36, 32, 28]
    # a file at rate 32 with the quality the baseline reaches at 16 is 2x smaller
    assert metrics.gain_at_matched_quality(32, 36, rates, qualities) == pytest.approx(2.0)
    assert metrics.gain_at_matched_quality(16, 36, rates, qualities) == pytest.approx(1.0)
    assert metrics.gain_at_matched_quality(16, 34, rates, qualities) < 1.0
