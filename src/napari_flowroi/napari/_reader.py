"""Open a FlowRoI compressed stack (a folder holding manifest.json) lazily: frames and RoI masks."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..calibration import layer_kwargs
from ..container import container_set, is_container, open_container


def get_reader(path):
    """napari reader hook: a reader for a compressed-stack folder, None for anything else."""
    if isinstance(path, (list, tuple)):
        if len(path) != 1:
            return None
        path = path[0]
    if not isinstance(path, (str, Path)):
        return None
    if container_set(path):  # a folder of channels, positions or wells: a layer each
        return read_container_set
    if not is_container(path):
        return None
    return read_container


def contrast_limits(container) -> list[float]:
    """uint8: its full range; other types: the range of the first frame (one frame is decoded)."""
    if container.dtype == np.uint8:
        return [0.0, 255.0]
    first = container.read_frame(0)
    low, high = float(first.min()), float(first.max())
    return [low, high if high > low else low + 1.0]


def stored_roi_note(container, samples: int = 5) -> dict:
    """What the stored RoI layer is, in words: its block size(s) and the share of the frame the
    blocks cover (from up to `samples` frames spread over the movie; the stored mask is read, the
    frames are not decoded), against the share of the RoI that was coded (the manifest's)."""
    records = container.manifest["frames"]
    coded = sum(r.get("roi_fraction", 0.0) for r in records) / max(len(records), 1)
    frames = sorted({int(t) for t in np.linspace(0, len(records) - 1, min(samples, len(records)))})
    found = {t: container.mask_block(t) for t in frames}  # each frame's file read once here
    blocks = sorted({b for b in found.values() if b is not None})
    # frames the opt-in fall-back wrote as plain JPEG2000 carry no stored mask: their RoI is the frame
    plain = [t for t, b in found.items() if b is None and container.coded_plain(t)]
    stored = float(np.mean([container.read_mask(t).mean() for t in frames])) if frames else 0.0
    if not blocks:  # format 1 (PNG masks): the grid is not read here
        size = "stored blocks"
    elif len(blocks) == 1:
        size = f"{blocks[0]}-px blocks"
    else:  # the grid is chosen per frame (the finest that fits the frame's budget)
        size = f"{blocks[0]}–{blocks[-1]}-px blocks"
    name = f"RoI: {size} ≈ {100 * stored:.0f} %, coded RoI {100 * coded:.0f} %"
    text = (
        f"The RoI as stored: {size} around the RoI that was coded, covering "
        f"{100 * stored:.0f} % of the frame where the coded RoI covered {100 * coded:.0f} % "
        "on average."
    )
    if plain and len(plain) == len(frames):
        name = "RoI: none, frames coded as plain JPEG2000"
        text = (
            f"All {len(frames)} frames looked at were written as plain JPEG2000 by the fall-back "
            "(RoI priority would not have paid there): the layer shows the whole frame."
        )
    elif plain:
        name += f", {len(plain)} of {len(frames)} frames plain"
        text += (
            f" {len(plain)} of the {len(frames)} frames looked at were written as plain JPEG2000 "
            "by the fall-back (RoI priority would not have paid): there the whole frame shows."
        )
    return {
        "name": name,
        "text": text
        + " For the exact masks use the widget's Compress tab, 'Export RoI masks…', or "
        "`flowroi roi` with the same settings.",
        "coded": coded,
        "blocks": blocks,
        "stored": stored,
    }


#: A stored RoI whose blocks cover at least this share of the frame is added hidden: at high
#: rates the few hundred bytes the mask may take force blocks so coarse (128 px on a 512-px frame
#: at 40:1) that they tint the whole frame and say nothing about where the cells were; its name
#: still gives the coded share, and a tick shows it.
HIDDEN_ABOVE = 0.9


def read_container(path) -> list[tuple]:
    """Layer data: the decoded movie (image) and the RoI masks (labels), both lazy dask arrays."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    container = open_container(path)
    name = Path(path).name
    totals = container.manifest.get("totals", {})
    metadata = {
        "flowroi_container": str(path),
        "flowroi_settings": container.manifest["settings"],
        "flowroi_totals": totals,
    }
    # the input's scale; the original layer's name goes to metadata (the layer keeps its folder's
    # name so it is not mistaken for the original: docs/decisions.md)
    calibrated = layer_kwargs(container.manifest)
    metadata["flowroi_layer_name"] = calibrated.pop("name", None)
    layers = [
        (
            container.frames(),
            {
                "name": name,
                "contrast_limits": contrast_limits(container),
                "metadata": metadata,
                **calibrated,
            },
            "image",
        )
    ]
    if container.has_masks:
        # The container stores the RoI as a coarse grid of blocks (codec/_mask_box.py: a few
        # hundred bytes a frame at most), not the mask that was coded: the layer's name says the
        # block size, the share the blocks cover and the coded RoI's share (issue 22, item 5;
        # the exact masks: Compress tab, "Export RoI masks…", docs/decisions.md).
        note = stored_roi_note(container)
        layers.append(
            (
                container.masks().astype(np.uint8),
                {
                    "name": f"{name} {note['name']}",
                    "opacity": 0.35,
                    "visible": note["stored"] < HIDDEN_ABOVE,
                    "metadata": {
                        **metadata,
                        "flowroi_mask_note": note["text"],
                        "flowroi_coded_roi_fraction": note["coded"],
                        "flowroi_mask_blocks": note["blocks"],
                        "flowroi_stored_roi_fraction": note["stored"],
                    },
                    # the widget's RoI colour (cyan), apart from the orange missed-cell rings
                    "colormap": {None: "transparent", 0: "transparent", 1: "#00e5ff"},
                    **calibrated,
                },
                "labels",
            )
        )
    return layers


def read_container_set(path) -> list[tuple]:
    """Every container of an output folder (channels, positions, wells), named after its folder."""
    if isinstance(path, (list, tuple)):
        path = path[0]
    return [layer for member in container_set(path) for layer in read_container(member)]
