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
    assert metrics.psnr(original, decoded, ~inside) == pytest.approx(10 * np.log10(255**2 / 100))


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


def test_compression_rate_is_raw_over_written():
    assert metrics.compression_rate(1000, 250) == 4.0
    assert metrics.compression_rate(1000, 0) == float("inf")


def test_psnr_peak_is_the_dtype_maximum_for_integers_and_the_value_range_for_floats():
    assert metrics.psnr_peak(np.zeros((4, 4), np.uint8)) == 255
    assert metrics.psnr_peak(np.array([[3, 9]], np.uint16)) == 65535
    floats = np.array([[0.5, 2.5], [1.0, 1.5]], np.float32)
    assert metrics.psnr_peak(floats) == pytest.approx(2.0)
    assert metrics.psnr_peak(floats, value_range=(0, 10)) == 10.0
    assert metrics.psnr_peak(np.ones((3, 3))) == 1.0


def test_float_psnr_equals_the_psnr_of_the_codes_the_codec_stores():
    from napari_flowroi import codec
    from napari_flowroi.settings import FlowRoISettings
    from napari_flowroi.synthetic import moving_discs

    frame = moving_discs(n_frames=1, shape=(128, 160), dtype=np.float32, noise=3.0).frames[0]
    frame = frame * 0.01 + 7.0  # an arbitrary float range
    encoded = codec.encode_plain(frame, FlowRoISettings(compression_rate=12))
    decoded = codec.decode_frame(encoded)
    codes, _ = codec.to_codec_values(frame)
    coded = codec.decode_jp2(encoded.jp2)
    # same figure as a uint16 movie would get: the peak follows the codec's mapping
    assert metrics.psnr(frame, decoded) == pytest.approx(metrics.psnr(codes, coded), abs=0.05)


def test_object_coverage_counts_cells_by_their_share_inside():
    labels = np.zeros((30, 30), np.int32)
    labels[2:6, 2:6] = 1  # fully inside
    labels[10:14, 10:20] = 2  # 60 % inside
    labels[20:24, 20:24] = 3  # 25 % inside
    roi = np.zeros((30, 30), bool)
    roi[2:6, 2:6] = True
    roi[10:14, 10:16] = True
    roi[20:24, 20:21] = True
    assert metrics.object_coverage(roi, labels) == pytest.approx(2 / 3)
    assert metrics.object_coverage(roi, labels, min_inside=0.7) == pytest.approx(1 / 3)
    assert metrics.object_coverage(np.ones_like(roi), labels) == 1.0
    assert metrics.object_coverage(roi, labels > 0) == pytest.approx(2 / 3)


def test_psnr_inside_and_outside_equal_two_psnr_calls():
    from napari_flowroi.metrics import psnr, psnr_inside_outside

    rng = np.random.default_rng(4)
    frame = rng.integers(0, 4000, (40, 50)).astype(np.uint16)
    decoded = frame + rng.integers(-30, 30, frame.shape)
    where = np.zeros(frame.shape, bool)
    where[5:20, 10:30] = True
    inside, outside = psnr_inside_outside(frame, decoded, where)
    assert inside == pytest.approx(psnr(frame, decoded, where))
    assert outside == pytest.approx(psnr(frame, decoded, ~where))
    assert np.isnan(psnr_inside_outside(frame, decoded, np.zeros_like(where))[0])
    assert psnr_inside_outside(frame, frame, where) == (float("inf"), float("inf"))
