"""Every order- and threshold-based metric of one region from its joint histogram.

``JointTable`` wraps ``H[i, j]``, the number of measured voxels with value
``lo_a + i`` in channel a and ``lo_b + j`` in channel b (histogram units, see
:class:`~.costes.Axis`), held as its non-empty cells
(:class:`~.histograms.JointCells`).  Sums over any set of voxels defined by
their values (below or above thresholds, a quadrant, a scattergram polygon)
are sums over cells weighted by counts, exact in integers; so one read of the
data gives ranks, Spearman, Kendall, ICQ, the Costes walk of every tool,
thresholded Manders and Pearson, RWC and auto thresholds.
"""

from __future__ import annotations

from functools import cached_property

import numba
import numpy as np

from . import exact, ranks, sums
from .costes import Axis, Staircase
from .histograms import JointCells, cell_row
from .sums import Sums
from .thresholded import ThresholdSums, rwc_numerator


class JointTable:
    def __init__(self, table: JointCells, axis_a: Axis, axis_b: Axis):
        self.table = table
        self.axis_a, self.axis_b = axis_a, axis_b
        self._cells = self.table.counts

    @cached_property
    def _a(self) -> np.ndarray:
        """Each cell's value of a in histogram units (as ``_b`` of b)."""
        return self.table.rows + self.axis_a.lo

    @cached_property
    def _b(self) -> np.ndarray:
        return self.table.columns + self.axis_b.lo

    @property
    def n(self) -> int:
        return self.table.n

    def marginal(self, channel: str) -> np.ndarray:
        return self.table.marginals()[0 if channel == "a" else 1]

    # -- sums ------------------------------------------------------------------
    def sums(self, selected=None) -> Sums:
        """Sums over the voxels of the selected cells (a boolean per
        non-empty cell, or all)."""
        keep = np.ones(self._cells.size, bool) if selected is None else selected
        group = np.zeros(int(keep.sum()), np.int64)
        return Sums.of_cells(self._cells[keep], self._a[keep], self._b[keep], group, 1)

    def select(self, rule) -> np.ndarray:
        """Cells whose values (a, b) satisfy ``rule(a, b)``."""
        return rule(self._a, self._b)

    def below(self, staircase: Staircase):
        """``(r, n)``: Pearson's r and the voxel count of the below set at
        every cell of a Costes staircase: a voxel is below at the cells before
        its cut-off cell (:meth:`~.costes.Staircase.cell_of_cutoffs`)."""
        # K per value of each axis (a few thousand), then per cell by lookup
        ka = staircase.cutoffs(self.axis_a.lo + np.arange(self.table.shape[0]), "a")
        kb = staircase.cutoffs(self.axis_b.lo + np.arange(self.table.shape[1]), "b")
        how = sums.LARGER if staircase.kind == "or" else sums.SMALLER  # cell_of_cutoffs
        return sums.suffix_pearson(self._keyed(ka, kb, how, 0, len(staircase.gate_a) + 1))

    def box_sums(self, cuts_a, cuts_b):
        """``(sums, a, b)``: the six sums of the voxels in each box of the
        grid cut at values ``cuts_a`` × ``cuts_b`` (histogram units), in one
        pass over the cells, as a (boxes, 6) array (int64 when no sum over
        any set of the cells can overflow it, Python integers otherwise), and
        one value (a, b) of each box.

        Box (i, j) holds a in [α_i, α_(i+1)) and b in [β_j, β_(j+1)) with
        α, β the distinct cuts and ±∞ at the ends: any rule of the form
        a ≥ cut or b ≥ cut (and their combinations) is constant on a box, so
        ``rule(a, b)`` picks the boxes of the set it defines."""
        cuts_a, cuts_b = np.unique(cuts_a), np.unique(cuts_b)
        box_a = np.searchsorted(cuts_a, self.axis_a.lo + np.arange(self.table.shape[0]),
                                side="right")
        box_b = np.searchsorted(cuts_b, self.axis_b.lo + np.arange(self.table.shape[1]),
                                side="right")
        n_a, n_b = cuts_a.size + 1, cuts_b.size + 1
        boxes = self._keyed(box_a, box_b, sums.GRID, n_b, n_a * n_b)
        value_a = np.concatenate([[cuts_a[0] - 1], cuts_a])  # the lowest value of each box
        value_b = np.concatenate([[cuts_b[0] - 1], cuts_b])
        return boxes, np.repeat(value_a, n_b), np.tile(value_b, n_a)

    def _keyed(self, key_a, key_b, how, n_keys_b, n_groups):
        """:func:`~.sums.keyed_sums` of this table's cells."""
        return sums.keyed_sums(self.table.cells, self._cells, self.table.shape[1],
                               self.axis_a.lo, self.axis_b.lo, key_a, key_b, how, n_keys_b,
                               n_groups, self.n)

    def below_at(self, gate_a: int, gate_b: int, kind: str) -> Sums:
        """Below-set sums of one gate pair (the walks' fallback)."""
        if kind == "or":
            return self.sums(self.select(lambda a, b: (a < gate_a) | (b < gate_b)))
        return self.sums(self.select(lambda a, b: (a < gate_a) & (b < gate_b)))

    # -- ranks -----------------------------------------------------------------
    def spearman(self):
        return ranks.spearman(ranks.rank_product_sum(self.table), self.marginal("a"),
                              self.marginal("b"))

    def kendall(self):
        return ranks.kendall(self.table)

    def icq(self, mean_a: float, mean_b: float, convention: str = "coloc2") -> float:
        """Li's ICQ from the signs of (a − ā)(b − b̄) (means in data units,
        as doubles): see :func:`icq_from_signs`."""
        return icq_from_signs(self.sign_counts(mean_a, mean_b), self.n, convention)

    def sign_counts(self, mean_a: float, mean_b: float) -> np.ndarray | None:
        """Voxels by the signs of a − ā and b − b̄ (:func:`sign_counts`), None
        when a mean is NaN."""
        if np.isnan(mean_a) or np.isnan(mean_b):
            return None
        return sign_counts(self.table.cells, self._cells, self.table.shape[1],
                           self.axis_a.lo, self.axis_b.lo, self.axis_a.base, self.axis_b.base,
                           self.axis_a.step, self.axis_b.step, mean_a, mean_b)

    def rwc_numerators(self, selected: np.ndarray):
        """Σ a·W and Σ b·W over the selected cells for CellProfiler's RWC:
        W = (R − |rank_a − rank_b|)/R with 0-based dense ranks within the
        region and R the larger maximal rank + 1 (Singan et al. 2011), from
        exact integer sums (:func:`~.thresholded.rwc_numerator`)."""
        rank_a = ranks.dense_ranks(self.marginal("a"))[self._a - self.axis_a.lo]
        rank_b = ranks.dense_ranks(self.marginal("b"))[self._b - self.axis_b.lo]
        top = max(rank_a.max(initial=0), rank_b.max(initial=0)) + 1
        weight, count = (top - np.abs(rank_a - rank_b))[selected], self._cells[selected]
        sum_w = exact.product_sum(count, weight)
        return (rwc_numerator(exact.product_sum(count, weight, self._a[selected]), sum_w,
                              self.axis_a, top),
                rwc_numerator(exact.product_sum(count, weight, self._b[selected]), sum_w,
                              self.axis_b, top))


