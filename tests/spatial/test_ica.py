"""Li's ICA histograms against numpy.histogram2d, and the ICQ against li_icq."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

import streamcoloc
from streamcoloc.spatial import li_ica


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 300, (6, 20, 22)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 200, a.shape)).astype(np.uint16)
    mask = rng.random(a.shape) > 0.25
    return a, b, mask


def expected_histograms(a, b, result):
    """numpy.histogram2d of the plotted values, computed from the data with
    the result's means (checked separately) and edges."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    product = (x - result.mean_a) * (y - result.mean_b)
    if result.normalize == "jacop":
        product = product / (x.max() * y.max())
        x, y = (x - x.min()) / x.max(), (y - y.min()) / y.max()
    ha, _, _ = np.histogram2d(x, product, bins=[result.edges_a, result.edges_product])
    hb, _, _ = np.histogram2d(y, product, bins=[result.edges_b, result.edges_product])
    return ha, hb


@pytest.mark.parametrize("normalize", ["jacop", None])
@pytest.mark.parametrize("masked", [False, True])
def test_histograms_and_icq(images, normalize, masked):
    a, b, mask = images
    mask = mask if masked else None
    inside = np.ones(a.shape, bool) if mask is None else mask
    icq = {c: streamcoloc.li_icq(a, b, mask=mask, convention=c)
           for c in ("coloc2", "jacop", "napari")}
    for chunks in [(6, 20, 22), (2, 7, 5)]:
        conventions = ("coloc2", "jacop", "napari") if chunks == (6, 20, 22) else ("coloc2",)
        for convention in conventions:
            result = li_ica(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                            mask=mask, bins=50, normalize=normalize, icq_convention=convention)
            assert result.icq == pytest.approx(icq[convention], abs=1e-12)
        assert result.mean_a == pytest.approx(a[inside].mean(), rel=1e-14)
        assert result.mean_b == pytest.approx(b[inside].mean(), rel=1e-14)
        ha, hb = expected_histograms(a[inside], b[inside], result)
        np.testing.assert_array_equal(result.counts_a, ha)
        np.testing.assert_array_equal(result.counts_b, hb)
        assert result.counts_a.sum() == result.n == inside.sum()
        assert result.edges_product[0] == -result.edges_product[-1]


def test_positive_and_zero_products_are_counted():
    a = np.array([[1, 2, 3, 2]], np.uint16)  # mean 2: two products are exactly 0
    b = np.array([[1, 5, 3, 3]], np.uint16)  # mean 3
    result = li_ica(a, b, bins=4)
    assert (result.n, result.n_positive, result.n_zero) == (4, 1, 3)
    assert result.icq == pytest.approx(0.5)  # coloc2: zeros count as positive
    assert li_ica(a, b, bins=4, icq_convention="jacop").icq == pytest.approx(-0.25)


def test_float_data_with_nan(images):
    a, b, _ = images
    af, bf = a.astype(np.float32) / 7, b.astype(np.float64)
    af[0, 0, :3] = np.nan
    result = li_ica(af, bf, bins=30, normalize=None)
    finite = np.isfinite(af)
    ha, hb = expected_histograms(af[finite], bf[finite], result)
    np.testing.assert_array_equal(result.counts_a, ha)
    np.testing.assert_array_equal(result.counts_b, hb)


def test_bad_requests_are_named(images):
    a, b, _ = images
    with pytest.raises(ValueError, match="normalize"):
        li_ica(a, b, normalize="minmax")
    with pytest.raises(ValueError, match="icq_convention"):
        li_ica(a, b, icq_convention="li")
    with pytest.raises(ValueError, match="maximum"):
        li_ica(-1.0 - a, b)
