"""What a release promises: metadata, README and CI agree with each other and with the code.

These read the source tree (pyproject.toml, README.md, the CI files), which the sdist holds too,
and the installed package's metadata, so they run from a checkout and from an unpacked sdist.
"""

import ast
import json
import re
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
import yaml

import napari_flowroi

ROOT = Path(__file__).parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

#: distribution name -> the module it is imported as, where the two differ
MODULE_OF = {
    "opencv-python-headless": "cv2",
    "pillow": "PIL",
    "scikit-image": "skimage",
    "dask": "dask",
}
#: declared although never imported, and why (docs/decisions.md)
NOT_IMPORTED = {
    "npe2": "napari reads the plugin manifest through it; the bound is what makes napari find us",
}


def _name(requirement):
    return re.match(r"[A-Za-z0-9_.-]+", requirement)[0].lower()


def _imported_top_level_modules():
    modules = set()
    for path in (ROOT / "src" / "napari_flowroi").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    return modules


def test_every_runtime_dependency_is_imported_or_says_why_not():
    imported = _imported_top_level_modules()
    for requirement in PROJECT["dependencies"]:
        name = _name(requirement)
        module = MODULE_OF.get(name, name.replace("-", "_"))
        assert module in imported or name in NOT_IMPORTED, (
            f"{name} is declared but src/ never imports {module}: drop it or say why"
        )


def test_the_python_versions_promised_are_the_ones_ci_tests():
    classifiers = {
        c.rsplit(" :: ", 1)[1]
        for c in PROJECT["classifiers"]
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    lowest = min(classifiers, key=lambda v: tuple(map(int, v.split("."))))
    assert PROJECT["requires-python"] == f">={lowest}"
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "ci.yml").read_text())
    matrix = workflow["jobs"]["tests"]["strategy"]["matrix"]
    assert {str(v) for v in matrix["python"]} == classifiers
    assert {"ubuntu-latest", "macos-latest", "windows-latest"} <= set(matrix["os"])


def test_the_installed_metadata_links_source_issues_and_docs():
    """Under the labels the napari hub reads (PyPI knows them too)."""
    meta = metadata.metadata("napari-flowroi")
    urls = {entry.split(", ", 1)[0] for entry in meta.get_all("Project-URL") or []}
    assert {"Homepage", "Source Code", "Bug Tracker", "Documentation", "User Support"} <= urls
    direct_url = json.loads(
        metadata.distribution("napari-flowroi").read_text("direct_url.json") or "{}"
    )
    if not direct_url.get("dir_info", {}).get("editable", False):
        # an editable install's _version.py is rewritten by every later build, its metadata not
        assert meta["Version"] == napari_flowroi.__version__
    assert meta["Requires-Python"] == PROJECT["requires-python"]


def test_readme_links_and_images_are_absolute():
    """PyPI and the napari hub show the README without the repository around it."""
    text = (ROOT / "README.md").read_text()
    targets = re.findall(r"\]\(([^)\s]+)\)", text) + re.findall(r'src="([^"]+)"', text)
    assert targets, "no links found: the pattern no longer matches the README"
    relative = [t for t in targets if not re.match(r"https?://|mailto:|#", t)]
    assert relative == [], f"relative links break on PyPI and the napari hub: {relative}"


def test_readme_starts_users_with_pip_and_contributors_with_make():
    text = (ROOT / "README.md").read_text()
    assert text.index("pip install napari-flowroi") < text.index("make demo")
    assert "Plugins → FlowRoI" in text


def test_changelog_citation_and_fallback_version_name_the_same_release():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    latest = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.M)[1]
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert str(citation["version"]) == latest
    assert PYPROJECT["tool"]["setuptools_scm"]["fallback_version"] == latest
    assert "2511.14419" in citation["preferred-citation"]["url"]


@pytest.mark.parametrize("extra", ["formats", "czi", "distributed", "all"])
def test_user_extras_carry_no_test_tools(extra):
    test_tools = {_name(r) for r in PROJECT["optional-dependencies"]["test"]} - {"napari-flowroi"}
    user = {_name(r) for r in PROJECT["optional-dependencies"][extra]}
    assert not user & (test_tools - {"napari", "pyqt6"}), user & test_tools
