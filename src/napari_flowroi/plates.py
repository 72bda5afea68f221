"""Plates: several movies (one per well) compressed side by side in one run.

``compress_movies`` plans every well before anything is written, sends the chunks of all wells to
the same pool or cluster (batch.compress_jobs), and writes ``OUTPUT_DIR/<well>.flowroi`` per well
and ``OUTPUT_DIR/summary.json``. A well is anything `inputs.open_movie` opens (a TIFF stack, a
folder of frames; a reader that splits one file into positions can hand its wells in here as
sources with their own names).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .batch import CHUNK_FRAMES, _plan, check_run_options, compress_jobs
from .container import is_container, write_atomic
from .errors import InputError
from .guard import Preflight
from .outputs import check_folder_output, check_not_on_inputs
from .readers import list_wells, well_name
from .settings import FlowRoISettings


@dataclass(frozen=True)
class PlateSummary:
    """One summary for several movies (the wells of a plate): per well and in total."""

    output: Path
    wells: tuple[tuple[str, Any], ...]  # (name, batch.CompressionSummary)
    seconds: float

    def as_dict(self) -> dict[str, Any]:
        wells = [{"well": name, **summary.as_dict()} for name, summary in self.wells]
        raw = sum(s.raw_bytes for _, s in self.wells)
        written = sum(s.bytes_written for _, s in self.wells)
        return {
            "output": str(self.output),
            "wells": wells,
            "totals": {
                "wells": len(wells),
                "frames": sum(s.frames for _, s in self.wells),
                "resumed_frames": sum(s.resumed_frames for _, s in self.wells),
                "raw_bytes": raw,
                "bytes_written": written,
                "achieved_rate": round(raw / written, 4) if written else 0.0,
                "seconds": round(self.seconds, 3),
            },
        }


def plate_inputs(sources: Sequence[str | Path]) -> list[Path] | None:
    """The movies of a plate run, or None for a single movie: several inputs, or one folder of
    movies (see readers.list_wells)."""
    paths = [Path(s) for s in sources]
    if len(paths) > 1:
        return paths
    return list_wells(paths[0]) if paths else None


def well_names(sources: Sequence[Any] | Mapping[str, Any]) -> dict[str, Any]:
    """Each source by its well name; refuses two sources with one name. A mapping (well name ->
    source, e.g. the positions of one multi-position file) is taken as it is."""
    if isinstance(sources, Mapping):
        return dict(sources)
    names: dict[str, Any] = {}
    for source in sources:
        name = well_name(Path(source))
        if name in names:
            raise InputError(
                f"Two inputs are both called {name} ({names[name]} and {source}); "
                "rename one so each well gets its own output."
            )
        names[name] = source
    return names


def compress_movies(
    sources: str | Path | Sequence[str | Path] | Mapping[str, Any],
    output_dir: str | Path,
    settings: FlowRoISettings | None = None,
    *,
    workers: int = 1,
    overwrite: bool = False,
    progress=None,
    cancel: threading.Event | None = None,
    chunk_frames: int | None = None,
    scheduler: Any = None,
    preflight: Mapping[str, Preflight | None] | None = None,
) -> PlateSummary:
    """Compress several movies (e.g. one per well) into ``output_dir/<name>.flowroi``, side by side.

    Parameters
    ----------
    sources : str or Path, sequence of str or Path, or mapping of well name to source
        A plate folder (its movies, see `readers.list_wells`), or one movie per well; the well's
        name is the file name without its TIFF suffix, or the folder's name, or the mapping's
        key (anything `readers.open_movie` opens).
    output_dir : str or Path
        Folder of the wells' containers and ``summary.json``.
    settings : FlowRoISettings, optional
        As for ``compress_movie`` (default: the defaults).
    workers : int
        As for ``compress_movie``.
    overwrite : bool
        As for ``compress_movie``.
    progress : callable, optional
        As for ``compress_movie``.
    cancel : threading.Event, optional
        As for ``compress_movie``.
    chunk_frames : int, optional
        As for ``compress_movie``.
    scheduler : optional
        As for ``compress_movie``.
    preflight : mapping of well name to Preflight, optional
        The missed-cell guard's verdict on each well (``guard.preflight``, as the command line
        checks every well before a plate): the masks and prepared frames its check made are
        coded instead of being computed again, as ``compress_movie(preflight=)`` does, for the
        wells within HANDOVER_BYTES (:func:`handed_over`). The same bytes either way.

    Returns
    -------
    PlateSummary
        Also written to ``summary.json``. A well already complete with the same input and
        settings is kept (a rerun finishes a plate).
    """

    check_run_options(workers, chunk_frames)
    settings = settings or FlowRoISettings()
    started = time.perf_counter()
    output_dir = Path(output_dir)
    check_folder_output(output_dir, "wells", links=False)
    plate_folder = None
    if isinstance(sources, (str, Path)):
        plate_folder, sources = Path(sources), list_wells(sources)
        if sources is None:
            raise InputError(
                f"{plate_folder} is not a plate folder (TIFF stacks, or folders of frames, one per "
                "well); give one movie with compress_movie."
            )
    if not sources:
        raise InputError("No input movies given.")
    names = well_names(sources)
    # the plate folder is an input too: an output inside it would be listed as a well next time
    check_not_on_inputs(output_dir, [*names.values(), plate_folder], what="plate output")
    verdicts = handed_over(preflight or {})
    jobs = [
        _plan(
            source,
            output_dir / f"{name}.flowroi",
            settings,
            overwrite,
            name=name,
            preflight=verdicts.get(name),
        )
        for name, source in names.items()
    ]
    created = not output_dir.exists()
    replaced = _earlier_wells(output_dir) - set(names) if overwrite else set()
    try:
        summaries = compress_jobs(
            jobs,
            workers=workers,
            overwrite=overwrite,
            progress=progress,
            cancel=cancel,
            chunk_frames=chunk_frames or CHUNK_FRAMES,
            scheduler=scheduler,
        )
    except BaseException:
        # a well's bad frame found half-way removes every container this run began; the plate
        # folder it made for them goes too (rmdir: only while it is empty, so a cancelled run's
        # wells, kept for the resume, keep it)
        if created:
            with contextlib.suppress(OSError):
                output_dir.rmdir()
        raise
    plate = PlateSummary(
        output_dir,
        tuple((job.name, s) for job, s in zip(jobs, summaries, strict=True)),
        time.perf_counter() - started,
    )
    # --overwrite replaces the plate output: the earlier run's wells this run does not have go
    # too (left, they were read by info, verify and decompress beside a summary.json that no
    # longer named them); only containers that run's summary.json names are removed
    for name in sorted(replaced):
        stale = output_dir / f"{name}.flowroi"
        if is_container(stale):
            shutil.rmtree(stale)
    write_atomic(
        output_dir / "summary.json", (json.dumps(plate.as_dict(), indent=2) + "\n").encode()
    )
    return plate


#: What the checks of a plate's wells hand to its runs at most, in all (bytes of masks and
#: prepared frames): a well's hand-over is held from its check until its run ends, 8.5 MB for a
#: 12-frame 0.77-MP HeLa well (5 masks 3.9 MB, 13 prepared frames 4.6 MB) that saves it 0.235 s
#: of CPU (15 %; docs/decisions.md), so a 96-well plate of such wells would hold 0.8 GB beside
#: the run. Wells past the budget compute their own (the same bytes), as a plate did before.
HANDOVER_BYTES = 256 * 2**20


def handover_bytes(verdict: Preflight | None) -> int:
    """The bytes a verdict hands over (its masks and prepared frames; 0 for None)."""
    if verdict is None:
        return 0
    prepared = (
        array for value in verdict.prepared.values() if isinstance(value, tuple) for array in value
    )
    return sum(m.nbytes for m in verdict.masks.values()) + sum(
        a.nbytes for a in prepared if hasattr(a, "nbytes")
    )


def handed_over(
    verdicts: Mapping[str, Preflight | None], budget: int | None = None
) -> dict[str, Preflight]:
    """The verdicts whose check's masks and prepared frames the wells' runs use: in the order
    given (the wells' order) while their total (:func:`handover_bytes`) stays within `budget`
    (default HANDOVER_BYTES); the others' runs compute their own."""
    budget = HANDOVER_BYTES if budget is None else budget
    kept: dict[str, Preflight] = {}
    held = 0
    for name, verdict in verdicts.items():
        size = handover_bytes(verdict)
        if verdict is None or not verdict.masks or held + size > budget:
            continue
        kept[name] = verdict
        held += size
    return kept


def _earlier_wells(output_dir: Path) -> set[str]:
    """The wells an earlier run's ``summary.json`` in `output_dir` names (none when it has no
    readable one)."""
    try:
        earlier = json.loads((output_dir / "summary.json").read_text())
        names = {str(w["well"]) for w in earlier["wells"]}
    except (OSError, ValueError, KeyError, TypeError):
        return set()
    # plain names only: a summary.json edited to name "../x" must not reach outside the folder
    return {n for n in names if n and Path(n).name == n and n not in (".", "..")}
