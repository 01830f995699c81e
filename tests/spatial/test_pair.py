"""The first read: counts, means, ranges and the regression of measured voxels."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import streamcoloc
from streamcoloc.spatial.pair import first_read, pair_of


def test_first_read_over_measured_voxels():
    rng = np.random.default_rng(7)
    a = rng.normal(100, 10, (5, 12, 9))
    b = 0.5 * a + rng.normal(0, 3, a.shape)
    a[0, 0, :4] = np.nan
    b[1, 1, 1] = -np.inf
    mask = rng.random(a.shape) > 0.3
    summary = first_read(pair_of(a, b, mask))
    measured = mask & np.isfinite(a) & np.isfinite(b)
    assert summary.n == measured.sum()
    assert summary.mean_a == pytest.approx(a[measured].mean(), rel=1e-13)
    assert summary.mean_b == pytest.approx(b[measured].mean(), rel=1e-13)
    assert summary.range_a == (a[measured].min(), a[measured].max())
    assert summary.range_b == (b[measured].min(), b[measured].max())
    assert summary.pearson == pytest.approx(np.corrcoef(a[measured], b[measured])[0, 1],
                                            rel=1e-12)
    slope, intercept = streamcoloc.costes_regression(a, b, mask=mask)
    assert (summary.slope, summary.intercept) == pytest.approx((slope, intercept), rel=1e-12)


def test_pair_aligns_named_dims_and_rejects_empty_masks():
    a = xr.DataArray(np.arange(24, dtype=np.uint16).reshape(2, 3, 4), dims=("z", "y", "x"))
    b = a.transpose("z", "x", "y")
    pair = pair_of(a, b)
    assert pair.dims == ("z", "y", "x") and pair.exact and pair.integer
    np.testing.assert_array_equal(pair.b.compute(), a.values)
    with pytest.raises(ValueError, match="no voxel"):
        first_read(pair_of(a, a, mask=np.zeros(a.shape, bool)))
