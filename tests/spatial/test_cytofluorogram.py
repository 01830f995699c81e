"""The cytofluorogram against numpy.histogram2d and the pixel functions."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import streamcoloc
from streamcoloc.spatial import cytofluorogram
from streamcoloc.spatial.bins import intensity_edges


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 300, (6, 20, 22)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 200, a.shape)).astype(np.uint16)
    mask = rng.random(a.shape) > 0.25
    return a, b, mask


@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("chunks", [(6, 20, 22), (2, 7, 5)])
def test_counts_line_and_costes_thresholds(images, masked, chunks):
    a, b, mask = images
    mask = mask if masked else None
    inside = np.ones(a.shape, bool) if mask is None else mask
    result = cytofluorogram(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                            mask=mask, bins=64)
    expected, _, _ = np.histogram2d(a[inside], b[inside], bins=[result.edges_a, result.edges_b])
    np.testing.assert_array_equal(result.counts, expected)
    assert result.counts.sum() == result.n == inside.sum()
    assert (result.edges_a[0], result.edges_b[0]) == (a[inside].min(), b[inside].min())
    assert result.edges_a[-1] > a[inside].max() and result.edges_b[-1] > b[inside].max()
    slope, intercept = streamcoloc.costes_regression(a, b, mask=mask)
    assert (result.slope, result.intercept) == pytest.approx((slope, intercept), rel=1e-12)
    assert result.pearson == pytest.approx(streamcoloc.pearson(a, b, mask=mask)[0], rel=1e-12)
    costes = streamcoloc.costes_threshold(a, b, mask=mask)
    assert (result.threshold_a, result.threshold_b) == (costes.threshold_a, costes.threshold_b)
    assert result.costes.method == "coloc2"


def test_integer_bins_hold_whole_values():
    """Values 0..255 in 256 bins: one bin per value; 12-bit data: every bin
    holds the same number of integer values, none split."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 256, (40, 40)).astype(np.uint16)
    a[0, :2] = (0, 255)
    result = cytofluorogram(a, a[::-1], bins=256, threshold=None)
    np.testing.assert_array_equal(result.edges_a, np.arange(257))
    np.testing.assert_array_equal(result.counts.sum(axis=1), np.bincount(a.ravel(), minlength=256))
    edges = intensity_edges(100.0, 4195.0, 256, integer=True)
    assert np.all(np.diff(edges) == 16) and edges.size - 1 == 256
    edges = intensity_edges(0.0, 999.0, 256, integer=True)
    assert np.all(np.diff(edges) == 4) and edges[-1] >= 1000 and edges.size - 1 <= 256


def test_float_data_manual_thresholds_and_nan():
    rng = np.random.default_rng(4)
    a = rng.normal(10, 2, (30, 30))
    b = a * 0.5 + rng.normal(0, 1, a.shape)
    b[3, 4] = np.nan
    a[5, 5] = -np.inf
    result = cytofluorogram(da.from_array(a, chunks=(7, 30)), da.from_array(b, chunks=(7, 30)),
                            bins=40, threshold=(9.5, 4.25))
    finite = np.isfinite(a) & np.isfinite(b)
    expected, ex, ey = np.histogram2d(a[finite], b[finite], bins=40)
    np.testing.assert_allclose(result.edges_a, ex, rtol=1e-15)
    np.testing.assert_array_equal(result.counts, expected)
    assert (result.threshold_a, result.threshold_b) == (9.5, 4.25) and result.costes is None


def test_bad_requests_are_named(images):
    a, b, _ = images
    with pytest.raises(ValueError, match="bins"):
        cytofluorogram(a, b, bins=0)
    with pytest.raises(ValueError, match="threshold"):
        cytofluorogram(a, b, threshold="otsu")
    with pytest.raises(ValueError, match="no voxel"):
        cytofluorogram(a, b, mask=np.zeros(a.shape, bool))
