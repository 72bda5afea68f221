"""What identifies a movie's content for resuming: a hash of every pixel, taken while it is read.

Each frame's pixels are hashed when the compression reads them (:func:`frame_digest`, SHA-256:
about 2 ms for a 1.4-MP 16-bit frame with the CPU's SHA instructions, ~1 % of coding it;
docs/decisions.md), the digest is kept with the frame's progress record, and the finished
manifest holds the hash of all of them in frame order (:func:`movie_digest`). A resume re-reads
the frames already coded and compares each digest; a rerun onto a finished stack re-reads the
movie and compares the whole. So one changed pixel is seen, where the sampled fingerprint of
earlier versions could miss it and a resumed stack could mix two inputs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import numpy as np

#: The manifest's ``input.content`` while a run is under way: the movie's hash is known only once
#: every frame was read. It has the final hash's length, so the manifest's size, which is
#: reserved in every frame's byte budget before the first frame is coded, does not change.
PENDING = "0" * 32


def frame_digest(frame: np.ndarray) -> str:
    """SHA-256 of one frame's pixels, shape and pixel type (hex).

    Parameters
    ----------
    frame : ndarray
        The frame as read (any dtype; made C-contiguous if it is not).

    Returns
    -------
    str
        64 hex digits; equal frames give equal digests, one changed pixel another.
    """
    frame = np.ascontiguousarray(frame)
    digest = hashlib.sha256(f"{frame.dtype.str}{frame.shape}".encode())
    digest.update(memoryview(frame).cast("B"))
    return digest.hexdigest()


def movie_digest(frame_digests: Iterable[str]) -> str:
    """The hash of a whole movie from its frames' digests in frame order (32 hex digits)."""
    digest = hashlib.sha256()
    for d in frame_digests:
        digest.update(bytes.fromhex(d))
    return digest.hexdigest()[:32]


def read_digests(movie: Any, frames: Iterable[int]) -> dict[int, str]:
    """Read `frames` of `movie` and return each one's :func:`frame_digest` (for resume checks)."""
    return {int(t): frame_digest(np.asarray(movie[t])) for t in frames}
