"""A napari Labels or Shapes layer as an extra RoI source: masks of the movie's frame size.

Labels: every non-zero label is protected; a 2-D labels layer applies to every frame; in a layer
of more dimensions (time first, e.g. (T, C, Y, X) drawn over a movie with channels) a label in any
plane of a frame protects that frame. Shapes: a shape drawn on a 2-D layer applies to every frame,
one drawn in a plane of a layer of more dimensions to that frame (its first coordinate). Coordinates
are taken as the movie layer's data coordinates (same scale and translation).
"""

from __future__ import annotations

import numpy as np

from ..readers.movie import array_frame


class LayerRoi:
    """Read like a (T, Y, X) mask stack: `roi[t]` is frame t's mask, computed when asked."""

    def __init__(self, layer, shape: tuple[int, int, int]):
        from napari.layers import Labels, Shapes

        self.shape = tuple(shape)
        self.name = layer.name
        self.problem = None  # why the layer protects nothing, in words (None: it is usable)
        if isinstance(layer, Labels):
            size = tuple(layer.data.shape[-2:])
            if size != self.shape[1:]:
                self.problem = (
                    f"Extra RoI layer '{layer.name}' is {size[0]} × {size[1]} px and the movie "
                    f"{self.shape[1]} × {self.shape[2]}: it protects nothing. Draw it over the "
                    "movie (the same size), or pick another layer."
                )
            self._frame = self._labels_reader(layer)
        elif isinstance(layer, Shapes):
            self._frame = self._shapes_reader(layer)
        else:
            raise TypeError(f"{layer.name} is neither a Labels nor a Shapes layer")

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, t: int) -> np.ndarray:
        return self._frame(int(t))

    def _labels_reader(self, layer):
        data, frame_shape = layer.data, self.shape[1:]

        def frame(t):
            plane = array_frame(data, t) if data.ndim >= 3 else array_frame(data, ...)
            if plane.ndim > 2 and plane.shape[-2:] == frame_shape:  # channels: any of them
                return (plane != 0).reshape(-1, *frame_shape).any(axis=0)
            if plane.shape != frame_shape:
                return np.zeros(frame_shape, bool)  # the core reports size mismatches; ignore here
            return plane != 0

        return frame

    def _shapes_reader(self, layer):
        from napari.layers import Shapes

        frame_shape = self.shape[1:]
        everywhere = np.zeros(frame_shape, bool)
        per_frame: dict[int, np.ndarray] = {}
        for coords, kind in zip(layer.data, layer.shape_type, strict=True):
            coords = np.asarray(coords, float)
            flat = Shapes([coords[:, -2:]], shape_type=[kind]).to_masks(frame_shape)[0]
            if coords.shape[1] == 2:
                everywhere |= flat
            else:
                t = int(round(coords[0, 0]))
                per_frame[t] = per_frame.get(t, np.zeros(frame_shape, bool)) | flat

        def frame(t):
            return everywhere | per_frame[t] if t in per_frame else everywhere

        return frame
