"""The leave-one-movie-out procedure of benchmarks/generalise.py (issue 21): a movie's figures
come from a candidate chosen without it, HSC never chooses, coverage comes first."""

import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.fixture
def generalise(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import generalise

    return generalise


def _clip(movie, per_candidate):
    """A clip whose candidates have (coverage, gain at every rate)."""
    return {
        "movie": movie,
        "candidates": {
            key: {"coverage": cov, "rates": {str(r): {"gain": g, "flag": ""} for r in (8, 16, 32)}}
            for key, (cov, g) in per_candidate.items()
        },
    }


def _results(clips):
    return {"candidates": ["a", "b", "c"], "default": "a", "cases": clips}


def test_a_movie_is_reported_with_the_candidate_chosen_without_it(generalise):
    results = _results(
        {
            # U373 alone prefers c; the others prefer b
            "U373": _clip("U373", {"a": (0.999, 1.0), "b": (0.999, 1.1), "c": (0.999, 3.0)}),
            "CHO": _clip("CHO", {"a": (0.999, 1.0), "b": (0.999, 2.0), "c": (0.999, 1.5)}),
            "HeLa": _clip("HeLa", {"a": (0.999, 1.0), "b": (0.999, 2.0), "c": (0.999, 1.5)}),
        }
    )
    assert generalise.choose(results, "U373") == "b"  # U373's own preference plays no part
    assert generalise.choose(results, "CHO") == "c"  # best worst gain over U373 and HeLa
    assert generalise.choose(results, None) == "c"  # worst gains: a 1.0, b 1.1, c 1.5


def test_coverage_comes_before_gain_and_hsc_never_chooses(generalise):
    results = _results(
        {
            "HSC": _clip("HSC", {"a": (0.90, 0.5), "b": (0.999, 9.0), "c": (0.999, 9.0)}),
            "CHO": _clip("CHO", {"a": (0.995, 1.2), "b": (0.98, 3.0), "c": (0.97, 4.0)}),
            "E.coli": _clip("E.coli", {"a": (0.999, 1.1), "b": (0.999, 3.0), "c": (0.999, 4.0)}),
        }
    )
    # b and c win on gain but miss 99 % of CHO's cell pixels; HSC's low coverage under a
    # does not count
    assert generalise.choose(results, None) == "a"
    assert generalise.choose(results, "HSC") == "a"
    # with CHO left out, gain decides among the candidates that hold E. coli's cells
    assert generalise.choose(results, "CHO") == "c"


def test_when_no_candidate_holds_the_cells_the_best_coverage_wins(generalise):
    results = _results(
        {
            "CHO": _clip("CHO", {"a": (0.95, 2.0), "b": (0.98, 1.0), "c": (0.90, 3.0)}),
            "HeLa": _clip("HeLa", {"a": (0.999, 2.0), "b": (0.999, 1.0), "c": (0.999, 3.0)}),
        }
    )
    assert generalise.choose(results, None) == "b"


def test_the_report_names_the_candidate_each_movie_was_reported_with(generalise):
    clips = {
        "U373": _clip("U373", {"a": (0.999, 1.0), "b": (0.999, 1.1), "c": (0.999, 3.0)}),
        "CHO": _clip("CHO", {"a": (0.999, 1.0), "b": (0.999, 2.0), "c": (0.999, 1.5)}),
    }
    for clip in clips.values():
        clip.update(frames=[1, 2], ideal_fraction=0.1, noisy=False)
        clip["ideal"] = {str(r): {"gain": 2.0, "flag": ""} for r in (8, 16, 32)}
        clip["looser"] = clip["ideal"]
        for entry in clip["candidates"].values():
            entry.update(worst_frame=entry["coverage"], roi_fraction=0.2)
            for row in entry["rates"].values():
                row["cells_worse_where_ideal_not"] = 0
    results = _results(clips)
    results["chosen_without"] = {m: generalise.choose(results, m) for m in ("U373", "CHO")}
    results["chosen_on_all"] = generalise.choose(results, None)
    text = "\n".join(generalise.tables(results))
    assert "| U373 | 1, 2 | b |" in text and "| CHO | 1, 2 | c |" in text
    assert sys.modules["generalise"] is generalise
