"""The command line's progress: a live bar on a terminal, a few lines in a log, nothing when quiet."""

import io
import subprocess
import sys

import pytest
import tifffile

from napari_flowroi.cli import main
from napari_flowroi.synthetic import moving_discs

N_FRAMES = 24


@pytest.fixture(scope="module")
def long_movie_file(tmp_path_factory):
    """More frames than the log has lines, so one line per frame would show."""
    path = tmp_path_factory.mktemp("progress") / "movie.tif"
    frames = moving_discs(n_frames=N_FRAMES, shape=(96, 112), n_cells=3).frames
    tifffile.imwrite(path, frames, photometric="minisblack", metadata={"axes": "TYX"})
    return path


@pytest.fixture(scope="module")
def compressed(long_movie_file, tmp_path_factory):
    out = tmp_path_factory.mktemp("progress-out") / "stack"
    assert main(["compress", str(long_movie_file), str(out), "--no-denoise", "--quiet"]) == 0
    return out


class _Terminal(io.StringIO):
    """What a terminal looks like to the command: a stream whose isatty() is true."""

    def isatty(self):
        return True


def _progress_lines(text, label):
    return [line for line in text.splitlines() if line.startswith(f"{label}:")]


def test_a_log_file_gets_a_few_summary_lines_not_one_per_frame(long_movie_file, tmp_path):
    log = tmp_path / "compress.log"
    with log.open("w") as stderr:  # a real file, as `flowroi compress ... 2> log` gives
        result = subprocess.run(
            [sys.executable, "-m", "napari_flowroi.cli", "compress", str(long_movie_file),
             str(tmp_path / "stack"), "--no-denoise", "--force"],
            stdout=subprocess.DEVNULL, stderr=stderr, timeout=300, check=False,
        )  # fmt: skip
    text = log.read_text()
    assert result.returncode == 0, text
    assert "\r" not in text
    lines = _progress_lines(text, "compressing")
    assert 2 <= len(lines) <= 6 < N_FRAMES  # start, quarters and end
    assert lines[0].startswith(f"compressing: 0/{N_FRAMES} frames")
    assert lines[-1].startswith(f"compressing: {N_FRAMES}/{N_FRAMES} frames (100 %)")


def test_a_terminal_gets_a_live_bar(compressed, monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["verify", str(compressed)]) == 0
    text = terminal.getvalue()
    assert "\r" in text  # the bar redraws itself in place
    assert f"{N_FRAMES}/{N_FRAMES}" in text and "100%|" in text
    assert text.count("\n") == 1  # one line, redrawn in place, left when done
    assert "all frames match" in capsys.readouterr().out


def test_a_terminal_of_no_width_gets_the_log_lines(compressed, monkeypatch, capsys):
    """A pseudo-terminal nobody sized (0 columns: `docker exec -t`, `script`, CI runners) got a
    tqdm bar 0 columns wide, i.e. no progress at all."""
    import os

    master, slave = os.openpty()  # a new pty has no size: 0 rows, 0 columns
    assert os.get_terminal_size(slave).columns == 0
    os.set_blocking(master, False)
    with open(slave, "w", closefd=True) as terminal:
        monkeypatch.setattr(sys, "stderr", terminal)
        assert main(["verify", str(compressed)]) == 0
        terminal.flush()
        text = b""
        while True:
            try:
                text += os.read(master, 65536)
            except BlockingIOError:
                break
    os.close(master)
    text = text.decode()
    assert f"verifying: {N_FRAMES}/{N_FRAMES} frames (100 %)" in text, text
    assert "all frames match" in capsys.readouterr().out


def test_quiet_writes_no_progress_on_a_terminal_or_in_a_log(compressed, monkeypatch, capsys):
    terminal = _Terminal()
    monkeypatch.setattr(sys, "stderr", terminal)
    assert main(["verify", str(compressed), "--quiet"]) == 0
    assert terminal.getvalue() == ""
    monkeypatch.undo()
    assert main(["verify", str(compressed), "--quiet"]) == 0
    assert capsys.readouterr().err == ""


def test_progress_reported_out_of_order_by_worker_threads_never_goes_back():
    from napari_flowroi.cli import _StderrProgress

    log = io.StringIO()
    progress = _StderrProgress("compressing")
    original, sys.stderr = sys.stderr, log
    try:
        for done in (0, 3, 7, 6, 12, 11, 19, 24, 23):
            progress(done, 24)
    finally:
        sys.stderr = original
    counts = [int(line.split()[1].split("/")[0]) for line in log.getvalue().splitlines()]
    assert counts == sorted(counts) and counts[0] == 0 and counts[-1] == 24
