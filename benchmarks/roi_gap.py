"""Issue 10's table: how close the default RoI comes to the ideal (reference-cell) RoI.

    python benchmarks/roi_gap.py [--frames N] [--movies HSC,GOWT1,HeLa]

Per movie (clean and with camera noise) and rate (8, 16, 32:1), on N consecutive frames:
RoI share of the frame against the reference cells + 2 px, share of the reference-cell pixels
inside the RoI, reference cells (instances) coded more than 1 dB worse than by plain JPEG2000 at
the same rate (and with the ideal RoI; for noisy clips, against the clean frames), and the gain
at matched cell PSNR of the default settings, of the ideal mask (reference + 2 px), of that mask
2 px looser and of the default RoI cut to it (an oracle), under the same background settings,
with default / ideal; segmentation and tracking F1 and the gain at equal F1. Writes
benchmarks/results/roi_gap.json and benchmarks/results/roi_gap.md; `make bench` runs the same as
its part `gap` and puts the table in docs/benchmarks.md (`--from-results
benchmarks/results/results.json` writes benchmarks/results/roi_gap.md from that run).
docs/benchmarks-roi.md belongs to issue 21's procedure (benchmarks/generalise.py).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from common import IDEAL_MARGIN, ClipQuality, gain, plain_ladder  # noqa: E402

from napari_flowroi import codec  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

RATES = (8, 16, 32)
#: Plain JPEG2000 rates for the downstream ladder: 2^(k/2), 4:1 ... 256:1.
F1_LADDER = tuple(2 ** (k / 2) for k in range(4, 17))
#: A reference cell "pays" when it comes out this many dB below plain JPEG2000 at the same rate.
PAY_DB = 1.0
#: Reference instances smaller than this (px) are also counted apart: the HSC reference (local
#: contrast > 12.5, shipped) holds fragments of 1-20 px whose PSNR is that of a handful of pixels.
MIN_CELL_AREA = 30
#: The looser ideal: the reference cells dilated this many px more than the ideal.
LOOSER_BY = 2


def cell_psnr(original, decoded, labels, peak) -> np.ndarray:
    """PSNR of every labelled cell (index = label; label 0 unused)."""
    sq = (original.astype(np.float64) - decoded.astype(np.float64)) ** 2
    n = int(labels.max()) + 1
    sse = np.bincount(labels.ravel(), weights=sq.ravel(), minlength=n)
    count = np.bincount(labels.ravel(), minlength=n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return 10 * np.log10(peak**2 / (sse / np.maximum(count, 1)))


class PayingCells:
    """Reference cells (instances) coded more than PAY_DB dB below plain JPEG2000 at the same
    rate, summed over a clip's frames; for a clip with added noise also how the cells that pay
    compare with plain JPEG2000 against the clean frame (what a cell's "loss" is when the camera
    noise was not kept)."""

    def __init__(self):
        self.worse = self.total = self.worse_big = self.total_big = 0
        self.worse_vs_clean = 0
        self.clean_differences: list[float] = []

    def add(self, original, decoded, plain, labels, peak, clean=None) -> None:
        ours = cell_psnr(original, decoded, labels, peak)[1:]
        theirs = cell_psnr(original, plain, labels, peak)[1:]
        area = np.bincount(labels.ravel(), minlength=len(ours) + 1)[1:]
        present, big = area > 0, area >= MIN_CELL_AREA
        pays = (ours < theirs - PAY_DB) & present
        self.worse += int(pays.sum())
        self.total += int(present.sum())
        self.worse_big += int(np.sum(pays & big))
        self.total_big += int(big.sum())
        if clean is not None and pays.any():
            ours_clean = cell_psnr(clean, decoded, labels, peak)[1:][pays]
            theirs_clean = cell_psnr(clean, plain, labels, peak)[1:][pays]
            self.clean_differences.extend((ours_clean - theirs_clean).tolist())
            self.worse_vs_clean += int(np.sum(ours_clean < theirs_clean - PAY_DB))

    def median_clean_difference(self) -> float:
        # the median: a fragment of a pixel or two that one coder hits exactly has an infinite PSNR
        return float(np.median(self.clean_differences)) if self.clean_differences else float("nan")


def downstream_scores(case, originals, decoded_by_t, reference) -> dict:
    """Segmentation F1 (IoU > 0.5) and tracking F1 of decoded frames against the same pipeline
    on the originals (benchmarks/downstream.py)."""
    import downstream

    frames = sorted(originals)
    seg = {t: downstream.segment(decoded_by_t[t], case.modality) for t in frames}
    total = {"tp": 0, "n_reference": 0, "n_test": 0}
    for t in frames:
        for k, v in downstream.match_instances(reference["seg"][t], seg[t]).items():
            total[k] += v
    ltotal = {"tp": 0, "n_reference": 0, "n_test": 0}
    for ref, (a, b) in zip(reference["links"], zip(frames, frames[1:], strict=False), strict=False):
        links = downstream.link(downstream.centroids(seg[a]), downstream.centroids(seg[b]))
        for k, v in downstream.match_links(ref, links).items():
            ltotal[k] += v
    return {
        "segmentation": downstream.prf(total)["f1"],
        "tracking": downstream.prf(ltotal)["f1"] if len(frames) > 1 else float("nan"),
    }


def rate_at_f1(ladder: list[dict], key: str, f1: float) -> tuple[float, str]:
    """The highest plain rate whose F1 (`key`) still reaches `f1`, interpolated in log(rate)
    between the last rung that reaches it and the next; '>' when even the lowest rung does
    not reach it (gain at least the value), '<' when the highest rung still does."""
    rates = np.array([p["rate"] for p in ladder])
    scores = np.array([p[key] for p in ladder])
    order = np.argsort(rates)
    rates, scores = rates[order], scores[order]
    ok = np.nonzero(scores >= f1 - 1e-9)[0]
    if len(ok) == 0:
        return float(rates[0]), ">"
    i = int(ok.max())
    if i == len(rates) - 1:
        return float(rates[-1]), "<"
    s0, s1 = scores[i], scores[i + 1]
    w = 0.0 if s0 == s1 else (s0 - f1) / (s0 - s1)
    return float(np.exp(np.log(rates[i]) + w * (np.log(rates[i + 1]) - np.log(rates[i])))), ""


def f1_ladder(case, originals, reference) -> list[dict]:
    out = []
    for cratio in F1_LADDER:
        decoded, nbytes, raw = {}, 0, 0
        for t, frame in originals.items():
            data = codec.encode_jp2(frame, cratio)
            decoded[t] = codec.decode_jp2(data)
            nbytes += len(data)
            raw += frame.nbytes
        out.append({"rate": raw / nbytes, **downstream_scores(case, originals, decoded, reference)})
    return out


def run_case(case, frames, settings, log, downstream_f1: bool = True) -> dict:
    originals = {t: case.movie[t] for t in frames}
    # the frames before the noise was added (clips with noise): what paying cells are also
    # measured against, read once for every rate and RoI
    cleans = {t: np.asarray(case.clean[t]) for t in frames} if case.clean is not None else None
    peak = float(np.iinfo(case.movie.dtype).max)
    ladder = plain_ladder(case, frames, originals)
    extractor = RoiExtractor(case.movie, settings, cache_frames=8)
    started = time.perf_counter()
    masks = {t: extractor.mask(t) for t in frames}
    mask_seconds = (time.perf_counter() - started) / len(frames)
    ideal = {t: case.ideal(t) for t in frames}
    # the same ceiling with the RoI's edge LOOSER_BY px further out: how much of the ideal's gain
    # hangs on the RoI following the reference segmentation's own edge to the pixel
    looser = {t: case.ideal(t, IDEAL_MARGIN + LOOSER_BY) for t in frames}
    # an oracle on the default RoI: every pixel of it farther than the looser ideal's reach from
    # a reference cell removed (no false regions, no glow, an edge at most LOOSER_BY px beyond
    # the ideal's): what the rest of the RoI rule could still gain
    trimmed = {t: masks[t] & looser[t] for t in frames}
    cover = [common.coverage(masks[t], case.cells(t)) for t in frames]
    out = {
        "frames": frames,
        "mask_seconds": mask_seconds,
        "roi_fraction": float(np.mean([c["roi_fraction"] for c in cover])),
        "ideal_fraction": float(np.mean([ideal[t].mean() for t in frames])),
        "looser_fraction": float(np.mean([looser[t].mean() for t in frames])),
        "trimmed_fraction": float(np.mean([trimmed[t].mean() for t in frames])),
        "cell_fraction": float(np.mean([np.mean(case.cells(t) > 0) for t in frames])),
        "pixel_coverage": float(np.mean([c["pixel_coverage"] for c in cover])),
        "object_coverage": float(np.mean([c["object_coverage"] for c in cover])),
        "rates": {},
    }
    reference = ladder_f1 = None
    if downstream_f1:
        import downstream

        seg = {t: downstream.segment(originals[t], case.modality) for t in frames}
        reference = {
            "seg": seg,
            "links": [
                downstream.link(downstream.centroids(seg[a]), downstream.centroids(seg[b]))
                for a, b in zip(frames, frames[1:], strict=False)
            ],
        }
        ladder_f1 = f1_ladder(case, originals, reference)
        out["f1_ladder"] = ladder_f1
    for rate in RATES:
        s = settings.replace(compression_rate=float(rate))
        row = {}
        decoded_default, bytes_default, raw_default = {}, 0, 0
        plain = {t: codec.decode_frame(codec.encode_plain(originals[t], s)) for t in frames}
        pays = {"default": PayingCells(), "ideal": PayingCells()}
        for name, mk in (
            ("default", masks),
            ("ideal", ideal),
            ("looser", looser),
            ("trimmed", trimmed),
        ):
            q = ClipQuality(case.movie.dtype)
            for t in frames:
                enc = codec.encode_frame(originals[t], mk[t], s)
                dec = codec.decode_frame(enc)
                q.add(originals[t], dec, case.cells(t), enc.bytes_written)
                if name in pays:
                    pays[name].add(
                        originals[t],
                        dec,
                        plain[t],
                        case.cells(t),
                        peak,
                        cleans[t] if cleans is not None else None,
                    )
                if name == "default":
                    decoded_default[t] = dec
                    bytes_default += enc.bytes_written
                    raw_default += originals[t].nbytes
            g, flag = gain(q.as_dict(), ladder)
            row[name] = {"gain": g, "flag": flag, "rate": q.rate, "psnr_cells": q.psnr("cells")}
        worse = pays["default"].worse
        cells_total = pays["default"].total
        row["cells_worse"] = worse
        row["cells_total"] = cells_total
        row["cells_worse_big"] = pays["default"].worse_big
        row["cells_total_big"] = pays["default"].total_big
        row["ideal_cells_worse"] = pays["ideal"].worse
        row["ideal_cells_worse_big"] = pays["ideal"].worse_big
        if cleans is not None:
            row["paying_vs_clean_db"] = pays["default"].median_clean_difference()
            row["paying_worse_vs_clean"] = pays["default"].worse_vs_clean
        row["default_over_ideal"] = row["default"]["gain"] / row["ideal"]["gain"]
        if reference is not None:
            scores = downstream_scores(case, originals, decoded_default, reference)
            achieved = raw_default / bytes_default
            for key in ("segmentation", "tracking"):
                if not np.isfinite(scores[key]):
                    continue
                plain_rate, flag = rate_at_f1(ladder_f1, key, scores[key])
                row[f"{key}_f1"] = scores[key]
                row[f"{key}_gain"] = {"gain": achieved / plain_rate, "flag": flag}
        out["rates"][str(rate)] = row
        log(
            f"  {case.name} {rate}:1 default {row['default']['gain']:.2f}{row['default']['flag']} "
            f"ideal {row['ideal']['gain']:.2f}{row['ideal']['flag']} worse {worse}/{cells_total}"
        )
    return out


def _bounded(row: dict, name: str, fraction: float | None) -> str:
    """A gain column with its share of the frame and its share of the ideal's gain."""
    g = row.get(name)  # results from before the column have none
    if not g:
        return "–"
    return f"{g['flag']}{g['gain']:.2f} ({fraction:.1%}; {g['gain'] / row['ideal']['gain']:.0%})"


