"""SIGKILL a compression at many points; every rerun resumes and ends byte-identical to an
uninterrupted run, and no half-written file is ever taken for a complete one.

The kill points come from the testing hook FLOWROI_KILL_AT_STEP (napari_flowroi.container): the
process kills itself at the N-th write step, i.e. with a temporary file half written, or just after
a rename, or in the clean-up after the manifest. That is deterministic, unlike killing after random
delays, and reaches every kind of point."""

import os
import signal
import subprocess
import sys
import time

import pytest
import tifffile

from napari_flowroi.synthetic import moving_discs

from ..conftest import compress_interrupted

N_FRAMES = 12
# per frame: JP2 (its RoI mask inside) and record, two steps each; plus run.json, the manifest and
# 2 clean-up steps
STEPS = 2 + 4 * N_FRAMES + 2 + 2
OPTIONS = ["--compression-rate", "12", "--quiet"]


def compress(movie, out, kill_at=None):
    env = dict(os.environ)
    env.pop("FLOWROI_KILL_AT_STEP", None)
    if kill_at is not None:
        env["FLOWROI_KILL_AT_STEP"] = str(kill_at)
    return subprocess.run(
        [sys.executable, "-m", "napari_flowroi.cli", "compress", str(movie), str(out), *OPTIONS],
        env=env,
        capture_output=True,
        text=True,
    )


def files_of(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.mark.slow
def test_killed_runs_resume_to_a_container_identical_to_an_uninterrupted_one(tmp_path):
    from napari_flowroi.container import open_container

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(
        movie,
        moving_discs(n_frames=N_FRAMES, shape=(96, 128), n_cells=3).frames,
        photometric="minisblack",
        metadata={"axes": "TYX"},
    )
    reference = tmp_path / "reference"
    assert compress(movie, reference).returncode == 0
    want = files_of(reference)
    # >= 20 distinct points spread over the whole run, both kinds of step, first and last
    points = sorted(set(range(1, STEPS + 1, 3)) | {2, STEPS - 2, STEPS - 1, STEPS})
    started = time.perf_counter()
    outcomes = []
    for point in points:
        out = tmp_path / f"killed-{point}"
        killed = compress(movie, out, kill_at=point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stderr)
        if (out / "manifest.json").exists():
            # only a kill after the manifest's rename: what is there is complete and correct
            assert files_of(out).keys() >= want.keys()
        else:
            with pytest.raises(Exception, match="interrupted|not a complete"):
                open_container(out)
        rerun = compress(movie, out)
        if rerun.returncode == 2 and "already holds" in rerun.stderr:
            outcome = "complete before the kill"  # killed after the run's last clean-up step
        else:
            assert rerun.returncode == 0, (point, rerun.stderr)
            outcome = "resumed"
        outcomes.append(outcome)
        got = files_of(out)
        assert got.keys() == want.keys(), (point, sorted(set(got) ^ set(want)))
        assert all(got[name] == want[name] for name in want), point
        assert not any(name.endswith(".tmp") for name in got)
    print(
        f"{len(points)} kill points, {outcomes.count('resumed')} resumed, all identical, "
        f"{time.perf_counter() - started:.0f} s"
    )
    assert len(points) >= 20 and outcomes.count("resumed") >= 20


def test_a_leftover_temporary_file_is_never_read_as_a_frame_and_is_removed(tmp_path, small_movie):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.container import open_container

    out = tmp_path / "out"
    compress_interrupted(small_movie, out, at=3)
    # what a writer killed mid-write leaves: a half file under a temporary name
    half = (out / "frames" / "frame_000001.jp2").read_bytes()[:50]
    (out / "frames" / ".frame_000002.jp2.999-1.tmp").write_bytes(half)
    summary = compress_movie(small_movie, out)
    assert summary.resumed_frames == 2
    assert not list(out.rglob("*.tmp"))
    assert open_container(out).shape[0] == len(small_movie)


def test_a_temporary_file_left_during_the_run_is_gone_from_the_finished_stack(
    tmp_path, small_movie
):
    # A dask worker killed mid-write is retried within the same run: its half-written temporary
    # file appears after the run's start-up clean-up and must not stay in the finished stack.
    from napari_flowroi.batch import compress_movie

    out = tmp_path / "out"

    def progress(done, total):
        if done == 1:
            (out / "frames" / ".frame_000004.jp2.999-1.tmp").write_bytes(b"half a frame")

    compress_movie(small_movie, out, progress=progress)
    assert not list(out.rglob("*.tmp"))
