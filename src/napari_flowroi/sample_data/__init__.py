"""Paths to the real movie cuts shipped with the package (see SOURCES.md beside this file)."""

from pathlib import Path

FOLDER = Path(__file__).parent

#: name -> (movie file, reference cell mask file or None)
SAMPLES = {
    "hsc_brightfield": ("hsc_brightfield.tif", "hsc_brightfield_cells.tif"),
    "gowt1_nuclei": ("gowt1_nuclei.tif", None),
    "hela_nuclei": ("hela_nuclei.tif", "hela_nuclei_cells.tif"),
}


def movie_path(name: str) -> Path:
    return FOLDER / SAMPLES[name][0]


def cells_path(name: str) -> Path | None:
    cells = SAMPLES[name][1]
    return None if cells is None else FOLDER / cells
