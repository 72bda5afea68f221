"""What the napari widget says, as text: the readout of a frame, the one-line verdict, the batch
summary, suggestions and messages. No Qt, no napari: the widget shows these strings, tests and
scripts can read them.

PSNR peak shown (the *display peak*): the PSNR in the preview is computed with the dtype maximum
as peak for integer frames (65535 for uint16). A uint16 camera that uses 300 grey levels then reads
72 dB for a visibly degraded frame, which tells a biologist nothing. The readout therefore shows
PSNR against the frame's own value range (brightest minus darkest) when that range is less than
half the dtype's; differences between FlowRoI and JPEG2000 (the verdict) do not depend on the peak.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

#: Core messages name command-line options; in the widget they are these controls.
CLI_WORDS = {
    "pass --overwrite": "tick 'Replace an existing compressed stack'",
    "--overwrite": "'Replace an existing compressed stack'",
    "use --plain": "tick 'Plain'",
    "Use --plain": "Tick 'Plain'",
    "--plain": "the 'Plain' setting",
    "--preset": "'Load preset…'",
    "--workers": "the number of workers",
    "--compression-rate": "'Compression rate'",
    "--target-psnr": "'Target PSNR'",
    # tune's warning that compress will refuse its suggestion (tune.Suggestion.summary)
    "forced (--force)": "forced (a second click on 'Compress stack')",
    "--coverage-target": "'Coverage target'",
}


def frames(count: int) -> str:
    """'1 frame', '5 frames': the readout's counts of frames ("Done: 1 frames" read wrong)."""
    return f"{count} frame" if count == 1 else f"{count} frames"


def plain_words(message: str) -> str:
    """A core message with command-line options replaced by the widget's controls."""
    for flag, words in CLI_WORDS.items():
        message = message.replace(flag, words)
    return message


def kb(n: float) -> str:
    return f"{n / 1024:.1f} kB" if n < 1024**2 else f"{n / 1024**2:.2f} MB"


def db(value: float) -> str:
    if value != value:  # nan: no pixels there, or not computed yet
        return "–"
    return "∞" if value == float("inf") else f"{value:.1f} dB"


def display_peak_shift(preview, dtype) -> float:
    """dB to add to the preview's PSNR figures to express them against the display peak."""
    dtype = np.dtype(dtype)
    if dtype.kind not in "ui":
        return 0.0  # floats: the PSNR already uses the frame's range
    top = float(np.iinfo(dtype).max)
    low, high = preview.value_range
    span = high - low
    if span <= 0 or span >= top / 2:
        return 0.0
    return 20 * math.log10(span / top)


def signed_db(value: float) -> str:
    """A difference in dB with its sign, never "−0.0 dB" (a rounded zero has no sign)."""
    if value != value:
        return "–"
    if round(value, 1) == 0:
        return "±0.0 dB"
    return f"{value:+.1f} dB"


def size_words(factor: float | None) -> str:
    """FlowRoI's size at equal cell quality, in words a biologist reads at a glance; "" when
    unknown. Within 5 % it is "about the same size" (never "1.0× smaller")."""
    if factor is None or not math.isfinite(factor) or factor <= 0:
        return ""
    if 1 / 1.05 < factor < 1.05:
        return "about the same size as JPEG2000 at the same cell quality"
    if factor > 1:
        return f"{factor:.1f}× smaller than JPEG2000 at the same cell quality"
    return f"{1 / factor:.1f}× bigger than JPEG2000 at the same cell quality"


def source_words(settings, user_mask: bool = False) -> str:
    names = list(settings.roi_sources) + (["your mask"] if user_mask else [])
    return " + ".join(names) if names else "no source"


