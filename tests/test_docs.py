"""The docs describe the code as it is."""

from pathlib import Path

from napari_flowroi.settings import FlowRoISettings

DOCS = Path(__file__).parents[1] / "docs"


def test_settings_page_is_generated_from_the_current_code():
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "settings_doc", DOCS.parent / "scripts" / "settings_doc.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "settings.md").read_text() == module.render(), (
        "docs/settings.md is out of date: run python scripts/settings_doc.py"
    )


def test_every_setting_is_documented_with_its_default():
    text = (DOCS / "settings.md").read_text()
    for f in FlowRoISettings.fields():
        row = next((line for line in text.splitlines() if line.startswith(f"| `{f.name}` |")), None)
        assert row is not None, f"{f.name} missing from docs/settings.md"
        assert f"| {f.default} |" in row, f"docs/settings.md gives another default for {f.name}"


def test_readme_commands_exist_in_the_makefile():
    makefile = (DOCS.parent / "Makefile").read_text()
    readme = (DOCS.parent / "README.md").read_text()
    for target in ("demo", "test", "napari", "bench"):
        assert f"make {target}" in readme and f"\n{target}:" in makefile


def test_the_python_pages_examples_run_as_written(tmp_path, monkeypatch, capsys):
    """Every code block of docs/python.md, in order, in one namespace, on files of the names it
    uses: the shipped sample cuts as the movies and wells, a real ND2 time-lapse (tests/data/nd2)
    as the microscopy file. Only the ND2's channel name is put in for the page's "BF"."""
    import lzma
    import re
    import shutil

    from napari_flowroi.sample_data import movie_path

    shutil.copy(movie_path("gowt1_nuclei"), tmp_path / "movie.ome.tif")
    shutil.copy(movie_path("gowt1_nuclei"), tmp_path / "A01.tif")
    shutil.copy(movie_path("hela_nuclei"), tmp_path / "A02.tif")
    nd2 = DOCS.parent / "tests" / "data" / "nd2" / "example-timelapse.nd2.xz"
    with lzma.open(nd2) as packed, open(tmp_path / "experiment.nd2", "wb") as out:
        shutil.copyfileobj(packed, out)
    monkeypatch.chdir(tmp_path)

    blocks = re.findall(r"```python\n(.*?)```", (DOCS / "python.md").read_text(), re.DOTALL)
    assert len(blocks) >= 4, "docs/python.md lost its examples"
    namespace: dict = {}
    for block in blocks:
        code = block.replace('motion_channel="BF"', 'motion_channel="GFP 488 nm"')
        exec(compile(code, "docs/python.md", "exec"), namespace)  # noqa: S102

    assert namespace["summary"].frames == 10
    assert namespace["first"].shape == (256, 256)
    assert (tmp_path / "tuned.flowroi" / "manifest.json").is_file()
    assert sorted(name for name, _ in namespace["plate"].wells) == ["A01", "A02"]
    assert namespace["result"].frames == 53


def test_every_docs_page_is_in_the_site_navigation():
    """`make docs` builds with --strict, where a page missing from mkdocs.yml's nav is an error; this
    says so in `make test` already, with the page's name."""
    import yaml

    config = (DOCS.parent / "mkdocs.yml").read_text()
    nav = yaml.safe_load(config[config.index("\nnav:") : config.index("\nhooks:")])["nav"]

    def pages(entries):
        for entry in entries:
            value = next(iter(entry.values())) if isinstance(entry, dict) else entry
            if isinstance(value, list):
                yield from pages(value)
            else:
                yield value

    listed = set(pages(nav))
    on_disk = {str(p.relative_to(DOCS)) for p in DOCS.rglob("*.md")}
    assert on_disk - listed == set(), "docs pages missing from mkdocs.yml nav"
