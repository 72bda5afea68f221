"""Plates (plates.py): several movies side by side, one container each and one summary."""

import json

import pytest

from napari_flowroi.cli import main
from napari_flowroi.errors import InputError, OutputError
from napari_flowroi.plates import compress_movies, well_names
from napari_flowroi.settings import FlowRoISettings

from ..conftest import write_tiff

PLAIN = FlowRoISettings(plain=True, compression_rate=4)


def test_wells_can_be_named_by_a_mapping_such_as_the_positions_of_one_file(tmp_path, small_movie):
    plate = compress_movies(
        {"pos0": small_movie, "pos1": small_movie[::-1].copy()}, tmp_path / "plate", PLAIN
    )
    assert [name for name, _ in plate.wells] == ["pos0", "pos1"]
    assert (tmp_path / "plate" / "pos1.flowroi" / "manifest.json").is_file()
    summary = json.loads((tmp_path / "plate" / "summary.json").read_text())
    assert summary["totals"]["wells"] == 2


def test_two_wells_with_one_name_are_refused(tmp_path, small_movie):
    (tmp_path / "x").mkdir()
    paths = [
        write_tiff(tmp_path, "A1.tif", small_movie),
        write_tiff(tmp_path / "x", "A1.tif", small_movie),
    ]
    with pytest.raises(InputError, match="both called A1"):
        well_names(paths)


def test_a_rerun_keeps_finished_wells_and_says_they_are_complete(tmp_path, small_movie):
    wells = [write_tiff(tmp_path, f"{name}.tif", small_movie) for name in ("A1", "A2")]
    compress_movies(wells, tmp_path / "plate", PLAIN)
    manifest = (tmp_path / "plate" / "A1.flowroi" / "manifest.json").read_bytes()
    again = compress_movies(wells, tmp_path / "plate", PLAIN)
    assert all(summary.already_complete for _, summary in again.wells)
    assert (tmp_path / "plate" / "A1.flowroi" / "manifest.json").read_bytes() == manifest


def test_a_plate_output_inside_the_plate_folder_is_refused(tmp_path, small_movie):
    plate = tmp_path / "plate"
    plate.mkdir()
    for name in ("A1", "A2"):
        write_tiff(plate, f"{name}.tif", small_movie)
    with pytest.raises(OutputError, match="inside the input"):
        compress_movies(plate, plate / "compressed", PLAIN)
    assert not (plate / "compressed").exists()
    assert main(["compress", str(plate), str(plate / "out"), "--plain", "--quiet"]) == 2
    assert not (plate / "out").exists()
    # beside the plate it is fine, from the folder or from its wells
    assert len(compress_movies(plate, tmp_path / "beside", PLAIN).wells) == 2


@pytest.mark.parametrize("extra", ["folder of frames", "png"])
def test_a_plate_folder_with_a_well_in_another_form_is_refused_not_skipped(
    tmp_path, small_movie, extra
):
    """A plate folder of TIFF stacks with a well kept as a folder of frames compressed the stacks
    only, the folder's well skipped without a word; with an image that is not a stack beside them
    the folder was read as one movie of frames and refused as 'holding stacks'."""
    import cv2

    plate = tmp_path / "plate"
    plate.mkdir()
    write_tiff(plate, "A1.tif", small_movie)
    write_tiff(plate, "A2.tif", small_movie)
    if extra == "png":
        cv2.imwrite(str(plate / "overview.png"), small_movie[0])
        named = "overview.png"
    else:
        (plate / "B1").mkdir()
        for t, frame in enumerate(small_movie):
            write_tiff(plate / "B1", f"t{t}.tif", frame)
        named = "B1/"
    with pytest.raises(InputError, match=f"also {named}.*give the wells as inputs"):
        compress_movies(plate, tmp_path / "out", PLAIN)
    assert main(["compress", str(plate), str(tmp_path / "out"), "--plain", "--quiet"]) == 2
    assert not (tmp_path / "out").exists()


def test_a_plate_of_subfolders_each_holding_one_stack_is_compressed_well_by_well(
    tmp_path, small_movie
):
    """docs/cluster.md: a plate folder holds subfolders of frames or stacks. A subfolder with one
    TIFF stack (a position's folder as microscopes export it) was read as a folder of frames and
    refused ('has shape (1, 5, 96, 112) ... Split channels or z-planes')."""
    from napari_flowroi.container import open_container

    plate = tmp_path / "plate"
    for well in ("W1", "W2"):
        (plate / well).mkdir(parents=True)
        write_tiff(plate / well, "movie.tif", small_movie)
    summary = compress_movies(plate, tmp_path / "out", PLAIN)
    assert [name for name, _ in summary.wells] == ["W1", "W2"]
    stack = open_container(tmp_path / "out" / "W2.flowroi")
    assert stack.shape == small_movie.shape


def test_a_plate_output_that_is_a_file_or_a_link_is_refused(tmp_path, small_movie):
    wells = [write_tiff(tmp_path, f"{name}.tif", small_movie) for name in ("A1", "A2")]
    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(OutputError, match="is a file; give a folder for the compressed wells"):
        compress_movies(wells, tmp_path / "file", PLAIN)
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    with pytest.raises(OutputError, match="is a link; give a folder"):
        compress_movies(wells, tmp_path / "link", PLAIN)
    assert not any((tmp_path / "real").iterdir())


def test_overwrite_with_fewer_wells_removes_the_earlier_runs_other_wells(tmp_path, small_movie):
    from napari_flowroi.batch import compress_movie

    # left behind, A3 was read by info, verify and decompress beside a summary.json of two wells
    wells = [write_tiff(tmp_path, f"{name}.tif", small_movie) for name in ("A1", "A2", "A3")]
    out = tmp_path / "plate"
    compress_movies(wells, out, PLAIN)
    compress_movies(wells[:2], out, PLAIN)  # without --overwrite nothing is removed
    assert (out / "A3.flowroi").is_dir()
    compress_movies(wells, out, PLAIN)
    summary = json.loads((out / "summary.json").read_text())
    summary["wells"].append({"well": "../outside"})  # an edited summary reaches nowhere else
    (out / "summary.json").write_text(json.dumps(summary))
    compress_movie(wells[0], tmp_path / "outside.flowroi", PLAIN)  # a container it would name
    compress_movies(wells[:2], out, PLAIN, overwrite=True)
    assert sorted(p.name for p in out.glob("*.flowroi")) == ["A1.flowroi", "A2.flowroi"]
    assert (tmp_path / "outside.flowroi" / "manifest.json").is_file()
    assert main(["verify", str(out), "--quiet"]) == 0
