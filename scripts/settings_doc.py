"""Write docs/settings.md from the settings object, so the doc and the code cannot disagree.

Run `python scripts/settings_doc.py`; tests/test_docs.py fails when the file is out of date."""

from pathlib import Path

from napari_flowroi.settings import FlowRoISettings, describe_range

DOC = Path(__file__).parents[1] / "docs" / "settings.md"

INTRO = """# Settings

One settings object, `napari_flowroi.FlowRoISettings`, is used by the library, the command line
(`--roi-threshold` for `roi_threshold`, and so on), the napari widget and the container manifest.
Each setting is validated once, there, with a message that says what range is allowed.
Presets are JSON files of these names (`FlowRoISettings.to_json` / `from_json`, the widget's
*Save preset* / *Load preset*, `flowroi compress --preset FILE`).
This page is generated from the code by `scripts/settings_doc.py`.
"""

WHY = """## Why these defaults

Measured on the benchmark movies (gain = plain JPEG2000 bytes ÷ FlowRoI bytes at equal PSNR
inside reference cells that do not come from motion). `background_z` and `cell_peak_share` on all
six movies of `../shared/data` (`make bench`, part `roi`: `python benchmarks/generalise.py`,
docs/benchmarks-roi.md, run of 2026-12-06 13:15); mask times from docs/speed.md; the figures of
the other bullets come from
the earlier three-movie benchmark (HSC brightfield, GOWT1 and HeLa fluorescence, clean and with
camera noise, first frames of each clip; `python benchmarks/roi_gap.py`), before the fail-safe.

- **`background_z = 6`** (issue 21; 0 switches the fail-safe off): a pixel is damped only where
  it is confidently background (docs/guard.md); on dark-field frames half of it (3). Chosen with
  `cell_peak_share` and appearance.py's new constants by leave-one-movie-out on the five movies
  with independent references (docs/benchmarks-roi.md, "Leave one movie out"; HSC never chooses):
  the defaults on all of them and without each of them but HeLa (without HeLa the same rule
  without `appearance.OWN_BRIGHT_SHARE`, which only HeLa's dim nuclei tell apart;
  docs/decisions.md). With the defaults every clip keeps 99.7–100 % of its cell pixels (every 4th
  frame and the coded frames; worst frame ≥ 99.05 %, noisy U373), and the RoI is 1.24–5.50 × the
  reference cells + 2 px (HSC 2.7 → 2.1 ×, U373 4.6 → 3.8 × against the previous defaults; the
  fail-safe's contrast cue no longer spills past textured cells).
- **`cell_peak_share = 0.05`** (issue 21): a region is protected for its appearance alone only when
  it stands out by 5 % of the frame's strongest cell; fainter ones (the texture of a calm agarose
  pad) are kept when they move. Same procedure, chosen by all five movies; 0.1 lost clean HeLa's
  dim nuclei (98.6 % of the cell pixels). 0 switches it off.
- **`roi_rule = cells`.** The previous defaults (the paper's per-frame quantile rule at 0.6 on
  half-resolution Farnebäck flow, plus the appearance source) gave RoIs of 51–55 % of the HSC frame (reference cells + 2 px: 15 %), 30 % of GOWT1 (6 %) and
  48–55 % of HeLa (17 %): flow smears motion 5–10 px into the background, and a fixed share of the
  frame cannot fit sparse and dense fields. Taking the outlines from appearance and only the
  decision from motion, with the cell skirts trimmed (docs/decisions.md, "Appearance score"),
  brings them to 21 % (HSC, 1.38× the reference + 2 px, 99.6 % of its pixels kept), 13 % (GOWT1,
  2.1×, 99.85 %; part of the glow around the nuclei is kept, the Otsu reference has only nuclei)
  and 28 % (HeLa, 1.6×, 99.9 %; with noise 25 %, 96.8 %; first evaluated frames, `make bench`). A tighter trim (no exemption for
  pixels at twice the cell contrast) gave 1.29× on HSC but cut parts off dim HeLa nuclei next to
  bright ones, which then came out ~20 dB worse than plain JPEG2000.
- **`roi_threshold = 0.8`**: a region counts as moving when a fifth of its pixels move faster than
  the noise floor. Higher keeps more, as in the paper; with the quantile rule the paper's value is
  0.2. Motion alone (appearance off) then keeps 99.0 % of the HSC, 99.9 % of the GOWT1 and 97.7 %
  of the HeLa reference-cell pixels.
- **`min_motion = 0.5`** is only the lowest floor: the floor used is the median flow magnitude plus
  3 robust standard deviations of it over the frame, so a noisy movie needs more motion.
- **`flow_method = farneback`**: DIS (MEDIUM) flow is 4× faster but noisy enough to lift the floor
  above the cells' own motion; it then selected 1–10 % of the reference cells where Farnebäck
  selected 98–100 %. Rule `cells` runs Farnebäck with 2 iterations instead of 5 (same regions,
  half the time), and only around the candidate regions the appearance source does not already
  protect (docs/decisions.md, "Where rule `cells` measures motion"). Mask CPU time per megapixel
  on one thread (docs/speed.md, "Mask time per megapixel"): 0.027 s on HSC brightfield to 0.054 s
  on GOWT1 fluorescence (the first release's defaults took 0.229 s per 1.4-MP HSC frame); on the
  fluorescence movies finding the cells (`appearance.regions_for`, with the dark-field edge's
  h-maxima and watershed) takes most of it.
- **`scaling_factor = 10`, `background_sigma = 8`** (were 4 and 2): with a perfect RoI the gain at
  8 / 16 / 32:1 on a 1-MP phase-contrast movie rose from 1.81 / 1.30 / 1.15 to 2.13–2.14 / 1.63–1.64 /
  1.25–1.26 (σ 6–12, s 10), against 2.27 / 1.68 / 1.27 for a flat background (design note,
  roi-coding.md); with the new RoI σ 8 beat σ 4 and σ 6 on every benchmark case tried. The
  background outside the RoI then keeps its 8-px shape but loses texture and noise: it looks
  smooth, and a cell the RoI misses looks blurred. Lower either to keep more background texture.
- **Appearance on beside motion**: it keeps cells that do not move; motion adds faint cells
  (between half and the full cell contrast) when they move. So with both on, the RoI threshold
  only decides on faint cells; switch the appearance source off to let motion decide for every
  cell (then 0.05 asks a region to move over 95 % of its pixels, 0.95 over 5 %).
"""

HEADER = ["| setting | CLI option | default | allowed | what it does |", "|---|---|---|---|---|"]


def row(f) -> str:
    meta = f.metadata
    is_bool = f.type in (bool, "bool")
    allowed = (
        ", ".join(meta["choices"])
        if meta["choices"]
        else "on / off"
        if is_bool
        else describe_range(f)
    )
    flag = "--" + f.name.replace("_", "-")
    if is_bool and f.name != "plain":
        flag = f"{flag} / --no-{f.name.replace('_', '-')}"
    return f"| `{f.name}` | `{flag}` | {f.default} | {allowed} | {meta['help']} |"


def render() -> str:
    fields = FlowRoISettings.fields()
    main = [row(f) for f in fields if not f.metadata["expert"]]
    expert = [row(f) for f in fields if f.metadata["expert"]]
    return "\n".join(
        [
            INTRO,
            *HEADER,
            *main,
            "",
            "## Expert settings",
            "",
            "Behind the *Expert settings* fold-out in the widget.",
            "",
            *HEADER,
            *expert,
            "",
            WHY,
        ]
    )


if __name__ == "__main__":
    DOC.write_text(render())
    print(DOC)
