"""benchmarks/ideal_tolerance.py: the widest band round the reference cells that still reaches
85 % of the +2 px ideal's gain stops at the first margin that falls short (a wider band that
recovers by the ladder's interpolation noise does not count)."""

import pytest

from .test_benchmark_generalise import BENCHMARKS


@pytest.fixture
def tolerance(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import ideal_tolerance

    return ideal_tolerance


def _entry(tolerance, gains_8, gains_16):
    return {
        str(m): {
            "share": 0.1 * m,
            "gains": {"8": {"gain": g8, "flag": ""}, "16": {"gain": g16, "flag": ""}},
        }
        for m, g8, g16 in zip(tolerance.MARGINS, gains_8, gains_16, strict=True)
    }


def test_the_widest_margin_stops_at_the_first_shortfall(tolerance):
    # margins 2, 3, 4, 6, 8, 12, 16
    entry = _entry(
        tolerance,
        [2.0, 1.9, 1.8, 1.69, 1.8, 1.8, 1.8],  # 4 px: 90 %; 6 px: 84.5 %, then "recovers"
        [2.0, 1.6, 2.0, 2.0, 2.0, 2.0, 2.0],  # 3 px already at 80 %
    )
    assert tolerance.widest_margin(entry, 8) == 4
    assert tolerance.widest_margin(entry, 16) == 2
    row = tolerance.table({"cases": {"clip": entry}})[-1]
    assert row.endswith("| 4 px / < 3 px |")
    assert "1.50×: 95% / 80%" in row  # +3 px: 1.5x the +2 px area, 95 % / 80 % of its gain


def test_every_margin_passing_reports_the_widest_measured(tolerance):
    entry = _entry(tolerance, [1.0] * 7, [3.0] * 7)
    assert tolerance.widest_margin(entry, 8) == tolerance.MARGINS[-1]
    assert tolerance.widest_margin(entry, 16) == tolerance.MARGINS[-1]