def verdict(
    preview, assessment=None, size_factor: float | None = None, coverage_target=None
) -> str:
    """One line about the cells: how many of them the RoI holds and which coding keeps them
    better (PSNR inside the guard's cells), never a gain while cells are left out.

    `assessment` is a :class:`tuning.FrameAssessment` (None before it is measured: the verdict
    then says so instead of falling back to figures inside the RoI)."""
    if preview.coarse:
        return f"Frame {preview.t}: coding… (the mask is up to date)"
    settings = preview.settings
    if not settings.uses_roi:
        return "Plain JPEG2000: the baseline (no RoI)."
    if assessment is None or not getattr(assessment, "coded", True):
        return f"Frame {preview.t}: measuring the cells…"
    target = settings.coverage_target if coverage_target is None else coverage_target
    gain = assessment.cell_gain
    size = preview.flowroi_bytes / preview.plain_bytes if preview.plain_bytes else 1.0
    same = "at the same size" if abs(size - 1) < 0.1 else f"at {size:.2f}× the size"
    if not settings.roi_sources and not assessment.user_mask:
        return (
            f"No RoI: Motion RoI and Appearance RoI are off, so FlowRoI codes the whole frame as "
            f"background — cells {signed_db(gain)} against JPEG2000 {same}: worse. Turn a RoI "
            "source on, or tick Plain."
        )
    sources = source_words(settings, assessment.user_mask)
    if settings.roi_sources and preview.looked_at > settings.flow_scale:
        # resolution.working_settings: the cells were too small for the flow scale asked for
        sources += "; found at full resolution: the cells are small"
    if gain != gain:  # no cell found on this frame
        return (
            f"No cells found on frame {preview.t} (RoI from {sources}): nothing to compare; "
            "look at a frame with cells."
        )
    coverage = assessment.coverage if assessment.coverage is not None else 1.0
    # one decimal where whole percents would read "98 %, below the 98 % target"
    digits = 1 if coverage < target and round(100 * coverage) >= round(100 * target) else 0
    held = f"Cells {100 * coverage:.{digits}f} % inside the RoI ({sources})"
    if coverage < target:
        return (
            f"{held}, below the {100 * target:.0f} % target: no gain claimed — cells left out "
            f"are smeared (all cells {signed_db(gain)} against JPEG2000 {same})."
        )
    words = size_words(size_factor)
    if abs(gain) < 0.2 or (gain < 0 and words.startswith("about")):  # tuning.VERDICT_TIE_DB
        return f"{held}: FlowRoI ≈ JPEG2000 on the cells ({signed_db(gain)} {same})."
    if gain > 0:
        return f"{held}: FlowRoI {signed_db(gain)} on the cells {same}" + (
            f", or {words}." if words else "."
        )
    return f"{held}: FlowRoI {signed_db(gain)} on the cells {same}: plain JPEG2000 is better" + (
        f" ({words})." if words else "."
    )


def dead_words(dead: dict[str, str], label: Callable[[str], str] = str) -> str:
    """ "No effect on this frame: RoI threshold (Motion RoI is off); …", grouped by reason."""
    if not dead:
        return ""
    by_reason: dict[str, list[str]] = {}
    for name, reason in dead.items():
        by_reason.setdefault(reason, []).append(label(name))
    return "No effect on this frame: " + "; ".join(
        f"{', '.join(names)} ({reason})" for reason, names in by_reason.items()
    )


#: Bytes no coded frame goes below: a JP2 file's boxes and main header (a 1x1 frame codes to 210
#: bytes). A movie of 8x8 frames at 40:1 read "0.4 kB → about 0.0 kB" and came out larger than
#: its raw pixels.
SMALLEST_FRAME_BYTES = 200


def movie_estimate(shape, dtype, settings, samples=()) -> str:
    """The whole movie's size before compressing ("77.0 MB → 1.9 MB") and, from sampled
    frames ((preview, assessment) pairs), the worst frame's expected cell quality."""
    raw = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if settings.target_psnr > 0:
        coded = [p.flowroi_bytes for p, _a in samples if p.flowroi_bytes]
        if not coded:
            size = f"{kb(raw)} → size follows from the target PSNR (estimate the frames below)"
        else:
            size = f"{kb(raw)} → about {kb(np.mean(coded) * shape[0])}"
    else:
        per_frame = max(raw / max(shape[0], 1) / settings.compression_rate, SMALLEST_FRAME_BYTES)
        size = f"{kb(raw)} → about {kb(per_frame * shape[0])}"
    text = f"Whole movie ({frames(shape[0])}): {size}"
    measured = [(p, a) for p, a in samples if a is not None and a.coded]
    if measured:
        if settings.uses_roi:
            worst_p, worst_a = min(
                measured,
                key=lambda pa: (
                    pa[1].psnr_cells_flowroi
                    if pa[1].psnr_cells_flowroi == pa[1].psnr_cells_flowroi
                    else float("inf")
                ),
            )
            text += (
                f". Worst of {len(measured)} sampled frames: frame {worst_p.t}, cells "
                f"{db(worst_a.psnr_cells_flowroi)} (JPEG2000 {db(worst_a.psnr_cells_plain)}), "
                f"{100 * (worst_a.coverage if worst_a.coverage is not None else 1):.0f} % of "
                "cells inside the RoI."
            )
        else:
            worst_p, worst_a = min(measured, key=lambda pa: pa[1].psnr_cells_plain)
            text += (
                f". Worst of {len(measured)} sampled frames: frame {worst_p.t}, cells "
                f"{db(worst_a.psnr_cells_plain)}."
            )
    return text


