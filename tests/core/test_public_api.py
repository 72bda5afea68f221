"""The package's face: every public name resolves, and importing it stays light."""

import subprocess
import sys

import numpy as np

import napari_flowroi


def test_every_public_name_resolves_to_a_documented_callable():
    for name in napari_flowroi.__all__:
        value = getattr(napari_flowroi, name)
        if name != "__version__":
            assert callable(value), name
            assert value.__doc__, f"{name} has no docstring"


def test_an_unknown_name_is_an_attribute_error():
    try:
        napari_flowroi.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("an unknown attribute resolved")


def test_importing_the_package_does_not_import_opencv_dask_or_qt():
    code = (
        "import sys, napari_flowroi; "
        "print(sorted(m for m in ('cv2', 'dask', 'glymur', 'qtpy', 'napari') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_readme_round_trip_works_through_the_public_api(tmp_path):
    from napari_flowroi import FlowRoISettings, compress_movie, open_container, verify_container
    from napari_flowroi.synthetic import moving_discs

    movie = moving_discs(n_frames=3, shape=(64, 80)).frames
    summary = compress_movie(movie, tmp_path / "m.flowroi", FlowRoISettings(compression_rate=8))
    assert summary.frames == 3
    decoded = open_container(tmp_path / "m.flowroi").frames().compute()
    assert decoded.shape == movie.shape and decoded.dtype == movie.dtype
    assert np.abs(decoded.astype(int) - movie.astype(int)).mean() < 20
    assert verify_container(tmp_path / "m.flowroi") == []
