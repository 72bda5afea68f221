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
    two = compress_movie(
        small_movie, tmp_path / "two", FlowRoISettings(), workers=2, chunk_frames=2
    )
    assert one.bytes_written == two.bytes_written
    for t in range(len(small_movie)):
        name = f"frames/frame_{t:06d}.jp2"
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes()


@pytest.mark.parametrize("rate", [8, 40])
def test_total_achieved_rate_counts_the_manifest_and_is_within_five_percent(tmp_path, discs, rate):
    # the first defaults' background: at 8:1 the synthetic frame damped by scaling 10 / sigma 8
    # codes below its budget (9.9:1; the achieved rate is then higher than asked)
    summary = compress_movie(
        discs.frames,
        tmp_path / "out",
        FlowRoISettings(compression_rate=rate, scaling_factor=4.0, background_sigma=2.0),
    )
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
        compress_movie(
            small_movie, tmp_path / "out", progress=progress, cancel=cancel, chunk_frames=1
        )
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
    monkeypatch.setattr(
        batch, "RoiExtractor", lambda *a, **k: made.append(real(*a, **k)) or made[-1]
    )
    compress_movie(discs.frames, tmp_path / "out", chunk_frames=3)
    # one per chunk, and the plan's (frame 0 for the RoI's resolution, batch.decided_on_frame_0)
    assert len(made) == 4
    for extractor in made:
        for cache in (extractor.prepared, extractor.motion, extractor.frame_mask):
            assert cache.cache_info().currsize == 0


# --- valid but unusual movies ------------------------------------------------------------------


def _decodes(out, frames):
    container = open_container(out)
    decoded = container.frames().compute()
    assert decoded.shape == frames.shape and decoded.dtype == frames.dtype
    return container


@pytest.mark.parametrize(
    "name, frames",
    [
        ("constant well", np.full((4, 40, 50), 77, np.uint8)),
        ("empty well", np.zeros((4, 40, 50), np.uint16)),
        ("flat float well", np.full((3, 40, 50), 0.25, np.float32)),
    ],
)
def test_a_well_with_nothing_in_it_compresses_with_an_empty_roi_and_says_so(tmp_path, name, frames):
    from napari_flowroi.batch import EMPTY_ROI_NOTE

    summary = compress_movie(frames, tmp_path / "out")
    assert summary.mean_roi_fraction == 0.0 and summary.notes == (EMPTY_ROI_NOTE,)
    assert summary.as_dict()["notes"] == [EMPTY_ROI_NOTE]
    # no cells to judge is not "100 % of the cells inside the RoI" (the summary said both)
    assert summary.cell_coverage is None and "cell_coverage" not in summary.as_dict()
    decoded = _decodes(tmp_path / "out", frames).frames().compute()
    assert np.abs(decoded.astype(float) - frames).max() <= 1e-3 * max(1, float(frames.max()))


@pytest.mark.parametrize("shape", [(2, 48, 64), (3, 1, 7), (3, 3, 5), (3, 33, 65), (2, 7, 1)])
def test_two_frame_movies_and_odd_frame_sizes_compress_and_decode(tmp_path, shape):
    frames = np.random.default_rng(1).integers(0, 255, shape, np.uint8)
    summary = compress_movie(frames, tmp_path / "out")
    assert summary.frames == shape[0]
    _decodes(tmp_path / "out", frames)


def test_frames_without_texture_and_an_all_roi_frame_compress(tmp_path):
    frames = np.zeros((4, 40, 48), np.uint8)
    frames[:, :, 24:] = 200  # two flat halves: no texture anywhere
    summary = compress_movie(frames, tmp_path / "flat")
    _decodes(tmp_path / "flat", frames)
    assert summary.frames == 4

    moving = np.random.default_rng(3).integers(0, 255, (3, 40, 48), np.uint8)
    everything = np.ones(moving.shape, bool)  # a user mask that protects every pixel
    summary = compress_movie(moving, tmp_path / "all", extra_roi=everything)
    assert summary.mean_roi_fraction == 1.0
    _decodes(tmp_path / "all", moving)


# --- long movies: memory stays flat ------------------------------------------------------------


def _streamed_movie(n_frames, shape=(96, 128)):
    """Frames made when read (like a long movie read from disk): nothing holds the whole movie."""
    from napari_flowroi.readers import Movie
    from napari_flowroi.synthetic import moving_discs

    base = moving_discs(n_frames=2, shape=shape, n_cells=3).frames

    def read(t):
        return np.roll(base[t % 2], 3 * t, axis=1)

    return Movie(shape=(n_frames,) + shape, dtype=np.dtype(np.uint8), read=read, source="stream")


