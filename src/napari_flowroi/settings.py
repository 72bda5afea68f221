"""The one settings object shared by the library, the command line, the widgets and the manifest.

Each field carries its help text, its range and whether it is an expert setting in its metadata,
so the command line and the widgets build their controls from here and every setting has one name,
one default and one validation.
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import SettingsError

FLOW_METHODS = ("farneback", "dis")
ROI_RULES = ("cells", "quantile")

#: What a setting can affect, in the order the work is done: the 8-bit frame motion and cells are
#: measured on, the flow, the appearance cells, the RoI mask (everything above plus the rule's own
#: settings), how the coder shares bytes between RoI and background, how many bytes it spends, and
#: what the readout says. Every cache key and change kind is derived from these (see
#: :func:`settings_affecting`), so a new setting needs only its ``affects=`` here.
AFFECTS = ("prepare", "motion", "cells", "mask", "coding", "rate", "readout")


def _setting(
    default,
    help: str,  # noqa: A002  (argparse's word)
    *,
    low=None,
    high=None,
    low_open=False,
    high_open=False,
    expert=False,
    choices=None,
    log=False,
    affects: str,
):
    if affects not in AFFECTS:  # a typo here would silently leave the setting out of every key
        raise ValueError(f"affects must be one of {', '.join(AFFECTS)}, not {affects!r}")
    return field(
        default=default,
        metadata={
            "help": help,
            "low": low,
            "high": high,
            "low_open": low_open,
            "high_open": high_open,
            "expert": expert,
            "choices": choices,
            "log": log,
            "affects": affects,
        },
    )


@dataclass(frozen=True)
class FlowRoISettings:
    """How a movie is compressed (see docs/settings.md)."""

    denoise: bool = _setting(
        True,
        "Smooth camera noise (median + bilateral filter) before looking for motion, so noise "
        "specks are not taken for moving cells.",
        affects="prepare",
    )
    # roi_threshold: in the default rule `cells` a cell-like region is protected when at least
    # 1 - threshold of its pixels move above the movie's motion noise floor (0.8: a fifth of them);
    # in the paper's rule `quantile` it is the share of the frame's most salient motion that is
    # kept (paper 0.2). Either way a higher value keeps more. docs/settings.md gives the
    # measurements behind every default.
    roi_threshold: float = _setting(
        0.8,
        "How readily motion is protected; higher keeps more. Rule 'cells': a cell-like region "
        "is protected when at least 1 - threshold of its pixels move (0.8: a fifth). Rule "
        "'quantile' (the paper's): the most-moving share of the frame kept (paper: 0.2). "
        "Raise it when cells are missed.",
        low=0.0,
        high=1.0,
        low_open=True,
        high_open=True,
        affects="mask",
    )
    adjacent_factor: int = _setting(
        0,
        "Also protect what moved in this many frames before and after (0 = this frame only). "
        "Helps slow cells.",
        low=0,
        high=50,
        affects="mask",
    )
    scaling_factor: float = _setting(
        10.0,
        "How strongly the region of interest is favoured over the background "
        "(1 = plain JPEG2000, 10 = background reduced to its coarse shape).",
        low=1.0,
        high=10.0,
        affects="coding",
    )
    compression_rate: float = _setting(
        40.0,
        "Target compression rate: raw bytes divided by bytes written "
        "(40 = files 40 times smaller than the raw frames).",
        low=1.0,
        high=2000.0,
        low_open=True,
        log=True,
        affects="rate",
    )
    plain: bool = _setting(
        False,
        "Plain JPEG2000 with no region of interest (the baseline to compare with).",
        affects="mask",
    )
    target_psnr: float = _setting(
        0.0,
        "Instead of a compression rate: the quality (PSNR in dB inside the region of "
        "interest) every frame must reach; each frame gets the smallest size that meets it. "
        "0 = off, use the compression rate.",
        low=0.0,
        high=150.0,
        affects="rate",
    )
    motion_roi: bool = _setting(
        True, "Protect what moves (optical flow), the FlowRoI method.", affects="mask"
    )
    appearance_roi: bool = _setting(
        True,
        "Also protect cell-like structure found by local contrast, so cells that do not "
        "move are kept too.",
        affects="mask",
    )
    coverage_target: float = _setting(
        # the RoI's own target is 99 % of the cell pixels and the guard's estimate is good to
        # 2 points (docs/guard.md): below 97 % it has missed cells beyond that error
        0.97,
        "Warn before compressing when the region of interest is estimated to hold less than "
        "this share of the cells (the missed-cell guard: cells seen by their change over time, "
        "independently of how the region of interest is found).",
        low=0.0,
        high=1.0,
        affects="readout",
    )
    # expert settings
    roi_rule: str = _setting(
        "cells",
        "How motion becomes the region of interest: 'cells' protects the cell-like "
        "regions (found by contrast) that move, with their own outlines; 'quantile' keeps "
        "the most-moving share of the frame (the paper's rule).",
        expert=True,
        choices=ROI_RULES,
        affects="motion",
    )
    flow_method: str = _setting(
        "farneback",
        "Optical flow: 'farneback' (as in the paper) or 'dis' (faster; too noisy to select cells).",
        expert=True,
        choices=FLOW_METHODS,
        affects="motion",
    )
    flow_scale: float = _setting(
        0.5,
        "Resolution at which cells and motion are looked for, as a fraction of the frame size "
        "(smaller is faster). A movie whose cells are too small for it (most of its blobs at "
        "the finest scale it resolves: cells under ~10 px across at 0.5) is looked at in full "
        "resolution instead. Below 0.5 the RoI is found on the movie seen at flow_scale / 0.5 "
        "of its pixel size, every size in pixels of the RoI and of the missed-cell check scaled "
        "alike: 0.25 for cells twice as many pixels across as the defaults were chosen on "
        "(docs/magnification.md).",
        low=0.1,
        high=1.0,
        expert=True,
        affects="prepare",
    )
    saliency_weight: float = _setting(
        0.7,
        "Weight of flow magnitude against its spatial gradient in the motion saliency.",
        low=0.0,
        high=1.0,
        expert=True,
        affects="motion",
    )
    min_motion: float = _setting(
        0.5,
        "Pixels moving less than this (pixels per frame, after drift is removed) never count "
        "as motion, so a still or drifting field gives no region of interest. The floor "
        "actually used is higher when the movie's own flow noise is.",
        low=0.0,
        high=100.0,
        expert=True,
        affects="motion",
    )
    opening_size: int = _setting(
        3,
        "Size in pixels of the morphological opening that removes specks (0 = none).",
        low=0,
        high=51,
        expert=True,
        affects="cells",
    )
    closing_size: int = _setting(
        5,
        "Size in pixels of the morphological closing that fills holes in cells (0 = none).",
        low=0,
        high=51,
        expert=True,
        affects="cells",
    )
    min_component_area: int = _setting(
        40,
        "Regions smaller than this many pixels are dropped from the mask.",
        low=0,
        high=100000,
        expert=True,
        affects="cells",
    )
    roi_margin: int = _setting(
        2,
        "Grow the region of interest by this many pixels so cell edges are kept.",
        low=0,
        high=50,
        expert=True,
        affects="mask",
    )
    feather: float = _setting(
        4.0,
        "Width in pixels of the soft edge outside the region of interest: background detail "
        "fades out over it, and within 3 px of the region structure that stands out from "
        "the background (a cell edge the region cut) keeps its detail. 0 = a hard edge.",
        low=0.0,
        high=50.0,
        expert=True,
        affects="coding",
    )
    plain_fallback: bool = _setting(
        False,
        "Code a frame as plain JPEG2000 when favouring the region of interest would not make "
        "it better inside the region than plain JPEG2000 at the same size (its stored mask "
        "and the damping cost more than they free). Checked on every frame by coding it plain "
        "too: about 2-3x the compression time. Off by default: since the stored mask took "
        "the place of OpenJPEG's comment it changed no frame of the benchmark movies (before, "
        "one movie's files by under 0.3 %; docs/decisions.md).",
        expert=True,
        affects="coding",
    )
    background_sigma: float = _setting(
        8.0,
        "Scale in pixels of the coarse background shape that is always kept (larger: "
        "calmer, coarser background, more bytes for the cells).",
        low=0.5,
        high=50.0,
        expert=True,
        affects="coding",
    )
    cell_contrast: float = _setting(
        4.0,
        "How far above the background's own local contrast a pixel must stand out to be "
        "taken for a cell, in robust standard deviations (lower finds fainter cells).",
        low=0.5,
        high=50.0,
        expert=True,
        affects="cells",
    )
    # background_z: chosen by leave-one-movie-out on the benchmark movies (docs/benchmarks.md,
    # "Leave one movie out"; the procedure in benchmarks/generalise.py)
    background_z: float = _setting(
        6.0,
        "Fail-safe: damp a pixel only where it is confidently background, its local contrast "
        "and brightness (at 7 and 13 px) within this many robust standard deviations of the "
        "background's own (half as many on dark-field frames, where each piece ends at its "
        "object's own edge). Pieces touching a cell join it (flat margins, lamellipodia); lone "
        "pieces are kept when they move. Lower keeps more; 0 switches the fail-safe off.",
        low=0.0,
        high=100.0,
        expert=True,
        affects="cells",
    )

    # cell_peak_share: chosen by leave-one-movie-out like background_z (docs/benchmarks-roi.md)
    cell_peak_share: float = _setting(
        0.05,
        "A cell-like region is protected for its appearance alone only when it stands out by at "
        "least this share of the frame's most striking cell; fainter ones (texture of the pad, "
        "debris specks) are kept when they move. 0 = off.",
        low=0.0,
        high=1.0,
        expert=True,
        affects="cells",
    )

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            _validate(f, value)
            if f.type in (float, "float"):  # 10 and 10.0 are one setting, in manifests too
                object.__setattr__(self, f.name, float(value))
            elif f.type in (int, "int"):  # a whole number written as 1.0 (e.g. by a JSON tool)
                object.__setattr__(self, f.name, int(value))

    # --- conversions -----------------------------------------------------------------------------
    def replace(self, **changes) -> FlowRoISettings:
        """A copy with `changes` (setting name = value), validated like a new object."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Every setting by name: what a preset and the manifest's ``settings`` hold."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FlowRoISettings:
        """Settings from a mapping of names to values; missing names take their defaults.

        Raises
        ------
        SettingsError
            An unknown name, or a value outside its allowed range.
        """
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise SettingsError(
                f"Unknown setting(s) {', '.join(unknown)}; known settings are: {', '.join(sorted(names))}."
            )
        return cls(**data)

    def to_json(self, path: str | Path) -> None:
        """Write the settings to `path` as a JSON preset (the widget's *Save preset…*)."""
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | Path) -> FlowRoISettings:
        """Settings from a JSON preset (saved by the widget, ``flowroi tune --save`` or
        ``to_json``); missing names take their defaults.

        Raises
        ------
        SettingsError
            The file cannot be read, is not a JSON object, or holds an unknown or invalid setting.
        """
        try:
            data = json.loads(Path(path).read_bytes().decode("utf-8"))
        except (OSError, ValueError, RecursionError) as exc:  # ValueError: also not UTF-8
            raise SettingsError(
                f"Cannot read settings preset {path}: {exc}. "
                "Save a preset from the widget or write a JSON object of settings."
            ) from exc
        if not isinstance(data, dict):
            raise SettingsError(f"Settings preset {path} must hold a JSON object of settings.")
        return cls.from_dict(data)

    @property
    def uses_roi(self) -> bool:
        """Whether a region of interest is computed and favoured at all."""
        return not self.plain

    @property
    def roi_sources(self) -> tuple[str, ...]:
        """The automatic RoI sources switched on (user masks are added by the caller)."""
        if self.plain:
            return ()
        return tuple(
            name
            for name, on in (("motion", self.motion_roi), ("appearance", self.appearance_roi))
            if on
        )

    @classmethod
    def fields(cls) -> tuple[dataclasses.Field, ...]:
        """The settings' dataclass fields, in order; each one's ``metadata`` holds its help text,
        range, choices, whether it is an expert setting and what it affects."""
        return dataclasses.fields(cls)