@numba.njit(nogil=True, cache=True)
def sign_counts(cells, counts, width_b, lo_a, lo_b, base_a, base_b, step_a, step_b, mean_a,
                mean_b):
    """(3, 3) voxel counts of joint-table cells (ascending) by the signs of
    a − ā and b − b̄, indexed [sign_a + 1, sign_b + 1]: a value in histogram
    units u is (u + base)·step in data units (:meth:`~.costes.Axis.data`),
    compared with its mean as a double.  A row's cells are counted by the
    sign of their column in three running totals, added to the row's sign
    at its end."""
    out = np.zeros((3, 3), np.int64)
    row, first = -1, 0
    total = np.zeros(3, np.int64)
    for k in range(cells.size):
        previous = row
        row, first = cell_row(cells[k], width_b, row, first)
        if row != previous and previous >= 0:
            out[_sign(lo_a + previous, base_a, step_a, mean_a)] += total
            total[:] = 0
        total[_sign(lo_b + cells[k] - first, base_b, step_b, mean_b)] += counts[k]
    if row >= 0:
        out[_sign(lo_a + row, base_a, step_a, mean_a)] += total
    return out


@numba.njit(inline="always")
def _sign(unit, base, step, mean):
    """sign((unit + base)·step − mean) + 1."""
    x = (np.float64(unit) + base) * step - mean
    return 2 if x > 0 else (0 if x < 0 else 1)


