"""Sample movies: real cuts shipped with the package and a synthetic one."""

from __future__ import annotations

from ..sample_data import movie_path


def _real(name: str) -> list[tuple]:
    import tifffile

    return [(tifffile.imread(movie_path(name)), {"name": name}, "image")]


def hsc_brightfield() -> list[tuple]:
    return _real("hsc_brightfield")


def hela_nuclei() -> list[tuple]:
    return _real("hela_nuclei")


def gowt1_nuclei() -> list[tuple]:
    return _real("gowt1_nuclei")


def synthetic() -> list[tuple]:
    from ..synthetic import moving_discs

    movie = moving_discs(
        n_frames=12,
        shape=(256, 256),
        n_cells=8,
        radius=12,
        speed=2.5,
        drift=(0.4, 0.3),
        noise=3.0,
        seed=1,
    )
    return [
        (movie.frames, {"name": "synthetic discs"}, "image"),
        (
            movie.cells.astype("uint8"),
            {"name": "synthetic discs: true cells", "visible": False},
            "labels",
        ),
    ]
