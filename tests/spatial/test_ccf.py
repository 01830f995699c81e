"""Van Steensel's CCF against brute force on the voxel pairs, on many chunkings."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr

from streamcoloc import ColocWarning
from streamcoloc.spatial import van_steensel_ccf
from streamcoloc.spatial.ccf import FWHM_PER_SIGMA, fit_gaussian, gaussian


def brute_ccf(a, b, max_shift, axis, mask=None):
    """r of the pairs (a[i], b[i + l]) with i + l inside, both voxels in the
    mask and finite; numpy on the selected voxels."""
    a = np.moveaxis(np.asarray(a, dtype=np.float64), axis, -1)
    b = np.moveaxis(np.asarray(b, dtype=np.float64), axis, -1)
    inside = np.ones(a.shape, bool) if mask is None else np.moveaxis(mask, axis, -1)
    ok_a, ok_b = inside & np.isfinite(a), inside & np.isfinite(b)
    n = a.shape[-1]
    out = []
    for shift in range(-max_shift, max_shift + 1):
        first, stop = max(0, -shift), min(n, n - shift)
        keep = ok_a[..., first:stop] & ok_b[..., first + shift:stop + shift]
        x = a[..., first:stop][keep]
        y = b[..., first + shift:stop + shift][keep]
        out.append(np.corrcoef(x, y)[0, 1] if x.size > 1 and np.ptp(x) and np.ptp(y)
                   else np.nan)
    return np.array(out)


def spots_across_boundaries(shape, offset, axis, seed=0):
    """Bright blobs centred on multiples of 4 (the chunk boundaries below) on
    noise, and the same blobs moved by ``offset`` along ``axis`` in b."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 40, shape).astype(np.uint16)
    b = rng.integers(0, 40, shape).astype(np.uint16)
    grid = np.indices(shape)
    for center in rng.integers(0, shape, (8, len(shape))) // 4 * 4:
        dist = sum((g - c) ** 2 for g, c in zip(grid, center))
        a += (900 * np.exp(-dist / 3.0)).astype(np.uint16)
        moved = center.copy()
        moved[axis] += offset
        dist = sum((g - c) ** 2 for g, c in zip(grid, moved))
        b += (700 * np.exp(-dist / 3.0)).astype(np.uint16)
    return a, b


SHAPE = (6, 16, 20)
CHUNKINGS = [SHAPE, (6, 16, 4), (6, 16, 3), (2, 5, 7), (1, 16, 20), (3, 4, 20), (6, 3, 9)]


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_matches_brute_force_on_every_chunking(axis):
    a, b = spots_across_boundaries(SHAPE, 2, axis)
    max_shift = min(5, SHAPE[axis] - 1)
    expected = brute_ccf(a, b, max_shift, axis)
    results = []
    for chunks in CHUNKINGS:
        result = van_steensel_ccf(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                                  max_shift=max_shift, axis=axis)
        np.testing.assert_allclose(result.ccf, expected, rtol=0, atol=1e-12)
        results.append(result.ccf)
    # Integer data are summed exactly: the chunking changes no bit.
    assert all(np.array_equal(r, results[0]) for r in results)
    assert result.peak_shift == 2
    n = SHAPE[axis]
    others = a.size // n
    np.testing.assert_array_equal(result.n_pairs,
                                  [(n - abs(s)) * others for s in result.shifts])


@pytest.mark.parametrize("axis", [1, 2])
def test_mask_keeps_pairs_with_both_voxels_inside(axis):
    a, b = spots_across_boundaries(SHAPE, -3, axis, seed=1)
    mask = np.random.default_rng(2).random(SHAPE) > 0.3
    expected = brute_ccf(a, b, 4, axis, mask)
    for chunks in CHUNKINGS[:4]:
        result = van_steensel_ccf(da.from_array(a, chunks=chunks),
                                  da.from_array(b, chunks=chunks),
                                  mask=da.from_array(mask, chunks=chunks), max_shift=4, axis=axis)
        np.testing.assert_allclose(result.ccf, expected, rtol=0, atol=1e-12)
    assert result.peak_shift == -3


def test_float_data_with_nan_and_mask():
    rng = np.random.default_rng(3)
    a, b = spots_across_boundaries(SHAPE, 1, 2, seed=3)
    a = a.astype(np.float32) + np.float32(1000.5)
    b = b.astype(np.float64) * 1e-3
    a[rng.random(SHAPE) < 0.05] = np.nan
    b[0, 0, 0] = np.inf
    mask = rng.random(SHAPE) > 0.2
    for m in (None, mask):
        expected = brute_ccf(a, b, 6, 2, m)
        for chunks in [SHAPE, (2, 5, 7), (6, 16, 6)]:
            result = van_steensel_ccf(da.from_array(a, chunks=chunks),
                                      da.from_array(b, chunks=chunks), mask=m, max_shift=6)
            np.testing.assert_allclose(result.ccf, expected, rtol=0, atol=1e-11)


