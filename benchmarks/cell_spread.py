"""Issue 21, priority 2: how FlowRoI's PSNR in each reference cell spreads around plain JPEG2000's.

    python benchmarks/cell_spread.py [--movies HSC] [--rates 8,16,32]

Per clip (clean and with camera noise) and rate, on the frames common.MOVIES names: for the
reference cells of >= 30 px wholly inside the default RoI (>= 99 % of their pixels), FlowRoI's
cell PSNR minus plain JPEG2000's at the same rate, with the default RoI and with the ideal one
(reference cells + 2 px): mean, median, standard deviation and how many cells lie more than 1 dB
below / above. A cell wholly inside the RoI keeps every value the encoder is given, so what it
loses against plain JPEG2000 is the encoder's bit allocation; this shows whether such losses
are a systematic effect of the RoI or the tail of the spread around a small mean advantage.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from roi_gap import MIN_CELL_AREA, PAY_DB, cell_psnr  # noqa: E402

from napari_flowroi import codec  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402


def spread(case, rates) -> dict:
    """{rate: {"default"|"ideal": per-cell dB differences}} on the clip's frames."""
    extractor = RoiExtractor(case.movie, FlowRoISettings(), cache_frames=8)
    peak = float(np.iinfo(case.movie.dtype).max)
    out = {rate: {"default": [], "ideal": []} for rate in rates}
    for t in case.frames:
        frame, labels = np.asarray(case.movie[t]), case.cells(t)
        count = int(labels.max()) + 1
        area = np.bincount(labels.ravel(), minlength=count)
        roi = extractor.mask(t)
        inside = np.bincount(labels.ravel(), weights=roi.ravel(), minlength=count)
        chosen = (area >= MIN_CELL_AREA) & (inside >= 0.99 * area)
        chosen[0] = False
        for rate in rates:
            s = FlowRoISettings(compression_rate=float(rate))
            plain = cell_psnr(frame, codec.decode_frame(codec.encode_plain(frame, s)), labels, peak)
            for name, mask in (("default", roi), ("ideal", case.ideal(t))):
                ours = codec.decode_frame(codec.encode_frame(frame, mask, s))
                with np.errstate(invalid="ignore"):  # a cell coded exactly: inf - inf
                    difference = cell_psnr(frame, ours, labels, peak) - plain
                out[rate][name].append(difference[chosen])
    return {r: {k: np.concatenate(v) for k, v in d.items()} for r, d in out.items()}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--movies", default="HSC")
    parser.add_argument("--rates", default="8,16,32")
    args = parser.parse_args(argv)
    rates = tuple(int(r) for r in args.rates.split(","))
    print("| clip | rate | RoI | cells | mean dB | median | SD | < -1 dB | > +1 dB | lowest |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for case in common.load_cases(False, [m.strip() for m in args.movies.split(",")]):
        for rate, by_roi in spread(case, rates).items():
            for name, d in by_roi.items():
                d = d[np.isfinite(d)]
                print(
                    f"| {case.name} | {rate}:1 | {name} | {d.size} | {d.mean():+.2f} | "
                    f"{np.median(d):+.2f} | {d.std():.2f} | {int(np.sum(d < -PAY_DB))} | "
                    f"{int(np.sum(d > PAY_DB))} | {d.min():+.1f} |"
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
