"""The plain-JPEG2000 rate ladder every gain is measured against."""

import numpy as np
import pytest

from napari_flowroi import ladders


def test_plain_rate_ladder_meets_its_rates_and_loses_quality_as_the_rate_rises():
    from napari_flowroi.synthetic import moving_discs

    movie = moving_discs(n_frames=1, shape=(192, 224), noise=3.0, seed=2)
    frame = movie.frames[0]
    where = np.zeros(frame.shape, bool)
    where[40:150, 50:180] = True
    requested = ladders.ladder_rates(16)
    assert min(requested) >= 1.05 and 16 in requested
    ladder = ladders.plain_rate_ladder(frame, requested, where)
    assert np.all(np.diff(ladder.rates) > 0)
    assert np.allclose(ladder.rates, ladder.requested, rtol=0.05)
    assert np.all(np.diff(ladder.psnr) < 0)
    # plain JPEG2000 against its own ladder: no gain
    rate = float(ladder.rates[3])
    assert ladder.gain(rate, ladder.quality_at(rate)) == pytest.approx(1.0, rel=1e-6)
    assert ladder.gain(rate, float(ladder.psnr[1])) > 1.0
