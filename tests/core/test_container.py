import errno
import json
import os

import numpy as np
import pytest

from napari_flowroi.batch import compress_movie
from napari_flowroi.codec import has_mask
from napari_flowroi.container import (
    PROGRESS,
    frame_name,
    manifest_reserve,
    open_container,
    record_reserve,
    sha256,
)
from napari_flowroi.errors import FlowRoIError, OutputError
from napari_flowroi.settings import FlowRoISettings

from ..conftest import compress_interrupted


def test_container_holds_sortable_jp2_frames_masks_and_a_manifest(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_movie(small_movie, out, FlowRoISettings(compression_rate=10))
    names = sorted(p.name for p in (out / "frames").iterdir())
    assert names == [f"frame_{t:06d}.jp2" for t in range(len(small_movie))]
    assert not (out / PROGRESS).exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["shape"] == list(small_movie.shape) and manifest["dtype"] == "uint8"
    assert manifest["settings"]["compression_rate"] == 10
    assert manifest["software"]["name"] == "napari-flowroi"
    for t, record in enumerate(manifest["frames"]):
        assert sha256((out / frame_name(t)).read_bytes()) == record["sha256"]
        assert has_mask((out / frame_name(t)).read_bytes())  # the RoI, in a box of the JP2
    assert not (out / "masks").exists()


@pytest.mark.parametrize("dtype", [np.uint8, np.float32])
def test_byte_reserve_covers_the_real_manifest_closely(tmp_path, dtype):
    from napari_flowroi.batch import run_description
    from napari_flowroi.readers import movie_from_array
    from napari_flowroi.synthetic import moving_discs

    frames = moving_discs(n_frames=4, shape=(64, 80), dtype=dtype).frames
    out = tmp_path / "stack"
    compress_movie(frames, out, FlowRoISettings())
    manifest_size = (out / "manifest.json").stat().st_size
    movie = movie_from_array(frames)
    reserved = 4 * (
        record_reserve(movie.frame_nbytes, True, dtype == np.float32)
        + manifest_reserve(run_description(movie, FlowRoISettings()), 4)
    )
    assert manifest_size <= reserved <= manifest_size + 4 * 80


def test_reading_gives_a_lazy_array_with_the_original_dtype(tmp_path):
    from napari_flowroi.synthetic import moving_discs

    frames = moving_discs(n_frames=3, shape=(64, 80), dtype=np.uint16).frames
    out = tmp_path / "stack"
    # the first defaults' background (scaling 4, sigma 2): the default 10 / 8 flattens the
    # synthetic texture outside the RoI by design, far beyond 2 % of the range on average
    compress_movie(
        frames, out, FlowRoISettings(compression_rate=4, scaling_factor=4.0, background_sigma=2.0)
    )
    container = open_container(out)
    lazy = container.frames()
    assert lazy.shape == frames.shape and lazy.dtype == np.uint16
    assert lazy.chunks[0] == (1, 1, 1)
    frame = lazy[1].compute()
    assert np.abs(frame.astype(float) - frames[1]).mean() < 0.02 * frames.max()
    assert container.masks()[1].compute().dtype == bool


def test_existing_output_is_never_overwritten_without_being_told(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_movie(small_movie, out, FlowRoISettings())
    before = (out / "manifest.json").read_bytes()
    with pytest.raises(OutputError, match="--overwrite"):
        compress_movie(small_movie, out, FlowRoISettings(compression_rate=5))
    assert (out / "manifest.json").read_bytes() == before
    compress_movie(small_movie, out, FlowRoISettings(compression_rate=5), overwrite=True)
    assert open_container(out).settings.compression_rate == 5


def test_overwrite_refuses_a_folder_that_is_not_a_container(tmp_path, small_movie):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    with pytest.raises(OutputError):
        compress_movie(small_movie, out, FlowRoISettings(), overwrite=True)
    assert (out / "thesis.docx").exists()


def test_interrupted_run_resumes_to_the_same_result(tmp_path, small_movie):
    settings = FlowRoISettings(compression_rate=12)
    reference = tmp_path / "reference"
    compress_movie(small_movie, reference, settings)

    out = tmp_path / "resumed"
    compress_interrupted(small_movie, out, settings, at=3)  # Ctrl-C during frame 3
    assert not (out / "manifest.json").exists()
    with pytest.raises(FlowRoIError, match="interrupted"):
        open_container(out)
    summary = compress_movie(small_movie, out, settings)
    assert summary.resumed_frames == 2
    for name in ["manifest.json"] + [f"frames/frame_{t:06d}.jp2" for t in range(5)]:
        assert (out / name).read_bytes() == (reference / name).read_bytes(), name


def test_resume_with_other_settings_is_refused(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_interrupted(small_movie, out, FlowRoISettings(), at=1)
    with pytest.raises(OutputError, match="other settings"):
        compress_movie(small_movie, out, FlowRoISettings(compression_rate=7))


def test_a_corrupted_finished_frame_is_coded_again_on_resume(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_interrupted(small_movie, out, FlowRoISettings(), at=4, chunk_frames=100)
    (out / "frames" / "frame_000001.jp2").write_bytes(b"garbage")
    summary = compress_movie(small_movie, out, FlowRoISettings())
    assert summary.resumed_frames == 2  # frames 0 and 2 survived, 1 was damaged
    record = open_container(out).manifest["frames"][1]
    assert sha256((out / frame_name(1)).read_bytes()) == record["sha256"]


# --- disk full, unwritable output ----------------------------------------------------------------


def _sha(folder):
    return {p.name: sha256(p.read_bytes()) for p in folder.rglob("*") if p.is_file()}


def test_disk_full_is_a_clear_error_that_leaves_nothing_complete_looking(tmp_path, monkeypatch):
    import errno
    import os

    import tifffile

    from napari_flowroi.synthetic import moving_discs

    movie = tmp_path / "in" / "movie.tif"
    movie.parent.mkdir()
    tifffile.imwrite(
        movie,
        moving_discs(n_frames=5, shape=(48, 64)).frames,
        photometric="minisblack",
        metadata={"axes": "TYX"},
    )
    before = _sha(movie.parent)
    real_replace, renames = os.replace, []

    def full_disk(src, dst):  # the fourth file (frame 1's JP2, after run.json and frame 0's
        renames.append(dst)  # JP2 and record) does not fit
        if len(renames) == 4:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", full_disk)
    out = tmp_path / "out"
    with pytest.raises(OutputError, match="No space left.*rerun the same command"):
        compress_movie(movie, out)
    assert not (out / "manifest.json").exists()
    assert not list(out.rglob("*.tmp"))  # the temporary file of the failed write is gone
    with pytest.raises(FlowRoIError, match="interrupted"):
        open_container(out)
    assert _sha(movie.parent) == before
    monkeypatch.setattr(os, "replace", real_replace)
    summary = compress_movie(movie, out)  # space freed: the rerun resumes
    assert summary.resumed_frames == 1 and open_container(out).shape[0] == 5


def test_disk_full_at_the_first_write_leaves_no_folder(tmp_path, small_movie, monkeypatch):
    import errno
    import os

    def full_disk(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full_disk)
    with pytest.raises(OutputError, match="No space left"):
        compress_movie(small_movie, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_an_unwritable_output_is_a_clear_error(tmp_path, small_movie, monkeypatch):
    import errno
    from pathlib import Path

    real_mkdir = Path.mkdir

    def denied(self, *a, **k):  # tests run as root, where chmod does not stop writes
        if "locked" in self.parts:
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(Path, "mkdir", denied)
    with pytest.raises(OutputError, match="Permission denied.*can write to"):
        compress_movie(small_movie, tmp_path / "locked" / "out")
    assert not (tmp_path / "locked").exists()


def test_an_output_under_a_file_is_a_clear_error(tmp_path, small_movie):
    (tmp_path / "afile").write_text("x")
    with pytest.raises(OutputError, match="Cannot write"):
        compress_movie(small_movie, tmp_path / "afile" / "out")


# --- the napari reader stays lazy ----------------------------------------------------------------


def test_the_napari_reader_opens_a_stack_without_decoding_its_frames(
    tmp_path, small_movie, monkeypatch
):
    import dask.array as da

    from napari_flowroi import codec
    from napari_flowroi.napari._reader import get_reader

    out = tmp_path / "stack"
    compress_movie(small_movie, out)
    reads = []
    real = codec.decode_jp2
    monkeypatch.setattr(codec, "decode_jp2", lambda data: reads.append(data) or real(data))
    layers = get_reader(str(out))(str(out))
    frames = layers[0][0]
    assert isinstance(frames, da.Array) and frames.shape == small_movie.shape
    assert reads == []  # uint8: not even the contrast limits need a frame
    frames[3].compute()
    assert len(reads) == 1


@pytest.mark.parametrize("kind", ["one container (plain TIFF)", "a folder of two (OME-TIFF)"])
def test_a_cancelled_decompress_stops_inside_the_decoding_and_leaves_nothing(
    tmp_path, small_movie, kind
):
    import threading

    from napari_flowroi.container import decompress
    from napari_flowroi.errors import CancelledError

    source = tmp_path / "stacks"
    members = ["a", "b"] if kind.startswith("a folder") else [None]
    for name in members:
        out = source / name if name else source
        compress_movie(small_movie, out, FlowRoISettings(compression_rate=10))
    n = len(small_movie) * len(members)
    output = tmp_path / "decoded.tif"
    output.write_bytes(b"an earlier export")  # overwrite=True must not lose it to a cancel
    cancel, reports = threading.Event(), []

    def cancel_after_two(done, total):
        reports.append((done, total))
        if done == 2:
            cancel.set()

    with pytest.raises(CancelledError, match="nothing was written"):
        decompress(source, output, overwrite=True, progress=cancel_after_two, cancel=cancel)
    assert reports == [(1, n), (2, n)]  # stopped before the third frame was decoded
    assert output.read_bytes() == b"an earlier export"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["decoded.tif", "stacks"]  # no .partial

    cancel.clear()  # not set: the whole stack, as before
    decompress(source, output, overwrite=True, cancel=cancel)
    import tifffile

    with tifffile.TiffFile(output) as tif:  # every frame of every container (one series each)
        assert sum(s.size for s in tif.series) == small_movie.size * len(members)


@pytest.mark.parametrize("code", [errno.ENOENT, errno.ENOTDIR])
def test_a_missing_or_file_folder_on_the_way_is_not_told_to_resume(code):
    # the default wording promised "finished frames are kept" and a rerun of "the same command"
    # where nothing was written and the same path fails again (found by the GUI pass)
    from pathlib import Path

    from napari_flowroi.container._files import write_error

    message = str(write_error(Path("/x/y.flowroi"), OSError(code, os.strerror(code))))
    assert "Choose another output location" in message
    assert "kept" not in message and "same command" not in message
