"""The compressed-stack container: a folder of standard JP2 frames, their RoI masks and a manifest.

Layout::

    OUTPUT/
      manifest.json           written last, atomically: its presence means "complete"
      frames/frame_000000.jp2 one standard JPEG2000 file per frame, names sort in frame order
      masks/mask_000000.png   the RoI each frame was coded with (16x16-pixel blocks, 1-bit PNG)
      .progress/              only while a run is under way or was interrupted:
        run.json              settings and input of the run (a resume must match them)
        frame_000000.json     record of a finished frame (written after its files)

Every file is written to a temporary name and renamed, so a killed run never leaves a half-written
file under a final name; a rerun keeps the frames whose record and checksums match and codes the
rest. The manifest holds no timestamps so that a resumed run ends byte-identical to an
uninterrupted one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .codec import EncodedFrame, decode_mask, from_codec_values, read_jp2_file
from .errors import FlowRoIError, OutputError
from .settings import FlowRoISettings

FORMAT_NAME = "flowroi-container"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PROGRESS = ".progress"


def frame_name(t: int) -> str:
    return f"frames/frame_{t:06d}.jp2"


def mask_name(t: int) -> str:
    return f"masks/mask_{t:06d}.png"


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def is_container(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def is_partial(path: str | Path) -> bool:
    return (Path(path) / PROGRESS / "run.json").is_file() and not is_container(path)


# --- writing -----------------------------------------------------------------------------------------

class ContainerWriter:
    """Writes frames of one run into a container folder; safe to use from several workers."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def begin(self, run: dict[str, Any], overwrite: bool = False) -> set[int]:
        """Prepare the folder for `run`; return the frames already done by an earlier, matching run."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise OutputError(f"Output {root} exists and is a file. Choose another output folder.")
        if is_container(root) and not overwrite and not (root / PROGRESS).exists():
            raise OutputError(f"Output {root} already holds a compressed stack. "
                              "Choose another output or pass --overwrite to replace it.")
        if root.exists() and overwrite:
            self._remove_existing()
        if root.exists() and any(root.iterdir()) and not (root / PROGRESS).exists() \
                and not is_container(root):
            raise OutputError(f"Output {root} exists and is not a FlowRoI container; choose a new "
                              "or empty folder (nothing there was changed).")
        run_file = root / PROGRESS / "run.json"
        if run_file.exists():
            earlier = json.loads(run_file.read_text())
            if earlier != run:
                raise OutputError(
                    f"Output {root} holds an interrupted run with other settings or another input. "
                    "Rerun with the same settings to resume, or pass --overwrite to start again.")
            return self._finished_frames()
        write_atomic(run_file, _dumps(run))
        return set()

    def _remove_existing(self) -> None:
        root = self.root
        if not (is_container(root) or (root / PROGRESS).exists() or not any(root.iterdir())):
            raise OutputError(f"Refusing to overwrite {root}: it is not a FlowRoI container. "
                              "Choose a new output folder.")
        shutil.rmtree(root)

    def _finished_frames(self) -> set[int]:
        done = set()
        for record_file in (self.root / PROGRESS).glob("frame_*.json"):
            try:
                record = json.loads(record_file.read_text())
                if self._files_match(record):
                    done.add(int(record["index"]))
            except (ValueError, KeyError, OSError):
                continue  # a damaged record: the frame is coded again
        return done

    def _files_match(self, record: dict) -> bool:
        t = int(record["index"])
        files = [(frame_name(t), record["sha256"])]
        if "mask_sha256" in record:
            files.append((mask_name(t), record["mask_sha256"]))
        for name, checksum in files:
            path = self.root / name
            if not path.is_file() or sha256(path.read_bytes()) != checksum:
                return False
        return True

    def write_frame(self, t: int, encoded: EncodedFrame) -> dict:
        """Write one frame's files, then its record; return the record."""
        write_atomic(self.root / frame_name(t), encoded.jp2)
        # File names follow from the index (frame_name, mask_name), so records do not repeat them:
        # at high rates every byte of the manifest is taken from the image.
        record = {"index": t, "bytes": len(encoded.jp2), "sha256": sha256(encoded.jp2),
                  "raw_bytes": encoded.raw_bytes, "roi_fraction": round(encoded.roi_fraction, 6)}
        if encoded.mask_png is not None:
            write_atomic(self.root / mask_name(t), encoded.mask_png)
            record.update(mask_bytes=len(encoded.mask_png), mask_sha256=sha256(encoded.mask_png))
        if encoded.value_range is not None:
            record["value_range"] = list(encoded.value_range)
        write_atomic(self.root / PROGRESS / f"frame_{t:06d}.json", _dumps(record))
        return record

    def records(self) -> list[dict]:
        files = sorted((self.root / PROGRESS).glob("frame_*.json"))
        return [json.loads(f.read_text()) for f in files]

    def finish(self, run: dict[str, Any]) -> dict:
        """Write the manifest from the frame records and remove the progress folder."""
        records = self.records()
        n_frames = run["shape"][0]
        if [r["index"] for r in records] != list(range(n_frames)):
            raise FlowRoIError(f"Only {len(records)} of {n_frames} frames were written to "
                               f"{self.root}; rerun the same command to finish.")
        manifest = build_manifest(run, records)
        write_atomic(self.root / MANIFEST, _manifest_bytes(manifest))
        shutil.rmtree(self.root / PROGRESS, ignore_errors=True)
        return manifest


