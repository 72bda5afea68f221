"""The silently-wrong class of issue 13: inputs and containers that used to give a wrong result with
exit 0 are now coded right or refused with one line (exit 2)."""

import json

import numpy as np
import pytest
import tifffile

from napari_flowroi.batch import compress_movie
from napari_flowroi.cli import main
from napari_flowroi.container import frame_name, open_container, sha256
from napari_flowroi.errors import FlowRoIError, InputError, OutputError
from napari_flowroi.settings import FlowRoISettings

from ..conftest import compress_interrupted, write_tiff

PLAIN = FlowRoISettings(plain=True, compression_rate=4)


def test_float64_near_the_largest_double_round_trips_without_nan(tmp_path):
    big = np.finfo(np.float64).max
    rng = np.random.default_rng(1)
    frames = rng.uniform(-1, 1, (3, 32, 40)) * big
    frames[0, 0, 0], frames[0, 0, 1] = big, -big
    compress_movie(frames, tmp_path / "out", PLAIN)
    decoded = open_container(tmp_path / "out").frames().compute()
    assert np.isfinite(decoded).all()
    # within a few 16-bit code steps of the frame's range
    assert np.abs(decoded / big - frames / big).max() < 0.05


def test_a_tiff_with_one_page_of_another_size_is_refused_not_cut(tmp_path):
    path = tmp_path / "mixed.tif"
    with tifffile.TiffWriter(path) as tif:
        for t in range(5):
            shape = (40, 48) if t != 3 else (40, 50)
            tif.write(np.full(shape, 10 * t, np.uint8), photometric="minisblack")
    with pytest.raises(InputError, match="series"):
        compress_movie(path, tmp_path / "out", PLAIN)
    assert not (tmp_path / "out").exists()


def test_a_frame_folder_mixing_uint8_and_uint16_is_refused(tmp_path):
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(4):
        frame = np.full((32, 32), 57750, np.uint16) if t == 2 else np.full((32, 32), 40, np.uint8)
        cv2.imwrite(str(folder / f"f{t}.png"), frame)
    with pytest.raises(InputError, match="pixel type"):
        compress_movie(folder, tmp_path / "out", PLAIN)
    assert not (tmp_path / "out").exists()


def test_an_in_memory_frame_of_another_dtype_is_refused_when_read(tmp_path):
    from napari_flowroi.readers import Movie

    frames = [np.zeros((16, 16), np.uint8)] * 2 + [np.full((16, 16), 57750, np.uint16)]
    movie = Movie(shape=(3, 16, 16), dtype=np.dtype(np.uint8), read=lambda t: frames[t])
    with pytest.raises(InputError, match="pixel type"):
        movie[2]


def test_a_bool_movie_is_refused_rather_than_coded_as_0_and_1(tmp_path):
    masks = np.zeros((3, 32, 32), bool)
    masks[:, 8:20, 8:20] = True
    with pytest.raises(InputError, match="binary"):
        compress_movie(masks, tmp_path / "out", PLAIN)
    assert (
        main(
            [
                "compress",
                str(write_tiff(tmp_path, "masks.tif", masks)),
                str(tmp_path / "o"),
                "--quiet",
                "--plain",
            ]
        )
        == 2
    )


def test_resume_after_the_input_was_replaced_by_other_pixels_is_refused(tmp_path, small_movie):
    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    out = tmp_path / "out"
    compress_interrupted(movie, out, at=3)
    write_tiff(tmp_path, "movie.tif", 255 - small_movie)  # same path, shape and dtype
    with pytest.raises(OutputError, match="pixels have changed"):
        compress_movie(movie, out)
    write_tiff(tmp_path, "movie.tif", small_movie)  # the original back: the run resumes
    assert compress_movie(movie, out).resumed_frames == 2


def test_a_finished_well_whose_input_changed_is_not_kept(tmp_path, small_movie):
    from napari_flowroi.plates import compress_movies

    wells = [write_tiff(tmp_path, f"{name}.tif", small_movie) for name in ("A1", "A2")]
    compress_movies(wells, tmp_path / "plate", PLAIN)
    write_tiff(tmp_path, "A2.tif", small_movie[::-1].copy())
    with pytest.raises(OutputError, match="pixels have changed"):
        compress_movies(wells, tmp_path / "plate", PLAIN)


