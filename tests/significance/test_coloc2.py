"""method='coloc2' against a literal replay of Coloc 2's loops on the whole image."""

from __future__ import annotations

from itertools import product

import numpy as np
import pytest
from scipy import ndimage

from streamcoloc.significance import coloc2, costes_randomization


def block_origins(start: int, length: int, psf: int) -> list[int]:
    """CostesSignificanceTest.generateBlocksX, literally: full blocks while
    x <= width, then one more block since the loop ends with x > width."""
    origins, x = [], psf
    while x <= length:
        origins.append(start + x - psf)
        x += psf
    origins.append(start + x - psf)
    return origins


def coloc2_reference(a, b, mask, psf: int, n_iter: int, seed: int):
    """Coloc 2's test on the whole image, block by block and voxel by voxel."""
    inside = np.ones(a.shape, bool) if mask is None else mask
    where = np.nonzero(inside)
    box = [(int(w.min()), int(w.max()) + 1) for w in where]
    origins = list(product(*[block_origins(lo, hi - lo, psf) for lo, hi in box]))
    mirrored = np.pad(a, [(0, 3 * psf)] * a.ndim, mode="reflect")  # extendMirrorSingle
    rng = np.random.default_rng(np.random.SeedSequence(seed))
    x_obs = a[inside].astype(float)
    y = b[inside].astype(float)
    null = []
    for _ in range(n_iter):
        order = rng.permutation(len(origins))
        shuffled = np.zeros_like(a)
        for j, target in enumerate(origins):
            source = origins[order[j]]
            for offset in product(range(psf), repeat=a.ndim):
                to = tuple(t + o for t, o in zip(target, offset))
                if all(v < n for v, n in zip(to, a.shape)):  # out of the image: lost
                    shuffled[to] = mirrored[tuple(s + o for s, o in zip(source, offset))]
        smooth = ndimage.gaussian_filter(shuffled.astype(np.float32), psf, mode="mirror",
                                         truncate=3.0, output=np.float32)
        if a.dtype.kind in "iu":
            smooth = np.floor(smooth + np.float32(0.5))  # Util.round, values ≥ 0
        null.append(np.corrcoef(smooth.astype(a.dtype)[inside].astype(float), y)[0, 1])
    return np.corrcoef(x_obs, y)[0, 1], np.array(null)


def _data(shape, rng, dtype=np.uint16):
    a = ndimage.gaussian_filter(rng.random(shape), 1.0) * 4000
    b = 0.6 * a + rng.random(shape) * 1000
    return a.astype(dtype), b.astype(dtype)


@pytest.mark.parametrize("case", ["3d-whole-image", "2d-mask-at-edge", "2d-float"])
def test_matches_a_literal_replay_of_coloc2(case):
    rng = np.random.default_rng(0)
    mask = None
    if case == "3d-whole-image":
        a, b = _data((5, 14, 16), rng)  # 5, 14, 16 not multiples of 3: cut blocks
    else:
        a, b = _data((20, 24), rng, np.float32 if case == "2d-float" else np.uint8)
        mask = np.zeros(a.shape, bool)
        mask[4:13, 15:24] = rng.random((9, 9)) > 0.2  # box 9 x 9 at the right edge
        mask[4, 15] = mask[12, 23] = True
    result = costes_randomization(a, b, mask=mask, n_iter=4, psf=3, seed=8, method="coloc2")
    observed, null = coloc2_reference(a, b, mask, 3, 4, 8)
    assert result.observed == pytest.approx(observed, rel=1e-12)
    np.testing.assert_allclose(result.null, null, rtol=1e-12)
    assert result.sigma == (3.0,) * a.ndim and result.block_size == (3,) * a.ndim


def test_deterministic_with_a_seed_and_sensible():
    rng = np.random.default_rng(1)
    a, b = _data((6, 30, 30), rng)
    first = costes_randomization(a, b, seed=5, method="coloc2")
    assert first.n_iter == 10  # Coloc 2's default
    again = costes_randomization(a, b, seed=5, method="coloc2")
    np.testing.assert_array_equal(first.null, again.null)
    other = costes_randomization(a, b, seed=6, method="coloc2")
    assert not np.array_equal(first.null, other.null)
    # correlated data: the smallest p, and Coloc 2's P-value (a quantile) near 1
    assert first.p_value == 1 / 11 and first.coloc2_p_value > 0.999


def test_mirror_single_is_numpys_reflect():
    for n in (1, 2, 5):
        padded = np.pad(np.arange(n), (0, 3 * n + 4), mode="reflect") if n > 1 else None
        index = coloc2.mirror_single(np.arange(4 * n + 4), n)
        if n == 1:
            assert (index == 0).all()
        else:
            np.testing.assert_array_equal(index, padded)
    np.testing.assert_array_equal(coloc2.mirror_single(np.array([-1, -2]), 5), [1, 2])


def test_refuses_nan_and_regions_too_large(monkeypatch):
    rng = np.random.default_rng(2)
    a, b = _data((4, 12, 12), rng, np.float32)
    a[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        costes_randomization(a, b, method="coloc2")
    monkeypatch.setattr(coloc2, "MAX_VOXELS", 100)
    with pytest.raises(ValueError, match="in memory"):
        costes_randomization(b, b, method="coloc2")
    with pytest.raises(ValueError, match="2-D or 3-D"):
        costes_randomization(b[0, 0], b[0, 0], method="coloc2")
