"""manifest.json: how it is built, laid out, read and validated.

The manifest is written last (its presence means "complete") and holds no timestamp, so the same
input and settings give a byte-identical container. Its own bytes count towards the achieved rate,
so its size is reserved in every frame's byte budget (`record_reserve`, `manifest_reserve`).

Reading validates the manifest against the schema below before anything uses it (docs/container.md
lists what is checked). The validator is written out here rather than as a JSON Schema document
because most of what matters crosses fields (one record per frame in order, the raw size following
from shape and dtype, a value range exactly when the dtype is float), which JSON Schema cannot say,
and because each refusal should name the field in words a user can act on.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..codec import rate_unmet
from ..errors import FlowRoIError, SettingsError
from ..settings import FlowRoISettings
from ._files import MANIFEST, is_partial

FORMAT_NAME = "flowroi-container"
FORMAT_VERSION = 3
#: Versions this software reads: 1 kept each frame's RoI mask as a PNG in masks/, 2 in a box of
#: the frame's JP2 file, 3 keeps it in the codestream's comment (codec/_mask_box.py reads both).
READABLE_VERSIONS = (1, 2, 3)
#: Pixel types a container stores (the inputs accepted, see inputs.check_dtype).
DTYPES = ("uint8", "uint16", "float32", "float64")
#: Largest frame side a container may claim: JPEG2000 allows 2**32 - 1, but a frame this side
#: already needs gigabytes to decode; anything larger is a damaged or hostile manifest.
MAX_SIDE = 65535
#: Most frames a container may claim (one record each must be in the manifest anyway).
MAX_FRAMES = 10_000_000
_HEX64 = re.compile(r"[0-9a-f]{64}")


class ManifestError(FlowRoIError):
    """manifest.json is missing, unreadable or does not describe a valid container."""


class NoManifestError(ManifestError):
    """The folder holds no manifest: it is no (complete) container at all."""


# --- writing -----------------------------------------------------------------------------------------


def record_reserve(raw_bytes: int, has_mask: bool, is_float: bool) -> int:
    """Bytes the manifest will spend on one frame's record: reserved in the frame's byte budget so
    that the achieved rate counts every byte written. Measured on a record with the widest values
    the frame can have."""
    widest = {
        "index": 999999,
        "bytes": raw_bytes,
        "sha256": "0" * 64,
        "raw_bytes": raw_bytes,
        "roi_fraction": 0.123456,
    }
    if has_mask:
        widest.update(cell_coverage=0.1234)  # the mask itself is in the JP2 file (format 2+)
    if is_float:
        widest["value_range"] = [-1.2345678901234567e-300, -1.2345678901234567e-300]
    return len(_record_line(widest)) + len(_RECORD_SEPARATOR)


def masks_in_frames(manifest: dict) -> bool:
    """Whether each frame's JP2 file carries its RoI mask (a box, format 2; a comment, 3), for a
    FlowRoI (not plain) run. (Format 1 kept masks as PNGs beside the frames, recorded by their
    mask_sha256.)"""
    return manifest["format_version"] >= 2 and not manifest["settings"].get("plain")


def manifest_reserve(run: dict, n_frames: int) -> int:
    """The manifest's bytes that belong to no frame, shared out over the frames (rounded up)."""
    head = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "software": {"name": "napari-flowroi", "version": __version__},
        **run,
        "totals": {"raw_bytes": 10**15, "bytes_written": 10**15, "achieved_rate": 1e6},
    }
    return -(-len(_manifest_bytes({**head, "frames": []})) // n_frames)


def build_manifest(run: dict, records: list[dict]) -> dict:
    """The manifest of a finished run from its frame records, totals included."""
    frame_bytes = sum(r["bytes"] + r.get("mask_bytes", 0) for r in records)
    raw = sum(r["raw_bytes"] for r in records)
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "software": {"name": "napari-flowroi", "version": __version__},
        **run,
        "frames": records,
    }
    # The manifest counts towards the bytes written; its own size is known only once written, so
    # the totals are computed for the manifest as it will be (the numbers' widths are fixed first).
    manifest["totals"] = {"raw_bytes": raw, "bytes_written": 0, "achieved_rate": 0.0}
    for _ in range(10):  # a fixed point, usually in 2-3 rounds
        total = frame_bytes + len(_manifest_bytes(manifest))
        declared = manifest["totals"]["bytes_written"]
        if total == declared or 0 < total < declared:
            # equal, or the sizes flip-flop (8.0432 -> 8.043 drops a digit): keep the larger
            # total; manifest_file_bytes pads the file with spaces up to it
            break
        manifest["totals"] = {
            "raw_bytes": raw,
            "bytes_written": total,
            "achieved_rate": round(raw / total, 4),
            **rate_unmet_fields(run.get("settings", {}), raw / total),
        }
    return manifest


