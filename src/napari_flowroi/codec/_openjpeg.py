"""OpenJPEG in memory, through Pillow's JPEG2000 plugin, and the CPUs coding may take.

Pillow's wheels carry OpenJPEG on Linux, macOS and Windows, and its plugin codes to and from
bytes: no scratch file, no library path to find or patch. With the same OpenJPEG and the same
parameters (9/7 irreversible wavelet, one quality layer at the given ratio, `resolutions_for`
levels) it writes the very bytes glymur wrote before (docs/decisions.md, tests/core/
test_openjpeg.py). Pillow codes on one thread per call and holds the GIL while it does.
"""

from __future__ import annotations

import io
import math
import os
from pathlib import Path

import numpy as np

#: Largest number of wavelet resolutions used (OpenJPEG's default is 6).
MAX_RESOLUTIONS = 6


def resolutions_for(shape: tuple[int, int]) -> int:
    """Wavelet resolutions that fit the frame (each level halves it; OpenJPEG needs >= 1 px)."""
    return max(1, min(MAX_RESOLUTIONS, int(math.log2(max(1, min(shape)))) + 1))


def encode_jp2(codes: np.ndarray, cratio: float) -> bytes:
    """A standard JP2 file (9/7 irreversible wavelet) at compression ratio `cratio`.

    Parameters
    ----------
    codes : ndarray
        uint8 or uint16 frame (see `to_codec_values`).
    cratio : float
        Raw bytes of `codes` divided by the codestream's bytes, as OpenJPEG's rate control
        understands it (the JP2 boxes add ~100 bytes).

    Returns
    -------
    bytes
        The JP2 file.
    """
    from PIL import Image

    codes = np.ascontiguousarray(codes)
    if codes.dtype not in (np.uint8, np.uint16) or codes.ndim != 2:
        raise ValueError(f"codes must be a 2-D uint8 or uint16 array, not {codes.dtype}")
    # uint8 -> mode L, uint16 -> mode I;16: one grey component of 8 or 16 bits
    image = Image.fromarray(codes)
    out = io.BytesIO()
    image.save(
        out,
        format="JPEG2000",
        quality_mode="rates",
        quality_layers=[max(1.0, float(cratio))],
        irreversible=True,
        num_resolutions=resolutions_for(codes.shape),
    )
    return out.getvalue()


def decode_jp2(data: bytes) -> np.ndarray:
    """Decode JP2 bytes (or a bare JPEG2000 codestream, including HTJ2K) to the integer codes
    they hold.

    Parameters
    ----------
    data : bytes
        A JP2 file or J2K codestream of one grey component.

    Returns
    -------
    ndarray of uint8 or uint16

    Raises
    ------
    OSError, ValueError
        The bytes do not decode (damaged, truncated, or not JPEG2000).
    """
    from PIL import Jpeg2KImagePlugin

    # The plugin's image class rather than Image.open: Image.open refuses frames above Pillow's
    # decompression-bomb limit (179 Mpx), which a stitched microscopy frame may exceed; the
    # container checks every frame's headers against its manifest before decoding instead.
    with Jpeg2KImagePlugin.Jpeg2KImageFile(io.BytesIO(bytes(data))) as image:
        image.load()
        if image.mode not in ("L", "I;16"):
            raise ValueError(f"a JPEG2000 image of mode {image.mode}, not one grey component")
        return np.asarray(image)


def read_jp2_file(path) -> np.ndarray:
    """Decode the JP2 file at `path` (see `decode_jp2`)."""
    return decode_jp2(Path(path).read_bytes())


def openjpeg_version() -> str:
    """The version of the OpenJPEG library the codec uses (Pillow's)."""
    from PIL import features

    return features.version("jpg_2000") or "unavailable"


# --- CPUs --------------------------------------------------------------------------------------------

#: CPUs one encode or decode may take; None: every CPU of the process (see set_codec_threads).
_threads_setting: int | None = None


def available_cpus() -> int:
    """CPUs this process may use: its CPU affinity, capped by OMP_NUM_THREADS when set (dask's
    worker processes set it to 1, so a cluster of single-threaded workers is not oversubscribed)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        cap = int(os.environ.get("OMP_NUM_THREADS", "0"))
    except ValueError:
        cap = 0
    return max(1, min(cpus, cap) if cap > 0 else cpus)


def set_codec_threads(threads: int | None) -> None:
    """Fix the CPUs per coding (1 = single-threaded coding, nothing run beside it).

    Parameters
    ----------
    threads : int or None
        CPUs per coding, fixed (one worker per core, dask processes): then nothing runs beside
        an encode. None (the default) shares the process's CPUs: the batch prepares the next
        frame beside each encode (`cpus_to_spare`). OpenJPEG itself codes on one thread through
        Pillow either way; the coded bytes never depend on it.
    """
    global _threads_setting
    if threads is not None and int(threads) < 1:
        raise ValueError(f"threads must be >= 1 or None, not {threads}")
    _threads_setting = None if threads is None else int(threads)


def cpus_to_spare() -> bool:
    """Whether work may run beside an encode: the CPUs are not fixed by `set_codec_threads` and
    this process may use more than one."""
    return _threads_setting is None and available_cpus() > 1
