import threading

import numpy as np
import pytest

from napari_flowroi.batch import chunks, compress_movie
from napari_flowroi.container import open_container
from napari_flowroi.errors import CancelledError, InputError, OutputError
from napari_flowroi.settings import FlowRoISettings


def test_chunks_are_runs_of_consecutive_frames():
    assert chunks([0, 1, 2, 5, 6, 9], 2) == [[0, 1], [2], [5, 6], [9]]


def test_parallel_and_serial_runs_write_identical_containers(tmp_path, small_movie):
    one = compress_movie(small_movie, tmp_path / "one", FlowRoISettings(), workers=1)
    two = compress_movie(small_movie, tmp_path / "two", FlowRoISettings(), workers=2,
                         chunk_frames=2)
    assert one.bytes_written == two.bytes_written
    for t in range(len(small_movie)):
        name = f"frames/frame_{t:06d}.jp2"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.parametrize("rate", [8, 40])
def test_total_achieved_rate_counts_the_manifest_and_is_within_five_percent(tmp_path, discs, rate):
    summary = compress_movie(discs.frames, tmp_path / "out", FlowRoISettings(compression_rate=rate))
    written = sum(p.stat().st_size for p in (tmp_path / "out").rglob("*") if p.is_file())
    assert summary.bytes_written == written
    assert summary.raw_bytes / written == pytest.approx(rate, rel=0.05)


def test_progress_reports_every_frame(tmp_path, small_movie):
    seen = []
    compress_movie(small_movie, tmp_path / "out", progress=lambda d, n: seen.append((d, n)))
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    assert sorted(d for d, _ in seen) == list(range(6))


def test_cancel_stops_and_leaves_no_complete_looking_output(tmp_path, small_movie):
    cancel = threading.Event()

    def progress(done, total):
        if done >= 2:
            cancel.set()

    with pytest.raises(CancelledError):
        compress_movie(small_movie, tmp_path / "out", progress=progress, cancel=cancel,
                       chunk_frames=1)
    assert not (tmp_path / "out" / "manifest.json").exists()
    summary = compress_movie(small_movie, tmp_path / "out")
    assert summary.resumed_frames >= 2 and open_container(tmp_path / "out").shape[0] == 5


def test_plain_mode_stores_no_masks(tmp_path, small_movie):
    compress_movie(small_movie, tmp_path / "plain", FlowRoISettings(plain=True))
    container = open_container(tmp_path / "plain")
    assert not container.has_masks and not (tmp_path / "plain" / "masks").exists()
    assert not container.masks()[0].compute().any()


def test_single_frame_needs_plain_mode(tmp_path):
    frame = np.random.default_rng(0).integers(0, 255, (1, 32, 40), np.uint8)
    with pytest.raises(InputError, match="--plain"):
        compress_movie(frame, tmp_path / "x")
    compress_movie(frame, tmp_path / "x", FlowRoISettings(plain=True))
    assert open_container(tmp_path / "x").shape == (1, 32, 40)


def test_output_inside_the_input_folder_is_refused(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        cv2.imwrite(str(folder / f"f{t}.png"), np.full((16, 16), t * 40, np.uint8))
    with pytest.raises(OutputError, match="inside the input"):
        compress_movie(folder, folder / "compressed")
    assert sorted(p.name for p in folder.iterdir()) == ["f0.png", "f1.png", "f2.png"]


def test_still_movie_compresses_with_an_empty_roi(tmp_path):
    frames = np.repeat(np.random.default_rng(2).integers(0, 255, (1, 48, 64), np.uint8), 3, 0)
    summary = compress_movie(frames, tmp_path / "still")
    assert summary.mean_roi_fraction == 0.0



def test_finished_chunks_release_their_frames_and_flows(tmp_path, discs, monkeypatch):
    """Peak memory must not grow with the movie: nothing a chunk cached outlives the chunk."""
    import napari_flowroi.batch as batch

    made = []
    real = batch.RoiExtractor
    monkeypatch.setattr(batch, "RoiExtractor", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    compress_movie(discs.frames, tmp_path / "out", chunk_frames=3)
    assert len(made) == 3
    for extractor in made:
        for cache in (extractor.prepared, extractor.motion, extractor.frame_mask):
            assert cache.cache_info().currsize == 0