@pytest.fixture
def stack(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_movie(small_movie.astype(np.uint16) * 200, out, PLAIN)
    return out


def _edit_manifest(stack, change):
    path = stack / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


@pytest.mark.parametrize(
    "change, words, info_status",
    [
        # another frame shape: raw_bytes no longer fit it, the schema refuses
        (lambda m: m.update(shape=[m["shape"][0], 64, 64]), "raw_bytes", 2),
        # uint16 narrowed to uint8 with consistent sizes: schema-valid, the JP2 headers (16 bits) say
        # otherwise; info reads no frame and reports what the manifest says
        (
            lambda m: (
                m.update(dtype="uint8")
                or [r.update(raw_bytes=r["raw_bytes"] // 2) for r in m["frames"]]
            ),
            "bits",
            0,
        ),
        (lambda m: m.update(dtype="object"), "dtype", 2),
        # the resolution the RoI was found at is a share of the frame's, like flow_scale
        (lambda m: m.update(roi_flow_scale=float("nan")), "roi_flow_scale", 2),
        (lambda m: m.update(roi_flow_scale="1.0"), "roi_flow_scale", 2),
    ],
)
def test_a_manifest_that_lies_about_the_frames_is_refused_by_every_reader(
    stack, tmp_path, change, words, info_status, capsys
):
    import re

    _edit_manifest(stack, change)
    out = tmp_path / "decoded.tif"
    assert main(["decompress", str(stack), str(out)]) == 2
    assert re.search(words, capsys.readouterr().err)
    assert not out.exists() and not list(tmp_path.glob(".*partial"))
    assert main(["verify", str(stack), "--quiet"]) == 1
    assert main(["info", str(stack)]) == info_status


def test_a_frame_whose_headers_claim_a_huge_image_is_never_decoded(
    stack, tmp_path, capsys, monkeypatch
):
    from napari_flowroi import codec

    path = stack / frame_name(1)
    data = bytearray(path.read_bytes())
    siz = data.index(b"\xff\x4f\xff\x51") + 4
    data[siz + 4 : siz + 12] = (46000).to_bytes(4, "big") * 2  # codestream: Xsiz, Ysiz
    ihdr = data.index(b"ihdr") + 4
    data[ihdr : ihdr + 8] = (46000).to_bytes(4, "big") * 2  # JP2 image header: height, width
    path.write_bytes(bytes(data))
    _edit_manifest(stack, lambda m: m["frames"][1].update(sha256=sha256(bytes(data))))
    decoded = []
    real_read, real_decode = codec.read_jp2_file, codec.decode_jp2
    monkeypatch.setattr(codec, "read_jp2_file", lambda p: decoded.append(p.name) or real_read(p))
    monkeypatch.setattr(codec, "decode_jp2", lambda d: decoded.append(sha256(d)) or real_decode(d))
    with pytest.raises(FlowRoIError, match="46000x46000"):
        open_container(stack).read_frame(1)
    assert main(["verify", str(stack), "--quiet"]) == 1
    assert "frame 1: its headers claim 46000x46000" in capsys.readouterr().err
    assert main(["decompress", str(stack), str(tmp_path / "out.tif")]) == 2
    assert "46000x46000" in capsys.readouterr().err
    assert not (tmp_path / "out.tif").exists() and not list(tmp_path.glob(".*partial"))
    assert "frame_000001.jp2" not in decoded and sha256(bytes(data)) not in decoded


def test_tune_save_never_overwrites_the_input_movie(tmp_path, small_movie, capsys):
    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    before = movie.read_bytes()
    assert main(["tune", str(movie), "--save", str(movie), "--quiet"]) == 2
    assert "input" in capsys.readouterr().err
    assert movie.read_bytes() == before
    (tmp_path / "folder").mkdir()
    assert main(["tune", str(movie), "--save", str(tmp_path / "folder"), "--quiet"]) == 2
    assert "folder" in capsys.readouterr().err


def test_tune_save_through_a_file_is_refused_before_any_setting_is_tried(
    tmp_path, small_movie, capsys, monkeypatch
):
    # the write failed only after the search, with a message promising "finished frames"
    from napari_flowroi import tune

    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    (tmp_path / "notes.txt").write_text("a file, not a folder")
    tried = []
    monkeypatch.setattr(tune, "suggest_settings", lambda *a, **k: tried.append(a))
    save = tmp_path / "notes.txt" / "sub" / "preset.json"
    assert main(["tune", str(movie), "--save", str(save), "--quiet"]) == 2
    assert "notes.txt is a file, not a folder" in capsys.readouterr().err
    assert not tried and (tmp_path / "notes.txt").read_text() == "a file, not a folder"


def test_tune_save_on_a_full_disk_leaves_no_folder_and_promises_no_resume(
    tmp_path, small_movie, capsys, monkeypatch
):
    import errno
    import pathlib

    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    real = pathlib.Path.write_bytes

    def full(self, data):
        if self.name.endswith(".partial"):
            raise OSError(errno.ENOSPC, "No space left on device", str(self))
        return real(self, data)

    monkeypatch.setattr(pathlib.Path, "write_bytes", full)
    save = tmp_path / "presets" / "lab" / "preset.json"
    assert main(["tune", str(movie), "--save", str(save), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "No space left" in err and "resume" not in err
    assert not (tmp_path / "presets").exists()  # the folders made for it removed again


def test_resume_after_a_few_pixels_of_a_coded_frame_changed_is_refused(tmp_path, small_movie):
    # the sampled fingerprint of earlier versions read 4 x 512 bytes per frame and missed this
    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    out = tmp_path / "out"
    compress_interrupted(movie, out, at=3)
    edited = small_movie.copy()
    edited[1, 5, 7:10] ^= 1  # three pixels of frame 1, which the interrupted run coded
    write_tiff(tmp_path, "movie.tif", edited)
    with pytest.raises(OutputError, match=r"pixels have changed since \(frame 1\)"):
        compress_movie(movie, out)
    write_tiff(tmp_path, "movie.tif", small_movie)
    assert compress_movie(movie, out).resumed_frames == 2


def test_a_finished_stack_whose_input_changed_by_one_pixel_is_not_kept(tmp_path, small_movie):
    movie = write_tiff(tmp_path, "movie.tif", small_movie)
    compress_movie(movie, tmp_path / "out", PLAIN)
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert len(manifest["input"]["content"]) == 32 and set(manifest["input"]["content"]) != {"0"}
    assert not any("input_sha256" in r for r in manifest["frames"])  # kept in progress only
    assert compress_movie(movie, tmp_path / "out", PLAIN).already_complete
    edited = small_movie.copy()
    edited[-1, 0, 0] ^= 1
    write_tiff(tmp_path, "movie.tif", edited)
    with pytest.raises(OutputError, match="pixels have changed.*to keep it"):  # not "finish"
        compress_movie(movie, tmp_path / "out", PLAIN)


# --- a folder of frames of several series (Micro-Manager, Opera/Operetta exports) -------------------


def _folder(tmp_path, names):
    """A folder holding a distinct 32x40 uint8 frame under each name (its value: its index)."""
    import cv2

    folder = tmp_path / "frames"
    folder.mkdir()
    for i, name in enumerate(names):
        cv2.imwrite(str(folder / name), np.full((32, 40), 10 * i, np.uint8))
    return folder


@pytest.mark.parametrize(
    ("names", "words"),
    [
        # Micro-Manager 2: channel-major in natural order, the channels one after the other
        (
            [
                f"img_channel{c:03d}_position000_time{t:09d}_z000.tif"
                for c in (0, 1)
                for t in range(3)
            ],
            r"several series: their names vary in channel 0-1 as well as in time 0-2",
        ),
        # Micro-Manager 1.4: the channel as a word, the channels alternating in natural order
        (
            [f"img_{t:09d}_{c}_000.tif" for t in range(3) for c in ("GFP", "Phase")],
            r"several series: their names differ besides their numbers \(img_000000000_GFP_000",
        ),
        # an Opera / Operetta export: channel and time point (sk) both vary
        (
            [f"r01c01f01p01-ch{c}sk{t}fk1fl1.tiff" for c in (1, 2) for t in (1, 2, 3)],
            r"several series: their names vary in ch 1-2 as well as in sk 1-3",
        ),
        # NIS-Elements: stage positions (XY) and time points
        (
            [f"Seq0000_XY{p}_T{t:03d}_C1.tif" for p in (1, 2) for t in range(3)],
            r"vary in xy 1-2 as well as in t 0-2",
        ),
        # labels and numbers apart: wells' sites and time points
        (
            [f"Well_A01_Site_{s}_T{t:04d}.tif" for s in (1, 2) for t in range(3)],
            r"vary in site 1-2 as well as in t 0-2",
        ),
        # a stray image among the frames
        ([*(f"frame_{t:03d}.png" for t in range(3)), "background.png"], r"differ besides"),
    ],
)
def test_a_frame_folder_of_several_series_is_refused_not_sorted_into_one_movie(
    tmp_path, names, words
):
    """Natural order put one channel's frames after the other's, or alternated them, and the
    movie's motion was the jump between channels: exit 0, a wrong movie."""
    folder = _folder(tmp_path, names)
    with pytest.raises(InputError, match=words):
        compress_movie(folder, tmp_path / "out", PLAIN)
    assert main(["compress", str(folder), str(tmp_path / "out"), "--quiet"]) == 2
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "names",
    [
        # BaSiC's brightfield movie: position, z and wavelength fixed, time alone varies
        [f"140206PH8_p0010_t{t:05d}_z001_w00.png" for t in (5099, 5100, 5101)],
        # timestamps: the date and the hour both vary, unlabelled, in time order
        ["movie_20240501_2200.png", "movie_20240501_2300.png", "movie_20240502_0000.png"],
        # no numbers at all: the images in the order of their names, as before
        ["a.png", "b.png", "c.png"],
    ],
)
def test_a_frame_folder_of_one_series_is_one_movie_in_order(tmp_path, names):
    from napari_flowroi.readers import open_movie

    movie = open_movie(_folder(tmp_path, names))
    assert [int(movie[t][0, 0]) for t in range(len(movie))] == [0, 10, 20]
