"""The container's files on disk: their names, atomic writes, temporary leftovers.

Every file is written to a temporary name and renamed, so a killed run never leaves a half-written
file under a final name; a rerun removes leftover temporary files.

Testing hook: with the environment variable ``FLOWROI_KILL_AT_STEP=N`` the process SIGKILLs itself
at the N-th write step (each file write has two: half of its bytes in the temporary file, and just
after the rename; the clean-up after the manifest has two more). tests/core/test_kill_resume.py
uses it to kill a compression at every kind of point; unset, it costs one integer comparison.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import signal
import threading
from pathlib import Path

from ..errors import CancelledError, OutputError
from ..outputs import missing_folders

MANIFEST = "manifest.json"
PROGRESS = ".progress"
TMP_SUFFIX = ".tmp"


def check_cancel(cancel) -> None:
    """Stop a decoding export once `cancel` (anything with ``is_set()``, a threading.Event) is
    set: the caller's clean-up removes its temporary file, so nothing is left on disk."""
    if cancel is not None and cancel.is_set():
        raise CancelledError("the export was cancelled; nothing was written")


def frame_name(t: int) -> str:
    """Path of frame `t`'s JP2 file inside a container."""
    return f"frames/frame_{t:06d}.jp2"


def mask_name(t: int) -> str:
    """Path of frame `t`'s stored RoI mask (PNG) inside a container of format 1."""
    return f"masks/mask_{t:06d}.png"


def sha256(data: bytes) -> str:
    """Hex SHA-256 of `data` (the checksums of the manifest)."""
    return hashlib.sha256(data).hexdigest()


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


def write_error(path: Path, exc: OSError, *, resumes: bool = True) -> OutputError:
    """An OSError while writing the output, as a message that says what to do; `resumes`: the
    same command takes up where it stopped (a container), else it starts again and nothing was
    left (one file written whole: :func:`written_whole`)."""
    rerun = (
        "finished frames are kept and the run resumes." if resumes else "nothing was left behind."
    )
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        return OutputError(
            f"No space left on the disk while writing {path}. Free some space (or "
            f"choose an output on another disk) and rerun the same command: {rerun}"
        )
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return OutputError(
            f"Cannot write {path} ({exc.strerror}). Choose an output folder you "
            "can write to; nothing was written there."
        )
    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
        # nothing to resume and no command to rerun as it is: the path itself is wrong (a
        # folder on the way removed, or a file where a folder should be)
        return OutputError(
            f"Cannot write {path} ({exc.strerror}): a folder on the way to it is missing or is "
            "a file. Choose another output location."
        )
    if exc.errno == errno.ENAMETOOLONG:
        return OutputError(
            f"The output name {path} is too long for the file system; choose a shorter name."
        )
    return OutputError(
        f"Cannot write {path} ({exc.strerror or exc}). Check the output location "
        f"and rerun the same command; {'finished frames are kept.' if resumes else rerun}"
    )


@contextlib.contextmanager
def written_whole(output: Path):
    """Write a file that is only ever seen whole: yields ``.NAME.partial`` beside `output` to
    write to, renamed to `output` when the block ends; on any failure (a full disk, a damaged
    frame, Ctrl-C) the temporary file is removed and nothing is left, an OSError raised as
    :func:`write_error`'s message. (decompress's TIFF, a folder's OME-TIFF, ``flowroi roi``'s
    masks.) Missing folders above `output` are created first, as ``compress`` creates its
    output's (docs/decisions.md), and removed again on a failure, so nothing is left."""
    output = Path(output)
    tmp = output.with_name(f".{output.name}.partial")
    created = []
    try:
        created = _make_folders(output.parent)
        yield tmp
        tmp.replace(output)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        for folder in created:  # innermost first; rmdir only removes what is still empty
            with contextlib.suppress(OSError):
                folder.rmdir()
        if isinstance(exc, OSError):  # one file written whole: a rerun starts again
            raise write_error(output, exc, resumes=False) from exc
        raise


def _make_folders(folder: Path) -> list[Path]:
    """Create `folder` and its missing parents; return those created, innermost first (mkdir
    with ``parents=True`` does not say which it made, and a failure must remove only those)."""
    missing, _existing = missing_folders(folder)
    for made in reversed(missing):
        made.mkdir(exist_ok=True)  # exist_ok: another writer may create it at the same moment
    return missing


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temporary name in the same folder, flush to disk, then rename over `path`.

    The temporary name starts with a dot, ends with ``.tmp`` and names the process and thread, so
    two writers never share one and a leftover is never read as a frame.

    Parameters
    ----------
    path : Path
        The final name.
    data : bytes
        The whole content.

    Raises
    ------
    OutputError
        The write failed (disk full, no permission, name too long); the temporary file is removed.
    """
    path = Path(path)
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
        with contextlib.suppress(OSError):
            tmp.unlink()
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
    """Whether `path` is a complete compressed stack (it has a manifest)."""
    try:
        return (Path(path) / MANIFEST).is_file()
    except OSError:  # a name too long, a loop of links...
        return False


def is_partial(path: str | Path) -> bool:
    """Whether `path` holds an interrupted run (progress records but no manifest yet)."""
    try:
        return (Path(path) / PROGRESS / "run.json").is_file() and not is_container(path)
    except OSError:
        return False
