"""Issue 21: why a reference cell wholly inside the RoI can come out > 1 dB below plain JPEG2000.

    python benchmarks/paying_cells.py [--movies HSC] [--rates 8,16,32] [--clips HSC,HSC+noise]

A cell wholly inside the RoI keeps every value the encoder is given (weight 1, codec/_priority.py),
so what it loses is the encoder's allocation. Per clip and rate, on the frames common.MOVIES
names, with the defaults: the cells of >= 30 px more than 1 dB below plain JPEG2000 where the
ideal RoI (reference + 2 px) has none (generalise.py's count), each with its area, share inside
the RoI, distance from the RoI's edge, dB against plain with the default and the ideal RoI, and
for a cell wholly inside the RoI four controlled codings, each at plain's byte budget:

- *mask back*: the frame coded as the product codes it, with the bytes its stored mask takes
  beyond OpenJPEG's comment given back to the image;
- *block plain*: the default priority, but the aligned 128-px squares the cell touches (the
  footprint of a finest-level 64x64 code-block) left as they are, no stored mask;
- *only block*: plain JPEG2000 everywhere but those squares, which get the default priority;
- *bytes*: how much larger than plain's budget the default coding (no stored mask) must be
  before the cell comes within 1 dB of plain (up to 1.05x; '>' when not reached).

Then the code-block (64x64 coefficients of levels 1-3, the one holding the cell's centre in each
band) whose RoI part's coding error grew most against plain: that error, plain and ours, and the
block's background wavelet energy before and after the damping. And the resolution of the count itself: plain
JPEG2000 against plain JPEG2000 with 1 % and 2 % fewer bytes, cells of >= 30 px wholly inside
the RoI more than 1 dB worse. Results: docs/decisions.md ("Why cells wholly inside the RoI ...").
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import common  # noqa: E402
from roi_gap import MIN_CELL_AREA, PAY_DB, cell_psnr  # noqa: E402

from napari_flowroi import codec  # noqa: E402
from napari_flowroi.roi import RoiExtractor  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

#: The pixels a finest-level (first decomposition level) 64x64 code-block covers: 128 x 128.
BLOCK = 128
#: Byte budgets tried for *bytes*, as multiples of plain's.
EXTRA = (1.0, 1.01, 1.02, 1.03, 1.04, 1.05)
#: The 9/7 lifting steps of JPEG2000's irreversible wavelet (ISO 15444-1, Annex F).
LIFT = (-1.586134342, -0.052980118, 0.882911075, 0.443506852)


def _lift(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One level of the 9/7 lifting along axis 0, symmetric extension: (low, high).

    Written out because no wavelet library is installed here (PyWavelets is not a dependency);
    it serves only to attribute coding error to a band and code-block, so the bands' scale
    factors (the same for ours and plain) are left out."""
    s, d = x[0::2].astype(np.float64), x[1::2].astype(np.float64)
    for k, step in enumerate(LIFT):
        if k % 2 == 0:  # the odd samples from their even neighbours (x[n] = x[n - 2])
            right = np.concatenate([s, s[-1:]])[1 : len(d) + 1]
            d = d + step * (s[: len(d)] + right)
        else:  # the even samples from their odd neighbours (d[-1] = d[0])
            left = np.concatenate([d[:1], d])[: len(s)]
            right = np.concatenate([d, d[-1:]])[: len(s)]
            s = s + step * (left + right)
    return s, d


def detail_bands(image: np.ndarray, levels: int = 3) -> list[dict[str, np.ndarray]]:
    """The detail bands (HL, LH, HH) of the first `levels` decomposition levels, finest first."""
    out, low = [], np.asarray(image, np.float64)
    for _ in range(levels):
        rows_low, rows_high = _lift(low)
        low, hl = (a.T for a in _lift(rows_low.T))
        lh, hh = (a.T for a in _lift(rows_high.T))
        out.append({"HL": hl, "LH": lh, "HH": hh})
    return out


