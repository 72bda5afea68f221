"""Check a compressed stack against its manifest: every frame's file, size, checksum and decoding."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from .codec import decode_jp2, decode_mask
from .container import frame_name, mask_name, read_manifest, sha256


@dataclass(frozen=True)
class Problem:
    frame: int | None  # None: the container as a whole (e.g. its manifest)
    message: str

    def __str__(self) -> str:
        return self.message if self.frame is None else f"frame {self.frame}: {self.message}"


def verify_container(path: str | Path, progress=None) -> list[Problem]:
    """Every problem found, one per bad frame (an empty list: the stack is intact).

    Raises FlowRoIError when `path` is not a compressed stack at all."""
    root = Path(path)
    try:
        manifest = read_manifest(root)
        records = manifest["frames"]
        n_frames, height, width = manifest["shape"]
    except (ValueError, KeyError, TypeError) as exc:
        return [Problem(None, f"manifest.json is damaged ({type(exc).__name__}); the frames "
                              "cannot be checked")]
    problems = []
    by_index = {int(r["index"]): r for r in records if isinstance(r, dict) and "index" in r}
    for t in range(n_frames):
        record = by_index.get(t)
        if record is None:
            problems.append(Problem(t, "no record in the manifest"))
        else:
            found = _check_frame(root, t, record, (height, width))
            if found:
                problems.append(Problem(t, "; ".join(found)))
        if progress is not None:
            progress(t + 1, n_frames)
    return problems


def _check_frame(root: Path, t: int, record: dict, shape: tuple[int, int]) -> list[str]:
    found = []
    path = root / frame_name(t)
    if not path.is_file():
        return ["missing"]
    data = path.read_bytes()
    if len(data) < record["bytes"]:
        found.append(f"truncated ({len(data)} of {record['bytes']} bytes)")
    elif len(data) != record["bytes"]:
        found.append(f"size {len(data)} bytes, manifest says {record['bytes']}")
    elif sha256(data) != record["sha256"]:
        found.append("checksum mismatch")
    try:
        with warnings.catch_warnings():  # glymur warns about each damaged box it meets
            warnings.simplefilter("ignore")
            codes = decode_jp2(data)
        if tuple(codes.shape[:2]) != tuple(shape):
            found.append(f"decodes to {codes.shape} instead of {tuple(shape)}")
    except Exception:  # glymur/OpenJPEG raise many kinds on damaged codestreams
        found.append("does not decode")
    if "mask_sha256" in record:
        mask = root / mask_name(t)
        if not mask.is_file():
            found.append("mask missing")
        else:
            mask_data = mask.read_bytes()
            if sha256(mask_data) != record["mask_sha256"]:
                found.append("mask checksum mismatch")
            else:
                try:
                    decode_mask(mask_data, shape)
                except Exception:
                    found.append("mask does not decode")
    return found
