"""`flowroi verify` checks every frame against the manifest and decodes it."""

import subprocess
import sys

import pytest

from napari_flowroi import codec
from napari_flowroi.batch import compress_movie
from napari_flowroi.cli import main
from napari_flowroi.container import frame_name, verify_container
from napari_flowroi.settings import FlowRoISettings


@pytest.fixture
def stack(tmp_path, small_movie):
    out = tmp_path / "stack"
    compress_movie(small_movie, out, FlowRoISettings(compression_rate=8))
    return out


def test_an_intact_stack_verifies_with_exit_0(stack, capsys):
    assert verify_container(stack) == []
    assert main(["verify", str(stack), "--quiet"]) == 0
    assert "all frames" in capsys.readouterr().out


def flip_byte(path, offset=-40):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0xFF
    path.write_bytes(bytes(data))


def test_damage_is_reported_by_frame_number_with_exit_1(stack):
    flip_byte(stack / frame_name(1))
    (stack / frame_name(2)).unlink()
    data = (stack / frame_name(3)).read_bytes()
    (stack / frame_name(3)).write_bytes(data[: len(data) // 3])
    (stack / frame_name(4)).write_bytes(b"\0" * len((stack / frame_name(0)).read_bytes()))
    result = subprocess.run(
        [sys.executable, "-m", "napari_flowroi.cli", "verify", str(stack), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = [line.split(": ", 1)[1] for line in result.stderr.strip().splitlines()]
    assert lines[0] == "frame 1: checksum mismatch"
    assert lines[1] == "frame 2: missing"
    assert lines[2].startswith("frame 3: truncated") and "does not decode" in lines[2]
    assert lines[3].startswith("frame 4:") and "does not decode" in lines[3]
    assert len(lines) == 4  # frame 0 is fine


def test_a_damaged_mask_is_reported(stack):
    data = (stack / frame_name(0)).read_bytes()
    # a byte of the stored mask: the grid in the codestream's comment (codec/_mask_box.py)
    flip_byte(stack / frame_name(0), offset=data.index(codec.MASK_TAG) + len(codec.MASK_TAG) + 1)
    problems = verify_container(stack)
    assert [p.frame for p in problems] == [0] and "checksum" in str(problems[0])


def test_a_folder_that_is_no_stack_exits_2(tmp_path, capsys):
    assert main(["verify", str(tmp_path)]) == 2
    assert "not a complete FlowRoI" in capsys.readouterr().err


def test_a_damaged_manifest_is_reported(stack):
    (stack / "manifest.json").write_text('{"frames": [')
    problems = verify_container(stack)
    assert len(problems) == 1 and str(problems[0]).count("is damaged") == 1, problems
    assert "manifest" in str(problems[0]) and "frames cannot be checked" in str(problems[0])
