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

The paper's defaults are RoI threshold 0.2 and scaling factor 5 with motion as the only source. On
the real movies shipped with this project they leave 45–60 % of the cell pixels outside the RoI
(measured with the reference cell masks), and cells outside the RoI are smeared: files came out
worse than plain JPEG2000 at the same quality inside the cells (gain 0.1–0.6). Motion alone with
RoI threshold 0.6 and a motion floor (`min_motion`) still misses 2–4 % of the cell pixels — cells
that do not move — and gains 0.85–0.96 at 8–64:1 on the HSC movie. Adding the appearance source
(cell-like local contrast) brings coverage to 98–100 %, and a scaling factor of 4 was as good as or
better than 2 and 3 on every movie, clean and noisy. Measured per frame against the reference
masks (HSC frame 22, HeLa frame 10; gain = plain JPEG2000 bytes ÷ FlowRoI bytes at equal PSNR
inside the cells):

| movie | RoI sources | scaling | coverage | gain 8:1 | 16:1 | 32:1 | 64:1 |
|---|---|---|---|---|---|---|---|
| HSC clean | motion | 2 | 97.0 % | 0.86 | 0.92 | 0.96 | 0.98 |
| HSC clean | motion + appearance | 4 | 100 % | 1.22 | 1.05 | 0.99 | 0.99 |
| HSC noisy (σ = 4) | motion + appearance | 4 | 100 % | 1.45 | 1.31 | 1.02 | 0.99 |
| HeLa clean | motion + appearance | 4 | 98.2 % | 1.28 | 1.34 | 1.05 | 0.98 |
| HeLa noisy (σ = 4) | motion + appearance | 4 | 99.0 % | 1.38 | 1.48 | 1.33 | 1.23 |

At 32–64:1 on clean movies plain JPEG2000 has already dropped the background detail, so there is
little left to gain and the stored mask and its manifest record (about 1–2 % of the bytes at 64:1)
decide. `flowroi tune` (napari: *Suggest settings*) searches the settings for a given movie and
rate and suggests plain JPEG2000 when FlowRoI does not win. The benchmark report
([benchmarks.md](benchmarks.md)) has the full sweep.
"""

HEADER = ["| setting | CLI option | default | allowed | what it does |", "|---|---|---|---|---|"]


def row(f) -> str:
    meta = f.metadata
    is_bool = f.type in (bool, "bool")
    allowed = (", ".join(meta["choices"]) if meta["choices"]
               else "on / off" if is_bool else describe_range(f))
    flag = "--" + f.name.replace("_", "-")
    if is_bool and f.name != "plain":
        flag = f"{flag} / --no-{f.name.replace('_', '-')}"
    return f"| `{f.name}` | `{flag}` | {f.default} | {allowed} | {meta['help']} |"


def render() -> str:
    fields = FlowRoISettings.fields()
    main = [row(f) for f in fields if not f.metadata["expert"]]
    expert = [row(f) for f in fields if f.metadata["expert"]]
    return "\n".join([INTRO, *HEADER, *main, "", "## Expert settings", "",
                      "Behind the *Expert settings* fold-out in the widget.", "", *HEADER, *expert,
                      "", WHY])


if __name__ == "__main__":
    DOC.write_text(render())
    print(DOC)
