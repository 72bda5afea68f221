"""A plate of small movies through a real dask.distributed scheduler and two worker processes on
loopback: the same bytes as in one process, and a worker killed mid-run costs retries, not data."""

import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import tifffile

from napari_flowroi.batch import compress_movie
from napari_flowroi.cli import main
from napari_flowroi.errors import FlowRoIError, InputError
from napari_flowroi.plates import compress_movies
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

distributed = pytest.importorskip("distributed")

WELLS = ("A01", "A02", "B01")
SETTINGS = FlowRoISettings(compression_rate=10.0)  # as the CLI parses it


@pytest.fixture(scope="module")
def cluster():
    started = time.perf_counter()
    with (
        distributed.LocalCluster(
            n_workers=2,
            processes=True,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=50,
        ) as local,
        distributed.Client(local) as client,
    ):
        client.wait_for_workers(2, timeout=60)
        print(f"cluster up in {time.perf_counter() - started:.1f} s")
        yield local, client


@pytest.fixture(scope="module")
def plate(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plate")
    for i, well in enumerate(WELLS):
        frames = moving_discs(n_frames=9, shape=(64, 80), n_cells=2, seed=i).frames
        tifffile.imwrite(
            folder / f"{well}.tif", frames, photometric="minisblack", metadata={"axes": "TYX"}
        )
    return folder


@pytest.fixture(scope="module")
def reference(plate, tmp_path_factory):
    """The single-process (threads) result every cluster run must equal byte for byte."""
    out = tmp_path_factory.mktemp("reference")
    for well in WELLS:
        compress_movie(plate / f"{well}.tif", out / f"{well}.flowroi", SETTINGS)
    return out


def files_of(folder):
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def assert_same_wells(out, reference):
    for well in WELLS:
        got, want = files_of(out / f"{well}.flowroi"), files_of(reference / f"{well}.flowroi")
        assert got.keys() == want.keys(), well
        differ = [name for name in want if got[name] != want[name]]
        assert not differ, (well, differ)


def test_a_plate_on_a_cluster_equals_the_single_process_result(cluster, plate, reference, tmp_path):
    local, client = cluster
    seen = []
    started = time.perf_counter()
    summary = compress_movies(
        sorted(plate.glob("*.tif")),
        tmp_path / "out",
        SETTINGS,
        scheduler=local.scheduler_address,
        chunk_frames=3,
        progress=lambda done, total: seen.append((done, total)),
    )
    print(f"plate of {len(WELLS)} x 9 frames on 2 workers: {time.perf_counter() - started:.1f} s")
    assert_same_wells(tmp_path / "out", reference)
    assert [name for name, _ in summary.wells] == list(WELLS)
    assert seen[-1] == (27, 27)
    totals = json.loads((tmp_path / "out" / "summary.json").read_text())["totals"]
    assert totals["frames"] == 27 and totals["wells"] == 3
    assert totals["bytes_written"] == sum(s.bytes_written for _, s in summary.wells)
    # the workers did the work: both took part in it
    assert len(list(client.scheduler_info()["workers"].values())) == 2


def test_the_command_line_runs_a_plate_on_an_existing_scheduler(
    cluster, plate, reference, tmp_path, capsys
):
    local, _ = cluster
    assert (
        main(
            [
                "compress",
                str(plate),
                str(tmp_path / "out"),
                "--scheduler",
                local.scheduler_address,
                "--compression-rate",
                "10",
                "--quiet",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert [w["well"] for w in summary["wells"]] == list(WELLS)
    assert_same_wells(tmp_path / "out", reference)


def test_the_wells_checks_reach_the_workers_that_code_their_frames(
    cluster, plate, reference, tmp_path
):
    # each task is sent its frames' share of its well's check (batch.chunk_share): the masks it
    # holds are what is coded (a mask emptied in A02's verdict shows it), the same bytes else
    import numpy as np

    from napari_flowroi import open_container
    from napari_flowroi.guard import preflight
    from napari_flowroi.readers import open_movie

    local, _ = cluster
    verdicts = {well: preflight(open_movie(plate / f"{well}.tif"), SETTINGS) for well in WELLS}
    assert all(v.ok and v.masks for v in verdicts.values())
    t = sorted(verdicts["A02"].masks)[1]
    verdicts["A02"].masks[t] = np.zeros_like(verdicts["A02"].masks[t])
    compress_movies(
        sorted(plate.glob("*.tif")),
        tmp_path / "out",
        SETTINGS,
        scheduler=local.scheduler_address,
        chunk_frames=3,
        preflight=verdicts,
    )
    frames = open_container(tmp_path / "out" / "A02.flowroi").manifest["frames"]
    assert frames[t]["roi_fraction"] == 0 and all(
        f["roi_fraction"] > 0 for i, f in enumerate(frames) if i != t
    )
    for well in ("A01", "B01"):
        got, want = (
            files_of(tmp_path / "out" / f"{well}.flowroi"),
            files_of(reference / f"{well}.flowroi"),
        )
        assert got == want, well


def test_a_worker_killed_mid_run_costs_retries_not_data(cluster, plate, reference, tmp_path):
    local, client = cluster
    pids = client.run(os.getpid)  # worker address -> pid (the nanny restarts a killed worker)
    victim = sorted(pids.values())[0]
    killed = []

    def progress(done, total):
        if done >= 2 and not killed:
            os.kill(victim, signal.SIGKILL)
            killed.append(done)

    out = tmp_path / "out"
    started = time.perf_counter()
    try:
        compress_movies(
            sorted(plate.glob("*.tif")),
            out,
            SETTINGS,
            scheduler=local.scheduler_address,
            chunk_frames=1,
            progress=progress,
        )
        outcome = "completed"
    except FlowRoIError as exc:  # allowed: a clear message, and a rerun completes
        assert "rerun" in str(exc), exc
        compress_movies(
            sorted(plate.glob("*.tif")),
            out,
            SETTINGS,
            scheduler=local.scheduler_address,
            chunk_frames=1,
        )
        outcome = "failed, rerun completed"
    print(
        f"worker {victim} killed after {killed} frames: {outcome} in "
        f"{time.perf_counter() - started:.1f} s"
    )
    assert killed
    assert_same_wells(out, reference)
    client.wait_for_workers(2, timeout=60)


def test_an_in_memory_movie_cannot_go_to_a_cluster(cluster, tmp_path):
    local, _ = cluster
    frames = moving_discs(n_frames=3, shape=(32, 40)).frames
    with pytest.raises(InputError, match="Save it as a TIFF"):
        compress_movie(frames, tmp_path / "out", scheduler=local.scheduler_address)
    assert not (tmp_path / "out").exists()


def test_an_unreachable_scheduler_is_one_clear_line(tmp_path, plate, capsys, monkeypatch):
    import socket

    import napari_flowroi.executors as executors

    monkeypatch.setattr(executors, "CONNECT_TIMEOUT", "1s")

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    status = main(
        [
            "compress",
            str(plate / "A01.tif"),
            str(tmp_path / "out"),
            "--quiet",
            "--scheduler",
            f"tcp://127.0.0.1:{port}",
        ]
    )
    err = capsys.readouterr().err
    assert status == 2 and "Cannot reach the dask scheduler" in err
    assert not (tmp_path / "out").exists()


def test_a_scheduler_file_that_does_not_exist_is_one_clear_line(tmp_path, plate, capsys):
    status = main(
        [
            "compress",
            str(plate / "A01.tif"),
            str(tmp_path / "out"),
            "--quiet",
            "--scheduler",
            str(tmp_path / "scheduler.json"),
        ]
    )
    assert status == 2 and "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_ctrl_c_with_local_workers_prints_one_line_and_the_rerun_resumes(tmp_path):
    """Ctrl-C reaches the whole foreground process group: the workers must not print tracebacks."""
    import subprocess
    import sys

    movie = tmp_path / "long.tif"
    tifffile.imwrite(
        movie,
        moving_discs(n_frames=160, shape=(96, 112), n_cells=2).frames,
        photometric="minisblack",
    )
    command = [
        sys.executable,
        "-m",
        "napari_flowroi.cli",
        "compress",
        str(movie),
        str(tmp_path / "out"),
        "--workers",
        "2",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    seen = b""
    # frames are done (stderr is a pipe: progress is a line per quarter of the movie)
    while not re.search(rb"compressing: [1-9][0-9]*/160 frames", seen):
        chunk = process.stderr.read1(256)
        assert chunk, seen.decode(errors="replace")
        seen += chunk
    os.killpg(process.pid, signal.SIGINT)
    _, rest = process.communicate(timeout=120)
    err = (seen + rest).decode(errors="replace")
    assert process.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    assert err.rstrip().endswith("flowroi: interrupted; rerun the same command to resume.")
    result = subprocess.run(command + ["--quiet"], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["frames"] == 160


def test_a_client_that_is_not_the_default_one_runs_the_plate(plate, reference, tmp_path):
    """A script's own Client, made with ``set_as_default=False`` and no other client in the
    process: the run waits on that client's event loop. Waiting on the default client's loop
    found none here ("No clients found"), and with another client present it bound the futures
    to the wrong loop, which broke when a worker died. A fresh process, so that no other test's
    client is the default."""
    script = f"""
import distributed
from napari_flowroi.plates import compress_movies
from napari_flowroi.settings import FlowRoISettings

if __name__ == "__main__":
    with distributed.LocalCluster(
        n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None,
        silence_logs=50,
    ) as local, distributed.Client(local, set_as_default=False) as client:
        compress_movies(
            sorted(__import__("pathlib").Path({str(plate)!r}).glob("*.tif")),
            {str(tmp_path / "out")!r},
            FlowRoISettings(compression_rate=10.0),
            scheduler=client,
            chunk_frames=3,
        )
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_wells(tmp_path / "out", reference)


def test_progress_on_a_cluster_moves_with_each_frame_not_each_chunk(plate, tmp_path, monkeypatch):
    """`flowroi compress --workers 2` reported a chunk's 8 frames at once when its result came
    back. The task's frames now reach the progress callback as dask events while it runs: the
    coding of frame 3 of the only chunk waits until progress has said 3 frames (a worker in this
    process, so the wait can see it); reported per chunk, it would wait in vain."""
    import threading

    import napari_flowroi.batch as batch

    said_three, waited, real = threading.Event(), [], batch.encode_frame

    def encode_frame(frame, *args, **kwargs):
        if len(waited) == 3 and not said_three.is_set():
            waited.append(said_three.wait(60))
        waited.append(True)
        return real(frame, *args, **kwargs)

    seen = []

    def progress(done, total):
        seen.append(done)
        if done >= 3:
            said_three.set()

    monkeypatch.setattr(batch, "encode_frame", encode_frame)
    with (
        distributed.LocalCluster(
            n_workers=1,
            processes=False,
            threads_per_worker=1,
            dashboard_address=":0",  # in-process, None still starts one, on 8787 if free
            silence_logs=50,
        ) as local,
        distributed.Client(local, set_as_default=False) as client,
    ):
        summary = compress_movie(
            plate / "A01.tif",
            tmp_path / "a.flowroi",
            SETTINGS,
            scheduler=client,
            chunk_frames=9,
            progress=progress,
        )
    assert summary.frames == 9 and seen[-1] == 9
    assert waited[3] is True, "progress said nothing while the chunk ran"
    assert seen == sorted(seen) and len(set(seen)) == len(seen)  # in order, no frame twice
    assert 3 in seen