def _validate(f: dataclasses.Field, value: Any) -> None:
    meta = f.metadata
    name = f.name.replace("_", " ")
    kind = (
        f.type
        if isinstance(f.type, type)
        else {"bool": bool, "int": int, "float": float, "str": str}[f.type]
    )
    if kind is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{name} must be true or false, not {value!r}.")
        return
    if kind is str:
        if meta["choices"] and value not in meta["choices"]:
            raise SettingsError(
                f"{name} must be one of {', '.join(meta['choices'])}, not {value!r}."
            )
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SettingsError(f"{name} must be a number, not {value!r}.")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an integer of hundreds of digits
        finite = False
    if not finite:
        shown = repr(value) if len(repr(value)) <= 20 else repr(value)[:20] + "..."
        raise SettingsError(f"{name} must be a finite number, not {shown}.")
    if kind is int and value != int(value):
        raise SettingsError(f"{name} must be a whole number, not {value!r}.")
    low, high = meta["low"], meta["high"]
    too_low = low is not None and (value <= low if meta["low_open"] else value < low)
    too_high = high is not None and (value >= high if meta["high_open"] else value > high)
    if too_low or too_high:
        raise SettingsError(f"{name} must be {describe_range(f)}, not {value!r}.")


def describe_range(f: dataclasses.Field) -> str:
    """The allowed range of a numeric setting in words, e.g. 'above 0 and below 1'."""
    meta = f.metadata
    parts = []
    if meta["low"] is not None:
        parts.append(f"above {meta['low']:g}" if meta["low_open"] else f"at least {meta['low']:g}")
    if meta["high"] is not None:
        parts.append(
            f"below {meta['high']:g}" if meta["high_open"] else f"at most {meta['high']:g}"
        )
    return " and ".join(parts)


