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

import math

import numba
import numpy as np
from scipy import special as _special

from . import exact
from .histograms import cell_row

#: Voxels below which n² < 2**63, so that int64 sums of rank products (n
#: times a doubled centred rank, at most n), of tied pairs and Kendall's S
#: (at most n²/2) cannot overflow.
EXACT_N = 3 * 10**9


def centred_ranks(counts: np.ndarray) -> np.ndarray:
    """Doubled centred mid-ranks ``2·midrank − (n + 1)`` of each value of a
    histogram (int64; values with count 0 get the rank they would take)."""
    return centred(np.asarray(counts, dtype=np.int64))


@numba.njit(nogil=True, cache=True)
def centred(counts):
    """:func:`centred_ranks` of int64 counts: 2·(voxels before) + count − n."""
    n = counts.sum()
    out = np.empty_like(counts)
    before = 0
    for i in range(counts.size):
        out[i] = 2 * before + counts[i] - n
        before += counts[i]
    return out


def centred_square_sum(counts: np.ndarray) -> int:
    """Σ c² over the voxels of their doubled centred mid-ranks
    (:func:`centred_ranks`), exact, in closed form: distinct ranks 1..n give
    Σ (2r − n − 1)² = (n³ − n)/3, and each value held by t voxels replaces
    their ranks by their mean, which takes (t³ − t)/3 off the sum:
    (n³ − n − Σ (t³ − t))/3."""
    t = np.asarray(counts, dtype=np.int64)
    n = int(t.sum())
    return (n**3 - n - exact.product_sum(t, t - 1, t + 1, bound=n**3)) // 3  # Σ t³ ≤ n³


def dense_ranks(counts: np.ndarray) -> np.ndarray:
    """0-based dense rank of each value: the number of distinct present
    values below it (CellProfiler's RWC ranks)."""
    present = np.asarray(counts) > 0
    return np.cumsum(present) - present


def rank_product_sum(table) -> int:
    """Σ c_a·c_b over voxels, exact, from the non-empty cells of a joint
    histogram (:class:`~.histograms.JointCells`): per row of the table the
    int64 sum Σ_j H_ij·c_b(j) (exact while n·max|c| < 2**63, i.e. n <
    :data:`EXACT_N`), then Σ_i c_a(i)·that in 128 bits, in one pass
    (:func:`_rank_products`); Python integers beyond."""
    counts_a, counts_b = table.marginals()
    ca, cb = centred_ranks(counts_a), centred_ranks(counts_b)
    if table.cells.size == 0:
        return 0
    if int(counts_a.sum()) < EXACT_N:
        return exact.words_to_int(*_rank_products(
            table.cells, table.counts.astype(np.int64, copy=False), table.shape[1], ca, cb))
    rows, columns = table.rows, table.columns
    first = np.flatnonzero(np.diff(rows, prepend=-1))  # rows ascending: one run per row
    inner = np.add.reduceat(table.counts.astype(object) * cb.astype(object)[columns], first)
    return exact.product_sum(ca[rows[first]], inner)


@numba.njit(nogil=True, cache=True)
def _rank_products(cells, counts, width_b, ca, cb):
    """Σ counts·ca[row]·cb[column] over row-major ``cells`` (ascending) as
    128-bit words: an int64 sum per row, times its ca, added in 128 bits."""
    hi, lo = np.uint64(0), np.uint64(0)
    row, first, inner = -1, 0, np.int64(0)
    for k in range(cells.size):
        previous = row
        row, first = cell_row(cells[k], width_b, row, first)
        if row != previous and previous >= 0:
            hi, lo = exact.add_product(hi, lo, ca[previous], inner)
            inner = np.int64(0)
        inner += counts[k] * cb[cells[k] - first]
    if row >= 0:
        hi, lo = exact.add_product(hi, lo, ca[row], inner)
    return hi, lo


