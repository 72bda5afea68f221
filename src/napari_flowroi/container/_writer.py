"""Writing a container: one run, frame by frame, resumable, from several workers at once.

While a run is under way the folder holds ``.progress/run.json`` (the run's settings and input,
with a fingerprint of the input's content) and one ``.progress/frame_NNNNNN.json`` record per
finished frame, written after the frame's files. A rerun keeps every frame whose record and
checksums match and codes the rest; after the manifest is written the frame records are deleted
first and ``run.json`` last, so a kill during that clean-up still resumes.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CancelledError, FlowRoIError, OutputError
from ..readers.fingerprint import PENDING, movie_digest
from ._files import (
    MANIFEST,
    PROGRESS,
    _step,
    frame_name,
    is_container,
    mask_name,
    remove_temporary_files,
    sha256,
    write_atomic,
    write_error,
)
from ._manifest import build_manifest, dumps, manifest_file_bytes

#: Key of the hash of the input frame's pixels in a frame's progress record (not in the manifest:
#: the manifest keeps one hash of the whole input, readers.fingerprint.movie_digest).
INPUT_DIGEST = "input_sha256"


def _without_content(run: Any) -> Any:
    """`run` with its input's content hash left out: a finished stack's hash is compared by
    re-reading the input (batch.check_same_pixels), the rest of the run here."""
    if not isinstance(run, dict) or not isinstance(run.get("input"), dict):
        return run
    return {**run, "input": {k: v for k, v in run["input"].items() if k != "content"}}


if TYPE_CHECKING:
    from ..codec import EncodedFrame


def _mismatch(earlier: Any, run: dict) -> str:
    """What differs between an earlier run description and `run`, in words."""
    if not isinstance(earlier, dict):
        return "a damaged run record"
    if earlier.get("settings") != run.get("settings"):
        return "other settings"
    old, new = earlier.get("input"), run.get("input") or {}
    old = old if isinstance(old, dict) else {}
    if old.get("source") != new.get("source"):
        return "another input"
    if old.get("content") != PENDING and new.get("content") == PENDING:
        return "an input recorded by an older napari-flowroi (no content hash to compare)"
    if (
        old.get("content") != new.get("content")
        or earlier.get("shape") != run.get("shape")
        or earlier.get("dtype") != run.get("dtype")
    ):
        return "an input whose pixels have changed since"
    if old.get("roi_mask") != new.get("roi_mask"):
        return "another RoI mask"
    if earlier.get("roi_flow_scale") != run.get("roi_flow_scale"):
        return "its RoI found at another resolution (an earlier napari-flowroi decided otherwise)"
    return "another input"


class ContainerWriter:
    """Writes frames of one run into a container folder; safe to use from several workers.

    Parameters
    ----------
    root : str or Path
        The container folder.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)

    def check(self, run: dict[str, Any], overwrite: bool = False) -> str:
        """What :meth:`begin` would do, without touching anything.

        Returns
        -------
        str
            'new', 'resume', 'replace' or 'complete' (a finished stack of this very run).

        Raises
        ------
        OutputError
            When it would refuse (another run's output, not a container, a file, a link...), or
            when the OS refuses to look (a name too long, no permission).
        """
        try:
            return self._check(run, overwrite)
        except OSError as exc:
            raise write_error(self.root, exc) from exc

    def _check(self, run: dict[str, Any], overwrite: bool) -> str:
        root = self.root
        if root.is_symlink():
            raise OutputError(
                f"Output {root} is a symbolic link; give the folder it points to, "
                "or a new folder (links are never written through or replaced)."
            )
        if root.exists() and not root.is_dir():
            raise OutputError(f"Output {root} exists and is a file. Choose another output folder.")
        run_file = root / PROGRESS / "run.json"
        if root.exists() and overwrite:
            if not (is_container(root) or (root / PROGRESS).exists() or not any(root.iterdir())):
                raise OutputError(
                    f"Refusing to overwrite {root}: it is not a FlowRoI container. "
                    "Choose a new output folder."
                )
            return "replace"
        if run_file.exists():
            try:
                earlier = json.loads(run_file.read_text())
            except (OSError, ValueError):
                earlier = None  # a damaged run record (cannot happen with atomic writes)
            if earlier != run:
                raise OutputError(
                    f"Output {root} holds an interrupted run with {_mismatch(earlier, run)}. "
                    "Rerun with the same input and settings to resume, or pass --overwrite to "
                    "start again."
                )
            return "resume"
        if is_container(root):
            completed = self.completed_run()
            if _without_content(completed) == _without_content(run):
                return "complete"
            raise OutputError(
                f"Output {root} already holds a compressed stack (of "
                f"{_mismatch(completed, run)}). Choose another output or pass "
                "--overwrite to replace it."
            )
        if root.exists() and any(p.name != PROGRESS for p in root.iterdir()):
            raise OutputError(
                f"Output {root} exists and is not a FlowRoI container; choose a new "
                "or empty folder (nothing there was changed)."
            )
        return "new"

    def completed_run(self) -> dict | None:
        """The run description of the finished stack in this folder (None when there is none)."""
        try:
            manifest = json.loads((self.root / MANIFEST).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(manifest, dict):
            return None
        run = {key: manifest.get(key) for key in ("shape", "dtype", "input", "settings")}
        if "roi_flow_scale" in manifest:  # part of the run where the RoI's resolution was decided
            run["roi_flow_scale"] = manifest["roi_flow_scale"]
        return run

    def begin(
        self, run: dict[str, Any], overwrite: bool = False, keep_complete: bool = False
    ) -> set[int] | None:
        """Prepare the folder for `run`; return the frames already done by an earlier, matching run.

        A finished stack of another run is refused unless `overwrite`; a finished stack of this
        very run is kept as it is and None is returned (a rerun of a finished job is a success).
        `keep_complete` is accepted for compatibility and changes nothing."""
        root = self.root
        state = self.check(run, overwrite)
        if state == "complete":
            if (root / PROGRESS).exists():
                shutil.rmtree(root / PROGRESS)  # the last clean-up step of that run was cut short
            return None
        if state == "replace":
            shutil.rmtree(root)
        if state == "resume":
            remove_temporary_files(root)
            return self._finished_frames()
        if (root / PROGRESS).exists():  # the clean-up after a finished manifest was cut short
            shutil.rmtree(root / PROGRESS)
        write_atomic(root / PROGRESS / "run.json", dumps(run))
        return set()

    def abandon(self) -> None:
        """Remove the output of a run that failed before it could be resumed (bad input found
        half-way): its workers see the run record gone and stop writing."""
        shutil.rmtree(self.root, ignore_errors=True)

    def _finished_frames(self) -> set[int]:
        return set(self.finished_input_digests())

    def finished_input_digests(self) -> dict[int, str | None]:
        """Frame index -> hash of the input pixels it was coded from (None in records of older
        versions), for every finished frame of the interrupted run in this folder."""
        done = {}
        for record_file in (self.root / PROGRESS).glob("frame_*.json"):
            try:
                record = json.loads(record_file.read_text())
                if self._files_match(record):
                    done[int(record["index"])] = record.get(INPUT_DIGEST)
            except (ValueError, KeyError, TypeError, OSError):
                continue  # a damaged record: the frame is coded again
        return done

    def _files_match(self, record: dict) -> bool:
        t = record["index"]
        if not isinstance(t, int) or isinstance(t, bool) or t < 0:
            return False
        files = [(frame_name(t), record["sha256"])]
        if "mask_sha256" in record:
            files.append((mask_name(t), record["mask_sha256"]))
        for name, checksum in files:
            path = self.root / name
            if not path.is_file() or sha256(path.read_bytes()) != checksum:
                return False
        return True

    def write_frame(
        self,
        t: int,
        encoded: EncodedFrame,
        cell_coverage: float | None = None,
        input_digest: str | None = None,
    ) -> dict:
        """Write one frame's files, then its record; return the record.

        Parameters
        ----------
        t : int
            Frame index.
        encoded : EncodedFrame
            The coded frame (JP2 file with its stored mask, value range).
        cell_coverage : float, optional
            The guard's share of cell pixels inside the RoI, kept so `flowroi info` reports it.
        input_digest : str, optional
            Hash of the input frame's pixels (readers.frame_digest): a resume compares it, and the
            manifest keeps the hash of all of them.
        """
        if not (self.root / PROGRESS / "run.json").is_file():
            # the run was finished, abandoned or replaced meanwhile: write nothing more
            raise CancelledError(
                f"The run writing {self.root} was stopped; nothing more is written."
            )
        write_atomic(self.root / frame_name(t), encoded.jp2)
        # File names follow from the index (frame_name), so records do not repeat them: at high
        # rates every byte of the manifest is taken from the image. The RoI mask is in a box of
        # the JP2 file (format 2), covered by its checksum.
        record = {
            "index": t,
            "bytes": len(encoded.jp2),
            "sha256": sha256(encoded.jp2),
            "raw_bytes": encoded.raw_bytes,
            "roi_fraction": round(encoded.roi_fraction, 6),
        }
        if cell_coverage is not None:
            record["cell_coverage"] = round(cell_coverage, 4)
        if encoded.value_range is not None:
            record["value_range"] = list(encoded.value_range)
        if input_digest is not None:
            record[INPUT_DIGEST] = input_digest
        write_atomic(self.root / PROGRESS / record_file_name(t), dumps(record))
        return record

    def records(self) -> list[dict]:
        """The finished frames' records, in frame order."""
        files = sorted((self.root / PROGRESS).glob("frame_*.json"))
        return [json.loads(f.read_text()) for f in files]

    def finish(self, run: dict[str, Any]) -> dict:
        """Write the manifest from the frame records and remove the progress folder."""
        records = self.records()
        n_frames = run["shape"][0]
        if [r["index"] for r in records] != list(range(n_frames)):
            raise FlowRoIError(
                f"Only {len(records)} of {n_frames} frames were written to "
                f"{self.root}; rerun the same command to finish."
            )
        digests = [r.pop(INPUT_DIGEST, None) for r in records]
        if all(digests) and isinstance(run.get("input"), dict):
            run = {**run, "input": {**run["input"], "content": movie_digest(digests)}}
        manifest = build_manifest(run, records)
        # Every frame is written, so no writer is active: a temporary file now is a killed
        # worker's, retried within this same run (dask reschedules it), not a rerun's leftover.
        remove_temporary_files(self.root)
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


def record_file_name(t: int) -> str:
    """Name of frame `t`'s progress record inside ``.progress``."""
    return f"frame_{t:06d}.json"
