"""A minimal Leica LIF writer, for tests only.

Why a writer of our own: no open library writes LIF (Leica's LAS X is the only writer; readlif,
liffile and bioio-lif only read), and no package on PyPI ships a small LIF file: bioio-lif keeps
its test files in Git LFS, outside its sdist and wheel; the distributions of readlif, liffile,
convertleica-file-browser, leica-browser-qt and fractal-lif-converters hold none either. So the
tests write the LIF structure as Leica documents it and liffile (which bioio-lif reads through)
parses it:

- a header block: int32 0x70, int32 block length, byte 0x2A, int32 character count, then the XML
  description of every element as UTF-16-LE;
- one memory block per image: int32 0x70, int32 (unused), byte 0x2A, int64 byte count (version 2),
  byte 0x2A, int32 character count, the memory block id as UTF-16-LE, then the pixels.

Each image's XML names its channels (``ChannelDescription``, with the ``WideFieldChannelInfo`` a
widefield stand writes: contrasting method and filter cube), its dimensions (``DimID`` 1 X, 2 Y,
4 T; ``Length`` from first to last element in metres or seconds; ``BytesInc`` the stride) and the
time stamp of every plane (``TimeStampList``, Windows FILETIME in hexadecimal), as LAS X writes
them. Channels are stored as separate planes (stride X*Y*itemsize), each time point after all
channels of the one before, the layout of a widefield time-lapse.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np

FILETIME_EPOCH = 116444736000000000  # 1970-01-01 in 100 ns ticks since 1601-01-01


@dataclass
class LifChannel:
    method: str  # ContrastingMethodName, e.g. "TL-PH" (phase contrast) or "FLUO"
    cube: str  # FluoCubeName, "" for transmitted light
    lut: str  # LUTName, e.g. "Gray", "Green"


def _image_xml(
    name: str,
    block: str,
    data: np.ndarray,
    channels: list[LifChannel],
    pixel_size_m: float,
    interval_s: float,
    start_unix_s: float,
) -> str:
    t, c, y, x = data.shape
    item = data.dtype.itemsize
    bits = 8 * item
    plane = x * y * item
    chans = "".join(
        f'<ChannelDescription DataType="0" ChannelTag="0" Resolution="{bits}" '
        f'NameOfMeasuredQuantity="" Min="0" Max="{2**bits - 1}" Unit="" '
        f'LUTName={quoteattr(ch.lut)} IsLUTInverted="0" BytesInc="{i * plane}" BitInc="0"/>'
        for i, ch in enumerate(channels)
    )
    dims = (
        f'<DimensionDescription DimID="1" NumberOfElements="{x}" Origin="0" '
        f'Length="{pixel_size_m * (x - 1)!r}" Unit="m" BitInc="0" BytesInc="{item}"/>'
        f'<DimensionDescription DimID="2" NumberOfElements="{y}" Origin="0" '
        f'Length="{pixel_size_m * (y - 1)!r}" Unit="m" BitInc="0" BytesInc="{x * item}"/>'
        f'<DimensionDescription DimID="4" NumberOfElements="{t}" Origin="0" '
        f'Length="{interval_s * (t - 1)!r}" Unit="s" BitInc="0" BytesInc="{c * plane}"/>'
    )
    # one stamp per plane (channels of a time point taken 10 ms apart), as LAS X lists them
    ticks = [
        FILETIME_EPOCH + round((start_unix_s + i * interval_s + k * 0.01) * 1e7)
        for i in range(t)
        for k in range(c)
    ]
    stamps = (
        f'<TimeStampList NumberOfTimeStamps="{len(ticks)}">'
        f"{' '.join(format(v, 'x') for v in ticks)}</TimeStampList>"
    )
    details = "".join(
        f"<WideFieldChannelInfo LUT={quoteattr(ch.lut)} "
        f"ContrastingMethodName={quoteattr(ch.method)} FluoCubeName={quoteattr(ch.cube)}/>"
        for ch in channels
    )
    return (
        f'<Element Name={quoteattr(name)} Visibility="1" UniqueID="{block}">'
        f"<Data><Image><ImageDescription><Channels>{chans}</Channels>"
        f"<Dimensions>{dims}</Dimensions></ImageDescription>{stamps}"
        f'<Attachment Name="WideFieldChannelConfigurator">{details}</Attachment>'
        f"</Image></Data>"
        f'<Memory Size="{data.nbytes}" MemoryBlockID="{block}"/><Children/></Element>'
    )


def write_lif(
    path: str | Path,
    scenes: dict[str, np.ndarray],
    channels: list[LifChannel],
    *,
    pixel_size_um: float,
    interval_s: float,
    start_unix_s: float = 1.7e9,
) -> Path:
    """Write `scenes` (name -> (T, C, Y, X) uint8 or uint16 array) as one LIF project."""
    path = Path(path)
    images, blocks = [], []
    for i, (name, data) in enumerate(scenes.items(), start=1):
        data = np.ascontiguousarray(data)
        assert data.ndim == 4 and data.shape[1] == len(channels) and data.dtype.kind == "u"
        block = f"MemBlock_{i}"
        images.append(
            _image_xml(name, block, data, channels, pixel_size_um * 1e-6, interval_s, start_unix_s)
        )
        blocks.append((block, data.astype(data.dtype.newbyteorder("<"), copy=False).tobytes()))
    xml = (
        '<LMSDataContainerHeader Version="2">'
        f'<Element Name={quoteattr(path.stem)} Visibility="1" UniqueID="MemBlock_0">'
        '<Data><Experiment IsSavedFlag="1"/></Data>'
        '<Memory Size="0" MemoryBlockID="MemBlock_0"/>'
        f"<Children>{''.join(images)}</Children></Element></LMSDataContainerHeader>"
    )
    with open(path, "wb") as out:
        text = xml.encode("utf-16-le")
        out.write(struct.pack("<IIBI", 0x70, len(text) + 5, 0x2A, len(xml)) + text)
        for block, payload in [("MemBlock_0", b""), *blocks]:
            ident = block.encode("utf-16-le")
            out.write(struct.pack("<IIBQBI", 0x70, 0, 0x2A, len(payload), 0x2A, len(block)))
            out.write(ident + payload)
    return path
