"""Rank statistics from value histograms: mid-ranks, Spearman, Kendall tau-b.

Ranks need no sort: in a histogram of integer values (or grid cells) the
voxels of one value share the mid-rank (the average of the ranks they would
take, as ``scipy.stats.rankdata(method='average')``)::

    midrank(v) = (#values < v) + (count(v) + 1) / 2

Sums of ranks are kept exact by working with doubled, centred ranks
``c = 2·midrank − (n + 1)``, which are integers; products of them are summed
in Python integers (rows of a joint histogram, a few thousand at most).
"""

from __future__ import annotations

import numba
import numpy as np
from scipy import stats as _stats


def centred_ranks(counts: np.ndarray) -> np.ndarray:
    """Doubled centred mid-ranks ``2·midrank − (n + 1)`` of each value of a
    histogram (int64; values with count 0 get the rank they would take)."""
    counts = np.asarray(counts, dtype=np.int64)
    before = np.cumsum(counts) - counts
    return 2 * before + counts + 1 - (counts.sum() + 1)


def dense_ranks(counts: np.ndarray) -> np.ndarray:
    """0-based dense rank of each value: the number of distinct present
    values below it (CellProfiler's RWC ranks)."""
    present = np.asarray(counts) > 0
    return np.cumsum(present) - present


def _int_sum(values) -> int:
    return int(np.asarray(values, dtype=object).sum())


def occupied(joint: np.ndarray) -> np.ndarray:
    """The joint histogram without its empty rows and columns (which change
    no rank, tie or order); the table itself when it has none."""
    rows, cols = joint.any(axis=1), joint.any(axis=0)
    if rows.all() and cols.all():
        return joint
    return joint[np.ix_(rows, cols)]


def rank_product_sum(joint: np.ndarray) -> int:
    """Σ c_a·c_b over voxels, exact, from a joint histogram."""
    joint = occupied(joint)
    ca = centred_ranks(joint.sum(axis=1))
    cb = centred_ranks(joint.sum(axis=0))
    # Row sums of H·c_b fit int64 while n·max|c| < 2**63 (n < 3·10**9).
    if joint.sum() < 3 * 10**9:
        inner = joint @ cb
    else:
        inner = joint.astype(object) @ cb.astype(object)
    return _int_sum(ca.astype(object) * inner.astype(object))


def spearman(product_sum, counts_a, counts_b):
    """Spearman's rho and its two-tailed p-value from Σ c_a·c_b and the
    marginal histograms.

    rho = Σ c_a c_b / √(Σ c_a² · Σ c_b²), the Pearson coefficient of the
    mid-ranks (ties averaged), equal to ``scipy.stats.spearmanr``; the
    p-value is scipy's: Student's t with n − 2 degrees of freedom.  NaN when
    a channel is constant (one distinct value) or n < 3 for the p-value.
    """
    counts_a = np.asarray(counts_a, dtype=np.int64)
    counts_b = np.asarray(counts_b, dtype=np.int64)
    n = int(counts_a.sum())
    ca, cb = centred_ranks(counts_a), centred_ranks(counts_b)
    saa = _int_sum(counts_a.astype(object) * ca.astype(object) ** 2)
    sbb = _int_sum(counts_b.astype(object) * cb.astype(object) ** 2)
    if saa == 0 or sbb == 0:
        return np.nan, np.nan
    if isinstance(product_sum, int) and product_sum * product_sum == saa * sbb:
        rho = 1.0 if product_sum > 0 else -1.0  # exactly, as scipy's ranks give
    else:
        rho = float(min(1.0, max(-1.0, product_sum / (np.sqrt(float(saa)) * np.sqrt(float(sbb))))))
    return rho, t_pvalue(rho, n)


def t_pvalue(r: float, n: int) -> float:
    """Two-tailed p of a correlation r over n samples, from Student's t with
    n − 2 degrees of freedom (scipy's pearsonr/spearmanr); NaN for n < 3."""
    if n < 3 or not np.isfinite(r):
        return np.nan
    if abs(r) == 1.0:
        return 0.0
    t = r * np.sqrt((n - 2) / ((1.0 - r) * (1.0 + r)))
    return float(2.0 * _stats.t.sf(abs(t), n - 2))


def kendall(joint: np.ndarray):
    """Kendall's tau-b and its tie-corrected asymptotic two-tailed p-value
    (``scipy.stats.kendalltau(..., method='asymptotic')``) from a joint
    histogram.

    With C_ij (D_ij) the counts of cells strictly after row i and after
    (before) column j, S = Σ H_ij (C_ij − D_ij) = concordant − discordant
    pairs; tau_b = S / √((n0 − n1)(n0 − n2)) with n0 = n(n−1)/2 and n1, n2
    the pairs tied in a, in b.  Exact in int64 while n < 3·10**9; float64
    above.  NaN when a channel is constant.
    """
    h = occupied(np.asarray(joint))
    n = int(h.sum())
    exact = n < 3 * 10**9
    s = _concordance(h.astype(np.int64 if exact else np.float64))
    s = int(s) if exact else float(s)
    rows, cols = h.sum(axis=1), h.sum(axis=0)
    total = n * (n - 1) // 2
    x_tie, x0, x1 = _ties(rows)
    y_tie, y0, y1 = _ties(cols)
    if x_tie == total or y_tie == total:
        return np.nan, np.nan
    tau = s / np.sqrt(total - x_tie) / np.sqrt(total - y_tie)
    m = n * (n - 1.0)
    var = ((m * (2 * n + 5) - x1 - y1) / 18 + (2 * x_tie * y_tie) / m
           + x0 * y0 / (9 * m * (n - 2)) if n > 2 else np.nan)
    p = float(2 * _stats.norm.sf(abs(s) / np.sqrt(var))) if var and var > 0 else np.nan
    return float(min(1.0, max(-1.0, tau))), p


@numba.njit(nogil=True, cache=True)
def _concordance(h):
    """S = Σ_ij H_ij (C_ij − D_ij): C_ij (D_ij) counts the voxels in rows
    i' > i and columns j' > j (j' < j).  One sweep from the last row up,
    keeping the column totals of the rows below."""
    n_rows, n_cols = h.shape
    below = np.zeros(n_cols, h.dtype)
    s = h.dtype.type(0)
    for i in range(n_rows - 1, -1, -1):
        total = below.sum()
        before = h.dtype.type(0)
        for j in range(n_cols):
            s += h[i, j] * ((total - before - below[j]) - before)
            before += below[j]
        for j in range(n_cols):
            below[j] += h[i, j]
    return s


def _ties(counts):
    """scipy's tie statistics of a histogram: Σ t(t−1)/2, Σ t(t−1)(t−2),
    Σ t(t−1)(2t+5) over values held by t > 1 voxels."""
    t = np.asarray(counts, dtype=np.int64)
    t = t[t > 1].astype(object)
    return (int((t * (t - 1) // 2).sum()), float((t * (t - 1) * (t - 2)).sum()),
            float((t * (t - 1) * (2 * t + 5)).sum()))
