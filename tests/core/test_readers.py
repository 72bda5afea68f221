import numpy as np
import pytest
import tifffile

from napari_flowroi.errors import InputError
from napari_flowroi.readers import frame_sort_key, open_movie
from napari_flowroi.synthetic import moving_discs

from ..conftest import write_tiff


def test_folder_frames_sort_by_number_not_by_string(tmp_path):
    import cv2

    for t in (10, 2, 1):
        cv2.imwrite(str(tmp_path / f"frame_{t}.png"), np.full((8, 9), t, np.uint8))
    movie = open_movie(tmp_path)
    assert movie.shape == (3, 8, 9)
    assert [int(movie[t][0, 0]) for t in range(3)] == [1, 2, 10]
    assert frame_sort_key(tmp_path / "a_t05100_z001.png") > frame_sort_key(
        tmp_path / "a_t05099_z002.png"
    )


def test_tiff_stack_reads_frame_by_frame_with_physical_metadata(tmp_path):
    frames = np.arange(4 * 6 * 7, dtype=np.uint16).reshape(4, 6, 7)
    path = tmp_path / "movie.ome.tif"
    tifffile.imwrite(
        path,
        frames,
        ome=True,
        metadata={
            "axes": "TYX",
            "PhysicalSizeX": 0.65,
            "PhysicalSizeY": 0.65,
            "TimeIncrement": 30.0,
        },
    )
    movie = open_movie(path)
    assert movie.shape == (4, 6, 7) and movie.dtype == np.uint16
    assert np.array_equal(movie[2], frames[2])
    assert movie.physical["pixel_size_x"] == pytest.approx(0.65)
    assert movie.physical["time_interval"] == pytest.approx(30.0)


def _text(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def _folder(tmp_path, name):
    path = tmp_path / name
    path.mkdir()
    return path


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda p: p / "missing.tif", "does not exist"),
        (lambda p: _folder(p, "empty"), "holds no frames"),
        (
            lambda p: write_tiff(
                p, "czyx.tif", np.zeros((2, 3, 8, 8), np.uint8), metadata={"axes": "CZYX"}
            ),
            "axes",
        ),
        (
            lambda p: write_tiff(p, "rgb.tif", np.zeros((3, 8, 8, 3), np.uint8), photometric="rgb"),
            "RGB",
        ),
        (lambda p: write_tiff(p, "int32.tif", np.zeros((3, 8, 8), np.int32)), "pixel type"),
        (lambda p: _text(p, "fake.tif", "not a tiff at all"), "Cannot read"),
        (lambda p: _text(p, "notes.txt", "x"), "not a TIFF"),
        (
            lambda p: write_tiff(
                p, "planar_rgb.tif", np.zeros((3, 8, 8), np.uint8), photometric="rgb"
            ),
            "RGB",
        ),
    ],
)
def test_bad_inputs_are_refused_with_a_message_that_says_what_to_do(tmp_path, make, words):
    with pytest.raises(InputError, match=words):
        open_movie(make(tmp_path))


def test_nan_frames_are_refused_when_read(tmp_path):
    data = np.zeros((3, 8, 8), np.float32)
    data[1, 2, 2] = np.nan
    movie = open_movie(write_tiff(tmp_path, "nan.tif", data))
    movie[0]
    with pytest.raises(InputError, match="NaN"):
        movie[1]


