"""Give glymur an OpenJPEG library, even where only pip was used.

glymur looks for a system ``libopenjp2`` (Debian: ``libopenjp2-7``) when it is imported. Pillow's
wheels carry their own copy in ``pillow.libs``; when glymur found nothing, glymur is pointed at that
one so ``pip install napari-flowroi`` is enough. Written here because glymur has no public hook
for a library path other than a config file in the user's home, which we must not write.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
import sys
from pathlib import Path

from .errors import FlowRoIError

MISSING_MESSAGE = (
    "No OpenJPEG library found. Install Pillow (pip install pillow, whose wheel "
    "carries one) or the system package (Debian/Ubuntu: apt install libopenjp2-7)."
)


def bundled_openjpeg_path() -> Path | None:
    """The OpenJPEG library inside Pillow's wheel, if there is one."""
    try:
        import PIL
    except ImportError:
        return None
    site = Path(PIL.__file__).resolve().parent.parent
    for folder in ("pillow.libs", "Pillow.libs", "PIL/.dylibs"):
        hits = sorted(glob.glob(os.path.join(site, folder, "libopenjp2*")))
        if hits:
            return Path(hits[0])
    return None


def ensure_openjpeg():
    """Import glymur with a working OpenJPEG and return the glymur module."""
    if "glymur" not in sys.modules:
        _import_glymur()
    import glymur
    from glymur.lib import openjp2

    if openjp2.OPENJP2 is None:
        raise FlowRoIError(MISSING_MESSAGE)
    return glymur


def _import_glymur() -> None:
    # glymur sizes its ctypes structures by the library version it finds *at import*, so the
    # library must be found then: answer ctypes' look-up with Pillow's copy when the system has none.
    real_find_library = ctypes.util.find_library
    if real_find_library("openjp2") is not None:
        import glymur  # noqa: F401

        return
    bundled = bundled_openjpeg_path()

    def find_library(name):
        if name == "openjp2" and bundled is not None:
            return str(bundled)
        return real_find_library(name)

    ctypes.util.find_library = find_library
    try:
        import glymur  # noqa: F401
    finally:
        ctypes.util.find_library = real_find_library
