"""Order statistics of many tables in one sweep, against the single-table functions and scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from streamcoloc.stats import ranks, sweep
from streamcoloc.stats.costes import Axis
from streamcoloc.stats.histograms import JointCells
from streamcoloc.stats.joint import JointTable, icq_from_signs


def _tables(rng, count=7):
    """Joint tables of correlated integer samples (a few on a float grid:
    step 0.5, base −3), with their samples."""
    tables, samples = [], []
    for k in range(count):
        a = rng.integers(0, 5 + 30 * k, 200 + 50 * k)
        b = a // 3 + rng.integers(0, 1 + 40 * (k % 3), a.size)
        dense = np.zeros((a.max() - a.min() + 1, b.max() - b.min() + 1), np.int64)
        np.add.at(dense, (a - a.min(), b - b.min()), 1)
        step, base = (0.5, -3) if k % 2 else (1.0, 0)
        axes = (Axis(int(a.min()), int(a.max()), step, base),
                Axis(int(b.min()), int(b.max()), step, base))
        tables.append(JointTable(JointCells.from_dense(dense), *axes))
        samples.append(((a + base) * step, (b + base) * step))
    return tables, samples


def test_a_sweep_gives_each_table_what_its_own_functions_give():
    """Kendall's S, Spearman's rank products and marginals and the ICQ sign
    counts of every table from one nogil call equal the single-table
    functions' (and so scipy's tau and rho); a table of at least EXACT_N
    voxels and a NaN mean are left to them (None)."""
    rng = np.random.default_rng(5)
    tables, samples = _tables(rng)
    means = [(x.mean(), y.mean()) for x, y in samples]
    huge = JointTable(JointCells(np.array([0, 3]), np.array([ranks.EXACT_N, 1]), (2, 2)),
                      Axis(0, 1), Axis(0, 1))
    found = sweep.prepare(tables[:3] + [huge] + tables[3:] + [tables[0]],
                          means[:3] + [(0.5, 0.5)] + means[3:] + [(np.nan, 1.0)],
                          True, True, True)()
    assert found[3] == sweep.Swept(None, None, None, None)
    assert found[-1].signs is None and found[-1].s == found[0].s  # (a NaN mean)
    for table, result, (a, b), (mean_a, mean_b) in zip(tables, found[:3] + found[4:-1],
                                                        samples, means):
        assert result.s == ranks._concordance(table.table.cells, *table.table.shape,
                                              table.table.counts, ranks.DENSE_SPAN)[0]
        assert result.rank_products == ranks.rank_product_sum(table.table)
        assert all((x == y).all() for x, y in zip(result.marginals, table.table.marginals()))
        assert (result.signs == table.sign_counts(mean_a, mean_b)).all()
        tau, _ = ranks.kendall(table.table, result.s)
        rho, _ = ranks.spearman(result.rank_products, *result.marginals)
        assert tau == pytest.approx(stats.kendalltau(a, b).statistic, abs=1e-12)
        assert rho == pytest.approx(stats.spearmanr(a, b).statistic, abs=1e-12)
        products = (a - mean_a) * (b - mean_b)
        for convention in ("coloc2", "jacop", "napari"):
            assert icq_from_signs(result.signs, table.n, convention) == \
                table.icq(mean_a, mean_b, convention)
        assert icq_from_signs(result.signs, table.n, "jacop") == pytest.approx(
            (products > 0).mean() - 0.5, abs=1e-12)


def test_a_sweep_computes_only_what_is_asked_and_nothing_for_no_tables():
    tables, samples = _tables(np.random.default_rng(6), 2)
    means = [(x.mean(), y.mean()) for x, y in samples]
    only_kendall = sweep.prepare(tables, means, True, False, False)()
    assert all(r.s is not None and r.rank_products is None and r.signs is None
               for r in only_kendall)
    for table, result in zip(tables, only_kendall):  # (the marginals come with S)
        assert all((x == y).all() for x, y in zip(result.marginals, table.table.marginals()))
    assert all(r.marginals is None for r in sweep.prepare(tables, means, False, False, True)())
    assert sweep.prepare(tables, means, False, False, False)() == [
        sweep.Swept(None, None, None, None)] * 2
    assert sweep.prepare([], np.empty((0, 2)), True, True, True)() == []


def test_the_sweeps_marginals_are_held_once():
    """A table takes the sweep's marginals as its own (Kendall's ties read
    them; not counted and held a second time), unless it has its own."""
    tables, samples = _tables(np.random.default_rng(7), 2)
    found = sweep.prepare(tables, [(x.mean(), y.mean()) for x, y in samples], True, True,
                          False)()
    own = tables[1].table.marginals()
    for table, result in zip(tables, found):
        table.table.take_marginals(*result.marginals)
    assert tables[0].table.marginals()[0] is found[0].marginals[0]
    assert tables[1].table.marginals() is own
    assert all((x == y).all() for x, y in zip(own, found[1].marginals))
