"""Mid-ranks, Spearman and Kendall from histograms, against scipy."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from streamcoloc.stats import ranks
from streamcoloc.stats.histograms import JointCells


def _joint(a, b):
    table = np.zeros((a.max() - a.min() + 1, b.max() - b.min() + 1), np.int64)
    np.add.at(table, (a - a.min(), b - b.min()), 1)
    return table


@given(st.integers(0, 2**32 - 1), st.integers(3, 300), st.integers(1, 40), st.integers(1, 40))
def test_spearman_and_kendall_equal_scipy_with_heavy_ties(seed, n, range_a, range_b):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, range_a, n)
    b = a // 2 + rng.integers(0, range_b, n)
    table = _joint(a, b)
    cells = JointCells.from_dense(table)
    rho, p = ranks.spearman(ranks.rank_product_sum(cells), table.sum(1), table.sum(0))
    tau, p_tau = ranks.kendall(cells)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        assert np.isnan(rho) and np.isnan(tau)
        return
    expected = stats.spearmanr(a, b)
    assert rho == pytest.approx(expected.statistic, abs=1e-12)
    assert p == pytest.approx(expected.pvalue, rel=1e-9, abs=1e-300)
    expected_tau = stats.kendalltau(a, b, method="asymptotic")
    assert tau == pytest.approx(expected_tau.statistic, abs=1e-12)
    assert p_tau == pytest.approx(expected_tau.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("width", [1, 3, 63, 64, 65, 128, 5 * ranks.COLUMN_BLOCK + 7, 2000])
@pytest.mark.parametrize("kind", ["band", "scattered"])
def test_concordance_equals_the_pair_count(width, kind):
    """Tables narrower than a block, on block boundaries and many blocks
    wide; rows as bands (near cells: column by column) or scattered over the
    whole width (far cells: whole blocks), the first and last columns
    filled: S = Σ over cell pairs of both counts × sign(Δrow)·sign(Δcolumn),
    counted directly (int64 and float64 counts), with rows dealt to the
    span's sum and the walk as DENSE_SPAN says, all walked and all summed;
    the row and column totals it adds up are the marginal histograms."""
    rng = np.random.default_rng(width)
    rows = 30
    table = np.zeros((rows, width), np.int64)
    for i in range(rows):
        if kind == "band":
            start = rng.integers(0, max(width - 20, 1))
            table[i, start:start + 20] = rng.integers(0, 4, min(20, width - start))
        else:
            table[i, rng.integers(0, width, 8)] = rng.integers(1, 4, 8)
    table[0, 0] = table[-1, -1] = table[rows // 2, -1] = 2
    cells = JointCells.from_dense(table)
    i, j = np.nonzero(table)
    h = table[i, j]
    expected = int((h[:, None] * h[None, :] * np.sign(i[None, :] - i[:, None])
                    * np.sign(j[None, :] - j[:, None])).sum()) // 2
    for dense_span in (ranks.DENSE_SPAN, 0, 2**40):  # as set; rows walked; spans summed
        for counts in (cells.counts, cells.counts.astype(np.float64)):
            s, row_totals, column_totals = ranks._concordance(cells.cells, rows, width, counts,
                                                              dense_span)
            assert s == expected
            np.testing.assert_array_equal(row_totals, table.sum(axis=1))  # the marginals
            np.testing.assert_array_equal(column_totals, table.sum(axis=0))




def test_centred_and_dense_ranks():
    counts = np.array([2, 0, 3, 1])  # values 0,0,2,2,2,3
    # mid-ranks 1.5, (2.5 for the absent value 1), 4, 6 of n = 6
    assert ranks.centred_ranks(counts).tolist() == [2 * 1.5 - 7, 2 * 2.5 - 7, 2 * 4 - 7, 2 * 6 - 7]
    assert ranks.dense_ranks(counts).tolist() == [0, 1, 1, 2]


@pytest.mark.parametrize("seed", range(4))
def test_centred_square_sum_is_the_sum_over_the_voxels(seed):
    """The closed form (n³ − n − Σ (t³ − t))/3 equals Σ count·c² summed
    directly, with heavy ties and absent values, on both sides of its
    int64 limit n < 2**21 (n = 2**21 − 1 and 2**21 + 10), and on a single
    value (0)."""
    rng = np.random.default_rng(seed)
    for counts in (rng.integers(0, 50, 200) * (rng.random(200) < 0.5),
                   np.array([2**21 - 6, 3, 1, 0, 1]), np.array([2**21, 3, 0, 7]),
                   np.array([10**10, 1, 10**9]), np.array([17])):
        c = ranks.centred_ranks(counts)
        direct = sum(int(t) * int(x) ** 2 for t, x in zip(counts, c))
        assert ranks.centred_square_sum(counts) == direct


def test_exact_beyond_float_precision():
    """Σ c_a·c_b exceeds 2**53: Python integers keep it exact."""
    table = np.zeros((3, 3), np.int64)
    table[0, 0] = table[2, 2] = 10**9
    table[1, 1] = 1
    total = ranks.rank_product_sum(JointCells.from_dense(table))
    # doubled centred mid-ranks: −(10**9 + 1), 0, 10**9 + 1
    assert total == 2 * 10**9 * (10**9 + 1) ** 2
    assert total > 2**53


def test_exact_beyond_int64_row_sums():
    """n >= 3·10**9: the per-row sums of Σ H·c_b go to Python integers and
    Kendall's sweep to float64; a diagonal table is still exactly rank-
    correlated."""
    table = np.zeros((3, 3), np.int64)
    table[0, 0] = table[2, 2] = 2 * 10**9
    table[1, 1] = 1
    cells = JointCells.from_dense(table)
    # doubled centred mid-ranks: −(2·10**9 + 1), 0, 2·10**9 + 1
    assert ranks.rank_product_sum(cells) == 2 * 2 * 10**9 * (2 * 10**9 + 1) ** 2
    rho, _ = ranks.spearman(ranks.rank_product_sum(cells), table.sum(1), table.sum(0))
    tau, _ = ranks.kendall(cells)
    assert rho == 1.0 and tau == pytest.approx(1.0, abs=1e-12)


def test_kendall_of_regions_beyond_2_to_the_64_pairs():
    """Tau-b is invariant when every count is scaled by k (S by k², and
    n0 − n1 = k²(N² − Σ rows²)/2 exactly): a table of ~10**13 voxels (pairs
    beyond 2**64, a terabyte volume as one region) gives the tau of its
    unscaled table, which equals scipy's, and a p-value."""
    rng = np.random.default_rng(3)
    table = rng.integers(0, 5, (30, 40))
    small = JointCells.from_dense(table)
    i, j = np.nonzero(table)
    a, b = np.repeat(i, table[i, j]), np.repeat(j, table[i, j])
    expected = stats.kendalltau(a, b).statistic
    assert ranks.kendall(small)[0] == pytest.approx(expected, abs=1e-12)
    huge = JointCells.from_dense(table * 10**10)
    tau, p = ranks.kendall(huge)
    assert tau == pytest.approx(expected, abs=1e-9) and 0 <= p <= 1