def test_bright_low_variance_integers_are_exact():
    """60000 ± 2: float32 sums would lose everything; int64 sums lose nothing.
    The reference is computed in Python integers (one rounding at the end)."""
    rng = np.random.default_rng(4)
    a = (60000 + rng.integers(-2, 3, (4, 9, 31))).astype(np.uint16)
    b = (a.astype(np.int64) + rng.integers(-1, 2, a.shape)).clip(0, 65535).astype(np.uint16)
    chunks = (3, 4, 5)
    result = van_steensel_ccf(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                              max_shift=3)
    for shift, r in zip(result.shifts, result.ccf):
        first, stop = max(0, -shift), min(31, 31 - shift)
        x = [int(v) for v in a[..., first:stop].ravel()]
        y = [int(v) for v in b[..., first + shift:stop + shift].ravel()]
        n, sx, sy = len(x), sum(x), sum(y)
        cov = n * sum(p * q for p, q in zip(x, y)) - sx * sy
        var_x = n * sum(p * p for p in x) - sx * sx
        var_y = n * sum(q * q for q in y) - sy * sy
        assert r == pytest.approx(cov / (var_x * var_y) ** 0.5, rel=1e-13)


def test_napari_convention_is_the_mirror_image():
    napari = pytest.importorskip("napari_colocalization._diagnostics")
    a, b = spots_across_boundaries(SHAPE, 2, 2, seed=5)
    shifts, theirs = napari.van_steensel_ccf(a, b, max_shift=5)
    ours = van_steensel_ccf(da.from_array(a, chunks=(2, 5, 7)), da.from_array(b, chunks=(2, 5, 7)),
                            max_shift=5)
    np.testing.assert_array_equal(shifts, ours.shifts)
    np.testing.assert_allclose(ours.ccf, theirs[::-1], rtol=0, atol=1e-12)


def test_gaussian_fit_recovers_centre_and_fwhm():
    shifts = np.arange(-20, 21)
    curve = gaussian(shifts.astype(float), 0.05, 0.8, 3.4, 2.5)
    fit = fit_gaussian(shifts, curve, 20)
    np.testing.assert_allclose(fit[[0, 1, 2]], [0.05, 0.8, 3.4], atol=1e-8)
    assert FWHM_PER_SIGMA * abs(fit[3]) == pytest.approx(2.5 * 2.3548200450309493, rel=1e-8)
    a, b = spots_across_boundaries((4, 24, 40), 3, 2, seed=6)
    result = van_steensel_ccf(a, b, max_shift=10)
    assert result.centre == pytest.approx(3, abs=0.3)
    assert 1 < result.fwhm < 8
    a_, b_, c_, d_ = result.fit  # the table's fitted column is the written-out Gaussian
    expected = a_ + (b_ - a_) * np.exp(-(result.shifts - c_) ** 2 / (2 * d_ ** 2))
    np.testing.assert_allclose(result.table()["fitted"], expected, rtol=1e-12)


def test_fit_failure_warns_and_gives_nan():
    with pytest.warns(ColocWarning, match="Gaussian fit"):
        fit = fit_gaussian(np.arange(-2, 3), np.zeros(5), 2)
    assert np.isnan(fit).all()


def test_axis_by_dim_name_and_errors():
    a, b = spots_across_boundaries(SHAPE, 2, 1, seed=7)
    da_, db = (xr.DataArray(v, dims=("z", "y", "x")) for v in (a, b))
    by_name = van_steensel_ccf(da_, db, max_shift=3, axis="y")
    np.testing.assert_allclose(by_name.ccf, brute_ccf(a, b, 3, 1), atol=1e-12)
    assert by_name.axis == 1
    with pytest.raises(ValueError, match="max_shift"):
        van_steensel_ccf(a, b, max_shift=20)
    with pytest.raises(ValueError, match="max_shift"):
        van_steensel_ccf(a, b, max_shift=0)
    with pytest.raises(ValueError, match="no voxel pair"):
        van_steensel_ccf(a, b, mask=np.zeros(SHAPE, bool), max_shift=2)
    with pytest.raises(ValueError, match="shape"):
        van_steensel_ccf(a, b[:, :3], max_shift=2)
