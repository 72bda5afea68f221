"""Check a compressed stack against its manifest: every frame's file, size, checksum, headers and
decoding, and every stored mask."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from pathlib import Path

from .. import codec
from ..codec import decode_mask
from ._files import frame_name, is_container, is_partial, mask_name, sha256
from ._manifest import ManifestError, NoManifestError, masks_in_frames, read_manifest
from ._masks import decode_png_mask
from ._reader import header_problem


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a stack: a frame's, or (frame None) the container's as a whole."""

    frame: int | None
    message: str

    def __str__(self) -> str:
        return self.message if self.frame is None else f"frame {self.frame}: {self.message}"


def verify_container(path: str | Path, progress=None) -> list[Problem]:
    """Every problem found, one per bad frame (an empty list: the stack is intact).

    Parameters
    ----------
    path : str or Path
        The container folder.
    progress : callable, optional
        Called as ``progress(done, total)`` after every frame.

    Returns
    -------
    list of Problem
        A manifest that fails its schema is one problem for the whole container.

    Raises
    ------
    FlowRoIError
        `path` is not a compressed stack at all (no manifest).
    """
    root = Path(path)
    try:
        manifest = read_manifest(root)
    except NoManifestError:
        raise
    except ManifestError as exc:
        # the error names the stack and the damage already ("The manifest of X is damaged
        # (...); the stack cannot be read."): said once, with what verify could not do
        return [Problem(None, f"{str(exc).rstrip('.')}; its frames cannot be checked")]
    n_frames, height, width = manifest["shape"]
    problems = []
    boxed = masks_in_frames(manifest)
    for t, record in enumerate(manifest["frames"]):
        found = _check_frame(root, t, record, (height, width), manifest["dtype"], boxed)
        if found:
            problems.append(Problem(t, "; ".join(found)))
        if progress is not None:
            progress(t + 1, n_frames)
    return problems


def _check_frame(
    root: Path, t: int, record: dict, shape: tuple[int, int], dtype: str, has_masks: bool
) -> list[str]:
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
    problem = header_problem(data, shape, dtype)
    if problem:  # never hand the decoder a file whose headers claim another image
        found.append(
            f"{problem}; not decoded" if "unreadable" not in problem else "does not decode"
        )
    else:
        try:
            with warnings.catch_warnings():  # a decoder may warn about each damaged box it meets
                warnings.simplefilter("ignore")
                codes = codec.decode_jp2(data)
            if tuple(codes.shape[:2]) != tuple(shape):
                found.append(f"decodes to {codes.shape} instead of {tuple(shape)}")
        except Exception:  # noqa: BLE001 - Pillow/OpenJPEG raise many kinds on damaged codestreams
            found.append("does not decode")
    if "mask_sha256" not in record:
        if has_masks and not found:
            try:
                decode_mask(data, shape)
            except ValueError:
                found.append("mask missing or does not decode")
    else:  # format 1: a PNG beside the frame
        mask = root / mask_name(t)
        if not mask.is_file():
            found.append("mask missing")
        else:
            mask_data = mask.read_bytes()
            if sha256(mask_data) != record["mask_sha256"]:
                found.append("mask checksum mismatch")
            else:
                try:
                    decode_png_mask(mask_data, shape)
                except Exception:  # noqa: BLE001 - OpenCV's PNG decoder may raise cv2.error on damaged masks
                    found.append("mask does not decode")
    return found


# --- folders of stacks (the planes of a microscopy file, the wells of a plate) ---------------------

SUMMARY = "summary.json"


def folder_members(path: str | Path) -> list[Path] | None:
    """The stacks of an output folder of several planes or wells, complete or not, in name order:
    every sub-folder that is a stack, an interrupted one or named ``*.flowroi``, and every stack
    its ``summary.json`` lists (even when gone). None when `path` is a stack itself or holds none
    (then the caller reports it as one stack)."""
    root = Path(path)
    try:
        if not root.is_dir() or is_container(root) or is_partial(root):
            return None
        members = {
            p.name: p
            for p in root.iterdir()
            if p.is_dir() and (is_container(p) or is_partial(p) or p.suffix == ".flowroi")
        }
    except OSError:
        return None
    for name in _summary_names(root):
        members.setdefault(name, root / name)
    return [members[name] for name in sorted(members)] or None


def _summary_names(root: Path) -> list[str]:
    """The stack folder names a finished run listed in its summary.json (none if unreadable)."""
    try:
        wells = json.loads((root / SUMMARY).read_text(encoding="utf-8")).get("wells", [])
        return [Path(str(w["output"])).name for w in wells if isinstance(w, dict) and "output" in w]
    except (OSError, ValueError, AttributeError):
        return []


def member_problem(path: str | Path) -> str | None:
    """Why a member of a folder of stacks cannot be opened as a stack, or None when it can."""
    path = Path(path)
    if not path.exists():
        return f"missing ({SUMMARY} lists it)"
    if is_partial(path):
        return (
            "incomplete: its run was interrupted (no manifest.json); compress again with the "
            "same settings into the same folder to finish it"
        )
    if not is_container(path):
        return "not a complete compressed stack (no manifest.json)"
    return None


def verify_member(path: str | Path, progress=None) -> list[Problem]:
    """:func:`verify_container` for a member of a folder of stacks: a missing or incomplete member
    is one problem for the whole stack."""
    problem = member_problem(path)
    if problem is not None:
        return [Problem(None, problem)]
    return verify_container(path, progress)
