"""Manders on a scattergram region, against matplotlib's point-in-polygon."""

import numpy as np
import pytest
from matplotlib.path import Path

import streamcoloc


def test_polygon_and_rectangle_regions():
    rng = np.random.default_rng(0)
    a = rng.uniform(0, 100, (20, 30))
    b = 0.5 * a + rng.normal(0, 10, a.shape)
    b = np.abs(b)
    polygon = [(10, 5), (90, 40), (80, 70), (20, 30)]
    inside = Path(polygon).contains_points(np.column_stack([a.ravel(), b.ravel()]))
    m1, m2 = streamcoloc.manders_roi(a, b, polygon)
    assert m1 == pytest.approx(a.ravel()[inside].sum() / a.sum(), rel=1e-12)
    assert m2 == pytest.approx(b.ravel()[inside].sum() / b.sum(), rel=1e-12)
    ai = np.arange(64, dtype=np.uint8).reshape(8, 8)
    bi = ai[::-1].copy()
    box = (ai >= 10) & (ai <= 40) & (bi >= 20) & (bi <= 63)
    mask = ai % 3 > 0
    m1, m2 = streamcoloc.manders_roi(ai, bi, ((10, 40), (20, 63)), mask=mask)
    fa, fb = ai.astype(float), bi.astype(float)
    assert m1 == pytest.approx(fa[box & mask].sum() / fa[mask].sum())
    assert m2 == pytest.approx(fb[box & mask].sum() / fb[mask].sum())


def test_bad_roi_is_named():
    a = np.ones((4, 4))
    with pytest.raises(ValueError, match="roi"):
        streamcoloc.manders_roi(a, a, [(0, 0), (1, 1), (2, 0), (np.nan, 1)])
    with pytest.raises(ValueError, match="low, high"):
        streamcoloc.manders_roi(a, a, ((5, 1), (0, 1)))
