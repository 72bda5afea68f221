"""The layering that docs/architecture.md describes, checked from the code's own imports."""

import ast
import re
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "src" / "napari_flowroi"
ARCHITECTURE = Path(__file__).parents[1] / "docs" / "architecture.md"
#: Arrows allowed to point up the table (importer -> imported, by top-level module or package):
#: none since the stored mask moved into `codec/`; a new one must be argued for here.
UP_ARROWS: set[tuple[str, str]] = set()
GUI = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "magicgui", "superqt", "vispy")


def _core_modules() -> dict[str, list[Path]]:
    """Core module name (e.g. 'roi', 'container') -> its files; the napari side is left out.
    A package (`codec/`, `container/`) counts as one module with all its files, so an import
    between two packages in both directions is a cycle even when no single file closes it."""
    modules: dict[str, list[Path]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if parts[0] in ("napari", "sample_data"):
            continue
        modules.setdefault(parts[0], []).append(path)
    return modules


def _imports(path: Path) -> set[str]:
    """Every module an import in `path` names, at any depth (inside functions too), made absolute."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # a module and a package's __init__ both resolve `.` to their folder
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(base + ((node.module,) if node.module else ()))
                if node.module is None:  # `from . import x`: x may be a module
                    names.update(f"{module}.{alias.name}" for alias in node.names)
                names.add(module)
            else:
                names.add(node.module)
    return names


def _core_graph() -> dict[str, set[str]]:
    modules = _core_modules()
    graph = {}
    for name, paths in modules.items():
        targets = set()
        for path in paths:
            for imported in _imports(path):
                bits = imported.split(".")
                if bits[0] != "napari_flowroi":
                    continue
                # the module (or package) the import names (`from .container._masks import x`)
                for end in range(len(bits), 1, -1):
                    candidate = ".".join(bits[1:end])
                    if candidate in modules:
                        targets.add(candidate)
                        break
        targets.discard(name)
        graph[name] = targets
    return graph


def test_the_core_imports_no_gui_toolkit_and_not_the_napari_side():
    for paths in _core_modules().values():
        for path in paths:
            for imported in _imports(path):
                top = imported.split(".")[0]
                assert top not in GUI, (
                    f"{path.name} imports {imported}: the core must run without a GUI"
                )
                assert not imported.startswith("napari_flowroi.napari"), (
                    f"{path.name} imports the napari side ({imported})"
                )


def test_core_modules_import_each_other_without_cycles():
    graph = _core_graph()
    # __init__ is the package's face (its lazy public API names modules from every layer)
    graph.pop("__init__", None)
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycle = trail[trail.index(nxt) :] + [nxt] if nxt in trail else [node, nxt]
                raise AssertionError(f"import cycle: {' -> '.join(cycle)}")
            if nxt not in state:
                visit(nxt, trail + [nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])


def _assert_cycle_found(files: dict[str, str], what: str) -> None:
    """Write `files` (paths under a package root) and check the cycle check reports a -> b -> a."""
    import tempfile

    global PACKAGE
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "napari_flowroi"
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        saved, PACKAGE = PACKAGE, root
        try:
            try:
                test_core_modules_import_each_other_without_cycles()
            except AssertionError as exc:
                assert "a -> b -> a" in str(exc) or "b -> a -> b" in str(exc)
            else:
                raise AssertionError(f"{what} went unnoticed")
        finally:
            PACKAGE = saved


def test_the_cycle_check_sees_a_cycle():
    # the check itself can fail: two modules that import each other inside functions
    _assert_cycle_found(
        {"a.py": "def f():\n    from .b import g\n", "b.py": "def g():\n    from . import a\n"},
        "a two-module cycle",
    )


def test_the_cycle_check_counts_a_package_as_one_module():
    # the arrow back up the codec once had: one file of package `a` imports package `b`, while
    # another file of `b` imports a third file of `a` (no single pair of files closes the loop)
    _assert_cycle_found(
        {
            "a/__init__.py": "",
            "a/_one.py": "from ..b import _two\n",
            "a/_three.py": "",
            "b/__init__.py": "",
            "b/_two.py": "",
            "b/_four.py": "from ..a import _three\n",
        },
        "a cycle between two packages",
    )


def _layers() -> list[str]:
    """The core modules in the order of docs/architecture.md's table, bottom up."""
    text = ARCHITECTURE.read_text()
    table = text[text.index("## Core, from the bottom up") : text.index("## napari side")]
    return [m.group(1) for m in re.finditer(r"^\| `([\w]+)/?` \|", table, re.MULTILINE)]


def _top(module: str) -> str:
    return module.split(".")[0]


def test_every_core_module_has_a_row_in_the_architecture_table():
    layers = _layers()
    assert len(layers) == len(set(layers)), "a module is listed twice"
    missing = {_top(m) for m in _core_modules()} - set(layers) - {"__init__", "_version"}
    assert not missing, f"docs/architecture.md has no row for {sorted(missing)}"
    gone = set(layers) - {_top(m) for m in _core_modules()}
    assert not gone, f"docs/architecture.md lists modules that do not exist: {sorted(gone)}"


def test_no_core_module_imports_one_above_it():
    rank = {name: i for i, name in enumerate(_layers())}
    graph = _core_graph()
    graph.pop("__init__", None)
    upward = set()
    for module, targets in graph.items():
        for target in targets:
            a, b = _top(module), _top(target)
            if a != b and rank[b] > rank[a]:
                upward.add((a, b))
    unexpected = upward - UP_ARROWS
    assert not unexpected, "imports of a module listed above in docs/architecture.md: " + ", ".join(
        f"{a} -> {b}" for a, b in sorted(unexpected)
    )
    assert upward >= UP_ARROWS, f"an exception is no longer needed: {sorted(UP_ARROWS - upward)}"


def test_the_extraction_of_the_roi_reads_no_file():
    graph = _core_graph()
    readers = {t for t in graph["roi"] if _top(t) in ("readers", "container")}
    assert not readers, f"roi imports {sorted(readers)}: RoI extraction works on any Movie"
