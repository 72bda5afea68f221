"""The ``flowroi`` command line: compress, decompress, info, verify.

Exit status: 0 success, 2 bad input or usage (one line on stderr saying what to do), 1 a failed
check (`verify`), lost workers (one line) or anything unexpected (with a traceback, since that is a
bug to report), 141 (quietly) when the program reading the output closed the pipe early.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import sys
import threading
import time
import warnings
from pathlib import Path

from . import __version__
from .errors import FlowRoIError, SettingsError
from .settings import FlowRoISettings, describe_range

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2
#: The reader of stdout closed the pipe (`flowroi info X | head`): 128 + SIGPIPE, as a shell
#: reports a command stopped by it; nothing is printed.
EXIT_BROKEN_PIPE = 141
#: Local workers (threads or processes) beyond this many per CPU are refused as a usage error.
MAX_WORKERS_PER_CPU = 4


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line and exit 2, like every other usage problem
        raise _UsageError(f"{message} (see: {self.prog} --help)")


class _UsageError(Exception):
    pass


def _add_settings_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("settings (defaults in brackets; see docs/settings.md)")
    group.add_argument(
        "--preset",
        type=Path,
        metavar="JSON",
        help="load settings from a preset saved by the widget; options given here win",
    )
    for f in FlowRoISettings.fields():
        flag = "--" + f.name.replace("_", "-")
        meta = f.metadata
        text = f"{meta['help']} [{f.default}]".replace("%", "%%")  # argparse formats help with %
        if f.type in (bool, "bool"):
            if f.name == "plain":
                group.add_argument(flag, dest=f.name, action="store_true", default=None, help=text)
            else:
                group.add_argument(
                    flag,
                    dest=f.name,
                    action=argparse.BooleanOptionalAction,
                    default=None,
                    help=text,
                )
            continue
        kind = {"int": int, "float": float, "str": str}.get(f.type, f.type)
        if meta["choices"]:
            text += f" (one of {', '.join(meta['choices'])})"
        elif meta["low"] is not None or meta["high"] is not None:
            text += f" ({describe_range(f)})"
        group.add_argument(
            flag,
            dest=f.name,
            type=kind,
            default=None,
            metavar=f.name.upper().split("_")[-1] if kind is not str else "NAME",
            help=text,
        )


def _add_file_options(parser: argparse.ArgumentParser, compress: bool) -> None:
    """Which planes of a multi-dimensional file (ND2, CZI, LIF, OME-TIFF, OME-Zarr) to use: input
    choices, not settings, so they are options here and not fields of FlowRoISettings."""
    group = parser.add_argument_group(
        "microscopy files (ND2, CZI, LIF, OME-TIFF, OME-Zarr; see docs/formats.md)"
    )
    many = {"action": "append"} if compress else {}
    group.add_argument(
        "--channel",
        metavar="NAME",
        **many,
        help="channel name or index"
        + (" (repeat for several) [all]" if compress else " [the first]"),
    )
    group.add_argument(
        "--scene",
        metavar="NAME",
        **many,
        help="scene (stage position, well) name or index"
        + (" (repeat for several) [all]" if compress else " [the first]"),
    )
    group.add_argument(
        "--z",
        type=int,
        metavar="INDEX",
        help="one z-plane" + (" [every plane, each its own stack]" if compress else " [the first]"),
    )
    if compress:
        group.add_argument(
            "--motion-channel",
            metavar="NAME",
            help="channel whose motion gives the RoI of every channel [the first]",
        )


def settings_from_args(args: argparse.Namespace) -> FlowRoISettings:
    if args.preset is not None and args.preset.exists() and not args.preset.is_file():
        raise SettingsError(
            f"Settings preset {args.preset} is a folder or not a regular file; "
            "give the preset's JSON file."
        )
    base = FlowRoISettings.from_json(args.preset) if args.preset else FlowRoISettings()
    changes = {
        f.name: getattr(args, f.name)
        for f in FlowRoISettings.fields()
        if getattr(args, f.name, None) is not None
    }
    return base.replace(**changes)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="flowroi", description="Optical-flow RoI JPEG2000 for time-lapse movies.")
    parser.add_argument("--version", action="version", version=f"napari-flowroi {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    compress = sub.add_parser(
        "compress",
        help="compress a movie (or a plate of movies) into container folders",
        description="compress INPUT OUTPUT: one movie into the container folder OUTPUT. "
        "compress IN1 IN2 ... OUTPUT_DIR, or a folder of movies (one per well): "
        "OUTPUT_DIR/<name>.flowroi per input and OUTPUT_DIR/summary.json.",
    )
    compress.add_argument(
        "paths",
        type=Path,
        nargs="+",
        metavar="INPUT... OUTPUT",
        help="multi-page TIFF/OME-TIFF or folder of frames (or several, or a "
        "folder of movies), then the output",
    )
    compress.add_argument(
        "--workers",
        type=int,
        default=1,
        help="parallel workers [1]; above 1, worker processes of a local dask "
        "cluster (see --threads)",
    )
    compress.add_argument(
        "--threads",
        action="store_true",
        help="use --workers threads in this process instead of a local cluster "
        "(starts at once; best for one short movie)",
    )
    compress.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="run on an existing dask.distributed cluster (tcp://host:8786 or a "
        "scheduler file); workers must see the input and output paths",
    )
    compress.add_argument(
        "--overwrite", action="store_true", help="replace an existing compressed stack at OUTPUT"
    )
    compress.add_argument("--quiet", action="store_true", help="no progress on stderr")
    compress.add_argument(
        "--force",
        action="store_true",
        help="compress even when the missed-cell guard estimates that the RoI "
        "leaves cells out (below --coverage-target)",
    )
    _add_settings_options(compress)

    compress.add_argument(
        "--roi-mask",
        type=Path,
        metavar="TIFF",
        help="masks or labels (T, Y, X, the movie's size) that are always "
        "protected, on top of the RoI sources (one input only)",
    )
    _add_file_options(compress, compress=True)

    tune = sub.add_parser("tune", help="suggest RoI settings for a movie at a compression rate")
    tune.add_argument("input", type=Path, help="multi-page TIFF/OME-TIFF or folder of frames")
    tune.add_argument(
        "--save",
        type=Path,
        metavar="JSON",
        help="save the suggested settings as a preset for compress --preset",
    )
    tune.add_argument("--workers", type=int, default=2, help="threads [2]")
    tune.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_settings_options(tune)
    _add_file_options(tune, compress=False)

    decompress = sub.add_parser(
        "decompress",
        help="decode a container (or a folder of them) to an OME-TIFF with its calibration",
    )
    decompress.add_argument("container", type=Path)
    decompress.add_argument("output", type=Path, help="(OME-)TIFF file to write")
    decompress.add_argument("--overwrite", action="store_true")
    decompress.add_argument("--quiet", action="store_true", help="no progress on stderr")

    info = sub.add_parser(
        "info",
        help="print a container's settings, shape and sizes as JSON "
        "(a folder of them: one JSON line per container)",
    )
    info.add_argument("container", type=Path)

    verify = sub.add_parser(
        "verify",
        help="check every frame against the manifest's checksums "
        "and decode it (exit 1 and one line per bad frame); "
        "a folder of containers: every one of them",
    )
    verify.add_argument("container", type=Path)
    verify.add_argument("--quiet", action="store_true", help="no progress on stderr")

    roi = sub.add_parser(
        "roi",
        help="write the full-resolution RoI masks compress would code (a uint8 TIFF, 255 = RoI)",
    )
    roi.add_argument("input", type=Path, help="multi-page TIFF/OME-TIFF or folder of frames")
    roi.add_argument("output", type=Path, help="TIFF file to write")
    roi.add_argument("--roi-mask", type=Path, metavar="TIFF", help="your masks, always kept")
    roi.add_argument("--overwrite", action="store_true")
    roi.add_argument("--quiet", action="store_true", help="no progress on stderr")
    _add_settings_options(roi)
    _add_file_options(roi, compress=False)
    return parser


def _roi(args) -> int:
    """`flowroi roi MOVIE OUT.tif`: the masks compress would code, as a TIFF."""
    from .batch import write_roi_masks
    from .outputs import check_file_output, check_not_on_inputs, check_tiff_name
    from .readers import check_fits_memory

    settings = settings_from_args(args)
    check_tiff_name(args.output, what="the RoI masks")
    check_not_on_inputs(args.output, [args.input, args.roi_mask, args.preset], what="mask TIFF")
    check_file_output(args.output, overwrite=args.overwrite, what="mask TIFF")
    movie = _one_plane(args)
    check_fits_memory(movie, plain=False)
    share = write_roi_masks(
        movie,
        args.output,
        settings,
        extra_roi=args.roi_mask,  # opened as masks, and refused with --plain, by roi_masks
        progress=_StderrProgress("finding the RoI", not args.quiet),
    )
    # `mean_roi_fraction`, as compress's summary and `info` name and round it (docs/decisions.md)
    print(_json({"output": str(args.output), "frames": len(movie), "mean_roi_fraction": share}))
    return EXIT_OK


class _StderrProgress:
    """Progress on stderr: a live tqdm bar on a terminal, a few plain lines in a log or a pipe.

    A log gets where the run stands at its start, at every quarter and at its end (at most six
    lines however long the movie), never a self-overwriting line per frame: carriage returns
    pile up in a log file as one line per frame.
    """

    LOG_STEPS = 4  # quarter steps in a log

    def __init__(self, label: str, enabled: bool = True, unit: str = "frames"):
        self.label, self.enabled, self.unit = label, enabled, unit
        self.lock = threading.Lock()  # batch and plates report from worker threads
        self.bar = None
        self.total = None
        self.done = -1
        self.started = self.first_done = None
        self.step = -1

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        with self.lock:
            if total != self.total:  # a new run (a plate's next stack, verify's next member)
                self._close()
                self.total, self.done, self.step = total, -1, -1
                self.started, self.first_done = time.perf_counter(), done
            if done <= self.done:  # worker threads may report out of order
                return
            self.done = done
            stream = sys.stderr
            if _is_terminal(stream):
                self._bar(done, total, stream)
            else:
                self._log(done, total, stream)

    def _bar(self, done: int, total: int, stream) -> None:
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(
                total=total, initial=done, desc=self.label, unit=f" {self.unit}",
                file=stream, dynamic_ncols=True, leave=True,
            )  # fmt: skip
        else:
            self.bar.update(done - self.bar.n)
        if done >= total:
            self._close()

    def _log(self, done: int, total: int, stream) -> None:
        step = self.LOG_STEPS * done // max(total, 1)
        if step == self.step:
            return
        self.step = step
        elapsed = time.perf_counter() - self.started
        fresh = done - self.first_done
        if done >= total:
            timing = f" in {elapsed:.0f} s"
        elif fresh:
            timing = f", {elapsed:.0f} s so far, {elapsed / fresh * (total - done):.0f} s left"
        else:
            timing = ""
        stream.write(
            f"{self.label}: {done}/{total} {self.unit} ({100 * done / max(total, 1):.0f} %)"
            f"{timing}\n"
        )
        stream.flush()

    def _close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _is_terminal(stream) -> bool:
    """A terminal a live bar can be drawn on. A terminal of no width (a pseudo-terminal nobody
    sized: `docker exec -t`, `script` without a terminal, some CI runners) gets the plain log
    lines: tqdm draws its bar 0 columns wide there, so no progress at all was shown."""
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):  # a replaced or closed stream is not a terminal
        return False
    try:
        return os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, ValueError, OSError):  # no size to ask: tqdm's default width
        return True


def _scheduler(args):
    """Decision (docs/decisions.md): --scheduler ADDRESS runs on that cluster; otherwise one worker
    is a thread of this process (no start-up cost), and N > 1 workers are processes of a local
    dask cluster started for the run, unless --threads asks for threads."""
    from .executors import LOCAL

    if args.scheduler:
        return args.scheduler
    if args.workers > 1 and not args.threads:
        return LOCAL
    return None


def _compress(args) -> int:
    from .batch import compress_movie
    from .plates import compress_movies, plate_inputs, well_names

    if len(args.paths) < 2:
        raise _UsageError(
            "the following arguments are required: INPUT... OUTPUT (see: flowroi compress --help)"
        )
    _check_local_workers(
        args.workers, local=not args.scheduler, cluster=" (or --scheduler for a cluster)"
    )
    settings = settings_from_args(args)
    inputs, output = args.paths[:-1], args.paths[-1]
    if output.suffix.lower() in (".tif", ".tiff", ".btf", ".tf8") and not output.is_dir():
        # `flowroi compress movie.tif small.tif` made a FOLDER named small.tif (a container of
        # JP2 frames), which looks like a TIFF to every tool and to the next plate run
        raise _UsageError(
            f"{output}: compress writes a folder (a compressed stack of JPEG2000 frames), not a "
            "TIFF; name it e.g. movie.flowroi (flowroi decompress gives a TIFF back)"
        )
    progress = _StderrProgress("compressing", not args.quiet)
    options = {
        "workers": args.workers,
        "overwrite": args.overwrite,
        "progress": progress,
        "scheduler": _scheduler(args),
    }
    from .microscopy import compress_file
    from .readers.formats import claims

    selection = {
        key: getattr(args, option)
        for key, option in (
            ("scenes", "scene"),
            ("channels", "channel"),
            ("z", "z"),
            ("motion_channel", "motion_channel"),
        )
        if getattr(args, option) is not None
    }
    if len(inputs) == 1 and (selection or claims(inputs[0])):  # a microscopy file: every plane
        if args.roi_mask is not None:
            raise _UsageError("--roi-mask goes with a (T, Y, X) movie, not a multi-plane file")
        summary = compress_file(inputs[0], output, settings, **selection, **options)
    elif selection:
        raise _UsageError(
            "--channel, --scene, --z and --motion-channel go with one microscopy "
            "file (ND2, CZI, LIF, OME-TIFF, OME-Zarr)"
        )
    else:
        wells = plate_inputs(inputs)
        if wells is not None and args.roi_mask is not None:
            raise _UsageError("--roi-mask goes with one input movie, not a plate")
        verdicts = _preflight(wells or inputs, settings, args)
        if wells is None:
            verdict = verdicts[0] if verdicts else None
            summary = compress_movie(
                inputs[0], output, settings, extra_roi=_mask_file(args, output), preflight=verdict,
                **options,
            )  # fmt: skip
        else:
            plate = inputs[0] if len(inputs) == 1 else wells  # a plate folder is an input too
            # each well's check hands its masks to that well's run (by the name the run gives it)
            verdicts = dict(zip(well_names(wells), verdicts, strict=False))
            summary = compress_movies(plate, output, settings, preflight=verdicts, **options)
    _refuse_damaged_reruns(summary)
    if hasattr(summary, "wells"):  # a plate, or the planes of one file
        notes = [
            f"flowroi: note: {name}: {note}"
            for name, well in summary.wells
            for note in _notes(well)
        ] + [
            f"flowroi: warning: {name}: {well.rate_warning}"
            for name, well in summary.wells
            if well.rate_warning
        ]
    else:
        notes = [f"flowroi: note: {note}" for note in _notes(summary)]
        if summary.rate_warning:
            notes.append(f"flowroi: warning: {summary.rate_warning}")
    for note in notes:
        sys.stderr.write(note + "\n")
    print(_json(summary.as_dict(), indent=2))
    return EXIT_OK


def _notes(summary) -> list[str]:
    """A run's notes as the command says them: the summary's, then the coverage below its target
    (``CompressionSummary.coverage_note``), as its JSON lists them."""
    return [*summary.notes, *([summary.coverage_note] if summary.coverage_note else [])]


def _mask_file(args, output: Path):
    """--roi-mask for compress_movie: read as masks or labels of any integer or bool pixel type
    (readers.MaskFile; the path itself would be opened as a movie to compress, which refuses
    bool and int32 labels), after the output-on-input check the path would have had."""
    if args.roi_mask is None:
        return None
    from .outputs import check_not_on_inputs
    from .readers import MaskFile

    check_not_on_inputs(output, [args.roi_mask])
    return MaskFile(args.roi_mask)


def _refuse_damaged_reruns(summary) -> None:
    """A rerun onto a finished stack is 'already complete' from its manifest alone (batch); a
    stack whose frame files went missing or were cut since would then be reported complete with
    exit 0 while `verify` fails it. A stat per frame (Container.unsound_frames, what `info`
    warns about) finds those: refuse with one line naming them and how to recompress."""
    from .container import open_container
    from .errors import OutputError

    runs = [well for _, well in summary.wells] if hasattr(summary, "wells") else [summary]
    damaged = []
    for run in runs:
        if not run.already_complete:
            continue
        unsound = open_container(run.output).unsound_frames()
        if unsound:
            shown = ", ".join(map(str, unsound[:5])) + (", ..." if len(unsound) > 5 else "")
            damaged.append(
                f"{run.output} has {len(unsound)} of {run.frames} frame files missing or of "
                f"the wrong size (frame {shown})"
            )
    if damaged:
        raise OutputError(
            "The output already holds this compression, so nothing was redone, but "
            f"{'; '.join(damaged)}. Pass --overwrite to compress it again (`flowroi verify` "
            "lists every damaged frame)."
        )


def _preflight(movies, settings: FlowRoISettings, args):
    """The missed-cell guard before anything is coded, the same check the widget makes
    (jobs.check_coverage, guard.preflight): on five frames of each movie, the share of the
    guard's reference cells (guard.reference_cells, independent of the RoI's detector) that the
    RoI holds must reach the coverage target, or the run is refused with one line (exit 2)
    unless --force. Microscopy files with several planes are checked after the run only
    (summary, `flowroi info`): their planes open inside the run. Returns each movie's verdict in
    order (their masks are coded by the runs, not computed twice; None for a well past the
    plate's hand-over budget, plates.handed_over, whose run computes its own), or []."""
    from .jobs import check_coverage, refusal
    from .plates import handed_over
    from .readers import open_movie

    if not settings.uses_roi or args.force:
        return []
    extra_roi = open_movie(args.roi_mask, masks=True) if args.roi_mask is not None else None
    kept: dict = {}
    for i, source in enumerate(movies):
        movie = open_movie(source)
        if extra_roi is not None and tuple(extra_roi.shape) != tuple(movie.shape):
            return []  # the run refuses the mask with its own message (batch._check_extra_roi)
        verdict = check_coverage([movie], settings, extra_roi=extra_roi)
        if not verdict.ok:
            raise refusal(verdict, where=f"{source}: " if len(movies) > 1 else "")
        # a plate's within the budget as the checks go, so a large plate's do not pile up in
        # memory (one movie's is held once, as compress_movie takes it)
        kept = handed_over({**kept, str(i): verdict}) if len(movies) > 1 else {"0": verdict}
    return [kept.get(str(i)) for i in range(len(movies))]


def _save_preset(settings: FlowRoISettings, path: Path, inputs) -> None:
    """Write a preset to `path`, never onto an input, a folder or a file that is not a preset."""
    from .container import written_whole
    from .outputs import check_preset_output

    check_preset_output(path, inputs)
    # whole or not at all, and the folders it made removed again on a failure, as roi's and
    # decompress's outputs
    with written_whole(Path(path)) as tmp:
        tmp.write_bytes((json.dumps(settings.to_dict(), indent=2) + "\n").encode())


def _check_local_workers(workers: int, *, local: bool = True, cluster: str = "") -> None:
    """One check of --workers for compress and tune: at least 1, and, when they run on this
    machine (`local`), at most MAX_WORKERS_PER_CPU per CPU of it (at least 8)."""
    if workers < 1:
        raise _UsageError("--workers must be at least 1")
    if not local:
        return
    local_cpus = os.cpu_count() or 1
    most = max(MAX_WORKERS_PER_CPU * local_cpus, 8)
    if workers > most:
        raise _UsageError(
            f"--workers {workers} is far more than this machine's {local_cpus} CPUs and would "
            f"only slow it down; use at most {most}{cluster}"
        )


def _one_plane(args):
    """The movie `tune` and `roi` look at: the input, or of a microscopy file one plane, the
    first scene, channel and z-plane unless named (the first channel is the one whose motion
    gives every channel's RoI in `compress`, by default)."""
    from .readers import open_movie
    from .readers.formats import claims, open_selected

    named = args.channel is not None or args.scene is not None or args.z is not None
    if named or claims(args.input):
        return open_selected(
            args.input, scene=args.scene, channel=args.channel, z=args.z, first_if_several=True
        )
    return open_movie(args.input)


def _tune(args) -> int:
    from .readers import check_fits_memory
    from .tune import suggest_settings

    _check_local_workers(args.workers)
    settings = settings_from_args(args)
    if args.save is not None:  # refuse a bad destination before minutes of trying settings
        from .outputs import check_preset_output

        check_preset_output(args.save, [args.input, args.preset])
    movie = _one_plane(args)
    check_fits_memory(movie, plain=False)
    suggestion = suggest_settings(
        movie,
        settings,
        workers=args.workers,
        progress=_StderrProgress("trying settings", not args.quiet, unit="settings"),
    )
    if args.save is not None:
        _save_preset(suggestion.settings, args.save, [args.input, args.preset])
    if not args.quiet:
        sys.stderr.write(f"flowroi: {suggestion.summary()}\n")
    elif suggestion.compress_refuses:  # what `compress --preset` will answer, said even so
        from .guard import percent_below

        sys.stderr.write(
            f"flowroi: warning: compress's missed-cell check estimates "
            f"{percent_below(suggestion.compress_check)} of the cells in the suggested RoI, below "
            f"its {100 * suggestion.settings.coverage_target:g}% target: it refuses these "
            "settings unless given --force or a lower --coverage-target\n"
        )
    print(_json(suggestion.as_dict(), indent=2))
    return EXIT_OK


def _verify(args) -> int:
    from .container import folder_members, verify_container, verify_member

    members = folder_members(args.container)
    if members is not None:  # the planes or wells of one run: each stack, one line each
        failed = 0
        for member in members:
            problems = verify_member(
                member, progress=None if args.quiet else _StderrProgress(f"verifying {member.name}")
            )
            for problem in problems:
                sys.stderr.write(f"{member}: {problem}\n")
            if problems:
                failed += 1
            else:
                print(f"{member}: all frames match the manifest and decode")
        if failed:
            sys.stderr.write(f"{args.container}: {failed} of {len(members)} stacks failed\n")
            return EXIT_FAILURE
        print(f"{args.container}: all {len(members)} stacks match their manifests and decode")
        return EXIT_OK
    problems = verify_container(
        args.container, progress=None if args.quiet else _StderrProgress("verifying")
    )
    for problem in problems:
        sys.stderr.write(f"{args.container}: {problem}\n")
    if problems:
        return EXIT_FAILURE
    print(f"{args.container}: all frames match the manifest and decode")
    return EXIT_OK


def _decompress(args) -> int:
    from .container import decompress
    from .outputs import check_tiff_name

    check_tiff_name(args.output, what="the decoded frames")

    # an OME-TIFF with the input's pixel size, time interval and channel names when the manifest
    # has them; a folder of containers gives one series per scene (docs/formats.md)
    written = decompress(
        args.container,
        args.output,
        overwrite=args.overwrite,
        progress=_StderrProgress("decompressing", not args.quiet),
    )
    first = written["series"][0]
    if len(written["series"]) > 1:
        _add_series_dtypes(args.output, written["series"])
    print(
        json.dumps(
            {
                "output": str(args.output),
                "shape": first["shape"],
                "dtype": written["dtype"],
                "axes": first["axes"],
                **({"series": written["series"]} if len(written["series"]) > 1 else {}),
            }
        )
    )
    return EXIT_OK


def _add_series_dtypes(output: Path, series: list[dict]) -> None:
    """Each series' pixel type, read back from the TIFF's headers: wells of a plate may differ
    (uint8, uint16, float32 in one file), and the one `dtype` printed is the first series'
    (container.decompress gives only that one)."""
    import tifffile

    with tifffile.TiffFile(output) as tif:
        for entry, stored in zip(series, tif.series, strict=False):
            entry["dtype"] = str(stored.dtype)


#: What `flowroi info FOLDER` prints of each stack (one JSON line each); `flowroi info STACK`
#: prints everything.
_BRIEF_INPUT = ("scene", "channel_name", "z_index", "layer_name")


def _brief(summary: dict) -> dict:
    physical = summary.get("input", {}).get("physical", {}) or {}
    out = {
        key: summary[key]
        for key in (
            "container",
            "shape",
            "dtype",
            "raw_bytes",
            "bytes_written",
            "achieved_rate",
            "mean_roi_fraction",
        )
    }
    out.update({key: physical[key] for key in _BRIEF_INPUT if key in physical})
    out["motion_roi"] = summary["settings"].get("motion_roi")
    if summary.get("cell_coverage"):
        out["cell_coverage_min"] = summary["cell_coverage"].get("min")
    return out


def _info(args) -> int:
    from .container import folder_members, member_problem, open_container

    members = folder_members(args.container)
    if members is not None:  # the planes or wells of one run: one JSON line per stack
        failed = 0
        for member in members:
            problem = member_problem(member)
            if problem is None:
                try:
                    container = open_container(member)
                    summary = container.summary()
                except FlowRoIError as exc:
                    problem = " ".join(str(exc).split())
            if problem is not None:
                sys.stderr.write(f"{member}: {problem}\n")
                failed += 1
                continue
            summary["container"] = str(member)
            print(_json(_brief(summary), ensure_ascii=False))
            _warn_unsound(container, member)
        if failed:
            sys.stderr.write(
                f"{args.container}: {failed} of {len(members)} stacks could not be read\n"
            )
            return EXIT_USAGE
        return EXIT_OK
    container = open_container(args.container)
    summary = container.summary()
    summary["container"] = str(args.container)
    print(_json(summary, indent=2))
    _warn_unsound(container, args.container)
    return EXIT_OK


def _warn_unsound(container, path) -> None:
    """One warning line when frame files of a stack are missing or not of the manifest's size:
    `info` reads the manifest only, and a stat per frame costs next to nothing."""
    unsound = container.unsound_frames()
    if unsound:
        shown = ", ".join(map(str, unsound[:5])) + (", ..." if len(unsound) > 5 else "")
        sys.stderr.write(
            f"flowroi: warning: {len(unsound)} of {len(container.manifest['frames'])} frame files "
            f"of {path} are missing or of the wrong size (frame {shown}); run `flowroi verify` "
            "on it to list every damaged frame\n"
        )


def _finite(value):
    """`value` with every float that is not a number or infinite as None (JSON's null)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(item) for item in value]
    return value


def _json(value, **options) -> str:
    """What the command prints on stdout, as strict JSON: a figure that cannot be computed (the
    gain on a movie of 1x1 frames) is null. Python's NaN and Infinity are not JSON, and jq or a
    JSON reader of another language would refuse the whole output."""
    return json.dumps(_finite(value), allow_nan=False, **options)


def _os_error_message(exc: OSError) -> str:
    """An OSError nobody mapped earlier, as one line that names the file."""
    where = exc.filename if exc.filename is not None else ""
    what = exc.strerror or type(exc).__name__
    return (
        f"{what}: {where}. Check the path and its permissions."
        if where
        else f"{what} ({exc}). Check the paths and their permissions."
    )


def _silence_stdout() -> None:
    """Point stdout at the null device, so the interpreter's last flush at exit does not fail on
    the closed pipe again (the recipe of Python's signal documentation)."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)


def _one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Show a warning the way the command's errors read (``flowroi: warning: ...``, one line),
    not in Python's default form with a file name, a line number and the source line, which
    tells a user of the command nothing."""
    text = " ".join(str(message).split())
    with contextlib.suppress(OSError, ValueError, AttributeError):
        (file or sys.stderr).write(f"flowroi: warning: {text}\n")


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (see the module docstring)."""
    for stream in (sys.stdout, sys.stderr):  # paths with undecodable bytes still print
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    with warnings.catch_warnings():
        warnings.showwarning = _one_line_warning
        return _run(argv)


#: What Ctrl-C leaves, per command: only `compress` records its progress and resumes; `roi`,
#: `decompress` and `tune --save` write through a temporary file a failure removes, and a rerun
#: starts again; `info` and `verify` write nothing.
_INTERRUPTED = {
    "compress": "rerun the same command to resume.",
    "decompress": "nothing was written; rerun the same command to start again.",
    "roi": "nothing was written; rerun the same command to start again.",
    "tune": "nothing was written; rerun the same command to start again.",
}


def _run(argv: list[str] | None) -> int:
    parser = build_parser()
    command = None
    try:
        args = parser.parse_args(argv)
        command = args.command
        handler = {
            "compress": _compress,
            "decompress": _decompress,
            "info": _info,
            "verify": _verify,
            "tune": _tune,
            "roi": _roi,
        }[args.command]
        status = handler(args)
        sys.stdout.flush()  # a reader gone away shows here, inside the handlers below
        return status
    except BrokenPipeError:  # `flowroi info X | head`: the reader closed the pipe; stop quietly
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except (FlowRoIError, _UsageError) as exc:
        message = " ".join(str(exc).split())  # always one line
        sys.stderr.write(
            f"\nflowroi: error: {message}\n"
            if isinstance(exc, FlowRoIError)
            else f"flowroi: error: {message}\n"
        )
        return getattr(exc, "exit_status", EXIT_USAGE)
    except OSError as exc:  # the OS refused something no check foresaw: still one line
        sys.stderr.write(f"\nflowroi: error: {' '.join(_os_error_message(exc).split())}\n")
        return EXIT_USAGE
    except MemoryError:
        sys.stderr.write(
            "\nflowroi: error: out of memory; close other programs, use fewer "
            "workers or a larger machine.\n"
        )
        return EXIT_USAGE
    except KeyboardInterrupt:
        after = _INTERRUPTED.get(command, "nothing was changed.")
        sys.stderr.write(f"\nflowroi: interrupted; {after}\n")
        return 130


if __name__ == "__main__":
    sys.exit(main())
