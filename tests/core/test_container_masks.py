"""The stored RoI masks (container/_masks.py)."""

import numpy as np

from napari_flowroi.container import _masks as masks


def test_mask_is_stored_small_and_covers_every_protected_pixel():
    mask = np.zeros((100, 130), bool)
    mask[17:43, 61:99] = True
    stored = masks.encode_mask(mask)
    restored = masks.decode_mask(stored, mask.shape)
    assert restored.shape == mask.shape
    assert not (mask & ~restored).any()
    assert restored.sum() < 2 * mask.sum() + 4 * masks.MASK_BLOCKS[0] * 100
    assert len(stored) < 200


def test_mask_grid_coarsens_to_fit_its_byte_share():
    rng = np.random.default_rng(0)
    mask = rng.random((512, 640)) < 0.003  # scattered specks cost many bytes on a fine grid
    fine, coarse = masks.encode_mask(mask), masks.encode_mask(mask, max_bytes=100)
    assert len(coarse) < len(fine)
    for stored in (fine, coarse):
        assert not (mask & ~masks.decode_mask(stored, mask.shape)).any()
