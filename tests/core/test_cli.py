import json
import subprocess
import sys

import numpy as np
import pytest
import tifffile

from napari_flowroi.cli import main


@pytest.fixture
def movie_file(tmp_path, small_movie):
    path = tmp_path / "movie.tif"
    tifffile.imwrite(path, small_movie, photometric="minisblack", metadata={"axes": "TYX"})
    return path


def test_compress_info_decompress_round_trip(tmp_path, movie_file, small_movie, capsys):
    out = tmp_path / "stack"
    assert (
        main(
            [
                "compress",
                str(movie_file),
                str(out),
                "--roi-threshold",
                "0.4",
                "--compression-rate",
                "8",
                "--no-denoise",
                "--workers",
                "2",
            ]
        )
        == 0
    )
    summary = json.loads(capsys.readouterr().out)
    assert summary["frames"] == 5 and summary["achieved_rate"] == pytest.approx(8, rel=0.1)
    assert main(["info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["settings"]["roi_threshold"] == 0.4 and info["settings"]["denoise"] is False
    assert info["shape"] == [5, 96, 112] and info["dtype"] == "uint8"
    tif = tmp_path / "decoded.tif"
    assert main(["decompress", str(out), str(tif)]) == 0
    decoded = tifffile.imread(tif)
    assert decoded.shape == small_movie.shape and decoded.dtype == np.uint8


def test_preset_file_supplies_settings_and_options_override_it(tmp_path, movie_file, capsys):
    from napari_flowroi.settings import FlowRoISettings

    preset = tmp_path / "preset.json"
    FlowRoISettings(adjacent_factor=2, compression_rate=6).to_json(preset)
    out = tmp_path / "stack"
    assert (
        main(
            [
                "compress",
                str(movie_file),
                str(out),
                "--preset",
                str(preset),
                "--compression-rate",
                "9",
                "--quiet",
            ]
        )
        == 0
    )
    capsys.readouterr()
    main(["info", str(out)])
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["adjacent_factor"] == 2 and settings["compression_rate"] == 9


@pytest.mark.parametrize(
    "args, words",
    [
        (["compress", "{tmp}/missing.tif", "{tmp}/out"], "does not exist"),
        (["compress", "{movie}", "{tmp}/out", "--roi-threshold", "1.5"], "roi threshold must be"),
        (["compress", "{movie}", "{tmp}/out", "--scaling-factor", "abc"], "invalid float"),
        (["compress", "{movie}", "{tmp}/out", "--workers", "0"], "--workers"),
        (["compress", "{movie}"], "required"),
        (["compress", "{movie}", "{tmp}/out", "--threads", "--workers", "-1"], "--workers"),
        (["info", "{tmp}"], "not a complete FlowRoI"),
        (["decompress", "{tmp}/nothing", "{tmp}/x.tif"], "nothing does not exist"),
    ],
)
def test_bad_usage_exits_2_with_one_line_and_no_traceback(tmp_path, movie_file, args, words):
    argv = [a.format(tmp=tmp_path, movie=movie_file) for a in args]
    result = subprocess.run(
        [sys.executable, "-m", "napari_flowroi.cli", *argv], capture_output=True, text=True
    )
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert words in lines[0]
    assert not (tmp_path / "out").exists()


def test_a_rerun_of_a_finished_identical_job_succeeds_and_says_already_complete(
    tmp_path, movie_file, capsys
):
    out = tmp_path / "stack"
    assert main(["compress", str(movie_file), str(out), "--quiet"]) == 0
    capsys.readouterr()
    files = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert main(["compress", str(movie_file), str(out), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "already complete" in captured.err
    assert json.loads(captured.out)["already_complete"] is True
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == files


def test_existing_output_of_other_settings_exits_2_and_is_kept(tmp_path, movie_file, capsys):
    out = tmp_path / "stack"
    assert main(["compress", str(movie_file), str(out), "--quiet"]) == 0
    manifest = (out / "manifest.json").read_bytes()
    assert main(["compress", str(movie_file), str(out), "--quiet", "--compression-rate", "9"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "manifest.json").read_bytes() == manifest


def test_console_script_is_installed():
    from pathlib import Path

    script = Path(sys.executable).parent / "flowroi"
    result = subprocess.run([str(script), "--help"], capture_output=True, text=True)
    assert result.returncode == 0 and "compress" in result.stdout


def test_several_inputs_give_one_stack_each_side_by_side_and_one_summary(
    tmp_path, small_movie, capsys
):
    from napari_flowroi.container import open_container

    for well in ("B02", "A01"):
        tifffile.imwrite(
            tmp_path / f"{well}.ome.tif",
            small_movie,
            photometric="minisblack",
            metadata={"axes": "TYX"},
        )
    still = np.full((3,) + small_movie.shape[1:], 90, np.uint8)  # an empty well
    tifffile.imwrite(
        tmp_path / "C03.tif", still, photometric="minisblack", metadata={"axes": "TYX"}
    )
    out = tmp_path / "plate"
    inputs = [str(tmp_path / n) for n in ("A01.ome.tif", "B02.ome.tif", "C03.tif")]
    assert main(["compress", *inputs, str(out), "--threads", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert [w["well"] for w in summary["wells"]] == ["A01", "B02", "C03"]
    for well in summary["wells"]:
        assert {"achieved_rate", "bytes_written", "seconds", "frames"} <= set(well)
        assert open_container(out / f"{well['well']}.flowroi").shape[0] == well["frames"]
    assert summary["totals"]["frames"] == 13 and summary["totals"]["wells"] == 3
    assert "C03: RoI empty in all frames: no cells found" in captured.err
    assert json.loads((out / "summary.json").read_text())["totals"]["frames"] == 13
    # a rerun keeps the finished wells
    assert main(["compress", *inputs, str(out), "--quiet"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"]["resumed_frames"] == 13


def test_a_folder_of_movies_is_a_plate_and_a_folder_of_frames_is_one_movie(tmp_path, small_movie):
    import cv2

    from napari_flowroi.plates import plate_inputs

    plate = tmp_path / "plate"
    plate.mkdir()
    for well in ("A1", "A2"):
        tifffile.imwrite(
            plate / f"{well}.tif", small_movie, photometric="minisblack", metadata={"axes": "TYX"}
        )
    assert [p.name for p in plate_inputs([plate])] == ["A1.tif", "A2.tif"]
    frames = tmp_path / "frames"
    frames.mkdir()
    for t, frame in enumerate(small_movie):
        cv2.imwrite(str(frames / f"t{t}.png"), frame)
    assert plate_inputs([frames]) is None
    wells = tmp_path / "wells"
    for well in ("B1", "B2"):
        (wells / well).mkdir(parents=True)
        for t, frame in enumerate(small_movie):
            cv2.imwrite(str(wells / well / f"t{t}.png"), frame)
    assert [p.name for p in plate_inputs([wells])] == ["B1", "B2"]


def test_workers_above_one_run_a_local_cluster_of_processes_with_the_same_result(
    tmp_path, movie_file, capsys
):
    assert main(["compress", str(movie_file), str(tmp_path / "threads"), "--quiet"]) == 0
    assert (
        main(["compress", str(movie_file), str(tmp_path / "procs"), "--quiet", "--workers", "2"])
        == 0
    )
    for name in ("manifest.json", "frames/frame_000003.jp2"):
        assert (tmp_path / "threads" / name).read_bytes() == (
            tmp_path / "procs" / name
        ).read_bytes()


def test_tune_suggests_settings_and_saves_a_preset_compress_uses(tmp_path, capsys):
    from napari_flowroi.settings import FlowRoISettings
    from napari_flowroi.synthetic import moving_discs

    movie = tmp_path / "still.tif"
    tifffile.imwrite(
        movie,
        moving_discs(n_frames=4, shape=(128, 160), static_cells=True, noise=4.0).frames,
        photometric="minisblack",
    )
    preset = tmp_path / "suggested.json"
    assert (
        main(
            [
                "tune",
                str(movie),
                "--compression-rate",
                "12",
                "--no-appearance-roi",
                "--save",
                str(preset),
                "--quiet",
            ]
        )
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert len(report["candidates"]) >= 20 and report["summary"]
    suggested = FlowRoISettings.from_json(preset)
    assert suggested.to_dict() == report["suggested"] and suggested.compression_rate == 12
    assert suggested.plain or suggested.appearance_roi  # still cells: motion alone cannot win
    assert (
        main(["compress", str(movie), str(tmp_path / "out"), "--preset", str(preset), "--quiet"])
        == 0
    )


def test_low_coverage_is_refused_before_coding_unless_forced_then_reported(tmp_path, capsys):
    from napari_flowroi.synthetic import moving_discs

    movie = tmp_path / "still.tif"
    tifffile.imwrite(
        movie,
        moving_discs(n_frames=4, shape=(128, 160), static_cells=True).frames,
        photometric="minisblack",
    )
    # still cells give no motion: the guard refuses before anything is written
    assert (
        main(["compress", str(movie), str(tmp_path / "motion"), "--no-appearance-roi", "--quiet"])
        == 2
    )
    error = capsys.readouterr().err
    assert error.strip().count("\n") == 0 and "--force" in error and "cell pixels" in error
    assert not (tmp_path / "motion").exists()
    assert (
        main(
            [
                "compress",
                str(movie),
                str(tmp_path / "motion"),
                "--no-appearance-roi",
                "--quiet",
                "--force",
            ]
        )
        == 0
    )
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary["cell_coverage"]["mean"] < 0.5
    assert "flowroi: note: the RoI holds an estimated" in captured.err
    assert "below the coverage target" in summary["notes"][-1]  # in the JSON as ever
    assert main(["info", str(tmp_path / "motion")]) == 0
    assert json.loads(capsys.readouterr().out)["cell_coverage"] == summary["cell_coverage"]
    assert main(["compress", str(movie), str(tmp_path / "both"), "--quiet"]) == 0
    captured = capsys.readouterr()
    both = json.loads(captured.out)
    # the appearance source holds the still cells; the guard, which reads change over time,
    # finds none to judge and gives no estimate (it read "100 %" before)
    assert both["mean_roi_fraction"] > 0 and "cell_coverage" not in both
    # and says why there is none, rather than leaving the estimate out without a word
    assert any("guard found no cells" in note for note in both["notes"])
    assert "guard found no cells" in captured.err
    assert "coverage target" not in captured.err


def test_roi_mask_file_is_protected_and_recorded(tmp_path, small_movie, capsys):
    from napari_flowroi.container import open_container

    movie = tmp_path / "movie.tif"
    tifffile.imwrite(movie, small_movie, photometric="minisblack")
    masks = np.zeros(small_movie.shape, np.uint16)
    masks[:, 10:30, 10:40] = 7
    mask_file = tmp_path / "masks.tif"
    tifffile.imwrite(mask_file, masks, photometric="minisblack")
    out = tmp_path / "out"
    assert (
        main(
            [
                "compress",
                str(movie),
                str(out),
                "--no-motion-roi",
                "--no-appearance-roi",
                "--roi-mask",
                str(mask_file),
                "--quiet",
            ]
        )
        == 0
    )
    container = open_container(out)
    assert container.manifest["input"]["roi_mask"] == str(mask_file)
    stored = np.asarray(container.masks()[2])
    assert stored[10:30, 10:40].all()
    bad = tmp_path / "bad.tif"
    tifffile.imwrite(bad, masks[:, :20], photometric="minisblack")
    assert main(["compress", str(movie), str(tmp_path / "o2"), "--roi-mask", str(bad)]) == 2
    assert "give one mask frame of the movie's size" in capsys.readouterr().err
    assert not (tmp_path / "o2").exists()


def test_target_psnr_replaces_the_rate_and_frames_get_their_own_rates(tmp_path, movie_file, capsys):
    out = tmp_path / "quality"
    assert main(["compress", str(movie_file), str(out), "--target-psnr", "38", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["info", str(out)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["settings"]["target_psnr"] == 38
    assert info["frame_rates"]["min"] <= info["frame_rates"]["median"] <= info["frame_rates"]["max"]


@pytest.fixture
def plate_output(tmp_path, small_movie, capsys):
    """A folder of three stacks and summary.json, as a plate run (or a file's planes) writes."""
    inputs = []
    for i in range(3):
        path = tmp_path / f"well{i}.tif"
        tifffile.imwrite(
            path,
            np.roll(small_movie, 7 * i, axis=-1),
            photometric="minisblack",
            metadata={"axes": "TYX"},
        )
        inputs.append(str(path))
    out = tmp_path / "plate"
    assert main(["compress", *inputs, str(out), "--quiet", "--compression-rate", "6"]) == 0
    capsys.readouterr()
    return out


def test_info_and_verify_of_a_folder_give_one_line_per_stack(plate_output, capsys):
    stacks = sorted(p for p in plate_output.iterdir() if p.is_dir())
    assert main(["info", str(plate_output)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert [json.loads(line)["container"] for line in lines] == [str(p) for p in stacks]
    for line, stack in zip(lines, stacks, strict=True):
        assert main(["info", str(stack)]) == 0
        full = json.loads(capsys.readouterr().out)
        brief = json.loads(line)
        assert brief["shape"] == full["shape"] and brief["bytes_written"] == full["bytes_written"]
    assert main(["verify", str(plate_output), "--quiet"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == len(stacks) + 1 and all("all frames match" in x for x in out[:-1])


def test_verify_of_a_folder_fails_when_any_stack_is_damaged_missing_or_unfinished(
    plate_output, capsys
):
    import shutil

    stacks = sorted(p for p in plate_output.iterdir() if p.is_dir())
    frame = sorted((stacks[1] / "frames").iterdir())[2]
    frame.write_bytes(frame.read_bytes()[:-40])  # truncated
    assert main(["verify", str(plate_output), "--quiet"]) == 1
    captured = capsys.readouterr()
    assert f"{stacks[1]}: frame 2: truncated" in captured.err
    assert "1 of 3 stacks failed" in captured.err
    assert captured.out.count("all frames match") == 2
    # a stack summary.json lists that is gone, one whose run never finished
    shutil.rmtree(stacks[0])
    (stacks[2] / "manifest.json").unlink()
    assert main(["verify", str(plate_output), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert f"{stacks[0]}: missing" in err and f"{stacks[2]}:" in err and "3 of 3" in err
    assert main(["info", str(plate_output)]) == 2
    captured = capsys.readouterr()
    assert len(captured.out.strip().splitlines()) == 1  # the one stack that still opens
    assert "2 of 3 stacks could not be read" in captured.err


def test_a_reader_that_closes_the_pipe_early_ends_the_command_quietly(tmp_path, movie_file):
    """`flowroi info X | head`: no "Broken pipe" error, no traceback."""
    out = tmp_path / "stack"
    assert main(["compress", str(movie_file), str(out), "--quiet"]) == 0
    process = subprocess.Popen(
        [sys.executable, "-m", "napari_flowroi.cli", "info", str(out)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    process.stdout.close()  # before the command has written anything: its first write fails
    err = process.stderr.read().decode()
    assert process.wait(timeout=60) == 141
    assert err == ""


def test_a_calibration_warning_prints_as_one_flowroi_line(tmp_path, small_movie, capsys):
    path = tmp_path / "bad.ome.tif"
    tifffile.imwrite(path, small_movie, ome=True, metadata={"axes": "TYX", "PhysicalSizeX": 0.25})
    with tifffile.TiffFile(path) as tif:
        xml = tif.ome_metadata
    tifffile.tiffcomment(path, xml.replace('PhysicalSizeX="0.25"', 'PhysicalSizeX="abc"'))
    assert main(["roi", str(path), str(tmp_path / "roi.tif"), "--no-denoise"]) == 0
    lines = [line for line in capsys.readouterr().err.splitlines() if "PhysicalSizeX" in line]
    assert len(lines) == 1 and lines[0].startswith("flowroi: warning: ")
    assert "CalibrationWarning" not in lines[0] and ".py:" not in lines[0]