def settings_affecting(*kinds: str) -> tuple[str, ...]:
    """The names of the settings that declare one of `kinds` in their ``affects`` metadata.

    Parameters
    ----------
    kinds : str
        Any of :data:`AFFECTS`.

    Returns
    -------
    tuple of str
        Setting names in declaration order: a cache keyed by these settings' values is stale
        exactly when one of them changes.
    """
    unknown = set(kinds) - set(AFFECTS)
    if unknown:
        raise ValueError(f"unknown kind(s) {sorted(unknown)}; known: {', '.join(AFFECTS)}")
    return tuple(f.name for f in FlowRoISettings.fields() if f.metadata["affects"] in kinds)


#: Settings the prepared (8-bit, downscaled) frame depends on.
PREPARE_SETTINGS = settings_affecting("prepare")
#: Settings the flow of a frame depends on; extractors that agree on them can share flows.
MOTION_SETTINGS = settings_affecting("prepare", "motion")
#: Settings the appearance cells of a frame depend on (with the frame preparation).
CELL_SETTINGS = settings_affecting("prepare", "cells")
#: Settings that change how a frame is coded but not its RoI mask.
CODEC_SETTINGS = settings_affecting("coding", "rate")
#: Coding settings that say how many bytes, not how they are shared between RoI and background.
RATE_SETTINGS = settings_affecting("rate")
#: Settings that change only what the readout says (the verdict), not any image.
READOUT_SETTINGS = settings_affecting("readout")


