"""costes_randomization: the p-values, their calibration, and the options."""

from __future__ import annotations

import dask
import numpy as np
import pytest
from scipy import stats

import streamcoloc
from streamcoloc.analysis import ColocWarning
from streamcoloc.significance import costes_randomization, psf_from_optics
from streamcoloc.significance.randomization import null_statistics


def _pair(rng, shape=(8, 30, 30), shared=0.0):
    a = rng.integers(0, 2000, shape)
    b = rng.integers(0, 2000, shape) + (shared * a).astype(int)
    return a.astype(np.uint16), b.astype(np.uint16)


def test_identical_channels_give_the_smallest_p():
    rng = np.random.default_rng(0)
    a, _ = _pair(rng)
    result = costes_randomization(a, a, n_iter=99, seed=1)
    assert result.observed == 1.0
    assert result.p_value == 1 / 100
    assert (result.null < 1.0).all() and result.coloc2_p_value == 1.0


def test_observed_r_is_pearsons_over_the_mask():
    rng = np.random.default_rng(1)
    a, b = _pair(rng, shared=0.5)
    mask = rng.random(a.shape) > 0.4
    result = costes_randomization(a, b, mask=mask, n_iter=5, seed=0)
    r, _ = streamcoloc.pearson(a, b, mask=mask)
    assert result.observed == pytest.approx(r, rel=1e-13)
    assert result.n_voxels == mask.sum()


def test_correlated_data_are_significant_and_uncorrelated_not():
    rng = np.random.default_rng(2)
    a, b = _pair(rng, shared=0.3)
    result = costes_randomization(a, b, n_iter=199, seed=3)
    assert 0.05 < result.observed < 0.5
    assert result.p_value == 1 / 200 and result.z_score > 5
    a, b = _pair(rng)
    assert costes_randomization(a, b, n_iter=199, seed=3).p_value > 0.01


@pytest.mark.parametrize("masked", [False, True])
def test_p_values_are_calibrated_on_uncorrelated_data(masked):
    """Under independence, P(p ≤ 0.05) = 5/100 exactly with 99 randomizations
    (k ≤ 4 of 99 randomized r at or above the observed one).  Over 200
    independent datasets the count must lie in the central 99.9 % binomial
    interval of Binomial(200, 0.05): [2, 21]."""
    rng = np.random.default_rng(10 + masked)
    p_values = []
    with dask.config.set(scheduler="synchronous"):
        for i in range(200):
            a, b = _pair(rng, shape=(6, 18, 18))
            mask = rng.random(a.shape) > 0.3 if masked else None
            p_values.append(costes_randomization(a, b, mask=mask, n_iter=99, seed=i).p_value)
    low, high = stats.binom.interval(0.999, 200, 0.05)
    hits = int(np.sum(np.array(p_values) <= 0.05))
    assert low <= hits <= high, hits
    # and the p-values spread over (0, 1] as a uniform's would
    assert stats.kstest(p_values, "uniform").pvalue > 1e-3


def test_statistics_follow_their_definitions():
    null = np.array([0.1, -0.2, 0.3, 0.25, np.nan, 0.0])
    out = null_statistics(0.25, null)
    finite = null[np.isfinite(null)]
    assert out["p_value"] == (2 + 1) / (5 + 1)  # 0.3 and 0.25 are >= 0.25
    assert out["null_sd"] == pytest.approx(np.std(finite, ddof=1))
    z = (0.25 - finite.mean()) / np.std(finite, ddof=1)
    assert out["z_score"] == pytest.approx(z)
    assert out["coloc2_p_value"] == pytest.approx(stats.norm.cdf(z))
    assert np.isnan(null_statistics(np.nan, null)["p_value"])


def test_psf_from_optics_gives_jacops_recommended_blocks():
    # JACoP's defaults: 519 nm, NA 1.4, 67 nm pixels, 200 nm steps, widefield:
    # resxy = 0.61·519/1.4 = 226.1 nm -> 3 px; resz = 2·519/1.4² = 529.6 nm -> 2 px.
    psf = psf_from_optics(519, 1.4, 67, z_step=200)
    assert psf == pytest.approx((529.59 / 200, 226.14 / 67, 226.14 / 67), rel=1e-4)
    rng = np.random.default_rng(3)
    a, b = _pair(rng)
    assert costes_randomization(a, b, n_iter=2, psf=psf, seed=0).block_size == (2, 3, 3)
    confocal = psf_from_optics(565, 1.4, 50, microscope="confocal")
    assert confocal == pytest.approx((0.4 * 565 / 1.4 / 50,) * 2)
    with pytest.raises(ValueError, match="microscope"):
        psf_from_optics(519, 1.4, 67, microscope="sted")


def test_block_size_defaults_to_the_psf_rounded_down():
    rng = np.random.default_rng(4)
    a, b = _pair(rng)
    assert costes_randomization(a, b, n_iter=2, seed=0).block_size == (3, 3, 3)
    assert costes_randomization(a, b, n_iter=2, psf=(1.5, 4.9, 4.9), seed=0).block_size \
        == (1, 4, 4)
    assert costes_randomization(a[0], b[0], n_iter=2, block_size=5, seed=0).block_size == (5, 5)


def test_a_run_without_seed_is_reproducible_from_its_seed():
    rng = np.random.default_rng(5)
    a, b = _pair(rng)
    first = costes_randomization(a, b, n_iter=10)
    again = costes_randomization(a, b, n_iter=10, seed=first.seed)
    np.testing.assert_array_equal(first.null, again.null)
    assert first.to_frame().loc[0, "seed"] == str(first.seed)


def test_bad_input_is_named():
    rng = np.random.default_rng(6)
    a, b = _pair(rng)
    with pytest.raises(ValueError, match="method"):
        costes_randomization(a, b, method="napari")
    with pytest.raises(ValueError, match="shapes"):
        costes_randomization(a, b[:, :10])
    with pytest.raises(ValueError, match="1-D to 3-D"):
        costes_randomization(a[None], b[None])
    with pytest.raises(ValueError, match="n_iter"):
        costes_randomization(a, b, n_iter=0)
    with pytest.raises(ValueError, match="block_size"):
        costes_randomization(a, b, block_size=(3, 3))
    with pytest.raises(ValueError, match="block_size"):
        costes_randomization(a, b, block_size=2000)
    with pytest.raises(ValueError, match="psf"):
        costes_randomization(a, b, psf=-1)


def test_an_empty_mask_gives_nan_with_a_warning():
    rng = np.random.default_rng(7)
    a, b = _pair(rng)
    with pytest.warns(ColocWarning, match="undefined"):
        result = costes_randomization(a, b, mask=np.zeros(a.shape, bool), n_iter=3, seed=0)
    assert np.isnan(result.observed) and np.isnan(result.p_value) and result.n_voxels == 0
