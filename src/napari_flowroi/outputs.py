"""Where outputs may go: never onto, into or around an input.

Every write path (a container, a plate's folder, a decompressed TIFF, a saved preset) is checked
here before anything is written, so no command can overwrite, delete or write inside what it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import OutputError


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