def readout_html(p, settings, dtype, size_factor: float | None = None, assessment=None) -> str:
    """The readout of one frame: sizes, PSNR inside the cells, inside and outside the RoI, the
    guard (the verdict is the dock's header line)."""
    shift = display_peak_shift(p, dtype)
    peak_note = " (PSNR against the frame's value range)" if shift else ""
    dim = "color:#999999" if p.coarse else ""
    rows = [
        ("compression rate", f"{p.flowroi_rate:.1f} : 1", f"{p.plain_rate:.1f} : 1"),
        (
            "bytes",
            kb(p.flowroi_bytes) if p.flowroi_bytes else "–",
            kb(p.plain_bytes) if p.plain_bytes else "–",
        ),
        (
            "PSNR inside cells",
            db(getattr(assessment, "psnr_cells_flowroi", float("nan")) + shift),
            db(getattr(assessment, "psnr_cells_plain", float("nan")) + shift),
        ),
        ("PSNR inside RoI", db(p.psnr_roi_flowroi + shift), db(p.psnr_roi_plain + shift)),
        ("PSNR outside RoI", db(p.psnr_outside_flowroi + shift), db(p.psnr_outside_plain + shift)),
    ]
    if p.coarse:
        rows = [(a, "…", "…") for a, _b, _c in rows]
    cells = "".join(
        f"<tr><td>{a}</td><td align='right'>{b}</td><td align='right'>{c}</td></tr>"
        for a, b, c in rows
    )
    guard = ""
    if p.coverage is not None and not p.coverage.found_cells:
        # no cell at all: the shares below would read "100 % of cells" beside the verdict's
        # "No cells found"
        guard = "<br>Cells inside the RoI: no cells found on this frame"
    elif p.coverage is not None:
        c = p.coverage
        warn = c.pixel_share < settings.coverage_target
        colour = "#ff8c3a" if warn else "#9fdf9f"
        rings = ", shown as orange rings" if len(c.missed) else ""
        guard = (
            f"<br><span style='color:{colour}'>Cells inside the RoI: "
            f"{100 * c.pixel_share:.1f} % of cell pixels, {100 * c.object_share:.0f} % of "
            f"cells ({len(c.missed)} left out{rings})"
            f"{' — below the coverage target' if warn else ''}</span>"
        )
    state = "coding…" if p.coarse else f"computed in {p.seconds:.2f} s"
    return (
        f"Frame {p.t} · RoI {100 * p.roi_fraction:.1f} % of the frame · {state}{guard}"
        f"<table cellspacing='6' style='{dim}'><tr><th></th><th>FlowRoI</th>"
        f"<th>JPEG2000</th></tr>{cells}</table>{peak_note}"
    )


def suggestion_html(suggestion) -> str:
    rows = "".join(
        f"<tr><td>{' + '.join(c.settings.roi_sources)}</td>"
        f"<td align='right'>{c.settings.roi_threshold:g}</td>"
        f"<td align='right'>{c.settings.adjacent_factor}</td>"
        f"<td align='right'>{c.settings.scaling_factor:g}</td>"
        f"<td align='right'>{100 * c.coverage:.1f} %</td>"
        f"<td align='right'>{c.gain:.2f}</td></tr>"
        for c in sorted(suggestion.candidates, key=lambda c: -c.gain)[:5]
    )
    return (
        f"{plain_words(suggestion.summary())} ({suggestion.seconds:.0f} s)"
        "<table cellspacing='4'><tr><th>sources</th><th>thr.</th><th>adj.</th><th>scal.</th>"
        f"<th>cells kept</th><th>gain</th></tr>{rows}</table>"
    )


def notes_text(notes) -> str:
    """A run's notes (``CompressionSummary.notes``), each as a sentence in the widget's words."""
    return "".join(f" Note: {plain_words(note)}." for note in notes)


