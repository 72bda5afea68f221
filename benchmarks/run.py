"""Run the FlowRoI benchmark and write docs/benchmarks.md with its plots (docs/images/bench-*.png).

    python benchmarks/run.py            # make bench: parts roi (every movie, leave one movie out,
                                        # motion, the guard) and speed
    python benchmarks/run.py --quick    # the same on one frame per movie (make bench-quick)
    python benchmarks/run.py --parts quality,downstream,codecs,speed,memory   # the older sweep
    python benchmarks/run.py --report-only   # rewrite the report from benchmarks/results/*.json

Raw numbers go to benchmarks/results/results[-quick].json (not committed).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402

from napari_flowroi.settings import FlowRoISettings  # noqa: E402

PARTS = ("roi", "gap", "quality", "downstream", "codecs", "speed", "memory")
#: What `make bench` runs: the issue-21 evaluation on every movie (part `roi`,
#: benchmarks/generalise.py) and the per-frame speed. The settings sweep, downstream analysis,
#: other codecs, issue 10's gap table and memory are opt-in (`--parts`): on six movies they took
#: well over the time a routine run may take on this machine.
DEFAULT_PARTS = ("roi", "speed")


def log(message: str) -> None:
    print(message, flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short run (< 5 min)")
    parser.add_argument(
        "--parts",
        default=",".join(DEFAULT_PARTS),
        help=f"comma-separated subset of {','.join(PARTS)} (default: {','.join(DEFAULT_PARTS)})",
    )
    parser.add_argument("--movies", default="", help="comma-separated subset of HSC,GOWT1,HeLa")
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument(
        "--docs", default=str(HERE.parent / "docs"), help="where benchmarks.md goes"
    )
    args = parser.parse_args(argv)
    results_dir = HERE / "results"
    results_dir.mkdir(exist_ok=True)
    results_path = results_dir / ("results-quick.json" if args.quick else "results.json")

    import report

    if args.report_only:
        results = json.loads(results_path.read_text())
        report.write(results, Path(args.docs))
        return 0

    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    unknown = set(parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {sorted(unknown)}")
    common.shared_data_dir()  # fail early with a clear message
    started = time.perf_counter()
    results = {
        "quick": args.quick,
        "parts": parts,
        "cases": {},
        "started": time.strftime("%Y-%m-%d %H:%M"),
    }

    # Speed first, while nothing else of ours has warmed or fragmented the process.
    if "speed" in parts:
        run_speed(args, results)
    wanted = {m.strip() for m in args.movies.split(",") if m.strip()}
    if "roi" in parts:  # issue 21: every movie, leave one movie out, motion, the guard
        import generalise

        full_ladder = common.LADDER
        common.LADDER = generalise.ladder(args.quick)
        results["generalise"] = generalise.run(args.quick, sorted(wanted), log)
        log(f"roi (generalise): {results['generalise']['wall_seconds']:.0f} s")
        if not args.quick and not wanted:
            # docs/benchmarks-roi.md holds the same run's full tables, so the two documents
            # never report different runs of the procedure
            generalise.write_doc(results["generalise"], Path(args.docs) / "benchmarks-roi.md")
        common.LADDER = full_ladder
    if "gap" in parts:  # issue 10's table: default RoI against the ideal one
        import roi_gap

        t0 = time.perf_counter()
        results["roi_gap"] = roi_gap.run(2, wanted, log)
        log(f"roi gap: {time.perf_counter() - t0:.0f} s")
    if {"quality", "downstream", "codecs"} & set(parts):
        run_quality(args, parts, results)
    if "memory" in parts:
        run_memory(args, results)

    results["wall_seconds"] = time.perf_counter() - started
    results_path.write_text(json.dumps(results, indent=1, default=_json_default))
    report.write(results, Path(args.docs))
    log(f"done in {results['wall_seconds'] / 60:.1f} min; results in {results_path}")
    return 0


def _json_default(value):
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(type(value))


def run_quality(args, parts, results):
    import downstream
    import other_codecs
    import quality
    import suggested

    if args.quick:  # half the plain-JPEG2000 ladder (still 2^(1/2) steps)
        common.LADDER = common.LADDER[::2]
    cases = common.load_cases(args.quick)
    if args.movies:
        wanted = {m.strip() for m in args.movies.split(",")}
        cases = [c for c in cases if c.movie_name in wanted]
    grid = quality.QUICK_GRID if args.quick else quality.FULL_GRID
    sweep_rates = (16, 64) if args.quick else common.GAIN_RATES
    tune_rates = (16, 64) if args.quick else common.GAIN_RATES
    rates = (8, 16, 32, 64) if args.quick else common.RATES
    hevc = "codecs" in parts and other_codecs.have_hevc()
    if "codecs" in parts and not hevc:
        log("ffmpeg with libx265 not found: HEVC rows skipped (run scripts/install-bench-deps.sh)")
    results["hevc"] = hevc
    results["grid"] = {k: list(v) for k, v in grid.items()}
    refine = not args.quick
    results["refine_scaling"] = list(quality.REFINE_SCALING) if refine else []
    results["refine_margin"] = list(quality.REFINE_MARGIN) if refine else []
    results["denoise_top"] = quality.DENOISE_TOP
    results["sweep_rates"] = list(sweep_rates)
    results["tune_rates"] = list(tune_rates)
    results["defaults"] = FlowRoISettings().to_dict()
    results["default_label"] = common.settings_label(FlowRoISettings())

    # Sweep, stage 1: the grid (denoise on) on every case.
    masks, sweeps = {}, {}
    for case in cases:
        t0 = time.perf_counter()
        masks[case.name] = quality.MaskSource(case.movie)
        sweeps[case.name] = sw = quality.CaseSweep(case, masks[case.name], sweep_rates)
        for s in quality.grid_settings(grid, FlowRoISettings()):
            sw.run(s)
        sw.run(FlowRoISettings())  # the defaults are always in the ranking ...
        sw.run(
            FlowRoISettings().replace(appearance_roi=False, scaling_factor=2.0)
        )  # ... the old ones too
        log(f"  sweep {case.name}: {len(sw.records)} settings in {time.perf_counter() - t0:.0f} s")
    # Stage 2: denoise off for the best few over all cases and for each case's best, then (full
    # run) scaling factors and margins around each case's best.
    top = [r["settings"] for r in _ranking(sweeps)[: quality.DENOISE_TOP]]
    for case in cases:
        t0 = time.perf_counter()
        sw = sweeps[case.name]
        for st in top + [sw.best()["settings"]]:
            sw.run(FlowRoISettings().replace(**{**st, "denoise": False}))
        if refine:
            sw.refine()
        log(
            f"  sweep {case.name} stage 2: {len(sw.records)} settings, "
            f"{time.perf_counter() - t0:.0f} s"
        )

    for case in cases:
        log(f"{case.name}: frames {case.frames}, sweep frames {case.sweep_frames}")
        entry = {
            "movie": case.movie_name,
            "noisy": case.noisy,
            "shape": list(case.movie.shape),
            "dtype": str(case.movie.dtype),
            "modality": case.modality,
            "cell_source": case.cell_source,
            "frames": case.frames,
        }
        if case.noisy:
            entry["noise_sigma"] = common.noise_sigma(case.movie)
        mk = masks[case.name]
        sweep = sweeps[case.name].as_dict()
        entry["sweep"] = sweep
        best = quality.best_settings(sweep)
        configs = {"default": FlowRoISettings()}
        if best != FlowRoISettings():
            configs["best"] = best
        q, originals, decoded = quality.quality_case(case, mk, configs, log, rates)
        if "best" not in configs:  # the default is this movie's best: same numbers
            for key in ("curves", "gains", "coverage", "settings"):
                q[key]["best"] = q[key]["default"]
            for name, r in list(decoded):
                if name == "default":
                    decoded[("best", r)] = decoded[(name, r)]
        entry["best_settings"] = {k: getattr(best, k) for k in quality.SWEEP_KEYS}
        entry["best_label"] = common.settings_label(best)
        entry["quality"] = q
        t0 = time.perf_counter()
        entry["guard"] = suggested.guard_case(case, mk, case.frames)
        tune_frames = case.sweep_frames  # quick: 1 frame, full: 2
        entry["suggested"] = suggested.tune_case(
            case, mk, tune_rates, tune_frames, case.frames, originals, q["ladder"], log
        )
        log(f"  guard + suggested settings {case.name}: {time.perf_counter() - t0:.0f} s")
        if "downstream" in parts:
            t0 = time.perf_counter()
            chosen = {
                k: v for k, v in decoded.items() if k[0] in ("plain JPEG2000", "default", "best")
            }
            entry["downstream"] = downstream.evaluate(case, originals, chosen)
            log(f"  downstream {case.name}: {time.perf_counter() - t0:.0f} s")
        del decoded
        if "codecs" in parts:
            t0 = time.perf_counter()
            points = [p for p in q["curves"]["default"] if p["requested"] in common.GAIN_RATES]
            roi_masks = {t: mk.mask(FlowRoISettings(), t) for t in case.frames}
            entry["codecs"] = other_codecs.run_case(
                case, originals, points, roi_masks, q["ladder"], log, hevc, args.quick
            )
        results["cases"][case.name] = entry
        del masks[case.name], sweeps[case.name]
    results["recommendation"] = recommend(results)


def _ranking(sweeps) -> list[dict]:
    fake = {
        "cases": {
            name: {"sweep": {"records": list(sw.records.values())}} for name, sw in sweeps.items()
        }
    }
    return recommend(fake)["ranking"]


def recommend(results) -> dict:
    """Settings whose sweep score (geometric-mean gain over the sweep rates) is best across all
    cases (geometric mean over movies, clean and noisy), and the worst case of each."""
    by_label: dict = {}
    for name, entry in results["cases"].items():
        for rec in entry["sweep"]["records"]:
            by_label.setdefault(rec["label"], {"settings": rec["settings"], "scores": {}})
            by_label[rec["label"]]["scores"][name] = rec["score"]
    n = len(results["cases"])
    table = []
    for label, item in by_label.items():
        if len(item["scores"]) != n:
            continue
        scores = list(item["scores"].values())
        table.append(
            {
                "label": label,
                "settings": item["settings"],
                "geomean": math.exp(sum(math.log(s) for s in scores) / n),
                "worst": min(scores),
                "scores": item["scores"],
            }
        )
    table.sort(key=lambda r: -r["geomean"])
    return {"ranking": table, "recommended": table[0] if table else None}


def run_speed(args, results):
    import speed

    from napari_flowroi.readers import open_movie

    data = common.shared_data_dir()
    source = data / "basic-hsc-brightfield" / "frames"
    movie = open_movie(source)
    frames = list(range(22, 25)) if args.quick else list(range(22, 30))
    repeats = 1 if args.quick else 3
    t0 = time.perf_counter()
    results["machine"] = speed.machine()
    results["speed"] = {"per_frame": speed.per_frame(movie, FlowRoISettings(), frames, repeats)}
    n = 6 if args.quick else 24
    results["speed"]["throughput"] = [
        speed.throughput(source, FlowRoISettings(), n, w) for w in (1, 2)
    ]
    # issue 21: the whole command against --plain, 12 frames of a 1-MP movie, one pinned CPU
    results["speed"]["command"] = speed.command_ab(data, pairs=2 if args.quick else 5)
    log(f"speed: {time.perf_counter() - t0:.0f} s")


def run_memory(args, results):
    import speed

    counts = (20, 60) if args.quick else (100, 1000)
    # This process's own peak so far: a child started from it inherits it in ru_maxrss (see
    # speed.memory), which is why the child reports VmHWM.
    results["parent_peak_rss_mb"] = speed.own_peak_mb()
    results["memory"] = []
    for n in counts:
        t0 = time.perf_counter()
        results["memory"].append(speed.memory(n, workers=2))
        log(f"memory {n} frames: {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
