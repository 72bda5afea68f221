"""Keyword scalars (``rate=``, ``target_psnr=``, ``scaling_factor=`` ...) for the codec's calls.

A caller that has one number to pass (the ladders' rates, the preview's plain coding) passes it
as a keyword instead of building a whole `FlowRoISettings`. The numbers still go through the
settings object, so each keeps its one name, default and validation (settings.py).
"""

from __future__ import annotations

from ..settings import FlowRoISettings

#: What a codec call uses for anything neither its settings nor its keywords give.
DEFAULT_SETTINGS = FlowRoISettings()

#: Keyword -> the setting it stands for.
KEYWORD_SETTINGS = {
    "rate": "compression_rate",
    "target_psnr": "target_psnr",
    "scaling_factor": "scaling_factor",
    "background_sigma": "background_sigma",
    "feather": "feather",
}


def coding_settings(settings: FlowRoISettings | None = None, **scalars) -> FlowRoISettings:
    """`settings` (the defaults when None) with the keyword scalars that are not None applied.

    Parameters
    ----------
    settings : FlowRoISettings, optional
        The base settings.
    **scalars
        Any of KEYWORD_SETTINGS' keys; None leaves the setting as it is.

    Returns
    -------
    FlowRoISettings
        Validated like any settings object (a bad value raises SettingsError).
    """
    base = DEFAULT_SETTINGS if settings is None else settings
    changes = {KEYWORD_SETTINGS[k]: v for k, v in scalars.items() if v is not None}
    if "compression_rate" in changes and "target_psnr" not in changes:
        # a rate asked for by keyword is a rate target, whatever the base's quality target was
        changes["target_psnr"] = 0.0
    return base.replace(**changes) if changes else base