def rate_unmet_fields(settings: dict, achieved: float) -> dict:
    """``{"requested_rate": r, "rate_unmet": True}`` when a rate target was missed by more than
    the docs' 5 % (`codec.rate_unmet`), else nothing: a met rate leaves the manifest as it was.

    Parameters
    ----------
    settings : dict
        The run's settings (`FlowRoISettings.to_dict`).
    achieved : float
        The rate reached, every byte written counted.
    """
    requested = settings.get("compression_rate")
    if not requested or settings.get("target_psnr", 0) > 0:  # a quality target sets no rate
        return {}
    if not rate_unmet(requested, achieved):
        return {}
    return {"requested_rate": requested, "rate_unmet": True}


def manifest_file_bytes(manifest: dict) -> bytes:
    """The manifest as written: exactly as long as its totals say (padded with spaces)."""
    data = _manifest_bytes(manifest)
    frame_bytes = sum(r["bytes"] + r.get("mask_bytes", 0) for r in manifest["frames"])
    short = manifest["totals"]["bytes_written"] - frame_bytes - len(data)
    return data[:-1] + b" " * short + b"\n" if short > 0 else data


def dumps(data: Any) -> bytes:
    """Small JSON files of the container (run and frame records)."""
    return (json.dumps(data, indent=1, sort_keys=False) + "\n").encode()


_RECORD_SEPARATOR = ",\n  "


def _record_line(record: dict) -> str:
    return json.dumps(record, separators=(",", ":"))


def _manifest_bytes(manifest: dict) -> bytes:
    """Readable JSON with one compact line per frame: a 10,000-frame manifest stays small."""
    head = {k: v for k, v in manifest.items() if k != "frames"}
    lines = _RECORD_SEPARATOR.join(_record_line(r) for r in manifest["frames"])
    body = json.dumps(head, indent=1)[:-2]
    return (body + ',\n "frames": [\n  ' + lines + "\n ]\n}\n").encode()


# --- reading and validating --------------------------------------------------------------------------


