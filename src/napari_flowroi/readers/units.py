"""Unit names as the files write them, turned into the symbols the manifest and OME-TIFF use."""

from __future__ import annotations

import re
from typing import Any

_UNIT_SYMBOLS = {
    "micrometer": "µm",
    "micron": "µm",
    "microns": "µm",
    "micrometers": "µm",
    "um": "µm",
    "nanometer": "nm",
    "millimeter": "mm",
    "meter": "m",
    "second": "s",
    "seconds": "s",
    "sec": "s",  # ImageJ's name for its default time unit
    "millisecond": "ms",
    "minute": "min",
    "hour": "h",
}
#: ImageJ writes non-ASCII units escaped in its ASCII header (``\u00B5m`` for µm); Python's
#: "unicode_escape" codec would also turn a backslash elsewhere in the text into something else,
#: so only the \uXXXX form is decoded.
_ESCAPED = re.compile(r"\\u([0-9a-fA-F]{4})")


def decode_escapes(text: str) -> str:
    """ImageJ's escaped characters (``\\u00B5m``) decoded (``µm``); other text unchanged."""
    return _ESCAPED.sub(lambda m: chr(int(m.group(1), 16)), text)


def unit_symbol(value: Any) -> str | None:
    """The symbol of a unit as a file names it (``micron`` -> ``µm``), None for no unit.

    Parameters
    ----------
    value : str, enum or None
        The unit as read: a name, a symbol, ImageJ's escaped text (``\u00b5m``) or an ome-types
        enum (its ``value`` is the OME symbol).

    Returns
    -------
    str or None
        The symbol, or None when the file says there is no unit.
    """
    if value is None:
        return None
    text = str(getattr(value, "value", value)).strip()
    text = decode_escapes(text)
    if text in ("", "dimensionless", "None"):
        return None
    return _UNIT_SYMBOLS.get(text, text)
