"""The benchmark scripts import: a lint fix once removed a name they take from common.py, and
nothing else runs them before `make bench`."""

import importlib
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


@pytest.mark.parametrize("name", sorted(p.stem for p in BENCHMARKS.glob("*.py")))
def test_every_benchmark_module_imports(name, monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    for cached in [m for m in sys.modules if m in {p.stem for p in BENCHMARKS.glob("*.py")}]:
        monkeypatch.delitem(sys.modules, cached)
    importlib.import_module(name)