def test_frames_of_different_sizes_are_refused(tmp_path):
    import cv2

    cv2.imwrite(str(tmp_path / "f1.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(tmp_path / "f2.png"), np.zeros((8, 9), np.uint8))
    movie = open_movie(tmp_path)
    with pytest.raises(InputError, match="same size"):
        movie[1]


def test_a_single_image_is_a_one_frame_movie_that_only_plain_mode_compresses(tmp_path):
    from napari_flowroi.batch import compress_movie
    from napari_flowroi.settings import FlowRoISettings

    path = write_tiff(tmp_path, "single.tif", np.full((16, 24), 7, np.uint8))
    assert open_movie(path).shape == (1, 16, 24)
    with pytest.raises(InputError, match="at least two.*--plain"):
        compress_movie(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    compress_movie(path, tmp_path / "out", FlowRoISettings(plain=True))


def test_imagej_escaped_unit_is_decoded(tmp_path):
    # ImageJ's header is ASCII: Fiji writes µm as the six characters \u00B5m
    path = tmp_path / "ij.tif"
    tifffile.imwrite(
        path,
        np.zeros((3, 8, 8), np.uint8),
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"unit": "\\u00B5m", "finterval": 2.0, "axes": "TYX"},
    )
    physical = open_movie(path).physical
    assert physical["space_unit"] == "µm"
    assert physical["pixel_size_x"] == pytest.approx(0.5)
    assert physical["time_interval"] == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("unit", "tunit", "space", "time"),
    [("micron", "min", "µm", "min"), ("um", None, "µm", "s"), ("\\u00B5m", "sec", "µm", "s")],
)
def test_imagej_units_become_ome_units_through_decompress(tmp_path, unit, tunit, space, time):
    """Fiji writes unit=micron (and tunit=min when the interval is not in seconds). 'micron' went
    into the decompressed OME-TIFF's PhysicalSizeXUnit, which is no OME unit (bioio refused the
    file), and tunit was ignored: a 2-min interval came back as 2 s (OME's default unit)."""
    import re

    from napari_flowroi.cli import main

    path = tmp_path / "ij.tif"
    metadata = {
        "unit": unit,
        "finterval": 2.0,
        "axes": "TYX",
        **({"tunit": tunit} if tunit else {}),
    }
    frames = moving_discs(n_frames=4, shape=(48, 56), n_cells=2).frames
    tifffile.imwrite(path, frames, imagej=True, resolution=(2.0, 2.0), metadata=metadata)
    physical = open_movie(path).physical
    assert (physical["space_unit"], physical["time_unit"]) == (space, time)
    out, decoded = tmp_path / "c.flowroi", tmp_path / "d.ome.tif"
    assert main(["compress", str(path), str(out), "--quiet", "--force"]) == 0
    assert main(["decompress", str(out), str(decoded), "--quiet"]) == 0
    with tifffile.TiffFile(decoded) as tif:
        xml = tif.ome_metadata
    assert re.search(f'PhysicalSizeXUnit="{space}"', xml), xml
    assert re.search(f'TimeIncrement="2.0" TimeIncrementUnit="{time}"', xml), xml


def test_an_imagej_hyperstack_is_read_plane_by_plane_with_its_calibration(tmp_path):
    """Fiji's own TIFF of a movie with channels (File > Save As > Tiff) was refused with the
    advice to save it again as OME-TIFF; it is read like one, without the formats extra: one
    movie per channel, refused unnamed with the channels listed, the ImageJ calibration kept."""
    from napari_flowroi.errors import InputError
    from napari_flowroi.readers.formats import claims, describe

    frames = moving_discs(n_frames=4, shape=(32, 40), n_cells=2).frames
    planes = np.stack([frames, 255 - frames], 1)  # (T, C, Y, X)
    path = tmp_path / "fiji.tif"
    tifffile.imwrite(
        path,
        planes,
        imagej=True,
        resolution=(2.0, 2.0),
        metadata={"axes": "TCYX", "unit": "micron", "finterval": 30.0},
    )
    assert claims(path)
    (scene,) = describe(path)
    assert scene.sizes == {"T": 4, "C": 2, "Z": 1, "Y": 32, "X": 40}
    assert scene.channel_names == ("C0", "C1")
    with pytest.raises(InputError, match=r"2 channels \(C0, C1\)"):
        open_movie(path)
    for c in (0, 1):
        movie = open_movie(path, channel=c)
        assert np.array_equal(np.stack([movie[t] for t in range(len(movie))]), planes[:, c])
        physical = movie.physical
        assert physical["pixel_size_x"] == pytest.approx(0.5)
        assert (physical["space_unit"], physical["time_interval"]) == ("µm", 30.0)
        assert physical["channel_index"] == c
    # a plain ImageJ (T, Y, X) stack stays with the TIFF reader
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, frames, imagej=True, metadata={"axes": "TYX"})
    assert not claims(plain)
    assert len(open_movie(plain)) == 4


def test_unit_symbols_decode_escapes_and_keep_other_text():
    from napari_flowroi.readers.units import decode_escapes, unit_symbol

    assert unit_symbol("\\u00B5m") == "µm"
    assert unit_symbol("micron") == "µm"
    assert unit_symbol("dimensionless") is None
    assert decode_escapes("C:\\data\\u00B5m") == "C:\\dataµm"
    assert decode_escapes("C:\\data") == "C:\\data"  # a backslash alone is left as it is


def _ome_with_pixel_size(path, size_x: str):
    """A (T, Y, X) OME-TIFF whose PhysicalSizeX attribute is `size_x`, verbatim."""
    frames = np.arange(3 * 8 * 9, dtype=np.uint16).reshape(3, 8, 9)
    tifffile.imwrite(
        path,
        frames,
        ome=True,
        metadata={"axes": "TYX", "PhysicalSizeX": 0.25, "PhysicalSizeY": 0.25},
    )
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    assert 'PhysicalSizeX="0.25"' in xml
    tifffile.tiffcomment(path, xml.replace('PhysicalSizeX="0.25"', f'PhysicalSizeX="{size_x}"'))
    return frames