def test_peak_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    """16 vs 112 streamed frames: the peak of traced allocations grows by less than half a
    frame's bytes per extra frame, so no frame, mask or frame-sized array is kept per frame (after
    a warm-up run, so lazily imported modules are not counted). The cycle collector stays on, as in
    use. benchmarks/long_movie.py measures the process's peak RSS for 100 vs 2,000 1-MP frames."""
    import gc
    import tracemalloc

    shape = (96, 128)
    compress_movie(_streamed_movie(4), tmp_path / "warm-up", FlowRoISettings(compression_rate=20))
    peaks = {16: [], 112: []}
    # The smallest of two runs each: when the look-ahead thread and the cycle collector happen to
    # run varies the peak by a frame's worth of arrays (seen under load: a ratio of peaks at 16
    # and 64 frames failed a 1.25 limit in 2 of 3 whole-suite runs on a loaded machine, 1.11 when
    # run alone); per extra frame, over 96 of them, that is a few hundred bytes. The run's records
    # of each frame (manifest, digests) add ~2.5 KB per frame; a kept frame would add 12 KB.
    for run in range(2):
        for n_frames in (16, 112):
            movie = _streamed_movie(n_frames, shape)
            gc.collect()
            tracemalloc.start()
            try:
                out = tmp_path / f"m{n_frames}-{run}"
                compress_movie(movie, out, FlowRoISettings(compression_rate=20))
                peaks[n_frames].append(tracemalloc.get_traced_memory()[1])
            finally:
                tracemalloc.stop()
    growth = (min(peaks[112]) - min(peaks[16])) / (112 - 16)
    assert growth < 0.5 * shape[0] * shape[1], peaks


def test_finding_the_next_roi_beside_the_encode_writes_the_same_bytes(tmp_path, discs, monkeypatch):
    import napari_flowroi.batch as batch

    real_mask, real_encode = batch.RoiExtractor.mask, batch.encode_frame
    seen = {"mask": set(), "encode": set()}

    def mask(self, t):
        seen["mask"].add(threading.get_ident())
        return real_mask(self, t)

    def encode(*args, **kwargs):
        seen["encode"].add(threading.get_ident())
        return real_encode(*args, **kwargs)

    monkeypatch.setattr(batch.RoiExtractor, "mask", mask)
    monkeypatch.setattr(batch, "encode_frame", encode)
    written = {}
    for ahead in (False, True):
        monkeypatch.setattr(batch, "cpus_to_spare", lambda ahead=ahead: ahead)
        seen["mask"].clear()
        seen["encode"].clear()
        out = tmp_path / f"ahead_{ahead}"
        compress_movie(discs.frames, out, FlowRoISettings(compression_rate=16))
        written[ahead] = [p.read_bytes() for p in sorted((out / "frames").glob("*.jp2"))]
        # beside the encode: the masks are found on another thread than the one coding
        assert seen["mask"].isdisjoint(seen["encode"]) == ahead
    assert written[True] == written[False] and len(written[True]) == len(discs.frames)


def test_the_runs_coverage_is_the_guards_on_the_frames_it_checks(tmp_path, discs):
    from napari_flowroi.guard import checked_frames, estimate_coverage
    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.roi import RoiExtractor

    settings = FlowRoISettings(compression_rate=16, coverage_target=0.0)
    summary = compress_movie(discs.frames, tmp_path / "out", settings)
    records = open_container(tmp_path / "out").manifest["frames"]
    checked = checked_frames(len(discs.frames))
    guard = estimate_coverage(RoiExtractor(movie_from_array(discs.frames), settings))
    assert [f.t for f in guard.frames] == checked
    # a checked frame where the guard finds no cells is not recorded as "100 % held"
    judged = [f for f in guard.frames if f.found_cells]
    assert 0 < len(judged) < len(checked)  # here frame 3 changes too little for the guard
    assert [r["index"] for r in records if "cell_coverage" in r] == [f.t for f in judged]
    for record, frame in zip([r for r in records if "cell_coverage" in r], judged, strict=True):
        assert record["cell_coverage"] == round(frame.pixel_share, 4)
    mean = sum(f.pixel_share for f in judged) / len(judged)
    assert summary.cell_coverage["mean"] == pytest.approx(mean, abs=1e-4)


def test_a_roi_that_holds_its_own_detectors_cells_is_not_reported_whole(
    tmp_path, discs, monkeypatch
):
    # issue 21: the RoI's detector misses most of the moving discs and the RoI is what it found.
    # Measured against that detector's cells the run read 100 %; the guard's change reference
    # sees the discs it left out, and the summary says so.
    import cv2

    from napari_flowroi.roi import RoiExtractor

    def one_disc(self, t):
        _n, labels, stats, _c = cv2.connectedComponentsWithStats(discs.cells[t].astype(np.uint8))
        return labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))

    monkeypatch.setattr(RoiExtractor, "mask", one_disc)
    monkeypatch.setattr(RoiExtractor, "_pooled_cells", one_disc)  # what `cells` caches
    settings = FlowRoISettings(compression_rate=16, coverage_target=0.9)
    summary = compress_movie(discs.frames, tmp_path / "out", settings)
    assert summary.cell_coverage["mean"] < 0.8
    # structured (readout.batch_done reads these), and the sentence the command line prints,
    # listed with the notes in the JSON as before
    assert summary.below_coverage_target and summary.coverage_target == 0.9
    assert "below the coverage target 90%" in summary.coverage_note
    assert summary.coverage_note not in summary.notes
    assert summary.as_dict()["notes"][-1] == summary.coverage_note
