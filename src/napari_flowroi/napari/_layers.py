"""The live preview layers: RoI mask, flow, decoded FlowRoI, decoded plain JPEG2000.

Each layer holds a lazy dask array with the source's shape and one chunk per frame. A chunk reads
the preview of its frame from the previewer's cache and never computes: the widget computes the
visible frame in a worker and then swaps in a fresh dask array (a new name, so no cached chunk of
an older one is reused). Frames not computed yet show as empty until their preview arrives.
"""

from __future__ import annotations

import itertools

import numpy as np

from ..preview import LAYER_VIEWS, FramePreview, Previewer, lazy_stack, view_dtype
from ..settings import FlowRoISettings

ROLE_KEY = "flowroi_role"
#: role -> (what the layer shows, napari layer type); inserted in this order (the mask on top).
#: Layer names start with the role ("FlowRoI · movie"), so a narrow layer list still tells them
#: apart, and FlowRoI comes first (left) in the side-by-side grid.
ROLES = {
    "flowroi": ("FlowRoI", "image"),
    "plain": ("JPEG2000", "image"),
    "flow": ("flow", "image"),
    "mask": ("RoI mask", "labels"),
}
FLOW_VIEWS = {"flow magnitude": "magnitude", "motion saliency": "saliency"}
#: Roles whose data come with the coarse preview (mask and flow), the rest with the coded one.
COARSE_ROLES = ("mask", "flow")
#: The RoI mask in cyan: apart from the orange rings of cells left outside.
MASK_COLOUR = "#00e5ff"
MISSED_COLOUR = "#ff8c3a"
_generation = itertools.count()


def short_name(name: str, limit: int = 18) -> str:
    """A layer name short enough for the layer list: long names are cut in the middle."""
    return name if len(name) <= limit else f"{name[:limit - 7]}…{name[-6:]}"


def is_preview_layer(layer) -> bool:
    return ROLE_KEY in getattr(layer, "metadata", {})


class LiveLayers:
    """Creates the preview layers of one source layer on first use and swaps their data."""

    def __init__(self, viewer, source, previewer: Previewer):
        self.viewer = viewer
        self.source = source
        self.previewer = previewer
        self.layers: dict[str, object] = {}
        self.flow_view = "magnitude"

    def _chunk_reader(self, settings: FlowRoISettings, what: str):
        getter = LAYER_VIEWS[what][1]
        shape = self.previewer.shape[1:]
        dtype = view_dtype(what, self.previewer.dtype)

        find = self.previewer.cached_coarse if what in ("mask", "magnitude", "saliency") \
            else self.previewer.cached

        def read(t: int) -> np.ndarray:
            found = find(settings, t)
            return getter(found) if found is not None else np.zeros(shape, dtype)

        return read

    def stack(self, settings: FlowRoISettings, what: str):
        name = f"flowroi-live-{what}-{next(_generation)}"
        return lazy_stack(self.previewer.shape, view_dtype(what, self.previewer.dtype),
                          self._chunk_reader(settings, what), name)

    def _what(self, role: str) -> str:
        return self.flow_view if role == "flow" else role

    def alive(self) -> bool:
        return all(layer in self.viewer.layers for layer in self.layers.values())

    def show(self, settings: FlowRoISettings, preview: FramePreview | None = None) -> None:
        """Point the layers at `settings` (creating missing layers): only the mask and flow for
        a coarse preview, every layer for a coded one."""
        coarse = preview is not None and preview.coarse
        for role in ROLES:
            layer = self.layers.get(role)
            if coarse and role not in COARSE_ROLES and layer is not None \
                    and layer in self.viewer.layers:
                continue  # the decoded frames keep showing until the coded preview arrives
            data = self.stack(settings, self._what(role))
            layer = self.layers.get(role)
            if layer is None or layer not in self.viewer.layers:
                self.layers[role] = self._add(role, data)
            else:
                layer.data = data
        if preview is not None and self.flow_view == "magnitude" and preview.magnitude is not None:
            high = float(np.percentile(preview.magnitude, 99.5))
            self.layers["flow"].contrast_limits = [0.0, max(high, 0.5)]

    def _add(self, role: str, data):
        suffix, kind = ROLES[role]
        src = self.source
        common = {"name": f"{suffix} · {short_name(src.name, 24)}", "scale": src.scale,
                  "translate": src.translate,
                  "metadata": {ROLE_KEY: role, "flowroi_source": src.name}}
        if kind == "labels":
            from napari.utils.colormaps import DirectLabelColormap

            layer = self.viewer.add_labels(data, opacity=0.4, **common)
            layer.colormap = DirectLabelColormap(
                color_dict={None: [0, 0, 0, 0], 0: [0, 0, 0, 0], 1: MASK_COLOUR})
        elif role == "flow":
            layer = self.viewer.add_image(
                data, colormap="turbo", blending="additive", opacity=0.6, visible=False,
                contrast_limits=[0.0, 1.0] if self.flow_view == "saliency" else [0.0, 3.0],
                **common)
            layer.colorbar.visible = True  # the colour scale, in pixels per frame
        else:
            layer = self.viewer.add_image(
                data, colormap="gray", contrast_limits=list(src.contrast_limits),
                visible=(role == "flowroi"), **common)
        return layer

    def show_missed(self, preview: FramePreview) -> None:
        """Cells the guard found outside the RoI on this frame, as orange rings."""
        missed = np.zeros((0, 2)) if preview.coverage is None else preview.coverage.missed
        points = np.column_stack([np.full(len(missed), preview.t), missed]) if len(missed) \
            else np.zeros((0, 3))
        layer = self.layers.get("missed")
        if layer is None or layer not in self.viewer.layers:
            src = self.source
            self.layers["missed"] = self.viewer.add_points(
                points, ndim=3, name=f"missed cells · {short_name(src.name, 24)}", symbol="ring",
                size=18, face_color=MISSED_COLOUR, border_width=0, scale=src.scale,
                translate=src.translate,
                metadata={ROLE_KEY: "missed", "flowroi_source": src.name})
        else:
            layer.data = points

    def set_flow_view(self, view: str, settings: FlowRoISettings) -> None:
        self.flow_view = view
        layer = self.layers.get("flow")
        if layer is not None and layer in self.viewer.layers:
            layer.data = self.stack(settings, view)
            if view == "saliency":
                layer.contrast_limits = [0.0, 1.0]

    def remove(self) -> None:
        for layer in self.layers.values():
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.layers.clear()
