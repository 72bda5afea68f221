"""Every setting declares what it affects, and every cache key and change kind follows from it.

A stale cache is the silent failure here: a setting that changes the flow but is not part of the
flow's key would reuse the old flow. So the declarations are checked against what the code
computes (a setting declared not to affect a step leaves that step's result unchanged), and every
declared kind must be covered by a key that changes with it.
"""

import dataclasses

import numpy as np
import pytest

from napari_flowroi import settings as settings_module
from napari_flowroi.preprocess import prepare_frames
from napari_flowroi.roi import RoiExtractor
from napari_flowroi.settings import (
    AFFECTS,
    CELL_SETTINGS,
    CODEC_SETTINGS,
    MOTION_SETTINGS,
    PREPARE_SETTINGS,
    RATE_SETTINGS,
    READOUT_SETTINGS,
    FlowRoISettings,
    change_kind,
    mask_key,
    preview_key,
    settings_affecting,
)
from napari_flowroi.synthetic import moving_discs

FIELDS = FlowRoISettings.fields()


def _other_value(f: dataclasses.Field):
    """A valid value of setting `f` other than its default."""
    meta, default = f.metadata, f.default
    if isinstance(default, bool):
        return not default
    if meta["choices"]:
        return next(c for c in meta["choices"] if c != default)
    low = meta["low"] if meta["low"] is not None else 0.0
    high = meta["high"] if meta["high"] is not None else low + 100.0
    value = low + 0.37 * (high - low)
    value = int(round(value)) if isinstance(default, int) else value
    return value if value != default else value + 1


def _changed(base: FlowRoISettings, f: dataclasses.Field) -> FlowRoISettings:
    return base.replace(**{f.name: _other_value(f)})


def test_every_setting_declares_one_known_kind():
    for f in FIELDS:
        assert f.metadata.get("affects") in AFFECTS, f"{f.name} declares no known 'affects'"


def test_a_setting_without_a_known_kind_is_refused_where_it_is_declared():
    with pytest.raises(TypeError):
        settings_module._setting(1.0, "help")  # noqa: SLF001  (the declaration helper itself)
    with pytest.raises(ValueError, match="affects must be one of"):
        settings_module._setting(1.0, "help", affects="flow")  # noqa: SLF001


def test_the_key_tuples_are_derived_from_the_declarations():
    def declared(*kinds):
        return {f.name for f in FIELDS if f.metadata["affects"] in kinds}

    assert set(PREPARE_SETTINGS) == declared("prepare")
    assert set(MOTION_SETTINGS) == declared("prepare", "motion")
    assert set(CELL_SETTINGS) == declared("prepare", "cells")
    assert set(CODEC_SETTINGS) == declared("coding", "rate")
    assert set(RATE_SETTINGS) == declared("rate")
    assert set(READOUT_SETTINGS) == declared("readout")
    with pytest.raises(ValueError):
        settings_affecting("flow")


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_every_kind_a_setting_declares_is_covered_by_a_key_that_changes(f):
    base = FlowRoISettings()
    new = _changed(base, f)
    kind = f.metadata["affects"]

    def key(names, s):
        return tuple(getattr(s, n) for n in names)

    changed = {
        "prepare": key(PREPARE_SETTINGS, base) != key(PREPARE_SETTINGS, new),
        "motion": key(MOTION_SETTINGS, base) != key(MOTION_SETTINGS, new),
        "cells": key(CELL_SETTINGS, base) != key(CELL_SETTINGS, new),
        "mask": mask_key(base) != mask_key(new),
        "preview": preview_key(base) != preview_key(new),
    }
    # what each kind must invalidate (the later steps are built on the earlier ones)
    must = {
        "prepare": {"prepare", "motion", "cells", "mask", "preview"},
        "motion": {"motion", "mask", "preview"},
        "cells": {"cells", "mask", "preview"},
        "mask": {"mask", "preview"},
        "coding": {"preview"},
        "rate": {"preview"},
        "readout": set(),
    }[kind]
    assert {name for name, yes in changed.items() if yes} == must
    expected = {"coding": "coding", "rate": "coding", "readout": "readout"}.get(
        kind, "roi" if new.uses_roi else "coding"
    )
    assert change_kind(base, new) == expected


@pytest.fixture(scope="module")
def movie():
    return moving_discs(n_frames=4, shape=(96, 128), seed=5).frames


@pytest.mark.parametrize("rule", ["cells", "quantile"])
@pytest.mark.parametrize(
    "f", [f for f in FIELDS if f.name != "roi_rule"], ids=lambda f: f.name
)  # the rule itself is the other parameter: both values are run
def test_a_setting_leaves_what_it_does_not_declare_unchanged(f, rule, movie):
    # the other direction: the keys do not leave out a setting that changes the step they cache
    base = FlowRoISettings(roi_rule=rule)
    new = _changed(base, f)
    t = 2
    if f.name not in PREPARE_SETTINGS:
        for a, b in zip(prepare_frames(movie[t], base), prepare_frames(movie[t], new), strict=True):
            np.testing.assert_array_equal(a, b)
    one, two = RoiExtractor(movie, base), RoiExtractor(movie, new)
    if f.name not in MOTION_SETTINGS:
        np.testing.assert_array_equal(one.motion(t).flow, two.motion(t).flow)
    if f.name not in CELL_SETTINGS:
        np.testing.assert_array_equal(one.regions(t).mask(), two.regions(t).mask())
    if f.name in CODEC_SETTINGS + READOUT_SETTINGS:
        np.testing.assert_array_equal(one.mask(t), two.mask(t))
