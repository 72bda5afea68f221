"""A pytest plugin for chasing GL crashes in the napari tests (issue 22; docs/napari.md, "The
OpenGL crash"): logs to a file, unbuffered, so that after a segmentation fault its last lines show
what the GL driver was asked to do just before.

- every vispy visual drawn and every GL command vispy runs (its GLIR queue: creations,
  deletions, uploads with their shapes, draws with the buffers and textures they bind);
- at every flush of that queue, whether the GL context current on the thread is the canvas's
  own: a line ``flush in ANOTHER context`` with the Python stack that flushed. This is how the
  crash of issue 22 was found: napari's layer removal flushed its deletions in Qt's compositing
  context.

    FLOWROI_RANDOM_ACTIONS=250 PYTHONPATH=scripts DRAWLOG=/tmp/draw.log \\
        .venv/bin/python -m pytest -p gl_drawlog tests/napari/test_random_actions.py

It wraps vispy methods in the test process only; nothing in the package uses it.
"""

import os
import traceback

import numpy as np

_log = None


def _write(text: str) -> None:
    os.write(_log, text.encode())


def _short(arg) -> str:
    """An argument of a GL command in a few characters (arrays by shape and type)."""
    if isinstance(arg, np.ndarray):
        return f"array{arg.shape}{arg.dtype}"
    if isinstance(arg, str) and len(arg) > 40:
        return f"text[{len(arg)}]"  # shader sources
    return repr(arg)


def pytest_configure(config):
    global _log
    from qtpy.QtGui import QOpenGLContext
    from vispy.gloo import context, glir
    from vispy.visuals import visual

    path = os.environ.get("DRAWLOG", "draw.log")
    _log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    draw, parse, flush = (
        visual.Visual.draw,
        glir.GlirParser._parse,
        context.GLContext.flush_commands,
    )

    def logged_draw(self):
        _write(f"visual {type(self).__name__} {id(self):x}\n")
        return draw(self)

    def logged_parse(self, command):
        name, id_ = command[0], command[1]
        target = self._objects.get(id_) if name not in ("CURRENT", "FUNC") else None
        handle = getattr(target, "_handle", None)
        args = " ".join(_short(arg) for arg in command[2:])
        if name == "DRAW" and hasattr(target, "_attributes"):
            buffers = {key: int(value[0]) for key, value in target._attributes.items()}
            textures = {key: int(value[1]) for key, value in target._samplers.items()}
            args += f" buffers={buffers} textures={textures}"
        _write(f"{name} {id_} {type(target).__name__}/{handle} {args}\n")
        return parse(self, command)

    # vispy connects this method by its name: the wrapper keeps it
    def flush_commands(self, event=None):
        canvas = context.get_current_canvas()
        backend = getattr(canvas, "_backend", None)
        own = backend.context() if hasattr(backend, "context") else None
        if own is not None and QOpenGLContext.currentContext() != own:
            stack = "".join(traceback.format_stack(limit=12)[:-1])
            _write(f"flush in ANOTHER context\n{stack}")
        return flush(self, event)

    visual.Visual.draw = logged_draw
    glir.GlirParser._parse = logged_parse
    context.GLContext.flush_commands = flush_commands
