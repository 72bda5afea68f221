"""MkDocs hook: the API reference lists exactly the names in ``napari_flowroi.__all__``.

docs/api.md holds the prose and a ``<!-- public-api -->`` marker; this hook replaces the marker
with one mkdocstrings block per public name, found where ``napari_flowroi`` itself loads it (its
lazy ``_LAZY`` map, or the package for the eagerly imported names). The names are loaded lazily by
``__getattr__``, which mkdocstrings' static reader cannot follow, and a module that moves would
otherwise break the page; generated here, the page follows the package.
"""

from __future__ import annotations

MARKER = "<!-- public-api -->"
#: shown with its fields table only: its dataclass signature repeats every setting's metadata
NO_SIGNATURE = {"FlowRoISettings"}


def on_page_markdown(markdown, page, config, files):
    if MARKER not in markdown:
        return markdown
    import napari_flowroi

    blocks = []
    for name in napari_flowroi.__all__:
        if name.startswith("__"):
            continue
        module = napari_flowroi._LAZY.get(name) or getattr(napari_flowroi, name).__module__
        block = f"::: {module}.{name}"
        if name in NO_SIGNATURE:
            block += "\n    options:\n      show_signature: false"
        blocks.append(block)
    return markdown.replace(MARKER, "\n\n".join(blocks))
