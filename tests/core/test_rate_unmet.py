"""A rate that cannot be met says so (issue 23): on stderr from the CLI, in the manifest, and in
the summary the batch returns (what the widget shows). Unmet = achieved outside +-5 % of the
requested rate, the docs' promise."""

import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from napari_flowroi import codec
from napari_flowroi.batch import compress_movie
from napari_flowroi.cli import main
from napari_flowroi.container import open_container
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

from ..conftest import write_tiff

HSC = Path(codec.__file__).parents[1] / "sample_data" / "hsc_brightfield.tif"


@pytest.mark.parametrize(
    ("requested", "achieved", "unmet"),
    [(2000, 121, True), (40, 16.9, True), (16, 15.3, False), (16, 16.7, False), (8, 8.5, True)],
)
def test_unmet_means_more_than_five_percent_off(requested, achieved, unmet):
    assert codec.rate_unmet(requested, achieved) is unmet


def test_a_tiny_movie_at_40_to_1_warns_on_stderr_and_records_it(tmp_path, capsys):
    movie = write_tiff(tmp_path, "tiny.tif", moving_discs(n_frames=4, shape=(64, 64)).frames)
    out = tmp_path / "tiny.flowroi"
    assert main(["compress", str(movie), str(out), "--compression-rate", "40", "--quiet"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and warnings[0].startswith("flowroi: warning: achieved rate")
    assert "not the 40:1 asked for" in warnings[0]
    printed = json.loads(captured.out)
    assert printed["rate_unmet"] is True and printed["requested_rate"] == 40
    totals = open_container(out).manifest["totals"]
    assert totals["rate_unmet"] is True and totals["requested_rate"] == 40
    assert totals["achieved_rate"] < 0.95 * 40
    assert printed["achieved_rate"] == totals["achieved_rate"]


def test_a_rate_too_high_for_the_frames_is_reported_by_the_batch(tmp_path):
    frames = tifffile.imread(HSC)[:2]
    summary = compress_movie(frames, tmp_path / "out", FlowRoISettings(compression_rate=2000))
    assert summary.rate_unmet and summary.requested_rate == 2000
    assert summary.achieved_rate < 0.95 * 2000
    assert "not the 2000:1 asked for" in summary.rate_warning
    assert "fixed costs" in summary.rate_warning
    assert summary.as_dict()["rate_unmet"] is True
    assert open_container(tmp_path / "out").manifest["totals"]["rate_unmet"] is True


def test_a_met_rate_says_nothing_and_leaves_the_manifest_as_it_was(tmp_path, capsys):
    movie = write_tiff(tmp_path, "hsc.tif", tifffile.imread(HSC)[:3])
    out = tmp_path / "hsc.flowroi"
    assert main(["compress", str(movie), str(out), "--compression-rate", "16", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "warning" not in captured.err
    assert "rate_unmet" not in json.loads(captured.out)
    totals = open_container(out).manifest["totals"]
    assert set(totals) == {"raw_bytes", "bytes_written", "achieved_rate"}
    assert totals["achieved_rate"] == pytest.approx(16, rel=0.05)


def test_a_quality_target_sets_no_rate_to_miss(tmp_path):
    frames = moving_discs(n_frames=3, shape=(64, 64)).frames
    settings = FlowRoISettings(compression_rate=40, target_psnr=30)
    summary = compress_movie(frames, tmp_path / "q", settings)
    assert summary.requested_rate is None and not summary.rate_unmet
    assert summary.rate_warning is None
    assert "rate_unmet" not in open_container(tmp_path / "q").manifest["totals"]


def test_a_movie_with_too_little_detail_for_its_budget_is_reported_too(tmp_path):
    frames = np.full((3, 128, 128), 90, np.uint8)  # codes far smaller than a 2:1 budget
    summary = compress_movie(frames, tmp_path / "flat", FlowRoISettings(compression_rate=2))
    assert summary.rate_unmet and summary.achieved_rate > 1.05 * 2
    assert "too little detail" in summary.rate_warning
