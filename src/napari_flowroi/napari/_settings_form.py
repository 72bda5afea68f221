"""magicgui controls built from the metadata of FlowRoISettings (one control per setting).

Name, default, range and help text come from the settings dataclass only, so the widget, the
command line and the manifest agree; validation is the dataclass's own (SettingsError).
"""

from __future__ import annotations

import dataclasses
import math

from magicgui.widgets import (
    CheckBox,
    ComboBox,
    Container,
    FloatSlider,
    FloatSpinBox,
    PushButton,
    SpinBox,
    Widget,
)

from ..settings import FlowRoISettings, describe_range

_WORDS = {"roi": "RoI", "dis": "DIS", "psnr": "PSNR"}


def label_for(name: str) -> str:
    words = [_WORDS.get(w, w) for w in name.split("_")]
    return " ".join([words[0][:1].upper() + words[0][1:]] + words[1:])


def _kind(f: dataclasses.Field) -> type:
    if isinstance(f.type, type):
        return f.type
    return {"bool": bool, "int": int, "float": float, "str": str}[f.type]


def _inside(meta, span: float) -> tuple[float, float]:
    """Widget limits: the setting's range, nudged inside open bounds."""
    low, high = meta["low"], meta["high"]
    nudge = span / 100 if span else 0.01
    if meta["low_open"]:
        low = low * 1.5 if meta["log"] else low + nudge
    if meta["high_open"]:
        high = high - nudge
    return low, high


def tooltip_for(f: dataclasses.Field) -> str:
    text = f.metadata["help"]
    if f.metadata["low"] is not None or f.metadata["high"] is not None:
        text += f"\nAllowed: {describe_range(f)}."
    if f.metadata["choices"]:
        text += f"\nChoices: {', '.join(f.metadata['choices'])}."
    return f"{text}\nDefault: {f.default}."


#: The widget's target-PSNR range: below 20 dB cells are unrecognisable, above 70 dB nothing is
#: gained over lossless; one step below the range reads "off" (0: the compression rate decides).
PSNR_RANGE = (20.0, 70.0)
PSNR_OFF = PSNR_RANGE[0] - 0.5


def _target_psnr_control(common: dict) -> Widget:
    value = common.pop("value")
    box = FloatSpinBox(min=PSNR_OFF, max=PSNR_RANGE[1], step=0.5, **common)
    box.native.setSpecialValueText("off")  # the compression rate decides
    box.native.setSuffix(" dB")
    box.value = value if value >= PSNR_RANGE[0] else PSNR_OFF
    return box


def control_for(f: dataclasses.Field) -> Widget:
    """The magicgui control of one setting, with its range and a tooltip in plain words."""
    meta, kind = f.metadata, _kind(f)
    common = {
        "name": f.name,
        "label": label_for(f.name),
        "value": f.default,
        "tooltip": tooltip_for(f),
    }
    if f.name == "target_psnr":
        common["tooltip"] += f"\nIn the widget: {PSNR_RANGE[0]:g}–{PSNR_RANGE[1]:g} dB, or off."
        return _target_psnr_control(common)
    if kind is bool:
        return CheckBox(**common)
    if meta["choices"]:
        return ComboBox(choices=list(meta["choices"]), **common)
    span = (meta["high"] - meta["low"]) if meta["high"] is not None else 0.0
    low, high = _inside(meta, span)
    if kind is int:
        return SpinBox(min=int(math.ceil(low)), max=int(high), **common)
    if meta["log"]:
        # A log scale: each arrow step or wheel turn changes the value by about a tenth of its order
        # of magnitude (40 -> 41, 120 -> 130). magicgui's LogSlider shows its internal position
        # instead of the value, so a spin box with adaptive steps is used.
        box = FloatSpinBox(min=low, max=high, step=1.0, **common)
        from qtpy.QtWidgets import QAbstractSpinBox

        box.native.setStepType(QAbstractSpinBox.StepType.AdaptiveDecimalStepType)
        box.native.setDecimals(1)
        if f.name == "compression_rate":
            box.native.setSuffix(" : 1")  # a rate, raw ÷ compressed
        return box
    step = 0.01 if span <= 1 else 0.1
    if not meta["expert"]:
        return FloatSlider(min=low, max=high, step=step, **common)
    return FloatSpinBox(min=low, max=high, step=step, **common)


class SettingsForm(Container):
    """All settings: the main ones, then the expert ones behind a fold-out button."""

    def __init__(self, **kwargs):
        super().__init__(labels=True, **kwargs)
        self.controls: dict[str, Widget] = {}
        main, expert = [], []
        for f in FlowRoISettings.fields():
            control = control_for(f)
            self.controls[f.name] = control
            (expert if f.metadata["expert"] else main).append(control)
        self.expert_button = PushButton(text="▸ Expert settings", name="expert_toggle")
        self.expert_button.tooltip = "Show or hide the settings most users never need to change."
        self.expert = Container(widgets=expert, labels=True, name="expert_settings", label="")
        self.expert.visible = False
        self.expert_open = False
        self.expert_button.changed.connect(self.toggle_expert)
        self.extend(main + [self.expert_button, self.expert])

    def toggle_expert(self, *_):
        self.expert_open = not self.expert_open
        self.expert.visible = self.expert_open
        self.expert_button.text = "▾ Expert settings" if self.expert_open else "▸ Expert settings"

    def values(self) -> dict:
        return {name: control.value for name, control in self.controls.items()}

    def settings(self) -> FlowRoISettings:
        """The settings shown; raises SettingsError (a user message) when a value is invalid."""
        values = self.values()
        for f in FlowRoISettings.fields():
            kind = _kind(f)
            if kind is float:  # sliders give 0.6000000001 or 40.0123; settings should read 0.6, 40
                digits = 3 if f.metadata["log"] else 6
                values[f.name] = float(f"{float(values[f.name]):.{digits}g}")
            elif kind is int:
                values[f.name] = int(values[f.name])
        if values["target_psnr"] < PSNR_RANGE[0]:  # the "off" step
            values["target_psnr"] = 0.0
        return FlowRoISettings(**values)

    def set_settings(self, settings: FlowRoISettings) -> None:
        for name, value in settings.to_dict().items():
            if name == "target_psnr":  # off, or clamped into the widget's range
                value = PSNR_OFF if value < PSNR_RANGE[0] else min(value, PSNR_RANGE[1])
            self.controls[name].value = value