def record_reserve(raw_bytes: int, has_mask: bool, is_float: bool) -> int:
    """Bytes the manifest will spend on one frame's record: reserved in the frame's byte budget so
    that the achieved rate counts every byte written. Measured on a record with the widest values
    the frame can have."""
    widest = {"index": 999999, "bytes": raw_bytes, "sha256": "0" * 64, "raw_bytes": raw_bytes,
              "roi_fraction": 0.123456}
    if has_mask:
        widest.update(mask_bytes=raw_bytes, mask_sha256="0" * 64)
    if is_float:
        widest["value_range"] = [-1.2345678901234567e-300, -1.2345678901234567e-300]
    return len(_record_line(widest)) + len(_RECORD_SEPARATOR)


def manifest_reserve(run: dict, n_frames: int) -> int:
    """The manifest's bytes that belong to no frame, shared out over the frames (rounded up)."""
    head = {"format": FORMAT_NAME, "format_version": FORMAT_VERSION,
            "software": {"name": "napari-flowroi", "version": __version__}, **run,
            "totals": {"raw_bytes": 10 ** 15, "bytes_written": 10 ** 15, "achieved_rate": 1e6}}
    return -(-len(_manifest_bytes({**head, "frames": []})) // n_frames)


def build_manifest(run: dict, records: list[dict]) -> dict:
    frame_bytes = sum(r["bytes"] + r.get("mask_bytes", 0) for r in records)
    raw = sum(r["raw_bytes"] for r in records)
    manifest = {
        "format": FORMAT_NAME, "format_version": FORMAT_VERSION,
        "software": {"name": "napari-flowroi", "version": __version__},
        **run,
        "frames": records,
    }
    # The manifest counts towards the bytes written; its own size is known only once written, so
    # the totals are computed for the manifest as it will be (the numbers' widths are fixed first).
    manifest["totals"] = {"raw_bytes": raw, "bytes_written": 0, "achieved_rate": 0.0}
    for _ in range(3):
        total = frame_bytes + len(_manifest_bytes(manifest))
        manifest["totals"] = {"raw_bytes": raw, "bytes_written": total,
                              "achieved_rate": round(raw / total, 4)}
    return manifest


def _dumps(data: Any) -> bytes:
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


# --- reading -----------------------------------------------------------------------------------------

@dataclass
class Container:
    """An opened compressed stack: lazy frames and masks, and the manifest."""

    root: Path
    manifest: dict

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.manifest["shape"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest["dtype"])

    @property
    def settings(self) -> FlowRoISettings:
        return FlowRoISettings.from_dict(self.manifest["settings"])

    @property
    def has_masks(self) -> bool:
        return all("mask_sha256" in r for r in self.manifest["frames"])

    def read_frame(self, t: int) -> np.ndarray:
        record = self.manifest["frames"][t]
        codes = read_jp2_file(self.root / frame_name(t))
        return from_codec_values(codes, str(self.dtype), record.get("value_range"))

    def read_mask(self, t: int) -> np.ndarray:
        if "mask_sha256" not in self.manifest["frames"][t]:
            return np.zeros(self.shape[1:], bool)
        return decode_mask((self.root / mask_name(t)).read_bytes(), self.shape[1:])

    def frames(self):
        """The decoded movie as a lazy dask array (T, Y, X), one chunk per frame."""
        return _lazy_stack(self.read_frame, self.shape, self.dtype)

    def masks(self):
        return _lazy_stack(self.read_mask, self.shape, np.dtype(bool))


def _lazy_stack(read, shape, dtype):
    import dask
    import dask.array as da

    frames = [da.from_delayed(dask.delayed(read, pure=True)(t), shape[1:], dtype)
              for t in range(shape[0])]
    return da.stack(frames)


def open_container(path: str | Path) -> Container:
    root = Path(path)
    manifest_file = root / MANIFEST
    if not manifest_file.is_file():
        hint = (" It holds an interrupted run: rerun the compression to finish it."
                if is_partial(root) else "")
        raise FlowRoIError(f"{root} is not a complete FlowRoI compressed stack (no {MANIFEST}).{hint}")
    try:
        manifest = json.loads(manifest_file.read_text())
    except json.JSONDecodeError as exc:
        raise FlowRoIError(f"The manifest of {root} is damaged ({exc}).") from exc
    if manifest.get("format") != FORMAT_NAME:
        raise FlowRoIError(f"{root}/{MANIFEST} is not a FlowRoI manifest.")
    return Container(root, manifest)
