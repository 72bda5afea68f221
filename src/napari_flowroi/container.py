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
file under a final name; a rerun removes leftover temporary files, keeps the frames whose record and
checksums match and codes the rest. The manifest holds no timestamps so that a resumed run ends
byte-identical to an uninterrupted one.

Testing hook: with the environment variable ``FLOWROI_KILL_AT_STEP=N`` the process SIGKILLs itself
at the N-th write step (each file write has two: half of its bytes in the temporary file, and just
after the rename; the clean-up after the manifest has two more). tests/core/test_kill_resume.py
uses it to kill a compression at every kind of point; unset, it costs one integer comparison.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import signal
import threading
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


TMP_SUFFIX = ".tmp"

_KILL_AT_STEP = int(os.environ.get("FLOWROI_KILL_AT_STEP", "0") or 0)
_steps = [0]
_steps_lock = threading.Lock()


def _step() -> None:
    """The kill-point testing hook (see the module docstring)."""
    if _KILL_AT_STEP:
        with _steps_lock:
            _steps[0] += 1
            if _steps[0] == _KILL_AT_STEP:
                os.kill(os.getpid(), signal.SIGKILL)


def write_error(path: Path, exc: OSError) -> OutputError:
    """An OSError while writing the output, as a message that says what to do."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OutputError(f"No space left on the disk while writing {path}. Free some space (or "
                           "choose an output on another disk) and rerun the same command: finished "
                           "frames are kept and the run resumes.")
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(f"Cannot write {path} ({exc.strerror}). Choose an output folder you "
                           "can write to; nothing was written there.")
    return OutputError(f"Cannot write {path} ({exc.strerror or exc}). Check the output location "
                       "and rerun the same command; finished frames are kept.")


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over `path`.

    The temporary name starts with a dot, ends with ``.tmp`` and names the process and thread, so
    two writers never share one and a leftover is never read as a frame. A write that fails
    (disk full, no permission) removes its temporary file and raises :class:`OutputError`."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}{TMP_SUFFIX}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            half = len(data) // 2
            handle.write(data[:half])
            if _KILL_AT_STEP:
                handle.flush()
                _step()
            handle.write(data[half:])
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        try:
            tmp.unlink()
        except OSError:
            pass
        raise write_error(path, exc) from exc
    _step()


def remove_temporary_files(root: Path) -> int:
    """Delete the temporary files a killed writer left behind; return how many."""
    removed = 0
    for folder in (root, root / "frames", root / "masks", root / PROGRESS):
        if folder.is_dir():
            for leftover in folder.glob(f".*{TMP_SUFFIX}"):
                leftover.unlink(missing_ok=True)
                removed += 1
    return removed


def is_container(path: str | Path) -> bool:
    return (Path(path) / MANIFEST).is_file()


def is_partial(path: str | Path) -> bool:
    return (Path(path) / PROGRESS / "run.json").is_file() and not is_container(path)


# --- writing -----------------------------------------------------------------------------------------

class ContainerWriter:
    """Writes frames of one run into a container folder; safe to use from several workers."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def check(self, run: dict[str, Any], overwrite: bool = False) -> str:
        """What :meth:`begin` would do, without touching anything: 'new', 'resume', 'replace' or
        'complete' (a finished stack of this very run); raises OutputError when it would refuse."""
        root = self.root
        if root.exists() and not root.is_dir():
            raise OutputError(f"Output {root} exists and is a file. Choose another output folder.")
        run_file = root / PROGRESS / "run.json"
        if root.exists() and overwrite:
            if not (is_container(root) or (root / PROGRESS).exists() or not any(root.iterdir())):
                raise OutputError(f"Refusing to overwrite {root}: it is not a FlowRoI container. "
                                  "Choose a new output folder.")
            return "replace"
        if run_file.exists():
            try:
                earlier = json.loads(run_file.read_text())
            except (OSError, ValueError):
                earlier = None  # a damaged run record (cannot happen with atomic writes)
            if earlier != run:
                raise OutputError(
                    f"Output {root} holds an interrupted run with other settings or another input. "
                    "Rerun with the same settings to resume, or pass --overwrite to start again.")
            return "resume"
        if is_container(root):
            if self.completed_run() == run:
                return "complete"
            raise OutputError(f"Output {root} already holds a compressed stack. "
                              "Choose another output or pass --overwrite to replace it.")
        if root.exists() and any(p.name != PROGRESS for p in root.iterdir()):
            raise OutputError(f"Output {root} exists and is not a FlowRoI container; choose a new "
                              "or empty folder (nothing there was changed).")
        return "new"

    def completed_run(self) -> dict | None:
        """The run description of the finished stack in this folder (None when there is none)."""
        try:
            manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        return {key: manifest.get(key) for key in ("shape", "dtype", "input", "settings")}

    def begin(self, run: dict[str, Any], overwrite: bool = False,
              keep_complete: bool = False) -> set[int] | None:
        """Prepare the folder for `run`; return the frames already done by an earlier, matching run.

        A finished stack is refused unless `overwrite`; with `keep_complete`, a finished stack of
        this very run is kept as it is and None is returned (a plate rerun skips finished wells)."""
        root = self.root
        state = self.check(run, overwrite)
        if state == "complete" and (root / PROGRESS).exists():
            shutil.rmtree(root / PROGRESS)  # the last clean-up step of that run was cut short
        if state == "complete" and keep_complete:
            return None
        if state == "complete":
            raise OutputError(f"Output {root} already holds a compressed stack. "
                              "Choose another output or pass --overwrite to replace it.")
        if state == "replace":
            shutil.rmtree(root)
        if state == "resume":
            remove_temporary_files(root)
            return self._finished_frames()
        if (root / PROGRESS).exists():  # the clean-up after a finished manifest was cut short
            shutil.rmtree(root / PROGRESS)
        write_atomic(root / PROGRESS / "run.json", _dumps(run))
        return set()

    def abandon(self) -> None:
        """Remove the output of a run that failed before it could be resumed (bad input found
        half-way): its workers see the run record gone and stop writing."""
        shutil.rmtree(self.root, ignore_errors=True)

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

    def write_frame(self, t: int, encoded: EncodedFrame, cell_coverage: float | None = None
                    ) -> dict:
        """Write one frame's files, then its record; return the record. `cell_coverage`: the
        guard's share of cell pixels inside the RoI, kept so `flowroi info` can report it."""
        if not (self.root / PROGRESS / "run.json").is_file():
            from .errors import CancelledError

            # the run was finished, abandoned or replaced meanwhile: write nothing more
            raise CancelledError(f"The run writing {self.root} was stopped; nothing more is written.")
        write_atomic(self.root / frame_name(t), encoded.jp2)
        # File names follow from the index (frame_name, mask_name), so records do not repeat them:
        # at high rates every byte of the manifest is taken from the image.
        record = {"index": t, "bytes": len(encoded.jp2), "sha256": sha256(encoded.jp2),
                  "raw_bytes": encoded.raw_bytes, "roi_fraction": round(encoded.roi_fraction, 6)}
        if encoded.mask_png is not None:
            write_atomic(self.root / mask_name(t), encoded.mask_png)
            record.update(mask_bytes=len(encoded.mask_png), mask_sha256=sha256(encoded.mask_png))
        if cell_coverage is not None:
            record["cell_coverage"] = round(cell_coverage, 4)
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
        write_atomic(self.root / MANIFEST, manifest_file_bytes(manifest))
        # Clean up with the run record last: a kill in between leaves a resumable run whose rerun
        # rebuilds the same manifest.
        progress = self.root / PROGRESS
        for record_file in progress.glob("frame_*.json"):
            record_file.unlink()
        _step()
        (progress / "run.json").unlink()
        _step()
        shutil.rmtree(progress, ignore_errors=True)
        return manifest


