"""Containers written by the glymur-based codec (main before the codec package), for the test
that old containers still open. Run with PYTHONPATH pointing at that code."""

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from napari_flowroi import codec
from napari_flowroi.batch import compress_movie
from napari_flowroi.container import open_container
from napari_flowroi.settings import FlowRoISettings
from napari_flowroi.synthetic import moving_discs

assert codec.__file__.endswith("codec.py"), codec.__file__
out = Path(sys.argv[1])
cases = {
    "discs-u16.flowroi": (
        moving_discs(n_frames=4, shape=(64, 96), dtype=np.uint16, seed=11).frames,
        FlowRoISettings(compression_rate=8),
    ),
    "discs-f32-plain.flowroi": (
        moving_discs(n_frames=3, shape=(48, 64), dtype=np.float32, seed=12).frames,
        FlowRoISettings(compression_rate=6, plain=True),
    ),
}
expected = {}
for name, (frames, settings) in cases.items():
    compress_movie(frames, out / name, settings)
    c = open_container(out / name)
    decoded = np.asarray(c.frames())
    expected[name] = {
        "decoded_sha256": [
            hashlib.sha256(np.ascontiguousarray(f).tobytes()).hexdigest() for f in decoded
        ],
        "mask_sha256": [
            hashlib.sha256(np.packbits(c.read_mask(t)).tobytes()).hexdigest()
            for t in range(len(frames))
        ],
    }
(out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
