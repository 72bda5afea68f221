"""The live preview layers: RoI sources, flow, decoded FlowRoI, decoded plain JPEG2000.

Each layer holds a lazy dask array with the source's shape and one chunk per frame. A chunk reads
the preview of its frame from the previewer's cache and never computes: the widget computes the
visible frame in a worker and then swaps in a fresh dask array (a new name, so no cached chunk of
an older one is reused). A decoded frame not computed yet shows the last decoded frame until its
own arrives, so scrubbing never shows a black frame (issue 22, item 6); the RoI layer labels each
pixel with the source that drew it (motion, appearance, your mask).
"""

from __future__ import annotations

import itertools

import numpy as np

from ..preview import LAYER_VIEWS, FramePreview, Previewer, lazy_stack, view_dtype
from ..settings import FlowRoISettings
from ._axes import LayerAxes, full_resolution, layer_axes  # noqa: F401 - re-exported

ROLE_KEY = "flowroi_role"
#: role -> (what the layer shows, napari layer type); inserted in this order (the mask on top).
#: Layer names start with the role ("FlowRoI · movie"), so a narrow layer list still tells them
#: apart, and FlowRoI comes first (left) in the side-by-side grid.
ROLES = {
    "flowroi": ("FlowRoI", "image"),
    "plain": ("JPEG2000", "image"),
    "flow": ("flow", "image"),
    "mask": ("RoI sources", "labels"),
}
FLOW_VIEWS = {"flow magnitude": "magnitude", "motion saliency": "saliency"}
#: Roles whose data come with the coarse preview (mask and flow), the rest with the coded one.
COARSE_ROLES = ("mask", "flow")
#: The RoI mask in cyan: apart from the orange rings of cells left outside.
MASK_COLOUR = "#00e5ff"
#: Label -> colour of the RoI layer: motion cyan, appearance green, your mask magenta, and a
#: mask whose sources are not known yet (the first instant of a new frame) light grey.
SOURCE_COLOURS = {1: MASK_COLOUR, 2: "#7cfc00", 3: "#ff4fd8", 4: "#d0d0d0"}
UNKNOWN_SOURCE = 4
MISSED_COLOUR = "#ff8c3a"
_generation = itertools.count()


def short_name(name: str, limit: int = 18) -> str:
    """A layer name short enough for the layer list: long names are cut in the middle."""
    return name if len(name) <= limit else f"{name[: limit - 7]}…{name[-6:]}"


def is_preview_layer(layer) -> bool:
    return ROLE_KEY in getattr(layer, "metadata", {})


