import dataclasses
import json

import pytest

from napari_flowroi.errors import SettingsError
from napari_flowroi.settings import FlowRoISettings


def test_defaults_are_valid_and_documented():
    settings = FlowRoISettings()
    for f in FlowRoISettings.fields():
        assert f.metadata["help"], f"{f.name} has no help text"
    assert 0 < settings.roi_threshold < 1
    assert not settings.plain


@pytest.mark.parametrize(
    "name, value, words",
    [
        ("roi_threshold", 0.0, "above 0"),
        ("roi_threshold", 1.0, "below 1"),
        ("adjacent_factor", -1, "at least 0"),
        ("adjacent_factor", 1.5, "whole number"),
        ("scaling_factor", 0.5, "at least 1"),
        ("scaling_factor", 11, "at most 10"),
        ("compression_rate", 1.0, "above 1"),
        ("compression_rate", float("nan"), "finite"),
        ("denoise", "yes", "true or false"),
        ("flow_method", "lucas", "farneback, dis"),
        ("roi_threshold", "0.2", "a number"),
    ],
)
def test_out_of_range_settings_are_refused_with_a_readable_message(name, value, words):
    with pytest.raises(SettingsError, match=words):
        FlowRoISettings(**{name: value})


def test_settings_round_trip_through_json(tmp_path):
    settings = FlowRoISettings(roi_threshold=0.35, adjacent_factor=2, flow_method="dis")
    path = tmp_path / "preset.json"
    settings.to_json(path)
    assert FlowRoISettings.from_json(path) == settings
    assert json.loads(path.read_text())["adjacent_factor"] == 2


def test_unknown_setting_in_a_preset_is_named(tmp_path):
    path = tmp_path / "preset.json"
    path.write_text(json.dumps({"roi_treshold": 0.3}))
    with pytest.raises(SettingsError, match="roi_treshold"):
        FlowRoISettings.from_json(path)


def test_settings_are_frozen_and_replace_validates():
    settings = FlowRoISettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.roi_threshold = 0.5
    with pytest.raises(SettingsError):
        settings.replace(scaling_factor=20)
