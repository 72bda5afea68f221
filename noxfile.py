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

# PySide6 runs only when asked (docs/decisions.md: its GUI tests pass, then the process aborts
# at a garbage collection with a refcount error in a C extension)
nox.options.sessions = ["lint", *(f"tests-{v}(qt='pyqt6')" for v in PYTHONS), "docs"]
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
@nox.parametrize("part", ["core", "formats"])
def minimum_versions(session: nox.Session, part: str) -> None:
    """Core tests with dependencies at the lower bounds pyproject.toml declares.

    The bounds are read from pyproject.toml and pinned (`name==bound`) in a constraints file, so a
    bound the code has outgrown fails here instead of on a user's machine. Two parts, because the
    newest bioio readers need a newer tifffile than the core does: *core* pins the runtime
    dependencies and dask.distributed (the file-format tests skip: no bioio); *formats* pins the
    `formats` and `czi` extras and runs the file-format tests.
    """
    groups = ("distributed",) if part == "core" else ("formats", "czi")
    constraints = Path(session.create_tmp()) / f"minimum-{part}.txt"
    constraints.write_text("\n".join(minimum_pins(part == "core", groups)) + "\n")
    session.log("constraints:\n" + constraints.read_text())
    # test tools the core tests use; not napari and Qt (napari itself asks for a newer npe2 than
    # our bound, and the core never imports them)
    gui = ("napari", "pyqt6", "pytest-qt", "pytest-xvfb", "napari-flowroi")
    tools = [
        r.split("#")[0].strip()
        for r in PYPROJECT["project"]["optional-dependencies"]["test"]
        if not r.lower().startswith(gui)
    ]
    if part == "core":  # the readers' own test helpers pull bioio's newer tifffile
        tools = [t for t in tools if not t.lower().startswith(("pylibczirw", "nd2", "liffile"))]
    session.install("-c", str(constraints), "-e", f".[{','.join(groups)}]", *tools)
    session.run("pip", "list")
    if part == "core":
        # napari reads the plugin manifest through npe2: the lowest npe2 must accept our metadata
        session.run("npe2", "validate", "napari-flowroi")
        tests = CORE_TESTS
    else:
        tests = ["tests/core/test_formats.py", "tests/core/test_vendor_formats.py"]
    session.run("pytest", "-q", "-ra", "-p", "no:xvfb", *tests, *session.posargs)


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


def minimum_pins(runtime: bool = True, groups=("distributed", "formats", "czi")) -> list[str]:
    """`name==lower-bound` for the runtime dependencies and the named user extras."""
    extras = PYPROJECT["project"]["optional-dependencies"]
    requirements = list(PYPROJECT["project"]["dependencies"]) if runtime else []
    for name in groups:
        requirements += extras[name]
    lowest: dict[str, str] = {}
    for requirement in requirements:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)(\[[^\]]*\])?>=([0-9][0-9A-Za-z.]*)", requirement)
        if match:  # a name bounded in two extras takes the higher bound (both must hold)
            name, bound = match[1].lower(), match[3]
            if name not in lowest or _version(bound) > _version(lowest[name]):
                lowest[name] = bound
    return [f"{name}=={bound}" for name, bound in lowest.items()]


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split("."))
