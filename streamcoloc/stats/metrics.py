"""Metric formulas on finalized moments (vectorized over keys and pairs).

Conventions follow Fiji Coloc 2 unless stated.  Every function takes a
:class:`~streamcoloc.stats.moments.Moments` and returns float64 arrays shaped
like its fields, NaN where the metric is undefined; the reasons are returned
as boolean arrays so callers can warn with the region named.
"""

from __future__ import annotations

import numpy as np
from scipy import stats as _stats

from .moments import Moments


def _ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def is_constant(m: Moments, channel: str) -> np.ndarray:
    """True where a channel has no variance in the measured voxels.

    Exact-path sums are exact, so this is ``Σ(a−ā)² == 0`` there; float sums
    of a constant carry rounding of at most a few ulps of the mean per voxel,
    which the tolerance n·(8·eps·|ā|)² absorbs.
    """
    centered = m.caa if channel == "a" else m.cbb
    mean = m.mean_a if channel == "a" else m.mean_b
    return centered <= m.n * (8 * np.finfo(np.float64).eps * np.abs(mean)) ** 2


def pearson(m: Moments):
    """Pearson's correlation coefficient and its two-tailed p-value.

    r = Σ(a−ā)(b−b̄) / √(Σ(a−ā)² Σ(b−b̄)²) over the measured voxels; the
    p-value is 2·P(T > |t|) for t = r √((n−2)/(1−r²)) with n−2 degrees of
    freedom (as ``scipy.stats.pearsonr``).  NaN when a channel is constant
    (zero variance) or n < 3 for the p-value.

    References: Manders et al. (1992) J. Cell Sci. 103:857; Coloc 2
    ``PearsonsCorrelation``.
    """
    r = _ratio(m.cab, np.sqrt(m.caa) * np.sqrt(m.cbb))
    r = np.where(is_constant(m, "a") | is_constant(m, "b"), np.nan, np.clip(r, -1.0, 1.0))
    df = m.n - 2
    with np.errstate(invalid="ignore", divide="ignore"):
        t = r * np.sqrt(df / ((1.0 - r) * (1.0 + r)))
        p = 2.0 * _stats.t.sf(np.abs(t), np.where(df > 0, df, 1))
    p = np.where((df > 0) & np.isfinite(r), np.where(np.abs(r) == 1.0, 0.0, p), np.nan)
    return r, p


def overlap(m: Moments):
    """Manders' overlap coefficient R and the split coefficients k1, k2.

    R = Σab / √(Σa² Σb²), k1 = Σab / Σa², k2 = Σab / Σb² (Manders et al.
    1993, J. Microsc. 169:375).  Defined for non-negative intensities only:
    NaN where any measured voxel is negative.
    """
    nonneg = m.n_negative == 0
    r = np.where(nonneg, _ratio(m.sab, np.sqrt(m.saa) * np.sqrt(m.sbb)), np.nan)
    k1 = np.where(nonneg, _ratio(m.sab, m.saa), np.nan)
    k2 = np.where(nonneg, _ratio(m.sab, m.sbb), np.nan)
    return r, k1, k2


def manders(m: Moments, thresholds=None):
    """Manders' colocalization coefficients, Coloc 2 convention.

    m1 = Σ a_i [b_i > 0 and b_i ≥ T_b] / Σ a_i,  m2 symmetric, sums over every
    measured voxel of the region (the denominator is the channel's total, not
    its above-threshold part).  ``thresholds=None`` gives T = 0 (CoLocalizer
    m1/m2, Coloc 2 M1/M2 without threshold); otherwise ``thresholds`` is the
    (K, 2) array of (T_a, T_b) per pair the moments were accumulated with
    (tM1/tM2), and a non-finite threshold gives NaN for the coefficient it
    gates.  NaN where a value is negative or a channel's total is 0.
    """
    nonneg = m.n_negative == 0
    if thresholds is None:
        num_a, num_b, gate_a, gate_b = m.sa_bpos, m.sb_apos, True, True
    else:
        num_a, num_b = m.sa_bthr, m.sb_athr
        gate_a, gate_b = np.isfinite(thresholds[:, 1]), np.isfinite(thresholds[:, 0])
    m1 = np.where(nonneg & gate_a, _ratio(num_a, m.sa), np.nan)
    m2 = np.where(nonneg & gate_b, _ratio(num_b, m.sb), np.nan)
    return m1, m2


def orthogonal_regression(m: Moments):
    """Total-least-squares line b = slope·a + intercept (Coloc 2
    ``AutoThresholdRegression``, Costes et al. 2004 Biophys. J. 86:3993).

    slope = (S_bb − S_aa + √((S_bb − S_aa)² + 4 S_ab²)) / (2 S_ab) with
    centered sums S; intercept = b̄ − slope·ā.  NaN when S_ab = 0.
    """
    diff = m.cbb - m.caa
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = np.where(m.cab != 0, (diff + np.sqrt(diff * diff + 4.0 * m.cab * m.cab))
                         / (2.0 * np.where(m.cab != 0, m.cab, 1.0)), np.nan)
    intercept = m.mean_b - slope * m.mean_a
    return slope, intercept
