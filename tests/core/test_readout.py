"""What the widget says: verdict, display peak, batch summary, command-line words."""

import dataclasses
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
        "looked_at": 0.5,
    }
    base.update(kw)
    return SimpleNamespace(**base)


def test_the_verdict_says_which_is_better_and_by_how_much_on_the_cells():
    text = verdict(preview(), cells(), size_factor=1.4)
    assert text == (
        "Cells 99 % inside the RoI (motion + appearance): FlowRoI +2.1 dB on the cells at the "
        "same size, or 1.4× smaller than JPEG2000 at the same cell quality."
    )
    worse = verdict(preview(), cells(psnr_cells_flowroi=36.0), size_factor=0.8)
    assert "plain JPEG2000 is better" in worse
    assert "coding" in verdict(preview(coarse=True))


def test_narrow_range_uint16_psnr_is_shown_against_the_value_range():
    p = preview(value_range=(1000.0, 1300.0))
    shift = display_peak_shift(p, np.uint16)
    assert shift == np.float64(20 * np.log10(300 / 65535))
    assert display_peak_shift(p, np.uint8) == 0  # range of 300 > half of 255: not narrow
    html = readout_html(p, FlowRoISettings(), np.uint16)
    assert "value range" in html and f"{40 + shift:.1f} dB" in html


def _batch(**kw):
    """A batch summary as `batch_done` reads it: a ``batch.CompressionSummary``."""
    from napari_flowroi.batch import CompressionSummary

    base = {
        "frames": 12,
        "resumed_frames": 0,
        "raw_bytes": 2_000_000,
        "output": "movie.flowroi",
        "bytes_written": 50_000,
        "achieved_rate": 40.0,
        "mean_roi_fraction": 0.3,
        "seconds": 2.0,
        "requested_rate": 40.0,
    }
    base.update(kw)
    return CompressionSummary(**base)


def test_a_batch_bigger_than_the_raw_movie_is_a_warning():
    summary = _batch(frames=6, bytes_written=5000, achieved_rate=0.1, mean_roi_fraction=0.0)
    text, kind = batch_done(summary)
    assert kind == "warning" and "bigger than the raw movie" in text
    assert batch_done(dataclasses.replace(summary, achieved_rate=39.0))[1] == "info"
    # far from the rate the run asked for (summary.requested_rate), not under a target PSNR
    far = dataclasses.replace(summary, achieved_rate=12.0)
    assert batch_done(far)[1] == "warning" and "far from the 40 : 1" in batch_done(far)[0]
    assert batch_done(dataclasses.replace(far, requested_rate=None))[1] == "info"


def test_the_batch_done_message_gives_the_guards_estimate_and_warns_below_the_target():
    coverage = {"mean": 0.9698, "min": 0.9, "worst_frame": 3, "frames_checked": [1, 3, 5]}
    summary = _batch(cell_coverage=coverage, coverage_target=0.97)
    text, kind = batch_done(summary)
    # rounded down: an estimate below the target never reads as reaching it
    assert "Cells 96.9 % inside the RoI" in text and "3 frames" in text
    assert kind == "warning" and "below the coverage target (97 %)" in text
    # the target is the run's own (summary.coverage_target), not a figure passed beside it
    text, kind = batch_done(dataclasses.replace(summary, coverage_target=0.95))
    assert kind == "info" and "Cells 96.9 % inside the RoI" in text
    text, kind = batch_done(_batch(cell_coverage={**coverage, "mean": 0.995}, coverage_target=0.97))
    assert kind == "info" and "Cells 99.5 % inside the RoI" in text


def test_command_line_words_become_control_names():
    text = plain_words("Nothing to gain here: Use --plain. The folder exists; pass --overwrite.")
    assert "--" not in text and "'Plain'" in text and "Replace an existing" in text


def cells(**kw):
    base = {
        "coded": True,
        "coverage": 0.99,
        "psnr_cells_flowroi": 40.0,
        "psnr_cells_plain": 37.9,
        "user_mask": False,
        "cell_gain": 2.1,
    }
    base.update(kw)
    base["cell_gain"] = base["psnr_cells_flowroi"] - base["psnr_cells_plain"]
    return SimpleNamespace(**base)


def test_the_verdict_puts_coverage_and_gain_on_one_line_and_never_claims_a_gain_without_cells():
    text = verdict(preview(), cells(), size_factor=1.4)
    assert text.startswith("Cells 99 % inside the RoI (motion + appearance)")
    assert "+2.1 dB on the cells" in text and "1.4× smaller" in text
    left_out = verdict(preview(), cells(coverage=0.16, psnr_cells_flowroi=45.0), size_factor=5.2)
    assert "Cells 16 %" in left_out and "no gain claimed" in left_out
    assert "smaller" not in left_out
    off = verdict(
        preview(settings=FlowRoISettings(motion_roi=False, appearance_roi=False)),
        cells(psnr_cells_flowroi=24.3, psnr_cells_plain=40.6),
    )
    assert off.startswith("No RoI") and "worse" in off and "-16.3 dB" in off
    assert "measuring" in verdict(preview(), None)


