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
