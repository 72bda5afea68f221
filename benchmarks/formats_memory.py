"""Peak memory of compressing a microscopy file through bioio: short vs long movies.

For each length an OME-Zarr (T, C=2, Z=1, Y, X) file is written one time point at a time with
bioio's OME-Zarr writer (or an OME-TIFF with tifffile, --format ome-tiff), then a fresh process
compresses every channel of it (`microscopy.compress_file`: the phase channel's motion RoI, then the
fluorescence channel with the inherited RoI) and reports its peak resident memory (ru_maxrss).
Flat memory means the peaks are about the same for both lengths.

    .venv/bin/python benchmarks/formats_memory.py                      # 40 and 320 frames, 512²
    .venv/bin/python benchmarks/formats_memory.py --format ome-tiff --frames 40 160
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _frames(n_frames: int, size: int):
    import numpy as np

    from napari_flowroi.synthetic import moving_discs

    base = moving_discs(n_frames=2, shape=(size, size), n_cells=12, radius=20)
    for t in range(n_frames):  # a new frame each time, made on demand
        phase = np.roll(base.frames[t % 2], 2 * t, axis=1)
        fluo = np.roll(np.where(base.cells[t % 2], 180, 12).astype(np.uint8), 2 * t, axis=1)
        yield np.stack([phase, fluo])


def write_file(path: Path, n_frames: int, size: int, kind: str) -> None:
    import numpy as np

    if kind == "ome-tiff":
        import tifffile

        def pages():
            for frame in _frames(n_frames, size):
                yield from frame

        tifffile.imwrite(
            path,
            pages(),
            shape=(n_frames, 2, size, size),
            dtype=np.uint8,
            ome=True,
            photometric="minisblack",
            metadata={
                "axes": "TCYX",
                "Channel": {"Name": ["Phase", "GFP"]},
                "PhysicalSizeX": 0.65,
                "PhysicalSizeY": 0.65,
            },
        )
        return
    from bioio_ome_zarr.writers import Channel, OMEZarrWriter

    writer = OMEZarrWriter(
        str(path),
        level_shapes=(n_frames, 2, 1, size, size),
        dtype=np.uint8,
        chunk_shape=(1, 1, 1, size, size),
        channels=[Channel(label="Phase", color="FFFFFF"), Channel(label="GFP", color="00FF00")],
        axes_names=["t", "c", "z", "y", "x"],
        axes_types=["time", "channel", "space", "space", "space"],
        axes_units=["second", None, "micrometer", "micrometer", "micrometer"],
        physical_pixel_size=[30.0, 1.0, 1.0, 0.65, 0.65],
    )
    for t, frame in enumerate(_frames(n_frames, size)):
        writer.write_timepoints(frame[None, :, None], start_T_dest=t)


def child(path: str, workers: int) -> dict:
    from napari_flowroi.microscopy import compress_file
    from napari_flowroi.settings import FlowRoISettings

    with tempfile.TemporaryDirectory() as out:
        started = time.perf_counter()
        summary = compress_file(
            path, Path(out) / "out", FlowRoISettings(compression_rate=40), workers=workers
        )
        seconds = time.perf_counter() - started
    totals = summary.as_dict()["totals"]
    return {
        "frames_per_channel": totals["frames"] // 2,
        "channels": 2,
        "seconds": round(seconds, 1),
        "achieved_rate": totals["achieved_rate"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, nargs="+", default=[40, 320])
    parser.add_argument("--size", type=int, default=512, help="frame side in pixels [512]")
    parser.add_argument("--format", choices=["ome-zarr", "ome-tiff"], default="ome-zarr")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--child", metavar="FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.workers)))
        return
    suffix = ".ome.zarr" if args.format == "ome-zarr" else ".ome.tif"
    with tempfile.TemporaryDirectory() as folder:
        for n_frames in args.frames:
            path = Path(folder) / f"movie{n_frames}{suffix}"
            write_file(path, n_frames, args.size, args.format)
            command = [
                sys.executable,
                __file__,
                "--child",
                str(path),
                "--workers",
                str(args.workers),
            ]
            result = subprocess.run(command, capture_output=True, text=True, check=True)
            line = json.loads(result.stdout.strip().splitlines()[-1])
            print(
                json.dumps({"format": args.format, "size": f"{args.size}x{args.size}", **line}),
                flush=True,
            )


if __name__ == "__main__":
    main()
