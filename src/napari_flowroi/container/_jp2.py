"""Read what a JP2 file claims about its image from its headers, without decoding it.

A frame is decoded only after its headers agree with the manifest (size, one component, bit
depth), so a damaged or hostile file claiming a 46000x46000 image is refused before the decoder
allocates anything. Both the JP2 image header box (``ihdr``) and the codestream's SIZ marker are
read: OpenJPEG decodes from the codestream, so checking ``ihdr`` alone would not be enough.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


class HeaderError(ValueError):
    """The bytes are not a JP2 file (or a JPEG2000 codestream) whose headers can be read."""


@dataclass(frozen=True)
class Jp2Header:
    height: int
    width: int
    components: int
    bits: int  # bits per sample of the first component
    signed: bool


def _boxes(data: bytes, start: int, end: int):
    """(type, payload start, payload end) of the boxes in data[start:end]."""
    pos = start
    while pos + 8 <= end:
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        header = 8
        if length == 1:
            if pos + 16 > end:
                raise HeaderError("box length cut off")
            length = struct.unpack(">Q", data[pos + 8 : pos + 16])[0]
            header = 16
        elif length == 0:
            length = end - pos
        if length < header or pos + length > end:
            raise HeaderError(f"box {kind!r} runs past the end of the file")
        yield kind, pos + header, pos + length
        pos += length


def _siz(data: bytes, start: int) -> Jp2Header:
    if data[start : start + 4] != b"\xff\x4f\xff\x51":
        raise HeaderError("the codestream does not start with SOC and SIZ markers")
    body = data[start + 4 : start + 4 + 38]
    if len(body) < 38:
        raise HeaderError("the SIZ marker is cut off")
    _, _, xsiz, ysiz, xosiz, yosiz, _, _, _, _, csiz = struct.unpack(">HHIIIIIIIIH", body)
    if xosiz >= xsiz or yosiz >= ysiz or csiz < 1:
        raise HeaderError("the SIZ marker describes an empty image")
    if len(data) < start + 4 + 38 + 1:
        raise HeaderError("the SIZ marker is cut off")
    ssiz = data[start + 4 + 38]
    return Jp2Header(
        height=ysiz - yosiz,
        width=xsiz - xosiz,
        components=csiz,
        bits=(ssiz & 0x7F) + 1,
        signed=bool(ssiz & 0x80),
    )


def read_header(data: bytes) -> Jp2Header:
    """The image size, components and bit depth that `data` (a JP2 file) claims.

    Parameters
    ----------
    data : bytes
        A JP2 file, or a raw JPEG2000 codestream.

    Returns
    -------
    Jp2Header
        What the codestream's SIZ marker says.

    Raises
    ------
    HeaderError
        The headers cannot be read, or the ``ihdr`` box and the codestream disagree.
    """
    if data[:4] == b"\xff\x4f\xff\x51":
        return _siz(data, 0)
    if data[4:8] != b"jP  ":
        raise HeaderError("not a JP2 file (no signature box)")
    ihdr = codestream = None
    for kind, start, end in _boxes(data, 0, len(data)):
        if kind == b"jp2h":
            for inner, istart, iend in _boxes(data, start, end):
                if inner == b"ihdr" and iend - istart >= 14:
                    height, width, components, bpc = struct.unpack(
                        ">IIHB", data[istart : istart + 11]
                    )
                    ihdr = (height, width, components, (bpc & 0x7F) + 1)
        elif kind == b"jp2c":
            codestream = start
            break
    if codestream is None:
        raise HeaderError("no codestream box")
    header = _siz(data, codestream)
    if ihdr is not None and ihdr != (header.height, header.width, header.components, header.bits):
        raise HeaderError("the image header box and the codestream disagree")
    return header
