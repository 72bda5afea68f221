"""Where outputs may go: never onto, into or around an input, never over what is not ours.

Every write path (a container, a plate's folder, a decompressed TIFF, a saved preset) is checked
here before anything is written, so no command can overwrite, delete or write inside what it reads,
and every refusal of an output is worded in one place. (A container folder's own states, a run to
resume or another run's stack, are the container's: container/_writer.py.)
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import FlowRoIError, OutputError
from .settings import FlowRoISettings


def _resolved(path: Path) -> Path:
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # a loop of links: compare as given
        return path.absolute()


def check_not_on_inputs(output: str | Path, inputs: Iterable[Any], what: str = "output") -> None:
    """Refuse an `output` that is an input, lies inside an input folder, or holds an input.

    Parameters
    ----------
    output : str or Path
        Where something is about to be written.
    inputs : iterable
        What the command reads; entries that are not paths (arrays in memory) are skipped.
    what : str
        How the message names the output.

    Raises
    ------
    OutputError
        With a message that says to write somewhere else.
    """
    out = _resolved(Path(output))
    for source in inputs:
        if not isinstance(source, (str, Path)):
            continue
        source_path = _resolved(Path(source))
        if out == source_path:
            raise OutputError(
                f"The {what} {output} is the input {source}; write it somewhere "
                "else so the input stays untouched."
            )
        if source_path in out.parents and source_path.is_dir():
            raise OutputError(
                f"The {what} {output} is inside the input {source}; write it "
                "somewhere else so the input stays untouched."
            )
        if out in source_path.parents:
            raise OutputError(
                f"The {what} {output} holds the input {source}; write it somewhere "
                "else so the input stays untouched."
            )


def check_folder_output(output: str | Path, holds: str, *, links: bool = True) -> None:
    """Refuse a folder of several containers (a plate, a file's planes) that is a file, or a
    symbolic link unless `links`.

    Parameters
    ----------
    output : str or Path
        The folder about to hold the containers.
    holds : str
        What it holds, for the message ("wells", "planes", "channels").
    links : bool
        Whether a link to a folder is accepted.

    Raises
    ------
    OutputError
        With a message that says to give a folder.
    """
    output = Path(output)
    if not links and output.is_symlink():
        raise OutputError(f"Output {output} is a link; give a folder for the compressed {holds}.")
    if output.exists() and not output.is_dir():
        raise OutputError(f"Output {output} is a file; give a folder for the compressed {holds}.")


def check_file_output(
    output: str | Path,
    *,
    containers: Iterable[str | Path] = (),
    overwrite: bool = False,
    what: str = "TIFF",
) -> None:
    """Refuse a file to write (a decompressed TIFF) that would land in a container, is a folder,
    exists (unless `overwrite`), is not a regular file, or whose path runs through a file (a
    missing folder is fine: it is created when the file is written).

    Parameters
    ----------
    output : str or Path
        The file about to be written.
    containers : iterable of str or Path
        What it is decoded from: the output may not be one of them or inside one.
    overwrite : bool
        Whether an existing regular file may be replaced.
    what : str
        How the message names the file.

    Raises
    ------
    OutputError
        With a message that says what to do.
    """
    output = Path(output)
    target = _resolved(output)
    for root in containers:
        resolved = _resolved(Path(root))
        if target == resolved or resolved in target.parents:
            raise OutputError(
                f"Output {output} is inside the container {root}; write the {what} "
                "somewhere else so the container stays untouched."
            )
    if output.is_dir():
        raise OutputError(
            f"Output {output} is a folder; give the name of the {what} file to write."
        )
    if output.exists() and not overwrite:
        raise OutputError(f"{output} exists; choose another name or pass --overwrite.")
    if output.exists() and not output.is_file():
        raise OutputError(
            f"{output} is not a regular file (a device or a pipe); choose another name."
        )
    # a missing folder is created when the file is written (container._files.written_whole), as
    # `compress` creates its output's (docs/decisions.md); only a file in the way is refused here,
    # before any frame is worked on
    _check_folders(output, what)


def missing_folders(folder: Path) -> tuple[list[Path], Path]:
    """The folders of `folder`'s path that do not exist yet, innermost first (`folder` itself
    included when missing), and the first that exists above them (the root when none does; it
    may be a file). One walk up for the check before a write (:func:`_check_folders`: that
    existing one must be a folder) and the write itself (``container._files``: it creates the
    missing ones and, on failure, removes only those)."""
    missing = []
    while not folder.exists() and folder != folder.parent:
        missing.append(folder)
        folder = folder.parent
    return missing, folder


def _check_folders(output: Path, what: str) -> None:
    """Refuse `output` when its path runs through a file (``notes.txt/sub/out.tif``): the write
    would fail only after the work, and a missing folder is created when it is written."""
    _missing, folder = missing_folders(output.parent)
    if not folder.is_dir():
        raise OutputError(
            f"{folder} is a file, not a folder; choose another place for the {what} {output}."
        )


#: Names a TIFF is written under (readers.TIFF_SUFFIXES; outputs imports no reader).
TIFF_NAMES = (".tif", ".tiff", ".btf", ".tf8")


def check_tiff_name(output: str | Path, what: str = "TIFF") -> None:
    """Refuse to write a TIFF under a name that is not a TIFF's (`flowroi roi movie.tif out.png`
    wrote a TIFF named .png, which image viewers then fail to open as a PNG)."""
    if Path(output).suffix.lower() not in TIFF_NAMES and not Path(output).is_dir():
        # (a folder, e.g. the container itself: check_file_output's own line says more)
        raise OutputError(
            f"{output}: {what} are written as a TIFF; give a name ending in .tif or .tiff."
        )


def check_preset_output(path: str | Path, inputs: Iterable[Any]) -> None:
    """Refuse a settings preset written onto an input, as a folder, over a file that is not a
    preset (an existing preset may be replaced), or where its path runs through a file (before
    `flowroi tune` spends minutes trying settings; a missing folder is created when it is written).

    Raises
    ------
    OutputError
        With a message that says what to do.
    """
    path = Path(path)
    check_not_on_inputs(path, inputs, what="preset")
    if path.is_dir():
        raise OutputError(
            f"{path} is a folder; give the name of the preset file to write (e.g. preset.json)."
        )
    if path.exists():
        try:
            FlowRoISettings.from_json(path)
        except FlowRoIError:
            raise OutputError(
                f"{path} exists and is not a settings preset; choose another name "
                "(it was left untouched)."
            ) from None
    _check_folders(path, "preset")