@pytest.mark.parametrize("size_x", ["abc", "nan", "-1"])
def test_a_non_numeric_ome_pixel_size_warns_and_the_pixels_are_still_read(tmp_path, size_x):
    from napari_flowroi.readers.tiff import CalibrationWarning

    path = tmp_path / "bad.ome.tif"
    frames = _ome_with_pixel_size(path, size_x)
    with pytest.warns(CalibrationWarning, match="PhysicalSizeX"):
        movie = open_movie(path)
    assert "pixel_size_x" not in movie.physical and "pixel_size_y" not in movie.physical
    assert "space_unit" not in movie.physical
    np.testing.assert_array_equal(movie[2], frames[2])


def test_a_good_ome_pixel_size_is_kept_without_a_warning(tmp_path):
    import warnings

    path = tmp_path / "good.ome.tif"
    _ome_with_pixel_size(path, "0.5")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # not about this read: a movie of an earlier test closes its file when the garbage
        # collector gets to it, which may happen in here (an unclosed-file ResourceWarning)
        warnings.simplefilter("ignore", ResourceWarning)
        movie = open_movie(path)
    assert movie.physical["pixel_size_x"] == pytest.approx(0.5)
    assert movie.physical["pixel_size_y"] == pytest.approx(0.25)


def test_a_one_frame_movie_is_refused_for_motion_where_it_is_checked():
    from napari_flowroi.readers import movie_from_array, require_motion

    require_motion(movie_from_array(np.zeros((2, 8, 8), np.uint8)))
    with pytest.raises(InputError, match="at least two frames.*--plain"):
        require_motion(movie_from_array(np.zeros((8, 8), np.uint8)))


def test_frame_digest_sees_one_changed_pixel_and_the_pixel_type():
    from napari_flowroi.readers import frame_digest, movie_digest

    frame = np.zeros((16, 16), np.uint16)
    other = frame.copy()
    other[7, 9] = 1
    assert frame_digest(frame) == frame_digest(frame.copy())
    assert frame_digest(frame) != frame_digest(other)
    assert frame_digest(frame) != frame_digest(frame.astype(np.uint8))
    assert frame_digest(frame[:, ::2]) == frame_digest(np.ascontiguousarray(frame[:, ::2]))
    a, b = frame_digest(frame), frame_digest(other)
    assert movie_digest([a, b]) != movie_digest([b, a])
    assert len(movie_digest([a, b])) == 32


def test_a_dask_movies_frames_are_computed_without_dasks_global_callbacks():
    """napari registers dask's opportunistic cache as a global callback, and that cache is not
    thread-safe: frames our workers compute must not go through it while napari slices on the
    main thread (a KeyError in Cache._posttask under the random layer actions)."""
    import dask.array as da
    from dask.callbacks import Callback

    from napari_flowroi.readers import open_movie

    seen = []

    class Spy(Callback):
        def _pretask(self, key, dsk, state):
            seen.append(key)

    array = da.from_array(
        np.arange(3 * 8 * 10, dtype=np.uint16).reshape(3, 8, 10), chunks=(1, 8, 10)
    )
    movie = open_movie(array)
    spy = Spy()
    spy.register()
    try:
        frame = movie[1]
        while_reading = len(seen)
        array[1].compute()  # the same spy sees an ordinary compute
    finally:
        spy.unregister()
    np.testing.assert_array_equal(frame, np.arange(80, 160, dtype=np.uint16).reshape(8, 10))
    assert isinstance(frame, np.ndarray)
    assert while_reading == 0
    assert len(seen) > 0


def test_overlapping_tifffile_contexts_keep_its_complaints_off_the_terminal(caplog):
    # files are opened from several threads at once (a batch's chunks); each context once
    # restored the propagation it had found on entering, so the first to leave turned it back on
    # while the other still read, and a cut-off file's complaint reached the terminal
    import logging
    import threading

    from napari_flowroi.readers.tiff import tifffile_complaints

    logger = logging.getLogger("tifffile")
    first, second = tifffile_complaints(), tifffile_complaints()
    mine = first.__enter__()
    theirs = second.__enter__()
    first.__exit__(None, None, None)
    with caplog.at_level(logging.WARNING):
        logger.error("invalid page offset")
        reader = threading.Thread(target=lambda: logger.error("another thread's file"))
        reader.start()
        reader.join()
    second.__exit__(None, None, None)
    assert [r.getMessage() for r in caplog.records if r.name == "tifffile"] == []
    assert theirs == ["invalid page offset"] and mine == []  # its own thread's only
    assert logger.propagate  # restored once the last context is left