def spearman(product_sum, counts_a, counts_b):
    """Spearman's rho and its two-tailed p-value from Σ c_a·c_b and the
    marginal histograms.

    rho = Σ c_a c_b / √(Σ c_a² · Σ c_b²), the Pearson coefficient of the
    mid-ranks (ties averaged), equal to ``scipy.stats.spearmanr``; the
    p-value is scipy's: Student's t with n − 2 degrees of freedom.  NaN when
    a channel is constant (one distinct value) or n < 3 for the p-value.
    """
    n = int(np.asarray(counts_a, dtype=np.int64).sum())
    saa, sbb = centred_square_sum(counts_a), centred_square_sum(counts_b)
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
    return float(2.0 * _special.stdtr(n - 2, -abs(t)))  # = scipy.stats.t.sf(|t|, n − 2)


def kendall(table, s=None):
    """Kendall's tau-b and its tie-corrected asymptotic two-tailed p-value
    (``scipy.stats.kendalltau(..., method='asymptotic')``) from the non-empty
    cells of a joint histogram (:class:`~.histograms.JointCells`).

    With C_ij (D_ij) the counts of cells strictly after row i and after
    (before) column j, S = Σ H_ij (C_ij − D_ij) = concordant − discordant
    pairs; tau_b = S / √((n0 − n1)(n0 − n2)) with n0 = n(n−1)/2 and n1, n2
    the pairs tied in a, in b.  Exact in int64 while n < :data:`EXACT_N`; float64
    above.  NaN when a channel is constant.  ``s``: the table's S when
    already known (:func:`~.sweep.prepare`), else computed here.
    """
    n = table.n
    exact_sums = n < EXACT_N
    if s is None:
        s, rows, cols = _concordance(
            table.cells, *table.shape,
            table.counts.astype(np.int64 if exact_sums else np.float64, copy=False), DENSE_SPAN)
        if exact_sums:
            table.take_marginals(rows, cols)  # (the sweep's totals: for Spearman too)
    rows, cols = table.marginals()
    s = int(s) if exact_sums else float(s)
    total = n * (n - 1) // 2
    x_tie, x0, x1 = _ties(rows)
    y_tie, y0, y1 = _ties(cols)
    if x_tie == total or y_tie == total:
        return np.nan, np.nan
    # (math.sqrt of a float: np.sqrt of a Python int beyond 2**64 (regions of
    # more than 6·10**9 voxels) raises; both round the same below it)
    tau = s / math.sqrt(float(total - x_tie)) / math.sqrt(float(total - y_tie))
    m = n * (n - 1.0)
    var = ((m * (2 * n + 5) - x1 - y1) / 18 + (2 * x_tie * y_tie) / m
           + x0 * y0 / (9 * m * (n - 2)) if n > 2 else np.nan)
    # 2·ndtr(−|z|) = 2·scipy.stats.norm.sf(|z|) (without its per-call overhead)
    p = float(2 * _special.ndtr(-abs(s) / np.sqrt(var))) if var and var > 0 else np.nan
    return float(min(1.0, max(-1.0, tau))), p


#: Columns per block of :func:`_concordance`'s block totals.
COLUMN_BLOCK = 64
#: :func:`_concordance` sums a row's whole span when it holds more than one
#: cell per DENSE_SPAN columns, else walks from cell to cell.  Against the
#: walk alone, medians of 15 alternations: 1.43x faster on the tables of
#: bench_pixel's 50 cells (rows filled ~1/3), 1.53x on bands filled ~1/10,
#: the same on 12-bit noise (~2 cells per row); 4, 8 and 16 gave 1.26x,
#: 1.36x, 1.39x and 0.94x, 0.99x, 1.51x on the first two.
#: benchmarks/bench_kendall.py prints the ratio on synthetic bands.
DENSE_SPAN = 32


