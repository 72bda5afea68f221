"""Reading a container: lazy frames and masks, its summary and a TIFF of the decoded movie.

Nothing is decoded before it has been checked: the manifest against its schema when the container
is opened (`read_manifest`), each frame's file against its size and checksum in the manifest, and
its JP2 headers against the manifest's shape and dtype, before the decoder allocates anything.
"""

from __future__ import annotations

import statistics
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import codec
from ..codec import decode_mask
from ..codec._mask_box import mask_block_size  # one reader of the stored mask's block size
from ..errors import FlowRoIError
from ..outputs import check_file_output
from ..settings import FlowRoISettings
from ._files import check_cancel, frame_name, mask_name, sha256, written_whole
from ._jp2 import HeaderError, read_header
from ._manifest import masks_in_frames, read_manifest
from ._masks import decode_png_mask


def expected_bits(dtype: str) -> int:
    """Bits per sample of a container's JP2 files for a movie of `dtype` (floats: 16-bit codes)."""
    return 8 if dtype == "uint8" else 16


def header_problem(data: bytes, shape: tuple[int, int], dtype: str) -> str | None:
    """How a frame's JP2 headers disagree with the manifest, in words (None when they agree)."""
    try:
        header = read_header(data)
    except HeaderError as exc:
        return f"unreadable JP2 headers ({exc})"
    if (header.height, header.width) != tuple(shape):
        return (
            f"its headers claim {header.width}x{header.height} pixels, the manifest "
            f"{shape[1]}x{shape[0]}"
        )
    if header.components != 1 or header.signed or header.bits != expected_bits(dtype):
        return (
            f"its headers claim {header.components} component(s) of {header.bits} bits, the "
            f"manifest one of {expected_bits(dtype)} ({dtype})"
        )
    return None


def coverage_of(records: list[dict]) -> dict | None:
    """The missed-cell guard's estimate over a container's frame records: the mean and worst
    share of the guard's cells inside the RoI, the worst frame and the frames measured (the
    frames it checks; every frame, against the appearance cells, in stacks written before 0.3);
    None when not recorded."""
    shares = [(r["cell_coverage"], r["index"]) for r in records if "cell_coverage" in r]
    if not shares:
        return None
    worst, worst_frame = min(shares)
    return {
        "mean": round(sum(v for v, _ in shares) / len(shares), 4),
        "min": worst,
        "worst_frame": worst_frame,
        "frames_checked": [t for _, t in shares],
    }


#: Decimals of the RoI's mean share of the frame wherever it is reported (``mean_roi_fraction``:
#: `compress`'s summary and summary.json, `info`, `roi`, the API's CompressionSummary and
#: write_roi_masks): 0.01 % of the frame, finer than any decision taken on it.
ROI_FRACTION_DIGITS = 4


def mean_roi_fraction(fractions) -> float:
    """The RoI's mean share of the frame, as every output reports it (:data:`ROI_FRACTION_DIGITS`);
    0.0 for no frames."""
    fractions = [float(f) for f in fractions]
    return round(sum(fractions) / len(fractions), ROI_FRACTION_DIGITS) if fractions else 0.0


def frame_rates(records: list[dict]) -> dict:
    """Lowest, median and highest compression rate of single frames (they differ in
    target-quality mode)."""
    rates = [r["raw_bytes"] / (r["bytes"] + r.get("mask_bytes", 0)) for r in records]
    return {
        "min": round(min(rates), 3),
        "median": round(statistics.median(rates), 3),
        "max": round(max(rates), 3),
    }


