"""nox sessions: what CI runs on every platform, and what `make` runs here.

    nox -l                         list the sessions
    nox -s tests-3.12              the whole suite on Python 3.12 with PyQt6 (GUI tests headless)
    nox -s "tests-3.13(qt='pyside6')"
    nox -s minimum_versions        core tests with every dependency at its declared lower bound
    nox -s lint docs release

`make test` runs the `lint` and `tests` sessions' commands in .venv (Python 3.11, PyQt6), so a
developer needs neither nox nor several interpreters; CI runs the sessions on each platform.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
# The versions the classifiers name (tests/test_release.py keeps the two lists equal)
PYTHONS = sorted(
    {
        c.rsplit(" :: ", 1)[1]
        for c in PYPROJECT["project"]["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    },
    key=lambda v: tuple(map(int, v.split("."))),
)
CORE_TESTS = ["tests/core", "tests/integration", "tests/test_docs.py", "tests/test_release.py"]

nox.options.sessions = ["lint", "tests", "docs"]
nox.options.default_venv_backend = "venv"


@nox.session(python=PYTHONS[0])
def lint(session: nox.Session) -> None:
    """ruff check and ruff format --check (the pre-commit hooks, make lint)."""
    ruff = next(r for r in PYPROJECT["project"]["optional-dependencies"]["test"] if "ruff" in r)
    session.install(ruff.split("#")[0].strip())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHONS)
@nox.parametrize("qt", ["pyqt6", "pyside6"])
def tests(session: nox.Session, qt: str) -> None:
    """The whole suite: core tests and the GUI tests on a headless napari viewer.

    On Linux the GUI tests need an X server (pytest-xvfb starts Xvfb); macOS and Windows use
    their own window systems (pytest-xvfb does nothing there).
    """
    session.install("-e", ".[test]")
    if qt != "pyqt6":  # the test extra brings PyQt6; QT_API tells qtpy and napari which to use
        session.install(qt)
    session.run("pytest", "-q", "-ra", *session.posargs, env={"QT_API": qt})


@nox.session(python=PYTHONS[0])
def minimum_versions(session: nox.Session) -> None:
    """Core tests with each runtime dependency at the lower bound pyproject.toml declares.

    The bounds are read from pyproject.toml and pinned (`name==bound`) in a constraints file, so a
    bound that the code has outgrown fails here instead of on a user's machine.
    """
    constraints = Path(session.create_tmp()) / "minimum.txt"
    constraints.write_text("\n".join(minimum_pins()) + "\n")
    session.log("constraints:\n" + constraints.read_text())
    session.install("-c", str(constraints), "-e", ".[test]")
    session.run("pip", "list")
    session.run("pytest", "-q", "-ra", "-p", "no:xvfb", *CORE_TESTS, *session.posargs)


@nox.session(python=PYTHONS[0])
def docs(session: nox.Session) -> None:
    """The documentation site, warnings as errors (make docs)."""
    session.install("-e", ".[docs]")
    session.run("mkdocs", "build", "--strict", env={"NO_MKDOCS_2_WARNING": "1"})


@nox.session(python=PYTHONS[0])
def release(session: nox.Session) -> None:
    """make release-check: sdist, wheel, twine, check-manifest, the wheel in a clean venv."""
    session.install("-e", ".[release]")
    env = {"RELEASE_TOOLS": session.bin}
    python = f"python{session.python}"
    session.run("bash", "scripts/release-check.sh", python, env=env, external=True)


def minimum_pins() -> list[str]:
    """`name==lower-bound` for every runtime dependency and user extra (not the test tools)."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    requirements = list(PYPROJECT["project"]["dependencies"])
    for name in ("distributed", "formats", "czi"):
        requirements += extras[name]
    pins = []
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([0-9][0-9A-Za-z.]*)", requirement)
        if match:
            pins.append(f"{match[1]}=={match[3]}")
    return pins
