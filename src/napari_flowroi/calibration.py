"""Keep a movie's calibration from input to output: pixel size, time interval, channel names.

The manifest's ``input.physical`` holds what the input told (docs/container.md). This module turns
a napari layer's scale, units and name into that dict, and turns it back into napari layer
arguments for the reader. The OME-TIFF a container decompresses to is written by the container
(container/_export.py). No Qt here.
"""

from __future__ import annotations

from typing import Any

from .readers import movie_from_array

#: what napari's default scale looks like: no calibration was given
_UNCALIBRATED = 1.0


# --- napari layers ------------------------------------------------------------------------------------


def layer_physical(layer: Any) -> dict:
    """The calibration of a napari image layer (or a writer's layer-state dict), for the manifest.

    Parameters
    ----------
    layer : napari Image layer or dict
        Reads ``scale``, ``units`` and ``name`` (a writer hook receives them in a dict).

    Returns
    -------
    dict
        ``layer_name`` and ``layer_scale`` always (the reader restores both exactly); the
        ``pixel_size_y/x`` and ``space_unit``/``time_interval`` keys of a file's calibration
        when the layer carries a scale other than napari's default 1.
    """
    get = (
        layer.get
        if isinstance(layer, dict)
        else (lambda key, default=None: getattr(layer, key, default))
    )
    scale = [float(s) for s in (get("scale") if get("scale") is not None else ())]
    out: dict[str, Any] = {}
    if get("name"):
        out["layer_name"] = str(get("name"))
    if scale:
        out["layer_scale"] = scale
    units = get("units")
    units = [str(u) for u in units] if units is not None else []
    if len(scale) >= 2 and (scale[-1] != _UNCALIBRATED or scale[-2] != _UNCALIBRATED):
        out["pixel_size_y"], out["pixel_size_x"] = scale[-2], scale[-1]
        if len(units) == len(scale) and units[-1] not in ("pixel", "px", ""):
            out["space_unit"] = _symbol(units[-1])
    if len(scale) == 3 and scale[0] != _UNCALIBRATED:
        out["time_interval"] = scale[0]
        if len(units) == 3 and units[0] not in ("pixel", "px", ""):
            out["time_unit"] = _symbol(units[0])
    return out


def movie_from_layer(layer: Any):
    """A napari image layer (or a writer's ``data`` plus layer-state dict) as a movie that keeps
    the layer's scale, units and name in its calibration.

    Readers give single-channel, single-plane files as (T, 1, Y, X) or (1, T, Y, X): axes of
    length 1 before Y, X are dropped with their scale; a multiscale layer gives its full
    resolution."""
    get = (
        layer.get
        if isinstance(layer, dict)
        else (lambda key, default=None: getattr(layer, key, default))
    )
    data = get("data")
    if get("multiscale", False) or isinstance(data, (list, tuple)):
        data = data[0]
    scale = list(get("scale")) if get("scale") is not None else [1.0] * data.ndim
    units = list(get("units")) if get("units") is not None else None
    while data.ndim > 3 and 1 in tuple(data.shape[:-2]):
        axis = tuple(data.shape[:-2]).index(1)
        data = data[(slice(None),) * axis + (0,)]
        del scale[axis]
        if units is not None and len(units) > axis:
            del units[axis]
    name = get("name") or "image"
    movie = movie_from_array(data, source=f"Layer '{name}'")
    movie.physical = layer_physical({"scale": scale, "units": units, "name": name})
    return movie


def _symbol(unit: str) -> str:
    return {
        "micrometer": "µm",
        "nanometer": "nm",
        "millimeter": "mm",
        "second": "s",
        "millisecond": "ms",
        "minute": "min",
        "hour": "h",
    }.get(unit, unit)


def layer_kwargs(manifest: dict) -> dict:
    """napari layer arguments that restore a compressed movie's scale and name.

    The layer's own scale when it was compressed from napari; else (1, pixel_size_y, pixel_size_x)
    from the input file (time keeps napari's frame steps so the slider counts frames). The name is
    the layer's, or the channel's name when the input was one channel of a file."""
    physical = manifest.get("input", {}).get("physical", {}) or {}
    out: dict[str, Any] = {}
    scale = physical.get("layer_scale")
    if scale and len(scale) == 3:
        out["scale"] = [float(s) for s in scale]
    elif "pixel_size_x" in physical and "pixel_size_y" in physical:
        out["scale"] = [1.0, float(physical["pixel_size_y"]), float(physical["pixel_size_x"])]
    if physical.get("layer_name"):
        out["name"] = str(physical["layer_name"])
    return out