def _ideal_worse(row: dict) -> str:
    if "ideal_cells_worse" not in row:  # results from before the column
        return "–"
    return f"{row['ideal_cells_worse']} ({row['ideal_cells_worse_big']})"


def _against_clean(row: dict) -> str:
    if "paying_vs_clean_db" not in row or row["cells_worse"] == 0:
        return "–"
    return f"{row['paying_vs_clean_db']:+.1f} dB, {row['paying_worse_vs_clean']} > 1 dB worse"


def _f1(row: dict, key: str) -> str:
    if f"{key}_f1" not in row:
        return "–"
    g = row[f"{key}_gain"]
    return f"{row[key + '_f1']:.2f} ({g['flag']}{g['gain']:.2f})"


def write_doc(results: dict, path: Path, source: str = "") -> None:
    source = source or f"`python benchmarks/roi_gap.py --frames {results['n_frames']}`"
    common.write_page(
        path,
        "# Benchmarks: the default RoI against the ideal RoI (issue 10)",
        common.generated_line(source, results, detail=f"{results['n_frames']} frames per clip"),
        table(results),
    )


def table(results: dict) -> list[str]:
    """The issue-10 table and its legend as Markdown lines (also a section of benchmarks.md)."""
    s = FlowRoISettings()
    lines = [
        (
            "Same data, noise and measurement as docs/benchmarks.md (gain = times smaller than plain "
            "JPEG2000 at the same PSNR inside the reference cells, plain JPEG2000 over the 34-rate "
            "ladder). *default* = the settings' defaults "
            f"(rule {s.roi_rule}, RoI threshold {s.roi_threshold:g}, flow {s.flow_method}, "
            f"cell contrast {s.cell_contrast:g}, margin {s.roi_margin}, scaling {s.scaling_factor:g}, "
            f"background_sigma {s.background_sigma:g}); *ideal* = the reference cells dilated 2 px as "
            "the RoI, coded with the same background settings; *ideal + 2 px* = the same with the "
            f"reference cells dilated {IDEAL_MARGIN + LOOSER_BY} px (in brackets: RoI share, share of "
            "the ideal's gain): a perfect segmentation whose edge lies 2 px further out, which meets "
            "the RoI-size target (≤ 1.3 × the ideal's share) — how much of the ideal's gain hangs on "
            "the RoI's edge following the reference segmentation's own edge to the pixel; *default "
            "within reference + 4 px* = an oracle: the default RoI with every pixel farther than 4 px "
            "from a reference cell removed (no false regions, no glow): what any better rule for "
            "which regions to keep could still gain, with the default's own edge. *RoI / ideal* = RoI share of the frame "
            "÷ share of the reference cells + 2 px (target ≤ 1.3); *covered* = share of the "
            "reference-cell pixels inside the RoI (target ≥ 99.5 %); *cells > 1 dB worse* = reference "
            "cells (instances) whose PSNR is more than 1 dB below plain JPEG2000's at the same rate "
            f"(target 0; in brackets: cells of at least {MIN_CELL_AREA} px); *same, ideal RoI* = "
            "that count when the ideal RoI is coded instead: the codec's own scatter, which no RoI "
            "removes (reference fragments of a few pixels, coded a little differently once the "
            "background is damped); *paying cells against the clean movie* (clips with added "
            "noise) = for the cells that pay, FlowRoI's PSNR minus plain JPEG2000's measured against "
            "the frame before the noise was added (median over those cells), and how many of them are "
            "still more than 1 dB worse there: a cell left outside the RoI loses the camera noise, "
            "not its own signal. Mask time: seconds per frame for the RoI of the evaluated frames on one "
            "extractor (2 shared cores, other jobs running; docs/speed.md has the controlled figure)."
        ),
        "",
        "| movie | frames | RoI | ideal | RoI / ideal | covered | mask s/frame | rate | cells > 1 dB worse | same, ideal RoI | paying cells against the clean movie | gain default | gain ideal | gain ideal + 2 px | gain default within reference + 4 px | default ÷ ideal | segmentation F1 (gain) | tracking F1 (gain) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["cases"].items():
        first = True
        for rate, row in r["rates"].items():
            head = (
                (
                    f"| {name} | {r['frames'][0]}–{r['frames'][-1]} | {r['roi_fraction']:.1%} | "
                    f"{r['ideal_fraction']:.1%} | {r['roi_fraction'] / r['ideal_fraction']:.2f} | "
                    f"{r['pixel_coverage']:.2%} | {r['mask_seconds']:.3f} |"
                )
                if first
                else "| | | | | | | |"
            )
            first = False
            d, i = row["default"], row["ideal"]
            looser = _bounded(row, "looser", r.get("looser_fraction"))
            trimmed = _bounded(row, "trimmed", r.get("trimmed_fraction"))
            lines.append(
                f"{head} {rate}:1 | {row['cells_worse']} / {row['cells_total']} "
                f"({row['cells_worse_big']} / {row['cells_total_big']}) | "
                f"{_ideal_worse(row)} | {_against_clean(row)} | "
                f"{d['flag']}{d['gain']:.2f} | {i['flag']}{i['gain']:.2f} | {looser} | {trimmed} | "
                f"{row['default_over_ideal']:.0%} | {_f1(row, 'segmentation')} | "
                f"{_f1(row, 'tracking')} |"
            )
    lines += [
        "",
        (
            "`>x`: plain JPEG2000 never reached that cell quality on the ladder (gain at "
            "least x); a ratio with such a bound is itself a bound."
        ),
        "",
        (
            "Segmentation and tracking F1: the benchmark's classical pipeline "
            "(benchmarks/downstream.py: threshold + watershed, IoU > 0.5; mutual nearest-"
            "neighbour links) on the decoded frames against the same pipeline on the originals. "
            "In brackets the gain at equal F1: FlowRoI's rate ÷ the highest plain-JPEG2000 rate "
            "(ladder 4:1 … 256:1 in 2^½ steps, log-interpolated) whose F1 still reaches "
            "FlowRoI's; `>x` when even plain 4:1 does not reach it, `<x` when plain 256:1 still "
            "does. Tracking needs two frames."
        ),
        "",
    ]
    return lines


def run(frames: int, movies=(), log=print) -> dict:
    """The table's numbers on the first `frames` frames of each benchmark clip."""
    started = time.perf_counter()
    results = {"n_frames": frames, "started": time.strftime("%Y-%m-%d %H:%M"), "cases": {}}
    for case in common.load_cases(quick=False):
        if movies and case.movie_name not in movies:
            continue
        clip = case.frames[:frames]
        log(f"{case.name} frames {clip}")
        results["cases"][case.name] = run_case(case, clip, FlowRoISettings(), log)
    results["wall_seconds"] = time.perf_counter() - started
    return results


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--frames", type=int, default=2)
    parser.add_argument("--movies", default="")
    parser.add_argument(
        "--from-results",
        default="",
        help="write the table from the gap part of a make-bench results.json",
    )
    args = parser.parse_args(argv)
    if args.from_results:
        (HERE / "results").mkdir(exist_ok=True)
        write_doc(
            json.loads(Path(args.from_results).read_text())["roi_gap"],
            HERE / "results" / "roi_gap.md",
            source="the `gap` part of `make bench`",
        )
        return 0
    wanted = {m.strip() for m in args.movies.split(",") if m.strip()}
    results = run(args.frames, wanted, lambda m: print(m, flush=True))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "roi_gap.json").write_text(json.dumps(results, indent=1, default=float))
    write_doc(results, out / "roi_gap.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