def _blocks(labels: np.ndarray, label: int) -> np.ndarray:
    """The aligned BLOCK-px squares the cell `label` touches."""
    ys, xs = np.nonzero(labels == label)
    out = np.zeros(labels.shape, bool)
    for by in range(ys.min() // BLOCK, ys.max() // BLOCK + 1):
        for bx in range(xs.min() // BLOCK, xs.max() // BLOCK + 1):
            out[by * BLOCK : (by + 1) * BLOCK, bx * BLOCK : (bx + 1) * BLOCK] = True
    return out


def _coded(codes: np.ndarray, budget: float) -> np.ndarray:
    """`codes` coded at `budget` bytes as plain JPEG2000 is (no stored mask) and decoded."""
    return codec.decode_jp2(codec.RateController().encode(codes, budget))


def code_block(frame, codes, plain, ours, roi, labels, label) -> str:
    """The code-block (levels 1-3, the one holding the cell's centre in each band) whose RoI part's
    coding error grew most against plain: that error (plain, ours) and the block's background
    energy (original, damped). A 64x64 code-block of level L covers 64 * 2**L px."""
    cy, cx = (int(v.mean()) for v in np.nonzero(labels == label))
    coef = {"orig": detail_bands(frame), "damped": detail_bands(codes)}
    error = {
        "plain": detail_bands(plain.astype(np.float64) - frame),
        "ours": detail_bands(ours.astype(np.float64) - codes),
    }
    found = []
    for level in range(len(coef["orig"])):
        step = 2 ** (level + 1)
        by, bx = cy // step // 64, cx // step // 64
        part = (slice(by * 64, by * 64 + 64), slice(bx * 64, bx * 64 + 64))
        for band in ("HL", "LH", "HH"):
            # a band of an odd-sized level is one coefficient shorter than the sampled RoI
            height, width = coef["orig"][level][band].shape
            inside = roi[::step, ::step][:height, :width][part]

            def energy(kind, where, band=band, level=level, part=part):
                return float(np.sum(kind[level][band][part][where] ** 2))

            plain_error, ours_error = energy(error["plain"], inside), energy(error["ours"], inside)
            text = (
                f"L{level + 1} {band} ({by}, {bx}), {inside.mean():.0%} RoI: RoI part's coding "
                f"error {plain_error:.0f} → {ours_error:.0f}, background energy "
                f"{energy(coef['orig'], ~inside):.0f} → {energy(coef['damped'], ~inside):.0f}"
            )
            found.append((ours_error - plain_error, text))
    return max(found)[1]


def paying(case, rates, log) -> list[str]:
    """The table rows of one clip (and the count's resolution, logged)."""
    settings = FlowRoISettings()
    extractor = RoiExtractor(case.movie, settings, cache_frames=8)
    peak = float(np.iinfo(case.movie.dtype).max)
    rows, flips = [], {}
    for t in case.frames:
        frame, labels = np.asarray(case.movie[t]), case.cells(t)
        roi, ideal = extractor.mask(t), case.ideal(t)
        count = int(labels.max()) + 1
        area = np.bincount(labels.ravel(), minlength=count)
        share = np.bincount(labels.ravel(), weights=roi.ravel(), minlength=count) / np.maximum(
            area, 1
        )
        big = area >= MIN_CELL_AREA
        big[0] = False
        depth = cv2.distanceTransform(roi.astype(np.uint8), cv2.DIST_L2, 5)
        codes = codec.prioritise_roi(frame, roi, settings)

        def psnr(decoded, frame=frame, labels=labels):
            with np.errstate(invalid="ignore", divide="ignore"):
                return cell_psnr(frame, decoded, labels, peak)

        for rate in rates:
            s = settings.replace(compression_rate=float(rate))
            budget = frame.nbytes / rate
            plain_dec = codec.decode_frame(codec.encode_plain(frame, s))
            plain = psnr(plain_dec)
            encoded = codec.encode_frame(frame, roi, s)
            with np.errstate(invalid="ignore"):  # a cell coded exactly: inf - inf
                ours = psnr(codec.decode_frame(encoded)) - plain
                ideal_db = psnr(codec.decode_frame(codec.encode_frame(frame, ideal, s))) - plain
            whole = big & (share >= 1.0)
            for factor in (0.99, 0.98):
                worse = psnr(_coded(frame, budget * factor)) < plain - PAY_DB
                flips.setdefault((rate, factor), [0, 0])
                flips[rate, factor][0] += int(np.sum(worse & whole))
                flips[rate, factor][1] += int(whole.sum())
            pays = big & (ours < -PAY_DB) & ~(ideal_db < -PAY_DB)
            back = None
            for label in np.flatnonzero(pays):
                cell = labels == label
                row = (
                    f"| {case.name} | {t} | {rate}:1 | {label} | {area[label]} | "
                    f"{share[label]:.0%} | {depth[cell].min():.1f} | {ours[label]:+.2f} | "
                    f"{ideal_db[label]:+.2f} |"
                )
                if share[label] < 1.0:
                    rows.append(row + " – | – | – | – | – |")
                    continue
                if back is None:
                    freed = encoded.mask_bytes - codec.openjpeg_comment_bytes()
                    back = psnr(
                        codec.decode_frame(codec.encode_frame(frame, roi, s, -max(freed, 0)))
                    )
                blocks = _blocks(labels, label)
                kept = np.where(blocks, frame, codes)
                only = np.where(blocks, codes, frame)
                needed = ">1.05"
                for extra in EXTRA:
                    if psnr(_coded(codes, budget * extra))[label] >= plain[label] - PAY_DB:
                        needed = f"{extra:.2f}"
                        break
                ours_dec = _coded(codes, budget)
                where = code_block(frame, codes, plain_dec, ours_dec, roi, labels, label)
                rows.append(
                    row
                    + f" {back[label] - plain[label]:+.2f} | "
                    + f"{psnr(_coded(kept, budget))[label] - plain[label]:+.2f} | "
                    + f"{psnr(_coded(only, budget))[label] - plain[label]:+.2f} | "
                    + f"{needed} | {where} |"
                )
                log(rows[-1])
    for (rate, factor), (n, total) in sorted(flips.items()):
        log(
            f"  {case.name} {rate}:1 plain at {factor:.2f}x its bytes: {n} of {total} cells "
            f">= {MIN_CELL_AREA} px wholly inside the RoI > {PAY_DB:g} dB below plain"
        )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--movies", default="HSC")
    parser.add_argument("--clips", default="", help="clip names to keep (e.g. HSC,HSC+noise)")
    parser.add_argument("--rates", default="8,16,32")
    args = parser.parse_args(argv)
    rates = tuple(int(r) for r in args.rates.split(","))
    keep = {c.strip() for c in args.clips.split(",") if c.strip()}
    header = (
        "| clip | frame | rate | cell | px | in RoI | depth px | dB vs plain | ideal | "
        "mask back | block plain | only block | bytes | code-block |"
    )
    rows = []
    for case in common.load_cases(False, [m.strip() for m in args.movies.split(",")]):
        if keep and case.name not in keep:
            continue
        rows += paying(case, rates, lambda line: print(line, file=sys.stderr, flush=True))
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
