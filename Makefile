# Every target sets up .venv (Python 3.11) on first use; see README.md.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv system-deps demo test napari bench bench-quick clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh

demo: venv
	$(BIN)/python scripts/demo.py

test: venv system-deps
	$(BIN)/python -m pytest -q -ra

napari: venv system-deps
	$(BIN)/python scripts/napari_demo.py

bench: venv
	bash scripts/install-bench-deps.sh
	$(BIN)/python benchmarks/run.py

bench-quick: venv
	bash scripts/install-bench-deps.sh
	$(BIN)/python benchmarks/run.py --quick

clean:
	rm -rf demo-output build dist src/*.egg-info .pytest_cache
