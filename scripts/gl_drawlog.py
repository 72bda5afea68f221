"""A pytest plugin for chasing the GL crash of issue 22 (docs/napari.md): logs every vispy visual
drawn and every GL buffer deleted to a file, unbuffered, so that after a segmentation fault the
file's last lines name the visual whose draw crashed and what was freed just before.

    FLOWROI_RANDOM_ACTIONS=250 PYTHONPATH=scripts DRAWLOG=/tmp/draw.log \
        .venv/bin/python -m pytest -p gl_drawlog tests/napari/test_random_actions.py

It wraps two vispy methods in the test process only; nothing in the package uses it.
"""

import os

_log = None


def pytest_configure(config):
    global _log
    from vispy.gloo import glir
    from vispy.visuals import visual

    path = os.environ.get("DRAWLOG", "draw.log")
    _log = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    draw, delete = visual.Visual.draw, glir.GlirBuffer.delete

    def logged_draw(self):
        os.write(_log, f"draw {type(self).__name__} {id(self):x}\n".encode())
        return draw(self)

    def logged_delete(self):
        os.write(_log, f"delete buffer {self._handle}\n".encode())
        return delete(self)

    visual.Visual.draw = logged_draw
    glir.GlirBuffer.delete = logged_delete