def test_the_verdict_says_when_small_cells_sent_the_roi_to_full_resolution():
    # resolution.working_settings looked at the whole frame: the user sees why it is slower
    small = verdict(preview(looked_at=1.0), cells(), size_factor=1.4)
    assert small.startswith(
        "Cells 99 % inside the RoI (motion + appearance; found at full resolution: the cells "
        "are small)"
    )
    assert "full resolution" not in verdict(preview(), cells(), size_factor=1.4)
    asked = preview(looked_at=1.0, settings=FlowRoISettings(flow_scale=1.0))
    assert "full resolution" not in verdict(asked, cells(), size_factor=1.4)  # asked for


def test_no_one_point_zero_times_smaller_and_no_minus_zero_db():
    from napari_flowroi.readout import signed_db, size_words

    for factor in (0.97, 1.0, 1.04):
        text = verdict(preview(), cells(psnr_cells_flowroi=41.0), size_factor=factor)
        assert "1.0×" not in text and "about the same size" in text
    assert signed_db(-0.04) == "±0.0 dB" and "−0.0" not in signed_db(-0.0)
    assert "-0.0" not in verdict(preview(), cells(psnr_cells_flowroi=37.88))
    assert size_words(1.1) == "1.1× smaller than JPEG2000 at the same cell quality"


def test_the_movie_estimate_gives_the_whole_size_and_the_worst_sampled_frame():
    from napari_flowroi.readout import movie_estimate

    settings = FlowRoISettings(compression_rate=40)
    text = movie_estimate((37, 1040, 1040), np.uint16, settings)
    assert "76.33 MB → about 1.91 MB" in text
    # tiny frames: no JP2 file is smaller than its headers, so never "about 0.0 kB"
    tiny = movie_estimate((6, 8, 8), np.uint8, settings)
    assert "0.4 kB → about 1.2 kB" in tiny
    worst = movie_estimate(
        (37, 1040, 1040),
        np.uint16,
        settings,
        [(preview(t=3), cells(psnr_cells_flowroi=31.2)), (preview(t=9), cells())],
    )
    assert "frame 3, cells 31.2 dB" in worst


def test_the_batch_done_message_says_the_runs_notes_in_the_widgets_words():
    from napari_flowroi.batch import FINE_CELLS_NOTE

    coverage = {"mean": 0.9, "min": 0.8, "worst_frame": 3, "frames_checked": [1, 3, 5]}
    fine = FINE_CELLS_NOTE.format(asked=0.5)
    summary = _batch(
        cell_coverage=coverage,
        coverage_target=0.97,
        notes=(fine, "nothing to gain: use --plain"),
    )
    text, kind = batch_done(summary)
    assert "Note: the cells are at the limit of what flow_scale 0.5 resolves" in text
    assert "tick 'Plain'" in text and "--" not in text  # command-line words become controls
    # the coverage below the target is the message's warning, once, with the widget's advice,
    # never the command line's sentence (summary.coverage_note)
    assert kind == "warning" and "estimated" not in text and "'Suggest settings'" in text
    assert summary.coverage_note.startswith("the RoI holds an estimated 90.0% of the cell pixels")


def test_a_suggestion_compress_would_refuse_is_said_in_the_widgets_words():
    from napari_flowroi.readout import suggestion_html
    from napari_flowroi.tune import Candidate, Suggestion

    settings = FlowRoISettings()
    best = Candidate(settings, 0.98, 1.2, 0.3, 40.0, 39.0)
    html = suggestion_html(Suggestion(settings, best, (best,), (1, 2, 3), 2.0, 0.95))
    assert "below the 97% target" in html
    assert "--" not in html and "'Compress stack'" in html and "'Coverage target'" in html


def test_the_channels_done_message_warns_below_the_target_in_the_widgets_words():
    from napari_flowroi.plates import PlateSummary
    from napari_flowroi.readout import channels_done

    coverage = {"mean": 0.9, "min": 0.8, "worst_frame": 3, "frames_checked": [1, 3, 5]}
    phase = _batch(output="two/c0-BF.flowroi", cell_coverage=coverage, coverage_target=0.97)
    gfp = _batch(output="two/c1-GFP.flowroi", notes=("nothing to gain: use --plain",))
    plate = PlateSummary(output="two", wells=(("c0-BF", phase), ("c1-GFP", gfp)), seconds=4.0)
    assert "flowroi tune" in phase.coverage_note  # what the command line says instead
    text, kind = channels_done(plate, 0)
    assert text.startswith("Done: 2 channels (24 frames) into two, one stack each with the RoI")
    assert "Note: c1-GFP: nothing to gain: tick 'Plain'." in text
    assert kind == "warning" and "below the coverage target (97 %) in c0-BF (cells 90.0 %)" in text
    assert "'Suggest settings'" in text and "flowroi tune" not in text and "--" not in text
    # every channel at its target: no warning
    met = dataclasses.replace(phase, cell_coverage={**coverage, "mean": 0.99})
    text, kind = channels_done(dataclasses.replace(plate, wells=(("c0-BF", met),)), 0)
    assert kind == "info" and "Warning" not in text
    # tiny channels: the same size warnings as one movie's (the totals' rate against the run's)
    tiny = dataclasses.replace(met, bytes_written=3_000_000, achieved_rate=0.7)
    text, kind = channels_done(dataclasses.replace(plate, wells=(("c0-BF", tiny),)), 0)
    assert kind == "warning" and "bigger than the raw movie" in text
    short = dataclasses.replace(met, bytes_written=160_000, achieved_rate=12.5)
    text, kind = channels_done(dataclasses.replace(plate, wells=(("c0-BF", short),)), 0)
    assert kind == "warning" and "far from the 40 : 1 asked for" in text