class LiveLayers:
    """Creates the preview layers of one source layer on first use and swaps their data."""

    def __init__(self, viewer, source, model, axes: LayerAxes | None = None):
        self.viewer = viewer
        self.source = source
        self.model = model  # tuning.TuningModel: its previewer and the RoI sources
        self.axes = axes or LayerAxes(3, 0)
        self.layers: dict[str, object] = {}
        self.flow_view = "magnitude"
        self.last_decoded: dict[str, np.ndarray] = {}  # role -> last decoded frame shown
        self._naming = False  # follow_name under way

    @property
    def previewer(self) -> Previewer:
        return self.model.previewer

    def _chunk_reader(self, settings: FlowRoISettings, what: str):
        getter = LAYER_VIEWS[what][1]
        previewer = self.previewer
        shape = previewer.shape[1:]
        dtype = view_dtype(what, previewer.dtype)

        if what == "mask":

            def read_sources(t: int) -> np.ndarray:
                known = self.model.assessment(settings, t)
                if known is not None:
                    return known.sources
                found = previewer.cached_coarse(settings, t)
                if found is None:
                    return np.zeros(shape, np.uint8)
                return found.mask.astype(np.uint8) * UNKNOWN_SOURCE

            return read_sources
        if what in ("magnitude", "saliency"):

            def read_flow(t: int) -> np.ndarray:
                found = previewer.cached_coarse(settings, t)
                return getter(found) if found is not None else np.zeros(shape, dtype)

            return read_flow

        def read_decoded(t: int) -> np.ndarray:
            found = previewer.cached(settings, t)
            if found is not None:
                frame = getter(found)
                self.last_decoded[what] = frame
                return frame
            last = self.last_decoded.get(what)  # not black while the new frame is coded
            return last if last is not None and last.shape == shape else np.zeros(shape, dtype)

        return read_decoded

    def stack(self, settings: FlowRoISettings, what: str):
        name = f"flowroi-live-{what}-{next(_generation)}"
        return self.axes.embed(
            lazy_stack(
                self.previewer.shape,
                view_dtype(what, self.previewer.dtype),
                self._chunk_reader(settings, what),
                name,
            )
        )

    def _what(self, role: str) -> str:
        return self.flow_view if role == "flow" else role

    def alive(self) -> bool:
        return all(layer in self.viewer.layers for layer in self.layers.values())

    def show(self, settings: FlowRoISettings, preview: FramePreview | None = None) -> None:
        """Point the layers at `settings` (creating missing layers): only the mask and flow for
        a coarse preview, every layer for a coded one."""
        coarse = preview is not None and preview.coarse
        if preview is not None and not coarse:  # shown until the next frame's own arrives
            self.last_decoded.update(flowroi=preview.flowroi, plain=preview.plain)
        for role in ROLES:
            layer = self.layers.get(role)
            if (
                coarse
                and role not in COARSE_ROLES
                and layer is not None
                and layer in self.viewer.layers
            ):
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
        common = {
            "name": f"{suffix} · {short_name(src.name, 24)}",
            "scale": src.scale,
            "translate": self.axes.translate(src),
            "metadata": {ROLE_KEY: role, "flowroi_source": src.name},
        }
        units = getattr(src, "units", None)
        if units is not None:  # the pixel size's unit travels with the scale
            common["units"] = [units[a] for a in range(len(units))]
        if kind == "labels":
            from napari.utils.colormaps import DirectLabelColormap

            layer = self.viewer.add_labels(data, opacity=0.4, **common)
            layer.colormap = DirectLabelColormap(
                color_dict={None: [0, 0, 0, 0], 0: [0, 0, 0, 0], **SOURCE_COLOURS}
            )
        elif role == "flow":
            layer = self.viewer.add_image(
                data,
                colormap="turbo",
                blending="additive",
                opacity=0.6,
                visible=False,
                contrast_limits=[0.0, 1.0] if self.flow_view == "saliency" else [0.0, 3.0],
                **common,
            )
            layer.colorbar.visible = True
            self._colorbar_unit(layer)
        else:
            layer = self.viewer.add_image(
                data,
                colormap="gray",
                contrast_limits=list(src.contrast_limits),
                visible=(role == "flowroi"),
                **common,
            )
        return layer

    def show_missed(self, preview: FramePreview) -> None:
        """Cells the guard found outside the RoI on this frame, as orange rings."""
        missed = np.zeros((0, 2)) if preview.coverage is None else preview.coverage.missed
        points = (
            np.column_stack([np.full(len(missed), preview.t), missed])
            if len(missed)
            else np.zeros((0, 3))
        )
        points = self.axes.points(points)
        layer = self.layers.get("missed")
        if layer is None or layer not in self.viewer.layers:
            src = self.source
            self.layers["missed"] = self.viewer.add_points(
                points,
                ndim=max(self.axes.ndim, 3),
                name=f"missed cells · {short_name(src.name, 24)}",
                symbol="ring",
                size=18,
                face_color=MISSED_COLOUR,
                border_width=0,
                scale=src.scale,
                translate=src.translate,
                metadata={ROLE_KEY: "missed", "flowroi_source": src.name},
            )
        else:
            layer.data = points

    def refresh_sources(self, settings: FlowRoISettings) -> None:
        """Re-read the RoI layer: each pixel's source is known now."""
        layer = self.layers.get("mask")
        if layer is not None and layer in self.viewer.layers:
            layer.data = self.stack(settings, "mask")

    def _colorbar_unit(self, layer) -> None:
        """The colour bar says what its numbers are: pixels per frame, or a saliency in 0–1."""
        unit = "px/frame" if self.flow_view == "magnitude" else "saliency (0–1)"
        name = f"flow {unit} · {short_name(self.source.name, 18)}"
        if layer.name != name:  # no 'renamed' event for nothing (see follow_name)
            layer.name = name

    def set_flow_view(self, view: str, settings: FlowRoISettings) -> None:
        self.flow_view = view
        layer = self.layers.get("flow")
        if layer is not None and layer in self.viewer.layers:
            layer.data = self.stack(settings, view)
            if view == "saliency":
                layer.contrast_limits = [0.0, 1.0]
            self._colorbar_unit(layer)

    def retarget(self, source, axes: LayerAxes) -> bool:
        """Point the existing preview layers at another movie layer instead of removing and
        adding them: removing the preview layers and adding new ones of another size crashed
        napari's OpenGL draw (issue 22, item 2; a script switching between movies of three lengths
        and sizes in a shown viewer: 3 crashes in 3 runs with them removed, 0 in 3 with them
        kept; docs/decisions.md). False when the
        layers cannot be reused (another number of axes): the caller removes them."""
        if axes.ndim != self.axes.ndim or not self.alive():
            return False
        self.source, self.axes = source, axes
        self.last_decoded.clear()
        settings = self.model.settings
        for role, layer in self.layers.items():
            if role == "missed":
                layer.data = np.zeros((0, max(axes.ndim, 3)))
            else:
                layer.data = self.stack(settings, self._what(role))
            layer.scale = source.scale
            layer.translate = self.axes.translate(source) if role != "missed" else source.translate
            if role in ("flowroi", "plain"):
                layer.contrast_limits = list(source.contrast_limits)
        self.follow_name()
        return True

    def follow_name(self) -> None:
        """Name the preview layers after their source (picked, or renamed since). A rename is
        heard through the layer list's 'renamed' event, which these renames emit too: hence
        names set only when they differ, and no nested call."""
        if self._naming:
            return
        self._naming = True
        try:
            for role, layer in list(self.layers.items()):  # a rename's handlers may remove
                layer.metadata = {**layer.metadata, "flowroi_source": self.source.name}
                if role == "flow":  # named with its unit below (a name of its own)
                    continue
                suffix = ROLES[role][0] if role in ROLES else "missed cells"
                name = f"{suffix} · {short_name(self.source.name, 24)}"
                if layer.name != name:
                    layer.name = name
            if "flow" in self.layers:
                self._colorbar_unit(self.layers["flow"])
        finally:
            self._naming = False

    def remove(self) -> None:
        for layer in self.layers.values():
            if layer in self.viewer.layers:
                self.viewer.layers.remove(layer)
        self.layers.clear()