def reset(settings: FlowRoISettings, names) -> FlowRoISettings:
    """`settings` with the settings `names` at their defaults (a cache key that ignores them)."""
    defaults = FlowRoISettings()
    return settings.replace(**{name: getattr(defaults, name) for name in names})


def mask_key(settings: FlowRoISettings) -> FlowRoISettings:
    """`settings` with the coding settings at their defaults: equal keys give equal RoI masks."""
    return reset(settings, CODEC_SETTINGS + READOUT_SETTINGS)


def preview_key(settings: FlowRoISettings) -> FlowRoISettings:
    """`settings` with what cannot change the preview at its default: equal keys, equal previews.

    The coverage target only changes the verdict; plain JPEG2000 depends on the compression rate
    (or target PSNR) alone, not on any RoI setting."""
    if not settings.uses_roi:
        keep = {"plain", *RATE_SETTINGS}
        return reset(settings, [f.name for f in FlowRoISettings.fields() if f.name not in keep])
    return reset(settings, READOUT_SETTINGS)


def change_kind(old: FlowRoISettings, new: FlowRoISettings) -> str:
    """What a change of settings costs a preview, from the settings' ``affects`` metadata.

    Returns
    -------
    str
        'none', 'readout' (only the verdict changes), 'coding' (re-code, same mask) or 'roi'.
    """
    if old == new:
        return "none"
    if preview_key(old) == preview_key(new):
        return "readout"
    if not new.uses_roi or mask_key(old) == mask_key(new):
        return "coding"
    return "roi"