def read_manifest(root: Path) -> dict:
    """The parsed and validated manifest of the container folder `root`.

    Raises
    ------
    ManifestError
        There is no manifest (the message says when the folder holds an interrupted run), it is
        not JSON, or it fails the schema (the message names the first problem found).
    """
    root = Path(root)
    manifest_file = root / MANIFEST
    try:
        present = manifest_file.is_file()
    except OSError:
        present = False
    if not present and not _exists(root):
        raise NoManifestError(f"{root} does not exist. Check the path.")
    if not present:
        hint = (
            " It holds an interrupted run: rerun the compression to finish it."
            if is_partial(root)
            else ""
        )
        raise NoManifestError(
            f"{root} is not a complete FlowRoI compressed stack (no {MANIFEST}).{hint}"
        )
    try:
        manifest = json.loads(manifest_file.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ManifestError(
            f"The manifest of {root} is damaged (not readable JSON: "
            f"{_short(exc)}); the stack cannot be read."
        ) from exc
    except OSError as exc:
        raise ManifestError(f"Cannot read {manifest_file} ({exc.strerror or exc}).") from exc
    problem = manifest_problem(manifest)
    if problem:
        raise ManifestError(
            f"The manifest of {root} is damaged or not a FlowRoI manifest "
            f"({problem}); the stack cannot be read."
        )
    return manifest


def _exists(path: Path) -> bool:
    try:
        return path.exists() or path.is_symlink()
    except OSError:  # a name too long: say what the OS would not look at as missing too
        return False


def _short(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:120]


def _is_int(value: Any, low: int = 0, high: int | None = None) -> bool:
    return (
        isinstance(value, int)
        and not isinstance(value, bool)
        and value >= low
        and (high is None or value <= high)
    )


def _is_int_or_float(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        float(value)
    except OverflowError:
        return False
    return True


def manifest_problem(manifest: Any) -> str | None:
    """The first way `manifest` breaks the container schema, in words, or None when it is valid.

    Checked: the format name and version; shape (three whole numbers, frames at most MAX_FRAMES,
    sides at most MAX_SIDE); dtype (one of DTYPES); settings (valid FlowRoISettings);
    roi_flow_scale (when present, in (0, 1]); input and
    totals (objects); one frame record per frame, in order, each with its index, the JP2 file's
    bytes and SHA-256, raw_bytes equal to a frame's size, roi_fraction in [0, 1], mask_bytes and
    mask_sha256 together (format 1's PNG masks), cell_coverage in [0, 1], and a finite, ordered value_range exactly when
    the dtype is float.
    """
    if not isinstance(manifest, dict):
        return f"a JSON {type(manifest).__name__} instead of an object"
    if manifest.get("format") != FORMAT_NAME:
        return f"format is not {FORMAT_NAME}"
    version = manifest.get("format_version")
    if isinstance(version, bool) or version not in READABLE_VERSIONS:
        return (
            f"format_version {version!r}; this version of napari-flowroi reads versions "
            f"{', '.join(map(str, READABLE_VERSIONS))}"
        )
    shape = manifest.get("shape")
    if not (
        isinstance(shape, list)
        and len(shape) == 3
        and _is_int(shape[0], 1, MAX_FRAMES)
        and _is_int(shape[1], 1, MAX_SIDE)
        and _is_int(shape[2], 1, MAX_SIDE)
    ):
        return (
            f"shape must be [frames, height, width] with 1-{MAX_FRAMES} frames and sides of "
            f"1-{MAX_SIDE} pixels"
        )
    dtype = manifest.get("dtype")
    if dtype not in DTYPES:
        return f"dtype must be one of {', '.join(DTYPES)}"
    settings = manifest.get("settings")
    if not isinstance(settings, dict):
        return "settings missing"
    try:
        FlowRoISettings.from_dict(settings)
    except (SettingsError, TypeError, ValueError, OverflowError) as exc:
        return f"settings: {_short(exc)}"
    found_at = manifest.get("roi_flow_scale", 1.0)
    if not (_is_int_or_float(found_at) and 0 < found_at <= 1):
        return "roi_flow_scale must be a number in (0, 1]"
    for key in ("input", "totals", "software"):
        if not isinstance(manifest.get(key), dict):
            return f"{key} missing"
    totals = manifest["totals"]
    for key in ("raw_bytes", "bytes_written"):
        if not _is_int(totals.get(key)):
            return f"totals.{key} must be a whole number"
    if not _is_int_or_float(totals.get("achieved_rate")):
        return "totals.achieved_rate must be a number"
    frames = manifest.get("frames")
    if not isinstance(frames, list):
        return "frames must be a list of frame records"
    if len(frames) != shape[0]:
        return f"{len(frames)} frame records for {shape[0]} frames"
    frame_bytes = shape[1] * shape[2] * np.dtype(dtype).itemsize
    is_float = dtype.startswith("float")
    for t, record in enumerate(frames):
        problem = _record_problem(record, t, frame_bytes, is_float)
        if problem:
            return f"frame record {t}: {problem}"
    return None


def _record_problem(record: Any, t: int, frame_bytes: int, is_float: bool) -> str | None:
    if not isinstance(record, dict):
        return "not an object"
    if not _is_int(record.get("index")) or record["index"] != t:
        return f"index must be {t}"
    if not _is_int(record.get("bytes"), 1):
        return "bytes must be a positive whole number"
    if not (isinstance(record.get("sha256"), str) and _HEX64.fullmatch(record["sha256"])):
        return "sha256 must be 64 hexadecimal digits"
    if record.get("raw_bytes") != frame_bytes or isinstance(record.get("raw_bytes"), bool):
        return f"raw_bytes must be {frame_bytes} (a frame of the shape and dtype)"
    if not (_is_int_or_float(record.get("roi_fraction")) and 0 <= record["roi_fraction"] <= 1):
        return "roi_fraction must be between 0 and 1"
    if ("mask_bytes" in record) != ("mask_sha256" in record):
        return "mask_bytes and mask_sha256 go together"
    if "mask_bytes" in record:
        if not _is_int(record["mask_bytes"], 1):
            return "mask_bytes must be a positive whole number"
        if not (isinstance(record["mask_sha256"], str) and _HEX64.fullmatch(record["mask_sha256"])):
            return "mask_sha256 must be 64 hexadecimal digits"
    if "cell_coverage" in record and not (
        _is_int_or_float(record["cell_coverage"]) and 0 <= record["cell_coverage"] <= 1
    ):
        return "cell_coverage must be between 0 and 1"
    value_range = record.get("value_range")
    if is_float:
        if not (
            isinstance(value_range, list)
            and len(value_range) == 2
            and all(_is_int_or_float(v) and math.isfinite(float(v)) for v in value_range)
            and float(value_range[0]) <= float(value_range[1])
        ):
            return "value_range must be [low, high], two finite numbers, low <= high"
    elif value_range is not None:
        return "value_range is only for float movies"
    return None