def icq_from_signs(count: np.ndarray | None, total: int, convention: str) -> float:
    """:func:`icq_from_counts` of the (3, 3) counts of :func:`sign_counts`
    (None, a NaN mean: no product counts)."""
    if count is None:
        return icq_from_counts(0, 0, total, convention)
    return icq_from_counts(int(count[0, 0] + count[2, 2]),
                           int(count[1].sum() + count[:, 1].sum() - count[1, 1]), total,
                           convention)


ICQ_CONVENTIONS = ("coloc2", "jacop", "napari")


def icq_from_counts(positive: int, zero: int, total: int, convention: str) -> float:
    """Li's ICQ = (products counted positive) / (products counted) − 0.5.

    'coloc2' (Fiji Coloc 2 ``LiICQ``): a product of exactly 0 is positive;
    'jacop' (JACoP ``ICA``): only products > 0 are positive, every voxel is
    counted; 'napari' (napari-colocalization ``li_icq``): products of 0 are
    counted neither positive nor at all.
    """
    if convention == "coloc2":
        positive, counted = positive + zero, total
    elif convention == "jacop":
        counted = total
    else:
        counted = total - zero
    return positive / counted - 0.5 if counted else np.nan


def threshold_sums(table: JointTable, gate_a: int, gate_b: int, above_a: int, above_b: int,
                   rwc: bool = False) -> ThresholdSums:
    """:class:`~.thresholded.ThresholdSums` at gates (histogram units: a ≥
    gate_a is at/above T_a, a ≥ above_a strictly above).

    Every set involved is a union of the boxes cut by the gates and by the
    channels' zero, so one pass of :meth:`JointTable.box_sums` gives them all
    (exact integers); channel sums in data units are (Σu + base·n)·step."""
    zero_a, zero_b = int(table.axis_a.ge_gate(0.0)), int(table.axis_b.ge_gate(0.0))
    boxes, a, b = table.box_sums((gate_a, above_a, zero_a + 1), (gate_b, above_b, zero_b + 1))
    every, coloc2_a, coloc2_b, den_a, den_b, below, above, both = _set_sums(boxes, [
        np.ones(a.size, bool), (b >= gate_b) & (b > zero_b), (a >= gate_a) & (a > zero_a),
        a >= gate_a, b >= gate_b, (a < gate_a) | (b < gate_b), (a >= above_a) | (b >= above_b),
        (a >= gate_a) & (b >= gate_b)])

    def data_sum(s: Sums, axis: Axis, channel: str) -> float:
        total = s.a[0] if channel == "a" else s.b[0]
        return float(total + axis.base * s.n[0]) * axis.step

    result = ThresholdSums(
        table.axis_a, table.axis_b,
        data_sum(every, table.axis_a, "a"), data_sum(every, table.axis_b, "b"),
        data_sum(coloc2_a, table.axis_a, "a"), data_sum(coloc2_b, table.axis_b, "b"),
        data_sum(den_a, table.axis_a, "a"), data_sum(den_b, table.axis_b, "b"),
        below=below, above=above, both=both)
    if rwc:
        result.rwc_a, result.rwc_b = table.rwc_numerators(
            table.select(lambda a, b: (a >= gate_a) & (b >= gate_b)))
    return result


def _set_sums(boxes: np.ndarray, selections: list) -> list:
    """The six sums over each selection of boxes (a boolean per box) from
    :meth:`JointTable.box_sums`: one matrix product, exact in either of its
    dtypes (int64 box sums bound every sum over a set of cells)."""
    totals = (np.array(selections).astype(boxes.dtype) @ boxes).astype(object)  # Python ints
    return [Sums(*row.reshape(6, 1)) for row in totals]  # six length-1 views a set
