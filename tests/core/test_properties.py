"""Property-based tests (hypothesis): generated movies, manifests and presets are either handled
right or refused with a FlowRoIError, never a wrong result and never another exception.

Example counts are kept small so the whole suite stays a few minutes on two cores."""

import contextlib
import json
import math
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from napari_flowroi.batch import compress_movie
from napari_flowroi.codec import FLOAT_CODE_MAX, from_codec_values, to_codec_values
from napari_flowroi.container import open_container, verify_container
from napari_flowroi.errors import FlowRoIError, SettingsError
from napari_flowroi.settings import FlowRoISettings

FAST = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

float_frames = hnp.arrays(
    st.sampled_from([np.float32, np.float64]),
    hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
    elements=st.floats(allow_nan=False, allow_infinity=False, width=32),
)
double_frames = hnp.arrays(
    np.float64,
    hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
    elements=st.floats(allow_nan=False, allow_infinity=False),
)


@settings(max_examples=200, deadline=None)
@given(st.one_of(float_frames, double_frames))
def test_float_values_map_onto_codes_and_back_within_one_code_step(frame):
    codes, value_range = to_codec_values(frame)
    back = from_codec_values(codes, str(frame.dtype), value_range)
    assert back.dtype == frame.dtype and np.isfinite(back).all()
    low, high = value_range
    assert (back >= low).all() and (back <= high).all()
    step = (high / 2 - low / 2) / FLOAT_CODE_MAX  # half a code step, without overflow
    error = np.abs(back.astype(np.float64) / 2 - frame.astype(np.float64) / 2)
    assert (error <= step * 1.01 + 1e-300).all()


movies = st.tuples(
    st.integers(1, 3),
    st.integers(8, 40),
    st.integers(8, 40),
    st.sampled_from(["uint8", "uint16", "float32", "float64"]),
    st.integers(0, 2**32 - 1),
)


def _movie(t, y, x, dtype, seed):
    rng = np.random.default_rng(seed)
    if dtype.startswith("float"):
        scale = float(rng.choice([1e-30, 1.0, 1e30, np.finfo(dtype).max / 2]))
        return (rng.uniform(-1, 1, (t, y, x)) * scale).astype(dtype)
    return rng.integers(0, np.iinfo(dtype).max, (t, y, x), endpoint=True).astype(dtype)


@FAST
@given(movies)
def test_any_supported_movie_round_trips_with_its_shape_dtype_and_range(spec):
    frames = _movie(*spec)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        compress_movie(frames, out, FlowRoISettings(plain=True, compression_rate=2))
        decoded = open_container(out).frames().compute()
        assert verify_container(out) == []
    assert decoded.shape == frames.shape and decoded.dtype == frames.dtype
    if frames.dtype.kind == "f":
        assert np.isfinite(decoded).all()
        for before, after in zip(frames, decoded, strict=True):
            assert before.min() <= after.min() and after.max() <= before.max()


# --- manifests -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_stack(tmp_path_factory):
    out = tmp_path_factory.mktemp("stack") / "stack"
    frames = _movie(3, 24, 32, "float32", 7)
    compress_movie(frames, out, FlowRoISettings(plain=True, compression_rate=3))
    return out


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=6,
)


def _paths(value, prefix=()):
    """Every place in a JSON value (as key paths)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _paths(inner, prefix + (index,))


def _replace(value, path, new):
    if not path:
        return new
    head, rest = path[0], path[1:]
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[head] = _replace(value[head], rest, new)
    return copy


@FAST
@given(data=st.data())
def test_a_manifest_changed_anywhere_is_read_right_or_refused_with_one_error(reference_stack, data):
    manifest = json.loads((reference_stack / "manifest.json").read_text())
    places = list(_paths(manifest))
    place = data.draw(st.sampled_from(places))
    changed = _replace(manifest, place, data.draw(json_values))
    with tempfile.TemporaryDirectory() as tmp:
        stack = Path(tmp) / "stack"
        shutil.copytree(reference_stack, stack)
        (stack / "manifest.json").write_text(json.dumps(changed))
        try:
            container = open_container(stack)
        except FlowRoIError:
            problems = verify_container(stack)
            assert len(problems) == 1 and problems[0].frame is None
            return
        container.summary()
        for t in range(container.shape[0]):
            try:
                frame = container.read_frame(t)
            except FlowRoIError:
                continue
            assert frame.shape == container.shape[1:] and frame.dtype == container.dtype
            assert np.isfinite(frame).all()
        verify_container(stack)


# --- presets ---------------------------------------------------------------------------------------

setting_names = st.sampled_from([f.name for f in FlowRoISettings.fields()] + ["unknown"])


@FAST
@given(st.dictionaries(setting_names, json_values, max_size=4) | json_values)
def test_a_preset_of_any_json_is_taken_or_refused_with_a_settings_error(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preset.json"
        path.write_text(json.dumps(content))
        try:
            loaded = FlowRoISettings.from_json(path)
        except SettingsError:
            return
    for f in FlowRoISettings.fields():  # what is taken is valid and of the field's kind
        value = getattr(loaded, f.name)
        kind = {"bool": bool, "int": int, "float": float, "str": str}.get(f.type, f.type)
        assert isinstance(value, kind) and not (isinstance(value, float) and math.isnan(value))


@FAST
@given(st.binary(max_size=64))
def test_a_preset_of_any_bytes_is_taken_or_refused_with_a_settings_error(content):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "preset.json"
        path.write_bytes(content)
        with contextlib.suppress(SettingsError):
            FlowRoISettings.from_json(path)