@dataclass
class Container:
    """An opened compressed stack: lazy frames and masks, and the (validated) manifest."""

    root: Path
    manifest: dict

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.manifest["shape"])

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(self.manifest["dtype"])

    @property
    def settings(self) -> FlowRoISettings:
        return FlowRoISettings.from_dict(self.manifest["settings"])

    @property
    def has_masks(self) -> bool:
        """Whether every frame has a stored RoI mask: format 1 a PNG per frame (records with
        mask_sha256), format 2 a box in each JP2 file of a FlowRoI (not plain) run."""
        if masks_in_frames(self.manifest):
            return True
        return all("mask_sha256" in r for r in self.manifest["frames"])

    def _checked_bytes(self, t: int, name: str, size: int, checksum: str, what: str) -> bytes:
        path = self.root / name
        try:
            if not path.is_file():  # missing, or a FIFO/device that would block the reader
                raise FileNotFoundError(path)
            data = path.read_bytes()
        except FileNotFoundError:
            raise FlowRoIError(
                f"{what} {t} of {self.root} is missing ({name}); run `flowroi "
                "verify` on it to list every damaged frame."
            ) from None
        except OSError as exc:
            raise FlowRoIError(f"Cannot read {path} ({exc.strerror or exc}).") from exc
        if len(data) != size or sha256(data) != checksum:
            raise FlowRoIError(
                f"{what} {t} of {self.root} does not match its checksum (damaged); "
                "run `flowroi verify` on it to list every damaged frame."
            )
        return data

    def unsound_frames(self) -> list[int]:
        """The frames whose file is missing or not of the manifest's size: what `flowroi info`
        can see from the files' sizes alone (a stat each, no reading; `verify` checks the rest)."""
        bad = []
        for t, record in enumerate(self.manifest["frames"]):
            path = self.root / frame_name(t)
            try:
                sound = path.is_file() and path.stat().st_size == record["bytes"]
            except OSError:
                sound = False
            if not sound:
                bad.append(t)
        return bad

    def check_frame(self, t: int) -> bytes:
        """Frame `t`'s JP2 file, checked against the manifest (size, checksum, headers) without
        decoding it.

        Raises
        ------
        FlowRoIError
            Missing, damaged, or its headers claim another image than the manifest's.
        """
        record = self.manifest["frames"][t]
        data = self._checked_bytes(t, frame_name(t), record["bytes"], record["sha256"], "Frame")
        problem = header_problem(data, self.shape[1:], self.manifest["dtype"])
        if problem:
            raise FlowRoIError(f"Frame {t} of {self.root} does not fit its manifest: {problem}.")
        return data

    def read_frame(self, t: int) -> np.ndarray:
        """Frame `t`, decoded to the original dtype.

        Raises
        ------
        FlowRoIError
            The frame's file is missing, does not match its checksum, its headers disagree with
            the manifest, or it does not decode.
        """
        record = self.manifest["frames"][t]
        data = self.check_frame(t)
        try:
            with warnings.catch_warnings():  # a decoder may warn about each damaged box it meets
                warnings.simplefilter("ignore")
                # the very bytes checked, decoded in memory (never reopened by path)
                codes = codec.decode_jp2(data)
        except Exception as exc:  # Pillow/OpenJPEG raise many kinds on damaged codestreams
            raise FlowRoIError(
                f"Frame {t} of {self.root} does not decode ({' '.join(str(exc).split())[:100]})."
            ) from exc
        if codes.shape != self.shape[1:]:
            raise FlowRoIError(
                f"Frame {t} of {self.root} decodes to {codes.shape}, not {self.shape[1:]}."
            )
        return codec.from_codec_values(codes, str(self.dtype), record.get("value_range"))

    def read_mask(self, t: int) -> np.ndarray:
        """The RoI frame `t` was coded with (block-wise), all False without a stored mask."""
        record = self.manifest["frames"][t]
        try:
            if "mask_sha256" in record:  # format 1: a PNG beside the frame
                data = self._checked_bytes(
                    t,
                    mask_name(t),
                    record["mask_bytes"],
                    record["mask_sha256"],
                    "The mask of frame",
                )
                return decode_png_mask(data, self.shape[1:])
            if not self.has_masks:
                return np.zeros(self.shape[1:], bool)
            return decode_mask(self.check_frame(t), self.shape[1:])
        except ValueError as exc:
            raise FlowRoIError(
                f"The mask of frame {t} of {self.root} does not decode ({exc})."
            ) from exc

    def mask_block(self, t: int) -> int | None:
        """The block size (px) of frame `t`'s stored mask (format 2), None when unknown (no
        stored mask, or format 1's PNG masks)."""
        if not masks_in_frames(self.manifest):
            return None
        return mask_block_size(self.check_frame(t))

    def coded_plain(self, t: int) -> bool:
        """Whether frame `t` of a FlowRoI run was written as plain JPEG2000 by the fall-back
        (``FlowRoISettings.plain_fallback``): format 2 or later, and no stored mask in its file."""
        return masks_in_frames(self.manifest) and self.mask_block(t) is None

    def frames(self):
        """The decoded movie as a lazy dask array (T, Y, X), one chunk per frame."""
        return _lazy_stack(self.read_frame, self.shape, self.dtype)

    def masks(self):
        """The stored RoI masks as a lazy dask array of bool (T, Y, X)."""
        return _lazy_stack(self.read_mask, self.shape, np.dtype(bool))

    def summary(self) -> dict:
        """What `flowroi info` prints: shape, dtype, settings, input, software, totals, mean RoI
        fraction, the guard's cell coverage, the spread of per-frame rates, and
        ``roi_flow_scale`` when the RoI was looked for at another resolution than asked."""
        manifest = self.manifest
        records = manifest["frames"]
        return {
            "container": str(self.root),
            "shape": manifest["shape"],
            "dtype": manifest["dtype"],
            "settings": manifest["settings"],
            "input": manifest["input"],
            "software": manifest["software"],
            **manifest["totals"],
            "mean_roi_fraction": mean_roi_fraction(r["roi_fraction"] for r in records),
            "cell_coverage": coverage_of(records),
            "frame_rates": frame_rates(records),
            # where the RoI was looked for at another resolution than settings.flow_scale asked
            **(
                {"roi_flow_scale": manifest["roi_flow_scale"]}
                if "roi_flow_scale" in manifest
                else {}
            ),
        }

    def to_tiff(
        self,
        output: str | Path,
        *,
        overwrite: bool = False,
        progress: Callable[[int, int], None] | None = None,
        cancel: Any = None,
    ) -> Path:
        """Write the decoded movie as a multi-page (Big)TIFF with axes TYX.

        The TIFF is written under a temporary name (``.NAME.partial``) beside `output` and renamed
        when complete; on any failure (disk full, a damaged frame, Ctrl-C) the temporary file is
        removed and nothing is left behind.

        Parameters
        ----------
        output : str or Path
            The TIFF file to write; never inside the container, never a folder.
        overwrite : bool
            Replace an existing file.
        progress : callable, optional
            Called as ``progress(done, total)`` after every frame.
        cancel : optional
            An object with ``is_set()`` (a ``threading.Event``), checked before every frame: once
            set, the export stops with :class:`~napari_flowroi.errors.CancelledError` and the
            temporary file is removed (nothing is written).

        Raises
        ------
        CancelledError
            `cancel` was set before the last frame was written.
        OutputError
            The output is refused (exists, a folder, inside the container, a file in its path) or
            cannot be written.
        FlowRoIError
            A frame is damaged.
        """
        import tifffile

        output = Path(output)
        check_file_output(output, containers=[self.root], overwrite=overwrite)
        n_frames = self.shape[0]
        for t in range(n_frames):  # a damaged frame stops the run before anything is written
            self.check_frame(t)
        with written_whole(output) as tmp, tifffile.TiffWriter(tmp, bigtiff=True) as tif:
            for t in range(n_frames):
                check_cancel(cancel)
                tif.write(
                    np.asarray(self.read_frame(t)),
                    contiguous=True,
                    metadata={"axes": "TYX"} if t == 0 else None,
                )
                if progress is not None:
                    progress(t + 1, n_frames)
        return output


def _lazy_stack(read, shape, dtype):
    import dask
    import dask.array as da

    frames = [
        da.from_delayed(dask.delayed(read, pure=True)(t), shape[1:], dtype) for t in range(shape[0])
    ]
    return da.stack(frames)


def open_container(path: str | Path) -> Container:
    """Open the compressed stack in folder `path` (nothing is decoded yet).

    Raises
    ------
    FlowRoIError
        `path` holds no complete stack, or its manifest is damaged or fails the schema.
    """
    root = Path(path)
    return Container(root, read_manifest(root))
