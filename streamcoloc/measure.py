"""The reads of an analysis and what is derived from them, per region, slice and pair.

Read plan (the fewest reads of the data for the metrics requested):

* **integer data of at most 16 bits**: one read gives the moments and, when
  an order- or threshold-based metric is requested, the joint histograms of
  every (region, slice, pair) (:mod:`.stats.histograms`), which then sum the
  moments from each chunk's joint cells (a few operations per cell rather
  than per voxel); everything else is derived from them.  When the joint
  tables would exceed their memory budget only marginal histograms are kept
  and a second read accumulates the joint
  quantities voxel by voxel (:mod:`.stats.pairstats`; very many rows of
  wide value ranges take one such read per batch of rows within
  :data:`WIDE_READ_BYTES`), Coloc 2's Pearson
  above its Costes thresholds included (a cut-off table of the strictly-
  above gates).  A third read at the thresholds found gives what those
  tables do not: Pearson below/above for CellProfiler's and JACoP's walks,
  JACoP's both-above sums, RWC, and any gate pair missing from a table.
* **float data** (and wider integers): a first read gives the moments and the
  value range of each channel, which fixes a power-of-two grid
  (:class:`~.stats.voxels.Grid`); the histograms are built on that grid in a
  second read (and the wide path adds its reads after it).

Thresholds are resolved per region, slice and pair (manual, automatic from a
channel's histogram, or a Costes walk) and every threshold-dependent
coefficient is evaluated at them (:mod:`.stats.thresholded`).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field, replace

import numpy as np

from .engine.passes import Layout, run_pass
from .engine.runtime import map_local, start_local
from .stats import (costes, dtypes, exact, histograms, metrics, moments, pairstats, ranks,
                    sweep, thresholds)
from .stats.costes import Axis, CostesResult, Walk
from .stats.extrema import extrema_statistic
from .stats.joint import JointTable, icq_from_counts, icq_from_signs, threshold_sums
from .stats.sums import Sums, pearson
from .stats.thresholded import ThresholdSums, coefficients, rwc_numerator
from .stats.voxels import Grid, VoxelRules

#: Metrics derived from histograms rather than moments.
TABLE_METRICS = ("pcc_threshold", "srcc", "kendall", "icq", "rwc")
THRESHOLD_METHODS = ("costes", "manual") + costes.METHODS + thresholds.AUTO_METHODS
CONVENTIONS = ("coloc2", "cellprofiler")
#: Columns derived here, NaN where not computed.
DERIVED = ("srcc", "srcc_pvalue", "kendall", "kendall_pvalue", "icq", "pcc_below", "pcc_above",
           "threshold_a", "threshold_b", "tm1", "tm2", "overlap", "k1", "k2", "rwc1", "rwc2")
#: Rows of a joint table with at least this many cells are derived on threads:
#: their time goes to nogil kernels (Kendall's sweep, keyed sums); rows of
#: ~10k cells spend theirs in many small NumPy calls under the GIL, where
#: threads measured slower.  bench_pixel prints the side-by-side on its 50
#: regions ("rows derived serially").
THREADED_ROW_CELLS = 50_000
#: Derived coefficients defined for non-negative intensities only: NaN for a
#: (region, slice, pair) with negative values (as the moment-based ones).
NONNEGATIVE_ONLY = ("tm1", "tm2", "overlap", "k1", "k2", "rwc1", "rwc2")
#: Memory budget (bytes) of one per-voxel read's row plans and merged
#: tables: per row and value of its range, ranks and Costes cut-offs (one
#: int64 word each); per staircase cell, its gates (and per sample point
#: of the staircase, the point and its cell) and, for at most
#: :data:`~.stats.pairstats.THIN_ROW` cells per voxel, the exact words of
#: its sums (:mod:`.stats.pairstats`).  A row of full-range 16-bit data
#: takes up to ~35 MiB.  The rows go to as many reads as keep each within
#: it (a row alone may exceed it).
WIDE_READ_BYTES = 2**30


@dataclass(frozen=True)
class Request:
    """What to measure (validated by :mod:`.analysis`)."""

    pairs: np.ndarray
    metrics: tuple
    threshold_method: str
    manual: np.ndarray  # (K, 2) manual thresholds, NaN = none
    convention: str = "coloc2"
    icq_convention: str = "coloc2"
    rules: VoxelRules = field(default_factory=VoxelRules)
    scale: float | None = None
    percentile: float = 50.0
    percent_of_max: float = 15.0
    max_cells: int = histograms.MAX_CELLS

    @property
    def costes_method(self) -> str | None:
        if self.threshold_method == "costes":
            return "coloc2"
        return self.threshold_method if self.threshold_method in costes.METHODS else None

    @property
    def thresholded(self) -> bool:
        """Are thresholds (and coefficients at them) requested?  The metric
        key ``thresholds`` asks for the thresholds alone (:func:`~streamcoloc.threshold`)."""
        return any(m in self.metrics for m in ("mcc", "pcc_threshold", "rwc", "thresholds")) \
            or (self.convention == "cellprofiler" and "overlap" in self.metrics)

    @property
    def needs_tables(self) -> bool:
        return (any(m in self.metrics for m in TABLE_METRICS)
                or (self.thresholded and self.threshold_method != "manual")
                or (self.thresholded and self.convention == "cellprofiler"))

    def wanted(self) -> set:
        """Derived threshold-dependent columns requested."""
        keep = set()
        if "pcc_threshold" in self.metrics:
            keep |= {"pcc_below", "pcc_above"}
        if "mcc" in self.metrics and not (self.threshold_method == "manual"
                                          and self.convention == "coloc2"):
            keep |= {"tm1", "tm2"}  # (manual Coloc 2 tM1/tM2 come exactly from the moments)
        if self.convention == "cellprofiler":
            if "overlap" in self.metrics:
                keep |= {"overlap", "k1", "k2"}
            if "rwc" in self.metrics:
                keep |= {"rwc1", "rwc2"}
        return keep


@dataclass
class Measurement:
    """Moments of every key and pair, the derived columns (arrays shaped like
    the moments' fields, (keys, pairs)), the Costes walks, how many reads it
    took and how the tables were held ('joint', 'wide' or None)."""

    moments: moments.Moments
    derived: dict
    n_reads: int
    walks: dict = field(default_factory=dict)  # (key row, pair) -> CostesResult
    table_mode: str | None = None
    notes: list = field(default_factory=list)


def measure(layout: Layout, request: Request) -> Measurement:
    kernel_dtypes = [s.dtype for s in layout.sources for _ in range(s.shape[0])]
    exact = dtypes.is_exact(kernel_dtypes)
    options = histograms.HistogramOptions(request.pairs, request.rules, None, request.max_cells)
    if request.needs_tables and exact:
        # The joint histograms with their rows' moments, summed from their
        # cells rather than in a pass over the voxels of their own.
        (record,) = run_pass([histograms.statistic(replace(
            options, moment_thresholds=request.manual))], layout)
        m, n_reads = moments.finalize(record.moments), 1
    else:
        statistics = [moments.statistic(moments.MomentOptions(request.pairs, request.rules,
                                                              request.manual))]
        if request.needs_tables:
            statistics.append(extrema_statistic(request.rules))
        results = run_pass(statistics, layout)
        m = results[0]
    if not request.needs_tables:
        return Measurement(m, {}, 1)
    if not exact:
        grids = tuple(Grid.covering(low, high) for low, high in results[1])
        options = histograms.HistogramOptions(request.pairs, request.rules, grids,
                                              request.max_cells)
        (record,) = run_pass([histograms.statistic(options)], layout)
        n_reads = 2
    context = _Context(request, m, record, options, [_type_range(d) for d in kernel_dtypes])
    if record.joint:
        context.from_joint()
    else:
        n_reads += context.from_wide(layout)
    derived = {column: np.where(m.n_negative > 0, np.nan, values)
               if column in NONNEGATIVE_ONLY else values
               for column, values in context.derived.items()}
    return Measurement(m, derived, n_reads, context.walks,
                       "joint" if record.joint else "wide", context.notes)


def _type_range(dtype) -> tuple:
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return float(info.min), float(info.max)
    return -np.inf, np.inf


@dataclass
class _Row:
    index: int  # row of the histogram record
    key: int  # row of the moments
    pair: int
    axis_a: Axis
    axis_b: Axis


class _Context:
    """Per (key, pair) derivations from the histograms of one analysis."""

    def __init__(self, request: Request, m: moments.Moments, record, options, type_ranges):
        self.request, self.m, self.record, self.options = request, m, record, options
        self.type_ranges = type_ranges
        self.derived = {c: np.full(m.n.shape, np.nan) for c in DERIVED}
        self.walks, self.notes = {}, []
        # Coloc 2 regresses on every measured voxel: the exact moments.
        self.slope, self.intercept = metrics.orthogonal_regression(m)
        key_row = {(int(r), int(s)): i for i, (r, s) in enumerate(m.keys)}
        self.rows = []
        for index, (region, slice_, pair) in enumerate(record.keys):
            ia, ib = request.pairs[pair]
            extent = record.extents[index]
            self.rows.append(_Row(index, key_row[(int(region), int(slice_))], int(pair),
                                  self._axis(ia, extent[histograms.LO_A], extent[histograms.HI_A]),
                                  self._axis(ib, extent[histograms.LO_B], extent[histograms.HI_B])))

    def _axis(self, channel: int, lo: int, hi: int) -> Axis:
        low, high = self.type_ranges[channel]  # finite for integer data (_type_range)
        if self.options.grids is None:
            return Axis(int(lo), int(hi), type_min=low, type_max=high)
        grid = self.options.grids[channel]  # wide integers and floats
        return Axis(int(lo), int(hi), grid.step, grid.base, low, high,
                    integer=bool(np.isfinite(low)))

    def _set(self, row: _Row, values: dict):
        for column, value in values.items():
            self.derived[column][row.key, row.pair] = value

    def _marginals(self, row: _Row):
        table = self.record.table(row.index)
        return table.marginals() if self.record.joint else table

    # ------------------------------------------------------------ thresholds
    def walk(self, method: str, row: _Row, table: JointTable | None = None) -> Walk:
        """The method's walk on its regression line (:meth:`_line`)."""
        return Walk(method, row.axis_a, row.axis_b, self._line(method, row, table),
                    scale=self._scale(row))

    def _line(self, method: str, row: _Row, table: JointTable | None):
        """Coloc 2 regresses on every measured voxel; CellProfiler on voxels
        with a > 0 or b > 0 and JACoP on voxels with a ≥ 0 and b ≥ 0.
        Without negative values these sets are all voxels, less (for
        CellProfiler) those with a = b = 0, whose sums are 0: the moments
        give every line.  With negative values CellProfiler's and JACoP's
        sets need the joint table (undefined without one)."""
        key, pair, m = row.key, row.pair, self.m
        if method.startswith("coloc2"):
            return self.slope[key, pair], self.intercept[key, pair]
        if m.n_negative[key, pair] > 0:
            return (np.nan, np.nan) if table is None else regression(method, table)
        if method == "jacop":
            slope = m.cab[key, pair] / m.caa[key, pair] if m.caa[key, pair] else np.nan
            return slope, m.mean_b[key, pair] - slope * m.mean_a[key, pair]
        n = m.n[key, pair] - self.record.extents[row.index, histograms.N_ZERO]
        if n < 2:
            return np.nan, np.nan
        sa, sb = m.sa[key, pair], m.sb[key, pair]
        slope = costes.orthogonal_slope(m.saa[key, pair] - sa * sa / n,
                                        m.sbb[key, pair] - sb * sb / n,
                                        m.sab[key, pair] - sa * sb / n)
        return slope, sb / n - slope * sa / n

    def _scale(self, row: _Row):
        """CellProfiler's rescaling: the larger data type's maximum (255,
        65535, ...), 1 for float data, or the requested scale."""
        if self.request.scale is not None:
            return float(self.request.scale)
        top = max(row.axis_a.type_max, row.axis_b.type_max)
        return top if np.isfinite(top) else 1.0

    def _fixed_thresholds(self, row: _Row):
        """Manual or automatic (T_a, T_b) in data units."""
        request = self.request
        if request.threshold_method == "manual":
            return tuple(request.manual[row.pair])
        counts_a, counts_b = self._marginals(row)
        options = dict(percentile=request.percentile, percent_of_max=request.percent_of_max)
        return tuple(thresholds.auto_threshold(
            counts, axis.data(np.arange(axis.lo, axis.hi + 1)), request.threshold_method,
            **options) for counts, axis in ((counts_a, row.axis_a), (counts_b, row.axis_b)))

    def _resolved(self, row: _Row, result: CostesResult | None, t_a, t_b):
        """Record the thresholds; their gates, or None when undefined."""
        self._set(row, {"threshold_a": t_a, "threshold_b": t_b})
        if result is not None:
            self.walks[(row.key, row.pair)] = result
        return _gates(result, t_a, t_b, row.axis_a, row.axis_b)

    def _coefficients(self, row: _Row, sums: ThresholdSums):
        wanted = self.request.wanted()
        self._set(row, {c: v for c, v in coefficients(sums, self.request.convention).items()
                        if c in wanted})

    # ------------------------------------------------------------------ joint
    def from_joint(self):
        """Every row from its joint table.  The rows that the record's last
        merge left as parts (:meth:`~.stats.histograms.HistogramRecord.table`)
        and that may hold :data:`THREADED_ROW_CELLS` cells are summed on this
        process's threads (nogil kernels); rows of at least that many cells
        are then derived on the threads (each writes only its own cells and
        walk), and the others one after the other, while another thread
        sweeps their tables for Kendall's S, Spearman's rank products and
        the ICQ sign counts (:func:`~.stats.sweep.prepare`, no GIL needed).
        Chosen on the summed cells, the rows on threads do not depend on the
        chunking."""
        record, metric_keys = self.record, self.request.metrics
        map_local(record.table, [row.index for row in self.rows
                                 if record.cell_bound(row.index) >= THREADED_ROW_CELLS])
        big = {row.index for row in self.rows
               if record.table(row.index).cells.size >= THREADED_ROW_CELLS}
        map_local(self._from_joint_row, [row for row in self.rows if row.index in big])
        small = [row for row in self.rows if row.index not in big]
        tables = [self._table(row) for row in small]
        swept = start_local(sweep.prepare(
            tables, [self._means(row) for row in small], "kendall" in metric_keys,
            "srcc" in metric_keys, "icq" in metric_keys))
        for row, table in zip(small, tables):
            self._thresholds_of_joint_row(row, table)
        for row, table, found in zip(small, tables, swept()):
            self._order_statistics(row, table, found)
        self.walks = dict(sorted(self.walks.items()))  # row order, whatever the threads did

    def _table(self, row: _Row) -> JointTable:
        return JointTable(self.record.table(row.index), row.axis_a, row.axis_b)

    def _means(self, row: _Row) -> tuple:
        return self.m.mean_a[row.key, row.pair], self.m.mean_b[row.key, row.pair]

    def _from_joint_row(self, row: _Row):
        """Every metric of a row."""
        table = self._table(row)
        self._order_statistics(row, table, sweep.NOT_SWEPT)
        self._thresholds_of_joint_row(row, table)

    def _order_statistics(self, row: _Row, table: JointTable, found: "sweep.Swept"):
        """Spearman, Kendall and ICQ, from what a sweep found (None: computed
        here; Kendall first, whose sweep gives Spearman the marginals)."""
        metric_keys = self.request.metrics
        if found.marginals is not None:
            table.table.take_marginals(*found.marginals)  # (held once, used by both)
        if "kendall" in metric_keys:
            self._set(row, dict(zip(("kendall", "kendall_pvalue"),
                                    ranks.kendall(table.table, found.s))))
        if "srcc" in metric_keys:
            self._set(row, dict(zip(("srcc", "srcc_pvalue"), table.spearman() if
                                    found.rank_products is None else
                                    ranks.spearman(found.rank_products, *table.table.marginals()))))
        if "icq" in metric_keys:
            self._set(row, {"icq": table.icq(*self._means(row), self.request.icq_convention)
                            if found.signs is None else
                            icq_from_signs(found.signs, table.n, self.request.icq_convention)})

    def _thresholds_of_joint_row(self, row: _Row, table: JointTable):
        """The row's thresholds and the coefficients at them."""
        metric_keys = self.request.metrics
        if not self.request.thresholded:
            return
        result = None
        if self.request.costes_method is not None:
            walk = self.walk(self.request.costes_method, row, table)
            result = walk.replay(None if walk.staircase is None else
                                 table.below(walk.staircase), table.below_at)
            t_a, t_b = result.threshold_a, result.threshold_b
        else:
            t_a, t_b = self._fixed_thresholds(row)
        gates = self._resolved(row, result, t_a, t_b)
        if gates is not None:
            self._coefficients(row, threshold_sums(table, *gates, rwc=(
                "rwc" in metric_keys and self.request.convention == "cellprofiler")))

    # ------------------------------------------------------------------ wide
    def from_wide(self, layout: Layout) -> int:
        """Derive everything from the marginals and per-voxel reads; returns
        the number of reads added.  The rows are read in batches whose plans
        and tables fit :data:`WIDE_READ_BYTES` (one batch, hence one read
        and at most one refinement read, unless there are very many wide
        rows; a note then gives the number of batches)."""
        request = self.request
        kendall = self._kendall_options() if "kendall" in request.metrics else None
        extra = [histograms.statistic(kendall)] if kendall is not None else []
        reads, refine = 0, []
        for plan in _WidePlan.batches(self, [(row, None) for row in self.rows]):
            if not plan.flags.any() and all(w is None for w in plan.walks) and not extra:
                continue  # the marginals gave everything (thresholds alone)
            results = run_pass([pairstats.statistic(plan.finish(), self.options)] + extra,
                               layout)
            reads += 1
            if extra:
                self._kendall(results[1])
                extra = []
            for number, row in enumerate(plan.rows):
                gates = plan.derive(number, row, results[0])
                if gates is not None and request.wanted() - plan.done[number]:
                    refine.append((row, gates, plan.done[number]))
            del plan, results  # before the next batch (_WidePlan.batches)
        if reads > 1:
            self.notes.append(
                f"the per-voxel tables of {len(self.rows)} rows exceed the memory budget of one "
                f"read (WIDE_READ_BYTES = {WIDE_READ_BYTES:,} bytes): they took {reads} reads")
        first = 0
        for plan in _WidePlan.batches(self, [(row, gates) for row, gates, _ in refine],
                                      gated=True):
            (record,) = run_pass([pairstats.statistic(plan.finish(), self.options)], layout)
            reads += 1
            for number, (row, gates, done) in enumerate(refine[first:first + len(plan.rows)]):
                plan.derive_gated(number, row, record, gates, skip=done)
            first += len(plan.rows)
            del plan, record
        return reads

    def _kendall_options(self) -> histograms.HistogramOptions | None:
        """Joint histograms for Kendall that surely fit the budget: values of
        every channel in bins of 2**shift values, the smallest shift at which
        the rows' non-empty cells (at most min(voxels, extent) each) surely
        fit ``max_cells``.  None, with a note,
        when even the coarsest bins (one or two per channel and row, at the
        shift of the values' bit length) hold more cells than the budget:
        more rows than ``max_cells``; Kendall's tau is then NaN."""
        def binned_cells(shift):
            return np.array([((r.axis_a.hi >> shift) - (r.axis_a.lo >> shift) + 1)
                             * ((r.axis_b.hi >> shift) - (r.axis_b.lo >> shift) + 1)
                             for r in self.rows], np.int64)

        n = self.record.extents[[r.index for r in self.rows], histograms.N]
        coarsest = max((int(v).bit_length() for r in self.rows for v in (
            r.axis_a.lo, r.axis_a.hi, r.axis_b.lo, r.axis_b.hi)), default=0)
        shift = 0
        while True:
            cells = binned_cells(shift)
            if np.minimum(cells, n).sum() <= self.request.max_cells:
                break
            if shift >= coarsest:
                self.notes.append(
                    f"kendall: {len(self.rows)} rows need more joint cells than the budget of "
                    f"{self.request.max_cells} however coarse their bins; tau-b is NaN")
                return None
            shift += 1
        if shift:
            collapsed = sum(any(lo < hi and lo >> shift == hi >> shift for lo, hi in (
                (r.axis_a.lo, r.axis_a.hi), (r.axis_b.lo, r.axis_b.hi))) for r in self.rows)
            self.notes.append(
                f"kendall: the exact joint tables of {len(self.rows)} rows exceed the budget of "
                f"{self.request.max_cells} cells; tau-b is that of the values binned by "
                f"{2**shift} (approximate)" + (
                    f"; {collapsed} of them have a channel's values in one bin: their tau-b is NaN"
                    if collapsed else ""))
        n_channels = len(self.type_ranges)
        return histograms.HistogramOptions(self.options.pairs, self.options.rules,
                                           self.options.grids, self.request.max_cells,
                                           (shift,) * n_channels)

    def _kendall(self, record):
        index = {tuple(int(v) for v in key): i for i, key in enumerate(record.keys)}
        for row in self.rows:
            found = index.get(tuple(int(v) for v in self.record.keys[row.index]))
            if found is not None and record.joint:
                self._set(row, dict(zip(("kendall", "kendall_pvalue"),
                                        ranks.kendall(record.table(found)))))


class _WidePlan:
    """Per-row inputs of a per-voxel read of a batch of rows, and the
    derivations after it (``number``: a row's position in the batch)."""

    @classmethod
    def batches(cls, context: _Context, pending: list, gated: bool = False):
        """Plans of consecutive batches of ``pending`` ((row, gates) pairs,
        gates None unless ``gated``: the sums at known gates only), each
        holding as many rows as fit :data:`WIDE_READ_BYTES` (at least one).
        A plan's Costes walks are reference cycles (closures over the walk):
        they are collected before the next batch is planned, so that the
        staircases of earlier batches do not pile up (the caller drops its
        reference to the plan first)."""
        while pending:
            plan = cls(context, pending, gated)
            pending = pending[len(plan.rows):]
            yield plan
            del plan
            if pending:
                gc.collect()

    def __init__(self, context: _Context, pending: list, gated: bool = False):
        self.context = context
        n_rows = len(pending)
        self.lo = np.zeros((n_rows, 4), np.int64)
        self.flags = np.zeros(n_rows, np.int64)
        self.means = np.zeros((n_rows, 2))
        self.gates = np.zeros((n_rows, 4), np.int64)
        self.dense_top = np.ones(n_rows, np.int64)
        self.ranks, self.cuts, self.dense = [], [], []
        self.rank_off = np.zeros((n_rows, 2), np.int64)
        self.cut_off = np.zeros((n_rows, 4), np.int64)
        self.cut_kind = np.zeros(n_rows, np.int64)
        self.cut_cells = np.zeros(n_rows, np.int64)
        self.dense_off = np.zeros((n_rows, 2), np.int64)
        self.walks = [None] * n_rows
        self.fixed = [None] * n_rows
        self.done = [set() for _ in range(n_rows)]  # columns the Costes tables gave
        self._sizes = {"ranks": 0, "cuts": 0, "dense": 0, "tables": 0}  # int64 words
        self.rows = []
        for number, (row, gates) in enumerate(pending):
            before = ({name: len(getattr(self, name)) for name in ("ranks", "cuts", "dense")},
                      dict(self._sizes))
            self.lo[number] = (row.axis_a.lo, row.axis_b.lo, row.axis_a.hi, row.axis_b.hi)
            counts_a, counts_b = context._marginals(row)
            if gated:
                self._gated(number, row, gates, counts_a, counts_b)
            else:
                self._plan(number, row, counts_a, counts_b)
            if self.rows and 8 * sum(self._sizes.values()) > WIDE_READ_BYTES:
                for name, size in before[0].items():  # the next batch's first row
                    del getattr(self, name)[size:]
                self._sizes = before[1]
                break
            self.rows.append(row)
        for name in ("lo", "flags", "means", "gates", "dense_top", "rank_off", "cut_off",
                     "cut_kind", "cut_cells", "dense_off", "walks", "fixed", "done"):
            setattr(self, name, getattr(self, name)[:len(self.rows)])

    def _plan(self, number: int, row: _Row, counts_a, counts_b):
        context, request = self.context, self.context.request
        if "srcc" in request.metrics:
            self.flags[number] |= 1 | (64 if counts_a.sum() <= pairstats.EXACT_RANK_N else 0)
            self.rank_off[number] = (self._append("ranks", ranks.centred_ranks(counts_a)),
                                     self._append("ranks", ranks.centred_ranks(counts_b)))
        if "icq" in request.metrics:
            self.flags[number] |= 2
            self.means[number] = (
                context.m.mean_a[row.key, row.pair] / row.axis_a.step - row.axis_a.base,
                context.m.mean_b[row.key, row.pair] / row.axis_b.step - row.axis_b.base)
        if not request.thresholded:
            return
        if request.costes_method is None:
            t_a, t_b = context._fixed_thresholds(row)
            self.fixed[number] = (t_a, t_b)
            gates = context._resolved(row, None, t_a, t_b)
            if gates is not None and request.wanted():
                self._gated(number, row, gates, counts_a, counts_b)
            return
        walk = context.walk(request.costes_method, row)
        self.walks[number] = walk
        if walk.staircase is None:
            return
        self.flags[number] |= 4
        self.cut_kind[number] = 1 if walk.staircase.kind == "or" else 2
        self.cut_cells[number] = len(walk.staircase.gate_a)
        values_a = np.arange(row.axis_a.lo, row.axis_a.hi + 1)
        values_b = np.arange(row.axis_b.lo, row.axis_b.hi + 1)
        self.cut_off[number, :2] = (
            self._append("cuts", walk.staircase.cutoffs(values_a, "a")),
            self._append("cuts", walk.staircase.cutoffs(values_b, "b")))
        # the staircase (gates and sample points) and its merged tables: six
        # sums and two Manders sums, two words each, per cell kept
        # (pairstats.added; then the above's)
        kept = pairstats.THIN_ROW * int(context.record.extents[row.index, histograms.N])
        cells = self.cut_cells[number] + 1
        self._sizes["tables"] += walk.staircase.words + 2 * 8 * min(cells, kept)
        if walk.above is not None and "pcc_above" in request.wanted():
            self.flags[number] |= 8
            self.cut_off[number, 2:] = (
                self._append("cuts", walk.above.cutoffs(values_a, "a")),
                self._append("cuts", walk.above.cutoffs(values_b, "b")))
            cells = len(walk.above.gate_a) + 1
            self._sizes["tables"] += walk.above.words + 2 * 6 * min(cells, kept)

    def _gated(self, number, row, gates, counts_a, counts_b):
        self.flags[number] |= 16
        self.gates[number] = gates
        request = self.context.request
        if "rwc" in request.metrics and request.convention == "cellprofiler":
            self.flags[number] |= 32
            dense_a, dense_b = ranks.dense_ranks(counts_a), ranks.dense_ranks(counts_b)
            self.dense_top[number] = max(dense_a.max(initial=0), dense_b.max(initial=0)) + 1
            self.dense_off[number] = (self._append("dense", dense_a),
                                      self._append("dense", dense_b))

    def _append(self, name: str, values) -> int:
        getattr(self, name).append(np.asarray(values))
        offset = self._sizes[name]
        self._sizes[name] += len(values)
        return offset

    def finish(self) -> pairstats.RowPlan:
        """The read's :class:`~.stats.pairstats.RowPlan`; the per-row lookup
        tables move into it (the derivations do not need them)."""
        def flat(name):
            """The parts in one array, each released once copied (not all
            held twice, as by a concatenation)."""
            parts, end = getattr(self, name), self._sizes[name]
            setattr(self, name, None)
            out = np.zeros(max(end, 1), np.int64)
            while parts:
                part = parts.pop()
                out[end - len(part):end] = part
                end -= len(part)
            return out

        return pairstats.RowPlan(
            self.context.record.keys[[row.index for row in self.rows]], self.lo, self.flags,
            self.rank_off, flat("ranks"), self.means, self.cut_off, flat("cuts"), self.cut_kind,
            self.gates, self.dense_off, flat("dense"), self.dense_top)

    # -- after the read ----------------------------------------------------------
    def derive(self, number: int, row: _Row, record: pairstats.PairStatsRecord):
        """Fill the row's columns; returns the Costes gates (or None)."""
        context, request = self.context, self.context.request
        ints = _ints(record, number)
        counts_a, counts_b = context._marginals(row)
        if self.flags[number] & 1:
            product = pairstats.words(ints, pairstats.RANK_HI) \
                if self.flags[number] & 64 else float(record.floats[number, pairstats.RANK_FLOAT])
            context._set(row, dict(zip(("srcc", "srcc_pvalue"),
                                       ranks.spearman(product, counts_a, counts_b))))
        if self.flags[number] & 2:
            context._set(row, {"icq": icq_from_counts(
                ints[pairstats.ICQ_POSITIVE], ints[pairstats.ICQ_ZERO],
                ints[pairstats.ICQ_COUNTED], request.icq_convention)})
        tables = record.tables.get(number)
        if self.fixed[number] is not None:
            gates = context._resolved(row, None, *self.fixed[number])
            if gates is not None:
                self.derive_gated(number, row, record, gates)
            return None
        walk = self.walks[number]
        if walk is None:
            return None
        if walk.staircase is None or tables is None:
            result = walk.replay(None)
            context._resolved(row, result, result.threshold_a, result.threshold_b)
            return None
        per_cell = _cell_sums(tables.below, self.cut_cells[number])
        below = Sums(*(x[:-1] for x in per_cell.suffix()))
        result = walk.replay((pearson(below), np.asarray(below.n, dtype=np.float64)))
        gates = context._resolved(row, result, result.threshold_a, result.threshold_b)
        if gates is None:
            return None
        cell = int(walk.staircase.cells([gates[0]], [gates[1]])[0])
        if cell < 0:
            return gates
        sums = ThresholdSums(
            row.axis_a, row.axis_b, _tail(counts_a, row.axis_a, row.axis_a.lo),
            _tail(counts_b, row.axis_b, row.axis_b.lo),
            float(_up_to(tables.manders_a, cell)) * row.axis_a.step,
            float(_up_to(tables.manders_b, cell)) * row.axis_b.step,
            _tail(counts_a, row.axis_a, gates[0]), _tail(counts_b, row.axis_b, gates[1]))
        if walk.staircase.kind == "or":  # the both-above set is the complement
            total = [x.sum() for x in per_cell]
            sums.below = Sums(*(np.array([x[cell]], dtype=object) for x in below))
            sums.both = Sums(*(np.array([t - x[cell]], dtype=object)
                               for t, x in zip(total, below)))
            done = {"tm1", "tm2", "pcc_below", "overlap", "k1", "k2"}
            not_above = _above_complement(walk, gates[2:], row, tables.above)
            if not_above is not None:  # the above set is the complement
                sums.above = Sums(*(np.array([t - x], dtype=object)
                                    for t, x in zip(total, not_above)))
                done.add("pcc_above")
        elif request.convention == "coloc2":
            done = {"tm1", "tm2"}
        else:  # JACoP's and-set tables give no CellProfiler sums: all in the next read
            return gates
        self.done[number] = done & request.wanted()
        values = coefficients(sums, request.convention)
        context._set(row, {c: v for c, v in values.items() if c in self.done[number]})
        return gates

    def derive_gated(self, number: int, row: _Row, record, gates, skip=frozenset()):
        """Coefficients from the sums at known gates of this read (leaving
        the columns in ``skip``)."""
        ints = _ints(record, number)
        counts_a, counts_b = self.context._marginals(row)
        six = lambda start: Sums(*(np.array([ints[start + i]], dtype=object)  # noqa: E731
                                   for i in range(6)))
        step_a, step_b = row.axis_a.step, row.axis_b.step
        sums = ThresholdSums(
            row.axis_a, row.axis_b, _tail(counts_a, row.axis_a, row.axis_a.lo),
            _tail(counts_b, row.axis_b, row.axis_b.lo),
            float(ints[pairstats.TM_A]) * step_a, float(ints[pairstats.TM_B]) * step_b,
            float(ints[pairstats.DEN_A]) * step_a, float(ints[pairstats.DEN_B]) * step_b,
            below=six(pairstats.BELOW), above=six(pairstats.ABOVE), both=six(pairstats.BOTH),
            rwc_a=rwc_numerator(pairstats.words(ints, pairstats.RWC_A_HI),
                                ints[pairstats.RWC_WEIGHT], row.axis_a, self.dense_top[number]),
            rwc_b=rwc_numerator(pairstats.words(ints, pairstats.RWC_B_HI),
                                ints[pairstats.RWC_WEIGHT], row.axis_b, self.dense_top[number]))
        wanted = self.context.request.wanted() - set(skip)
        self.context._set(row, {c: v for c, v in coefficients(
            sums, self.context.request.convention).items() if c in wanted})


def _cell_sums(table: pairstats.CutTable, n_cells: int) -> Sums:
    """The six sums per cut-off index 0…``n_cells`` of a Costes table, as
    Python integers."""
    bins = np.zeros((n_cells + 1, 6), dtype=object)
    bins[table.at(0)] = _words((table.hi, table.lo))
    return Sums(*(bins[:, i] for i in range(6)))


def _up_to(table: pairstats.CutTable, cell: int) -> int:
    """Σ of a one-field Costes table over the cut-off indices ≤ ``cell``
    (the sums of its words: exact in int64 below 2**94)."""
    k = table.entries_up_to(cell)
    return int(table.hi[:k].sum()) * 2**32 + int(table.lo[:k].sum())


def _above_complement(walk: Walk, gates, row: _Row, table):
    """The six sums of ``a < gates[0] and b < gates[1]`` (the strictly-above
    gates) from the cut-off table of the walk's above staircase, or
    None without the table or when the gate pair is not on the staircase."""
    if table is None:
        return None
    staircase = walk.above
    cell = int(staircase.cells([row.axis_a.clamp(gates[0])], [row.axis_b.clamp(gates[1])])[0])
    if cell < 0:
        return None
    return [x[cell + 1:].sum() for x in _cell_sums(table, len(staircase.gate_a))]


def _ints(record, number: int) -> list:
    return list(exact.to_int(record.hi[number], record.lo[number]))


def _words(pair) -> np.ndarray:
    return exact.to_int(*pair)


def _tail(counts, axis: Axis, gate: int) -> float:
    """Σ of data values at or above the gate, from a marginal histogram (the
    gate ``axis.lo``: the channel's total, on the same grid as the
    thresholded sums, as the joint tables give it)."""
    units = np.arange(axis.lo, axis.hi + 1)
    keep = units >= gate
    return float((counts[keep].astype(object) * (units[keep] + axis.base).astype(object)).sum()) \
        * axis.step


def _gates(result: CostesResult | None, t_a, t_b, axis_a: Axis, axis_b: Axis):
    """(gate_a, gate_b, above_a, above_b) in histogram units, or None when a
    threshold is undefined: a ≥ gate_a is at/above T_a, a ≥ above_a strictly
    above (:meth:`~.stats.costes.Axis.gt_gate`: integers ⌊T⌋ + 1, float
    grids the ≥ gate of T)."""
    if not (np.isfinite(t_a) and np.isfinite(t_b)):
        return None
    if result is not None and result.gate_a is not None:
        gate_a, gate_b = result.gate_a, result.gate_b
    else:
        gate_a, gate_b = int(axis_a.ge_gate(t_a)), int(axis_b.ge_gate(t_b))
    return gate_a, gate_b, int(axis_a.gt_gate(t_a)), int(axis_b.gt_gate(t_b))


def regression(method: str, table: JointTable):
    """The regression line (data units) of a CellProfiler or JACoP walk over
    its voxel set: CellProfiler voxels with a > 0 or b > 0 (orthogonal),
    JACoP voxels with a ≥ 0 and b ≥ 0 (least squares).  Centred sums are
    exact in histogram units and scaled to data units (the grid shifts
    cancel)."""
    zero_a, zero_b = table.axis_a.ge_gate(0.0), table.axis_b.ge_gate(0.0)
    if method == "jacop":
        s = table.sums(table.select(lambda a, b: (a >= zero_a) & (b >= zero_b)))
    else:
        s = table.sums(table.select(lambda a, b: (a > zero_a) | (b > zero_b)))
    n = s.n[0]
    if n < 2:
        return np.nan, np.nan
    step_a, step_b = table.axis_a.step, table.axis_b.step
    c_aa = float(n * s.aa[0] - s.a[0] ** 2) * step_a**2
    c_bb = float(n * s.bb[0] - s.b[0] ** 2) * step_b**2
    c_ab = float(n * s.ab[0] - s.a[0] * s.b[0]) * step_a * step_b
    mean_a = float(table.axis_a.data(float(s.a[0]) / float(n)))
    mean_b = float(table.axis_b.data(float(s.b[0]) / float(n)))
    if method == "jacop":
        slope = c_ab / c_aa if c_aa else np.nan
    else:
        slope = costes.orthogonal_slope(c_aa, c_bb, c_ab)
    return slope, mean_b - slope * mean_a