#: The widget's advice on a run below the coverage target (the command line's note,
#: ``CompressionSummary.coverage_note``, points to `flowroi tune` instead).
BELOW_TARGET_ADVICE = (
    "cells outside the RoI are smeared; 'Suggest settings' finds settings that keep them."
)


def channels_done(plate, motion_channel) -> tuple[str, str]:
    """(message, kind) after every channel of a layer was compressed (a ``plates.PlateSummary``
    whose wells are the channels' ``CompressionSummary``): the totals, each channel's notes and,
    as ``batch_done`` says it for one movie, a 'warning' in the widget's words when the guard's
    estimate of a channel is below the target its run was held to (the channels' summaries'
    fields, not their command-line sentences)."""
    from .guard import percent_below

    totals = plate.as_dict()["totals"]
    text = (
        f"Done: {totals['wells']} channels ({frames(totals['frames'])}) into {plate.output}, "
        f"one stack each with the RoI of channel {motion_channel}, "
        f"{kb(totals['bytes_written'])}, achieved rate {totals['achieved_rate']:.1f} : 1, "
        f"{plate.seconds:.1f} s."
    )
    text += notes_text(f"{name}: {note}" for name, well in plate.wells for note in well.notes)
    below = [(name, well) for name, well in plate.wells if well.below_coverage_target]
    if not below:
        # the channels share the run's settings, so the first one's rate asked for is theirs
        size = _size_warning(
            totals["achieved_rate"], plate.wells[0][1].requested_rate if plate.wells else None
        )
        return (text + size, "warning") if size else (text, "info")
    target = below[0][1].coverage_target  # the channels share the run's settings
    channels = ", ".join(
        f"{name} (cells {percent_below(well.cell_coverage['mean']).replace('%', ' %')})"
        for name, well in below
    )
    return (
        text + f" Warning: below the coverage target ({100 * target:g} %) in {channels}: "
        f"{BELOW_TARGET_ADVICE}",
        "warning",
    )


def batch_done(summary) -> tuple[str, str]:
    """(message, kind) after a batch (a ``batch.CompressionSummary``): 'info', or 'warning' when
    the output is not much smaller than the raw frames (tiny frames: the container's fixed costs
    dominate), far from the rate asked for (``summary.requested_rate``), or when the missed-cell
    guard's estimate of the run (``summary.cell_coverage``) is below the target the run was held
    to (``summary.below_coverage_target``: a run the user chose to compress anyway). The run's
    notes (``summary.notes``: already complete, nothing moved, the RoI looked for at full
    resolution) follow, in the widget's words."""
    from .guard import percent_below

    text = (
        f"Done: {frames(summary.frames)} into {summary.output}, {kb(summary.bytes_written)}, "
        f"achieved rate {summary.achieved_rate:.1f} : 1 "
        f"(RoI {100 * summary.mean_roi_fraction:.0f} % on average), {summary.seconds:.1f} s."
    )
    coverage = summary.cell_coverage
    if coverage is not None:
        share = percent_below(coverage["mean"]).replace("%", " %")
        checked = len(coverage["frames_checked"])
        text += f" Cells {share} inside the RoI (the guard's estimate on {frames(checked)})."
    # the coverage below its target is not among the notes (CompressionSummary.coverage_note,
    # the command line's wording): it is the warning below, with the widget's own advice
    text += notes_text(summary.notes)
    if summary.below_coverage_target:
        return (
            text + f" Warning: below the coverage target ({100 * summary.coverage_target:g} %): "
            f"{BELOW_TARGET_ADVICE}",
            "warning",
        )
    size = _size_warning(summary.achieved_rate, summary.requested_rate)
    return (text + size, "warning") if size else (text, "info")


def _size_warning(achieved_rate: float, requested_rate: float | None) -> str:
    """The warning of a run whose output is not much smaller than the raw frames (tiny frames: the
    container's fixed costs dominate) or far from the rate asked for (`requested_rate`; None
    under a target PSNR); "" otherwise. One movie's and a layer's channels' alike."""
    if achieved_rate < 1:
        return (
            " Warning: the compressed stack is bigger than the raw movie: its frames "
            "are too small for JPEG2000 to gain anything (each file carries fixed headers). "
            "Keep the raw movie instead."
        )
    if requested_rate and achieved_rate < 0.5 * requested_rate:
        return (
            f" Warning: far from the {requested_rate:g} : 1 asked for; the frames are "
            "too small for this rate."
        )
    return ""
