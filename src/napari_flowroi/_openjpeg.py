"""Give glymur an OpenJPEG library, even where only pip was used.

glymur looks for a system ``libopenjp2`` (Debian: ``libopenjp2-7``) when it is imported. Pillow's
wheels carry their own copy in ``pillow.libs``; when glymur found nothing, we load that one into
glymur so ``pip install napari-flowroi`` is enough. Written here because glymur has no public hook
for a library path other than a config file in the user's home.
"""

from __future__ import annotations

import ctypes
import glob
import os
from pathlib import Path

from .errors import FlowRoIError

MISSING_MESSAGE = ("No OpenJPEG library found. Install Pillow (pip install pillow, whose wheel "
                   "carries one) or the system package (Debian/Ubuntu: apt install libopenjp2-7).")


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


def ensure_openjpeg(prefer_bundled: bool = False):
    """Import glymur with a working OpenJPEG and return the glymur module."""
    import glymur
    from glymur import version
    from glymur.lib import openjp2

    if openjp2.OPENJP2 is None or prefer_bundled:
        path = bundled_openjpeg_path()
        if path is None:
            raise FlowRoIError(MISSING_MESSAGE)
        openjp2.OPENJP2 = ctypes.CDLL(str(path))
        version.openjpeg_version = openjp2.version()
        version.openjpeg_version_tuple = tuple(int(p) for p in version.openjpeg_version.split("."))
    return glymur


def openjpeg_library() -> str:
    """Where the OpenJPEG that glymur uses lives (for the manifest and bug reports)."""
    from glymur.lib import openjp2

    ensure_openjpeg()
    return str(getattr(openjp2.OPENJP2, "_name", "unknown"))
