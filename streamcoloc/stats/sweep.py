"""The order statistics of many small joint tables in one nogil kernel call.

A region's Costes walk and thresholded sums hold the GIL (small numpy
steps); its Kendall's S, Spearman's rank-product sum with the marginal
histograms, and Li's ICQ sign counts need only its joint table (and the
region's means) and no GIL.  For many small regions :func:`prepare` gathers
their tables on the caller's thread and returns the function that computes
these for every table in one call, so that another thread runs it while the
caller walks the thresholds (:meth:`streamcoloc.measure._Context.from_joint`).
Each statistic is the one its single-table function gives
(:func:`~.ranks.kendall`, :func:`~.ranks.spearman`, :func:`~.joint.icq_from_signs`),
from the same kernels.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from . import exact, ranks
from .histograms import _marginal_counts
from .joint import JointTable, sign_counts


class Swept(NamedTuple):
    """One table's results (None where not asked for, or for a table of at
    least :data:`~.ranks.EXACT_N` voxels): Kendall's S, Spearman's Σ c_a·c_b,
    the marginal histograms (with either: Kendall's sweep adds them up), the
    ICQ sign counts (None also for a NaN mean)."""

    s: int | None
    rank_products: int | None
    marginals: tuple | None
    signs: np.ndarray | None


#: A table the sweep left to the single-table functions.
NOT_SWEPT = Swept(None, None, None, None)


def prepare(tables: list[JointTable], means: np.ndarray, kendall: bool, spearman: bool,
            icq: bool):
    """The function that sweeps ``tables`` (``means``: (tables, 2) of a and b
    in data units) and returns a :class:`Swept` per table."""
    exact_n = [k for k, t in enumerate(tables) if t.n < ranks.EXACT_N]
    if not exact_n or not (kendall or spearman or icq):
        return lambda: [NOT_SWEPT] * len(tables)
    chosen = [tables[k] for k in exact_n]
    cells = numba.typed.List([t.table.cells for t in chosen])
    counts = numba.typed.List([t.table.counts.astype(np.int64, copy=False) for t in chosen])
    shapes = np.array([t.table.shape for t in chosen], np.int64).reshape(-1, 2)
    axes = np.array([(t.axis_a.lo, t.axis_b.lo, t.axis_a.base, t.axis_b.base)
                     for t in chosen], np.int64).reshape(-1, 4)
    steps = np.array([(t.axis_a.step, t.axis_b.step) for t in chosen],
                     np.float64).reshape(-1, 2)
    means = np.asarray(means, np.float64)[exact_n].reshape(-1, 2)
    offsets = np.zeros((len(chosen) + 1, 2), np.int64)
    offsets[1:] = np.cumsum(shapes, axis=0)
    nan_mean = np.isnan(means).any(axis=1)

    def sweep() -> list:
        s, words, totals_a, totals_b, signs = _sweep(
            cells, counts, shapes, axes, steps, means, offsets, kendall, spearman, icq)
        out = [NOT_SWEPT] * len(tables)
        for i, k in enumerate(exact_n):
            marginals = (totals_a[offsets[i, 0]:offsets[i + 1, 0]],
                         totals_b[offsets[i, 1]:offsets[i + 1, 1]]) \
                if kendall or spearman else None
            out[k] = Swept(int(s[i]) if kendall else None,
                           exact.words_to_int(*words[i]) if spearman else None, marginals,
                           signs[i] if icq and not nan_mean[i] else None)
        return out
    return sweep


@numba.njit(nogil=True, cache=True)
def _sweep(cells, counts, shapes, axes, steps, means, offsets, kendall, spearman, icq):
    n_tables = len(cells)
    s = np.zeros(n_tables, np.int64)
    words = np.zeros((n_tables, 2), np.uint64)
    totals_a = np.zeros(offsets[n_tables, 0], np.int64)
    totals_b = np.zeros(offsets[n_tables, 1], np.int64)
    signs = np.zeros((n_tables, 3, 3), np.int64)
    for k in range(n_tables):
        width_a, width_b = shapes[k, 0], shapes[k, 1]
        if kendall or spearman:
            if kendall:  # (the marginals come with S)
                s[k], ma, mb = ranks._concordance(cells[k], width_a, width_b, counts[k],
                                                  ranks.DENSE_SPAN)
            else:
                ma, mb = _marginal_counts(cells[k], counts[k], width_a, width_b)
            totals_a[offsets[k, 0]:offsets[k + 1, 0]] = ma
            totals_b[offsets[k, 1]:offsets[k + 1, 1]] = mb
            if spearman:
                words[k, 0], words[k, 1] = ranks._rank_products(
                    cells[k], counts[k], width_b, ranks.centred(ma), ranks.centred(mb))
        if icq and not (np.isnan(means[k, 0]) or np.isnan(means[k, 1])):
            signs[k] = sign_counts(cells[k], counts[k], width_b, axes[k, 0], axes[k, 1],
                                   axes[k, 2], axes[k, 3], steps[k, 0], steps[k, 1],
                                   means[k, 0], means[k, 1])
    return s, words, totals_a, totals_b, signs
