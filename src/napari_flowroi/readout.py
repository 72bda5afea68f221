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
}


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


def verdict(preview, size_factor: float | None = None) -> str:
    """One line: which coding keeps the RoI (cells) better and by how much."""
    if preview.coarse:
        return f"Frame {preview.t}: coding… (the mask is up to date)"
    if not preview.settings.uses_roi:
        return "Plain JPEG2000: the baseline (no RoI)."
    gain = preview.psnr_roi_flowroi - preview.psnr_roi_plain
    size = preview.flowroi_bytes / preview.plain_bytes
    same = "at the same size" if abs(size - 1) < 0.1 else f"at {size:.2f}× the size"
    if gain != gain:
        return "No RoI on this frame: FlowRoI codes it like plain JPEG2000."
    if abs(gain) < 0.2:
        return f"FlowRoI ≈ JPEG2000 here: RoI (cells) {gain:+.1f} dB {same}."
    text = f"FlowRoI: RoI (cells) {gain:+.1f} dB {same}"
    known = size_factor is not None and math.isfinite(size_factor) and size_factor > 0
    if gain > 0:
        return text + (
            f", or {size_factor:.1f}× smaller at the same cell quality." if known else "."
        )
    return text + (
        f": plain JPEG2000 is better ({1 / size_factor:.1f}× smaller at the same cell quality)."
        if known
        else ": plain JPEG2000 is better here."
    )


def readout_html(p, settings, dtype, size_factor: float | None = None) -> str:
    """The readout of one frame: verdict, sizes, PSNR inside and outside the RoI, the guard."""
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
    if p.coverage is not None:
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
        f"<b>{verdict(p, size_factor)}</b><br>"
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
        f"{suggestion.summary()} ({suggestion.seconds:.0f} s)"
        "<table cellspacing='4'><tr><th>sources</th><th>thr.</th><th>adj.</th><th>scal.</th>"
        f"<th>cells kept</th><th>gain</th></tr>{rows}</table>"
    )


def batch_done(summary, requested_rate: float | None) -> tuple[str, str]:
    """(message, kind) after a batch: 'info', or 'warning' when the output is not much smaller
    than the raw frames (tiny frames: the container's fixed costs dominate)."""
    text = (
        f"Done: {summary.frames} frames into {summary.output}, {kb(summary.bytes_written)}, "
        f"achieved rate {summary.achieved_rate:.1f} : 1 "
        f"(RoI {100 * summary.mean_roi_fraction:.0f} % on average), {summary.seconds:.1f} s."
    )
    if summary.achieved_rate < 1:
        return (
            text + " Warning: the compressed stack is bigger than the raw movie: its frames "
            "are too small for JPEG2000 to gain anything (each file carries fixed headers). "
            "Keep the raw movie instead.",
            "warning",
        )
    if requested_rate and summary.achieved_rate < 0.5 * requested_rate:
        return (
            text + f" Warning: far from the {requested_rate:g} : 1 asked for; the frames are "
            "too small for this rate.",
            "warning",
        )
    return text, "info"
