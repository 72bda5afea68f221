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
        # The container stores the RoI as a coarse grid of blocks (container/_masks.py: a few
        # hundred bytes a frame), not the mask that was coded: the layer says so in its name,
        # and its metadata keep the coded RoI's share for comparison (issue 22, item 5).
        records = container.manifest["frames"]
        coded = sum(r.get("roi_fraction", 0.0) for r in records) / max(len(records), 1)
        layers.append(
            (
                container.masks().astype(np.uint8),
                {
                    "name": f"{name} RoI (stored blocks ≈)",
                    "opacity": 0.35,
                    "metadata": {
                        **metadata,
                        "flowroi_mask_note": (
                            "The RoI as stored: blocks around the RoI that was coded, so it "
                            f"covers more of the frame than the coded RoI ({100 * coded:.0f} % "
                            "of the frame on average)."
                        ),
                        "flowroi_coded_roi_fraction": coded,
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