def record_reserve(raw_bytes: int, has_mask: bool, is_float: bool) -> int:
    """Bytes the manifest will spend on one frame's record: reserved in the frame's byte budget so
    that the achieved rate counts every byte written. Measured on a record with the widest values
    the frame can have."""
    widest = {"index": 999999, "bytes": raw_bytes, "sha256": "0" * 64, "raw_bytes": raw_bytes,
              "roi_fraction": 0.123456}
    if has_mask:
        widest.update(mask_bytes=raw_bytes, mask_sha256="0" * 64, cell_coverage=0.1234)
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
    for _ in range(10):  # a fixed point, usually in 2-3 rounds
        total = frame_bytes + len(_manifest_bytes(manifest))
        declared = manifest["totals"]["bytes_written"]
        if total == declared or 0 < total < declared:
            # equal, or the sizes flip-flop (8.0432 -> 8.043 drops a digit): keep the larger
            # total; manifest_file_bytes pads the file with spaces up to it
            break
        manifest["totals"] = {"raw_bytes": raw, "bytes_written": total,
                              "achieved_rate": round(raw / total, 4)}
    return manifest


def manifest_file_bytes(manifest: dict) -> bytes:
    """The manifest as written: exactly as long as its totals say (padded with spaces)."""
    data = _manifest_bytes(manifest)
    frame_bytes = sum(r["bytes"] + r.get("mask_bytes", 0) for r in manifest["frames"])
    short = manifest["totals"]["bytes_written"] - frame_bytes - len(data)
    return data[:-1] + b" " * short + b"\n" if short > 0 else data


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


def read_manifest(root: Path) -> dict:
    """The parsed manifest of a container folder; FlowRoIError when there is none, and
    json.JSONDecodeError (a ValueError) when it is damaged."""
    manifest_file = root / MANIFEST
    if not manifest_file.is_file():
        hint = (" It holds an interrupted run: rerun the compression to finish it."
                if is_partial(root) else "")
        raise FlowRoIError(f"{root} is not a complete FlowRoI compressed stack (no {MANIFEST}).{hint}")
    return json.loads(manifest_file.read_text())


def open_container(path: str | Path) -> Container:
    root = Path(path)
    try:
        manifest = read_manifest(root)
    except json.JSONDecodeError as exc:
        raise FlowRoIError(f"The manifest of {root} is damaged ({exc}).") from exc
    if manifest.get("format") != FORMAT_NAME:
        raise FlowRoIError(f"{root}/{MANIFEST} is not a FlowRoI manifest.")
    return Container(root, manifest)