@numba.njit(nogil=True, cache=True)
def _concordance(cells, n_rows, n_columns, counts, dense_span):
    """``(S, row totals, column totals)``: S = Σ_ij H_ij (C_ij − D_ij) over
    the non-empty cells (row-major indices, ascending) of an ``n_rows`` ×
    ``n_columns`` table, where C_ij (D_ij) counts the voxels in rows i' > i
    and columns j' > j (j' < j); the totals are the marginal histograms,
    which the sweep adds up anyway (in the counts' dtype).

    One sweep from the last row up keeps the column totals T of the rows
    below, their sum, and their sums over blocks of :data:`COLUMN_BLOCK`
    columns.  For a row spanning columns j0..j1, D at j0 is the blocks
    before j0 plus the columns of its block before it.  D at the row's other
    cells is a running sum of T: over every column of the span in one loop
    without branches when the row fills more than 1/``dense_span`` of it
    (:data:`DENSE_SPAN`) (a correlated row is a band around the diagonal; walking the gaps
    from cell to cell takes a jump mispredicted at most cells), else from
    cell to cell, whole blocks across long gaps (sparse rows of
    uncorrelated or wide-ranged data, where the span is many times the
    cells).  Then C − D = below − 2·D − T at each cell, in
    the loop that adds the row's cells to the totals (each D was written
    before, and a cell's own column is read before its count joins it)."""
    dtype = counts.dtype.type
    row_total = np.zeros(n_rows, counts.dtype)
    column_total = np.zeros(n_columns, counts.dtype)
    block_total = np.zeros(n_columns // COLUMN_BLOCK + 1, counts.dtype)
    before_at = np.empty(n_columns, counts.dtype)  # D at the row's columns
    below = dtype(0)
    s = dtype(0)
    end = cells.size
    while end > 0:
        start = end - 1
        first = cells[end - 1] // n_columns * n_columns  # the row's first cell index
        while start > 0 and cells[start - 1] >= first:
            start -= 1
        lo, hi = cells[start] - first, cells[end - 1] - first
        before = _columns_sum(column_total, block_total, 0, lo)
        if hi - lo < dense_span * (end - start):
            for j in range(lo, hi + 1):
                before_at[j] = before
                before += column_total[j]
        else:
            column = lo
            for k in range(start, end):
                previous, column = column, cells[k] - first
                if column - previous > 2 * COLUMN_BLOCK:
                    before += _columns_sum(column_total, block_total, previous, column)
                else:
                    for j in range(previous, column):
                        before += column_total[j]
                before_at[column] = before
        row = dtype(0)
        for k in range(start, end):  # each cell's term, then its column joins the totals
            column = cells[k] - first
            s += counts[k] * (below - 2 * before_at[column] - column_total[column])
            column_total[column] += counts[k]
            block_total[column // COLUMN_BLOCK] += counts[k]
            row += counts[k]
        below += row
        row_total[first // n_columns] = row
        end = start
    return s, row_total, column_total


@numba.njit
def _columns_sum(column_total, block_total, lo, hi):
    """Σ column_total[lo:hi] (lo ≤ hi): column by column up to the next
    block boundary, whole blocks from :data:`COLUMN_BLOCK`-column
    ``block_total``, then the columns of the last partial block."""
    total = column_total.dtype.type(0)
    boundary = min(-(-lo // COLUMN_BLOCK) * COLUMN_BLOCK, hi)
    for j in range(lo, boundary):
        total += column_total[j]
    for block in range(boundary // COLUMN_BLOCK, hi // COLUMN_BLOCK):
        total += block_total[block]
    for j in range(max(hi - hi % COLUMN_BLOCK, boundary), hi):
        total += column_total[j]
    return total


def _ties(counts):
    """scipy's tie statistics of a histogram: Σ t(t−1)/2 (int, exact), and
    Σ t(t−1)(t−2), Σ t(t−1)(2t+5) (float64 terms as scipy's ``kendalltau``;
    summed in order where scipy sums pairwise, so the last bits may differ)
    over values held by t > 1 voxels."""
    t = np.asarray(counts, dtype=np.int64)
    if int(t.sum(initial=0)) < EXACT_N:  # t(t − 1)/2 sums below 2**62
        x_tie, x0, x1 = _tie_sums(t)
        return int(x_tie), float(x0), float(x1)
    t = t[t > 1]
    return (exact.product_sum(t, t - 1) // 2, float(exact.product_sum(t, t - 1, t - 2)),
            float(exact.product_sum(t, t - 1, 2 * t + 5)))


@numba.njit(nogil=True, cache=True)
def _tie_sums(t):
    """:func:`_ties` of int64 counts summing to less than :data:`EXACT_N`, in one pass."""
    x_tie = np.int64(0)
    x0 = x1 = 0.0
    for count in t:
        if count > 1:
            x_tie += count * (count - 1) // 2
            c = np.float64(count)
            x0 += c * (c - 1.0) * (c - 2.0)
            x1 += c * (c - 1.0) * (2.0 * c + 5.0)
    return x_tie, x0, x1
