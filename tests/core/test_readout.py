"""What the widget says: verdict, display peak, batch summary, command-line words."""

from types import SimpleNamespace

import numpy as np

from napari_flowroi.readout import (
    batch_done,
    display_peak_shift,
    plain_words,
    readout_html,
    verdict,
)
from napari_flowroi.settings import FlowRoISettings


def preview(**kw):
    base = {
        "t": 3,
        "settings": FlowRoISettings(),
        "coarse": False,
        "psnr_roi_flowroi": 40.0,
        "psnr_roi_plain": 37.9,
        "psnr_outside_flowroi": 30.0,
        "psnr_outside_plain": 33.0,
        "flowroi_bytes": 1000,
        "plain_bytes": 1010,
        "raw_bytes": 40000,
        "roi_fraction": 0.3,
        "seconds": 0.2,
        "coverage": None,
        "value_range": (0.0, 255.0),
        "flowroi_rate": 40.0,
        "plain_rate": 39.6,
    }
    base.update(kw)
    return SimpleNamespace(**base)


def test_the_verdict_says_which_is_better_and_by_how_much():
    text = verdict(preview(), size_factor=1.4)
    assert text == (
        "FlowRoI: RoI (cells) +2.1 dB at the same size, or 1.4× smaller at the same cell quality."
    )
    worse = verdict(preview(psnr_roi_flowroi=36.0), size_factor=0.8)
    assert "plain JPEG2000 is better" in worse
    assert "coding" in verdict(preview(coarse=True))


def test_narrow_range_uint16_psnr_is_shown_against_the_value_range():
    p = preview(value_range=(1000.0, 1300.0))
    shift = display_peak_shift(p, np.uint16)
    assert shift == np.float64(20 * np.log10(300 / 65535))
    assert display_peak_shift(p, np.uint8) == 0  # range of 300 > half of 255: not narrow
    html = readout_html(p, FlowRoISettings(), np.uint16)
    assert "value range" in html and f"{40 + shift:.1f} dB" in html


def test_a_batch_bigger_than_the_raw_movie_is_a_warning():
    summary = SimpleNamespace(
        frames=6,
        output="tiny.flowroi",
        bytes_written=5000,
        achieved_rate=0.1,
        mean_roi_fraction=0.0,
        seconds=0.1,
    )
    text, kind = batch_done(summary, 40)
    assert kind == "warning" and "bigger than the raw movie" in text
    summary.achieved_rate = 39.0
    assert batch_done(summary, 40)[1] == "info"


def test_command_line_words_become_control_names():
    text = plain_words("Nothing to gain here: Use --plain. The folder exists; pass --overwrite.")
    assert "--" not in text and "'Plain'" in text and "Replace an existing" in text
