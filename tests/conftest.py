import numpy as np
import pytest

from napari_flowroi.synthetic import moving_discs


@pytest.fixture(scope="session")
def discs():
    """Textured discs moving on a still textured background."""
    return moving_discs(n_frames=8, shape=(192, 224))


@pytest.fixture(scope="session")
def drifting_discs():
    """The same discs, the whole field drifting by (1.5, -2) px per frame."""
    return moving_discs(n_frames=8, shape=(192, 224), drift=(1.5, -2.0))


@pytest.fixture(scope="session")
def drift_only():
    """Nothing moves but the stage: discs stand still and the field drifts."""
    return moving_discs(n_frames=8, shape=(192, 224), drift=(1.5, -2.0), static_cells=True)


@pytest.fixture
def small_movie():
    """A small uint8 movie for fast container and CLI tests."""
    return moving_discs(n_frames=5, shape=(96, 112), n_cells=3).frames


def write_tiff(folder, name, data, **kwargs):
    """A grey-level TIFF in `folder` (tifffile would take 3 or 4 planes for RGB otherwise)."""
    import tifffile

    path = folder / name
    tifffile.imwrite(path, data, **{"photometric": "minisblack", **kwargs})
    return path


def far_from(cells: np.ndarray, distance: int) -> np.ndarray:
    import cv2

    size = 2 * distance + 1
    return cv2.dilate(cells.astype(np.uint8), np.ones((size, size), np.uint8)) == 0


def compress_interrupted(source, output, settings=None, *, at=3, **kwargs):
    """Run compress_movie until Ctrl-C (a KeyboardInterrupt) arrives while frame number `at`
    (1-based) is being coded, as a user stopping a run would; batch.encode_frame is restored."""
    import napari_flowroi.batch as batch

    real, calls = batch.encode_frame, []

    def interrupted(*args, **kw):
        calls.append(1)
        if len(calls) == at:
            raise KeyboardInterrupt
        return real(*args, **kw)

    batch.encode_frame = interrupted
    try:
        with pytest.raises(KeyboardInterrupt):
            batch.compress_movie(source, output, settings, **kwargs)
    finally:
        batch.encode_frame = real


@pytest.fixture
def coded_masks(monkeypatch):
    """``record(movie)`` patches the batch's encoder to keep the mask each frame of `movie` (a
    (T, Y, X) array) is coded with, and returns the dict (frame -> mask) it fills."""
    import napari_flowroi.batch as batch

    real_encode = batch.encode_frame

    def record(movie: np.ndarray) -> dict:
        coded = {}

        def recording(frame, mask, *args, **kwargs):
            t = next(i for i, f in enumerate(movie) if np.array_equal(f, frame))
            coded[t] = mask.copy()
            return real_encode(frame, mask, *args, **kwargs)

        monkeypatch.setattr(batch, "encode_frame", recording)
        return coded

    return record
