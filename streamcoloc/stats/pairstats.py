"""Joint quantities voxel by voxel: the second read when joint tables are too big.

When the non-empty joint-histogram cells of all (region, slice, pair) rows
would exceed their budget (uncorrelated 16-bit data, very many regions), or
a row's value extent is too wide for a dense count, the first read keeps the
marginal histograms only (:mod:`.histograms`).  They give each row's exact
mid-rank tables, its automatic thresholds and, with the moments, the Costes
regression and staircase; this read then accumulates per row:

* Σ c_a·c_b of doubled centred mid-ranks (Spearman; exact — int64 per run
  of at most 2048 voxels, carried as two words — while n ≤ 2**25, float64
  above);
* the counts of positive and zero products (a − ā)(b − b̄) (Li's ICQ);
* the Costes cut-off histogram: the six sums per staircase cell of the
  voxels whose cut-off is that cell, plus Σa over b ≥ 1 and Σb over a ≥ 1
  per cut-off of each channel (thresholded Manders at any cell); for Coloc
  2's walks a second one over the 'and' staircase of the strictly-above
  gates (Pearson above the thresholds at any cell).  A chunk counts a row
  in dense tables over its span of cut-offs, or, for a row with far fewer
  voxels than cut-offs (:data:`THIN_ROW`), lists its voxels' cut-offs and
  sums them by sorting: a chunk's tables never outgrow its voxels;
* at known gates: the six sums of the below, above and both-above sets,
  Σa over b ≥ g_b, Σb over a ≥ g_a and the RWC numerators.

Sums are int64 within a chunk (≤ 2**30 voxels of 16-bit values) and merged
exactly as pairs of words (:mod:`.exact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import NamedTuple

import numba
import numpy as np

from . import exact
from .base import Statistic
from .histograms import HistogramOptions, _integer_channels
from .regions import ChunkRegions
from .voxels import VoxelRules, measured_pair

# Per-row scalar sums (int64).  Six-sum sets hold n, Σa, Σb, Σa², Σb², Σab in
# histogram units; Manders-type sums hold data/step values (units − zero).
RANK_HI, RANK_LO, ICQ_POSITIVE, ICQ_ZERO, ICQ_COUNTED = range(5)
BELOW, ABOVE, BOTH = 5, 11, 17  # first field of each six-sum set
TM_A, TM_B, DEN_A, DEN_B = 23, 24, 25, 26  # Σa[b ≥ g_b, b > 0], Σb[a ≥ g_a, a > 0],
#                                             Σa[a ≥ g_a], Σb[b ≥ g_b]
# RWC over the both-above set, W = top − |rank_a − rank_b| (integers): Σ a·W and
# Σ b·W (kernel units, two words each as the rank sums), and Σ W.
RWC_A_HI, RWC_A_LO, RWC_B_HI, RWC_B_LO, RWC_WEIGHT = range(27, 32)
N_INT = 32
RANK_FLOAT = 0  # per-row float64 sum: rank products beyond EXACT_RANK_N voxels
N_FLOAT = 1
EXACT_RANK_N = 2**25
#: A chunk's row with fewer than one voxel per THIN_ROW cut-off indices of
#: its span writes its voxels' cut-offs to a list that is sorted and summed
#: (:func:`_thin_tables`) rather than into dense tables over the span: a
#: chunk then holds at most ~THIN_ROW · 14 table words per voxel, whatever
#: the rows' value ranges (thousands of small regions of full-range 16-bit
#: data would otherwise take 14 words per value of every row's range).
THIN_ROW = 8


@numba.njit(inline="always")
def _add_six(out, base, x, y):
    out[base] += 1
    out[base + 1] += x
    out[base + 2] += y
    out[base + 3] += x * x
    out[base + 4] += y * y
    out[base + 5] += x * y


@numba.njit(inline="always")
def _add_words(out, hi, value):
    """Add an int64 run sum (< 2**61) to fields ``hi`` and ``hi + 1`` of
    ``out`` as two words (high, low 32 bits): a chunk's fields cannot
    overflow, and :func:`words` gives the exact total back."""
    out[hi] += value >> 32
    out[hi + 1] += value & 0xFFFFFFFF


def words(ints, hi: int) -> int:
    """The exact total of the two words at fields ``hi``, ``hi + 1`` of a
    row's integer sums (:func:`_add_words`)."""
    return ints[hi] * 2**32 + ints[hi + 1]


@numba.njit(inline="always")
def _above_cell(cuts, cut_off, row, ua, ub):
    """Cut-off index of a voxel on the 'and' staircase of the above gates."""
    return min(cuts[cut_off[row, 2] + ua], cuts[cut_off[row, 3] + ub])


@numba.njit(nogil=True, cache=True)
def _accumulate(channels, pairs, plane_start, run_start, run_stop, run_region, settings,
                row_of, lo, flags, rank_off, ranks, means, zero, cut_off, cuts, cut_kind,
                cut_span, bin_off, bins, tm_off, tm, slot, thin_cells, thin_values, gates,
                dense_off, dense, dense_top, ints, floats):
    """Add one chunk into per-row sums (``ints``, ``floats``: rows × fields)
    and per-row tables (``bins`` at ``bin_off[row, 0]``, ``tm``, over the
    cut-off indices ``cut_span[row, 0]`` to ``cut_span[row, 1]``; with flag
    8 the above-gate table at ``bin_off[row, 1]`` over ``cut_span[row, 2]``
    to ``cut_span[row, 3]``, cut-offs at ``cut_off[row, 2:4]``); a thin row
    (``slot[row]`` ≥ 0) writes its voxels' cut-off indices (below, above,
    K_a, K_b) and values to ``thin_cells``/``thin_values`` from that slot on
    instead.
    ``flags[row]`` bits: 1 ranks, 2 ICQ, 4 cut-offs, 8 above-gate cut-offs,
    16 gated sums, 32 RWC, 64 exact rank sums."""
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia, ib = pairs[k, 0], pairs[k, 1]
        for s in range(channels[0].shape[0]):
            plane = s if n_label_planes > 1 else 0
            for r in range(plane_start[plane], plane_start[plane + 1]):
                row = row_of[run_region[r], s, k]
                if row < 0:
                    continue
                a = channels[ia][s][run_start[r]:run_stop[r]]
                b = channels[ib][s][run_start[r]:run_stop[r]]
                f = flags[row]
                lo_a, lo_b = lo[row, 0], lo[row, 1]
                out = ints[row]
                run_rank = np.int64(0)
                run_rank_float = 0.0
                run_rwc_a = run_rwc_b = np.int64(0)
                positive, zeros, counted = np.int64(0), np.int64(0), np.int64(0)
                mean_a, mean_b = means[row, 0], means[row, 1]
                for q in range(a.size):
                    keep, x, y = measured_pair(np.int64(a[q]), np.int64(b[q]),
                                               settings[ia], settings[ib])
                    if not keep:
                        continue
                    ua, ub = x - lo_a, y - lo_b
                    if f & 1:
                        product = ranks[rank_off[row, 0] + ua] * ranks[rank_off[row, 1] + ub]
                        if f & 64:
                            run_rank += product
                        else:
                            run_rank_float += float(product)
                    if f & 2:
                        sa = np.int64(x > mean_a) - np.int64(x < mean_a)
                        sb = np.int64(y > mean_b) - np.int64(y < mean_b)
                        positive += sa * sb > 0
                        zeros += sa * sb == 0
                        counted += 1
                    if f & 4:
                        ka = cuts[cut_off[row, 0] + ua]
                        kb = cuts[cut_off[row, 1] + ub]
                        cell = max(ka, kb) if cut_kind[row] == 1 else min(ka, kb)
                        j = slot[row]
                        if j >= 0:  # a thin row: this voxel's cut-offs, reduced after
                            slot[row] = j + 1
                            thin_cells[j, 0], thin_cells[j, 2], thin_cells[j, 3] = cell, ka, kb
                            if f & 8:
                                thin_cells[j, 1] = _above_cell(cuts, cut_off, row, ua, ub)
                            thin_values[j, 0], thin_values[j, 1] = x, y
                        else:
                            first = cut_span[row, 0]
                            _add_six(bins, bin_off[row, 0] + 6 * (cell - first), x, y)
                            if f & 8:  # 'and' staircase: the complement of the above set
                                cell = _above_cell(cuts, cut_off, row, ua, ub)
                                _add_six(bins, bin_off[row, 1] + 6 * (cell - cut_span[row, 2]),
                                         x, y)
                            if y > zero[ib]:
                                tm[tm_off[row, 0] + kb - first] += x - zero[ia]
                            if x > zero[ia]:
                                tm[tm_off[row, 1] + ka - first] += y - zero[ib]
                    if f & 16:
                        ga, gb, above_a, above_b = gates[row, 0], gates[row, 1], gates[row, 2], \
                            gates[row, 3]
                        if (x < ga) | (y < gb):
                            _add_six(out, BELOW, x, y)
                        if (x >= above_a) | (y >= above_b):
                            _add_six(out, ABOVE, x, y)
                        both = (x >= ga) & (y >= gb)
                        if both:
                            _add_six(out, BOTH, x, y)
                        if (y >= gb) & (y > zero[ib]):
                            out[TM_A] += x - zero[ia]
                        if (x >= ga) & (x > zero[ia]):
                            out[TM_B] += y - zero[ib]
                        if x >= ga:
                            out[DEN_A] += x - zero[ia]
                        if y >= gb:
                            out[DEN_B] += y - zero[ib]
                        if (f & 32) != 0 and both:
                            weight = dense_top[row] - abs(dense[dense_off[row, 0] + ua]
                                                          - dense[dense_off[row, 1] + ub])
                            run_rwc_a += x * weight
                            run_rwc_b += y * weight
                            out[RWC_WEIGHT] += weight
                out[ICQ_POSITIVE] += positive
                out[ICQ_ZERO] += zeros
                out[ICQ_COUNTED] += counted
                _add_words(out, RANK_HI, run_rank)  # run sums of products: two words
                _add_words(out, RWC_A_HI, run_rwc_a)
                _add_words(out, RWC_B_HI, run_rwc_b)
                floats[row, RANK_FLOAT] += run_rank_float


@numba.njit(nogil=True, cache=True)
def _cut_span(channels, pairs, plane_start, run_start, run_stop, run_region, settings,
              row_of, lo, flags, cut_off, cuts, span, count):
    """``span[row]`` = (min, max) of the cut-off indices K_a, K_b of the
    chunk's measured voxels (rows with Costes tables), and (min, max) of
    the above-gate cut-offs (flag 8); ``count[row]``: those voxels."""
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia, ib = pairs[k, 0], pairs[k, 1]
        for s in range(channels[0].shape[0]):
            plane = s if n_label_planes > 1 else 0
            for r in range(plane_start[plane], plane_start[plane + 1]):
                row = row_of[run_region[r], s, k]
                if row < 0 or not flags[row] & 4:
                    continue
                a = channels[ia][s][run_start[r]:run_stop[r]]
                b = channels[ib][s][run_start[r]:run_stop[r]]
                low, high = span[row, 0], span[row, 1]
                low2, high2 = span[row, 2], span[row, 3]
                above = flags[row] & 8
                n = count[row]
                for q in range(a.size):
                    keep, x, y = measured_pair(np.int64(a[q]), np.int64(b[q]),
                                               settings[ia], settings[ib])
                    if keep:
                        n += 1
                        ua, ub = x - lo[row, 0], y - lo[row, 1]
                        ka, kb = cuts[cut_off[row, 0] + ua], cuts[cut_off[row, 1] + ub]
                        low, high = min(low, ka, kb), max(high, ka, kb)
                        if above:
                            cell = _above_cell(cuts, cut_off, row, ua, ub)
                            low2, high2 = min(low2, cell), max(high2, cell)
                span[row, 0], span[row, 1], span[row, 2], span[row, 3] = low, high, low2, high2
                count[row] = n


@dataclass
class RowPlan:
    """Per-row inputs of the read, all in histogram units (see module doc).

    ``rows`` are the histogram record's (region id, slice, pair) keys; the
    other arrays are indexed by row.
    """

    rows: np.ndarray
    lo: np.ndarray  # (rows, 4): lo_a, lo_b, hi_a, hi_b
    flags: np.ndarray
    rank_off: np.ndarray
    ranks: np.ndarray
    means: np.ndarray
    cut_off: np.ndarray  # (rows, 4): where K_a, K_b, and the above-gate K'_a, K'_b start
    cuts: np.ndarray
    cut_kind: np.ndarray
    gates: np.ndarray
    dense_off: np.ndarray
    dense: np.ndarray
    dense_top: np.ndarray
    index: dict = field(default_factory=dict)

    def __post_init__(self):
        self.index = {tuple(int(v) for v in key): i for i, key in enumerate(self.rows)}


class CutTable(NamedTuple):
    """Exact words ``hi``, ``lo`` (cells × fields) of sums per Costes
    cut-off index: at ``first``, ``first + 1``, … (``index`` None, a dense
    run) or at the sorted indices ``index`` (sparse: a thin row's, at most
    one entry per voxel)."""

    first: int
    hi: np.ndarray
    lo: np.ndarray
    index: np.ndarray | None = None

    @property
    def last(self) -> int:
        return self.first + len(self.hi) - 1 if self.index is None or not self.index.size \
            else int(self.index[-1])

    def entries_up_to(self, index: int) -> int:
        """How many entries have indices ≤ ``index``."""
        if self.index is None:
            return min(max(index - self.first + 1, 0), len(self.hi))
        return int(np.searchsorted(self.index, index, side="right"))

    def at(self, origin: int):
        """Positions of the entries in a dense table starting at ``origin``."""
        if self.index is None:
            return slice(self.first - origin, self.first - origin + len(self.hi))
        return self.index - origin


class CutTables(NamedTuple):
    """A row's Costes tables (:class:`CutTable`).  ``below``: the six sums
    of the voxels whose cut-off index is that cell; ``manders_a``:
    Σ(a − zero) over b > zero per K_b; ``manders_b``: Σ(b − zero) over
    a > zero per K_a; ``above``: the six sums over the above-gate
    staircase's cut-offs (None without flag 8)."""

    below: CutTable
    manders_a: CutTable
    manders_b: CutTable
    above: CutTable | None


@dataclass
class PairStatsRecord:
    """Per-row int sums as exact words (rows × N_INT), float sums, and the
    :class:`CutTables` of the rows that have Costes tables: {row: tables}."""

    hi: np.ndarray
    lo: np.ndarray
    floats: np.ndarray
    tables: dict


def added(tables: list) -> CutTable:
    """The tables' sum, added exactly on the span of their indices (one
    row's at a time); sparse (its non-zero entries) when fewer than one
    cell in :data:`THIN_ROW` holds sums (dense parts of a row whose values
    move from chunk to chunk leave gaps in the union), so a merged table
    holds at most THIN_ROW entries per occupied cell."""
    first, last = min(t.first for t in tables), max(t.last for t in tables)
    shape = (max(last - first + 1, 0),) + tables[0].hi.shape[1:]
    hi, lo = np.zeros(shape, np.int64), np.zeros(shape, np.int64)
    for table in tables:  # a table's indices are distinct
        hi[table.at(first)] += table.hi
        lo[table.at(first)] += table.lo
    hi, lo = exact.normalize(hi, lo)
    keep = np.flatnonzero(hi.any(axis=1) | lo.any(axis=1))
    if keep.size * THIN_ROW >= len(hi):
        return CutTable(first, hi, lo)
    return CutTable(first, hi[keep], lo[keep], first + keep)


def chunk(channels: list[np.ndarray], regions: ChunkRegions, plan: RowPlan,
          options: HistogramOptions) -> PairStatsRecord:
    blocks = _integer_channels(channels, options)
    rules = options.rules if options.grids is None else VoxelRules(
        None, (np.iinfo(np.int32).max,) * len(blocks))
    settings = rules.settings(len(blocks), exact_path=True)
    zero = np.array([0 if options.grids is None else -grid.base for grid in (
        options.grids or [None] * len(blocks))], np.int64)
    n_slices = blocks[0].shape[0]
    n_pairs = len(options.pairs)
    row_of = np.full((regions.ids.size, n_slices, n_pairs), -1, np.int64)
    slices = (np.arange(n_slices) + regions.slice_offset) if regions.slice_offset is not None \
        else np.full(n_slices, -1)
    for r, region in enumerate(regions.ids):
        for s, global_slice in enumerate(slices):
            for k in range(n_pairs):
                row_of[r, s, k] = plan.index.get((int(region), int(global_slice), k), -1)
    present = np.unique(row_of[row_of >= 0])
    runs = (regions.plane_start, regions.start, regions.stop, regions.region)
    span = np.zeros((len(plan.rows), 4), np.int64)
    span[:, [0, 2]], span[:, [1, 3]] = np.iinfo(np.int64).max, -1
    count = np.zeros(len(plan.rows), np.int64)
    _cut_span(blocks, options.pairs, *runs, settings, row_of, plan.lo, plan.flags, plan.cut_off,
              plan.cuts, span, count)
    width = np.maximum(span[:, 1] - span[:, 0] + 1, 0)
    thin = count * THIN_ROW < width
    width[thin] = 0
    width2 = np.where(thin, 0, np.maximum(span[:, 3] - span[:, 2] + 1, 0))
    slots = np.concatenate([[0], np.cumsum(count[thin])])
    slot = np.full(len(plan.rows), -1, np.int64)
    slot[thin] = slots[:-1]
    thin_cells = np.zeros((slots[-1], 4), np.int64)
    thin_values = np.zeros((slots[-1], 2), np.int64)
    starts = np.concatenate([[0], np.cumsum(6 * (width + width2))])
    bin_off = np.stack([starts[:-1], starts[:-1] + 6 * width], axis=1)
    tm_flat = np.concatenate([[0], np.cumsum(np.repeat(width, 2))])
    bins = np.zeros(starts[-1], np.int64)
    tm = np.zeros(tm_flat[-1], np.int64)
    ints = np.zeros((len(plan.rows), N_INT), np.int64)
    floats = np.zeros((len(plan.rows), N_FLOAT))
    _accumulate(blocks, options.pairs, *runs, settings, row_of, plan.lo, plan.flags,
                plan.rank_off, plan.ranks, plan.means, zero, plan.cut_off, plan.cuts,
                plan.cut_kind, span, bin_off, bins, tm_flat[:-1].reshape(-1, 2), tm, slot,
                thin_cells, thin_values, plan.gates, plan.dense_off, plan.dense, plan.dense_top,
                ints, floats)
    tables = {}
    for row in present[width[present] > 0]:
        first, manders = int(span[row, 0]), tm[tm_flat[2 * row]:tm_flat[2 * row + 2]]
        tables[int(row)] = CutTables(
            CutTable(first, *exact.split(bins[bin_off[row, 0]:bin_off[row, 1]].reshape(-1, 6))),
            CutTable(first, *exact.split(manders[:width[row], None])),
            CutTable(first, *exact.split(manders[width[row]:, None])),
            CutTable(int(span[row, 2]), *exact.split(
                bins[bin_off[row, 1]:starts[row + 1]].reshape(-1, 6))) if width2[row] else None)
    pair_zero = zero[options.pairs[plan.rows[:, 2]]]  # (rows, 2): zero of a and of b
    tables.update(_thin_tables(np.flatnonzero(thin), count, thin_cells, thin_values,
                               pair_zero, plan.flags & 8 != 0))
    hi, lo = exact.split(ints)
    return PairStatsRecord(hi, lo, floats, tables)


def _thin_tables(rows, count, cells, values, zero, above) -> dict:
    """The :class:`CutTables` of the thin rows ``rows`` from their voxels'
    cut-off indices (``cells``: below, above, K_a, K_b) and values, in
    consecutive slots of ``count[row]`` voxels each: each table's voxels
    sorted by (row, index) and summed per index."""
    row = np.repeat(rows, count[rows])
    x, y = values[:, 0], values[:, 1]
    zero_a, zero_b = zero[row, 0], zero[row, 1]
    six = np.stack([np.ones_like(x), x, y, x * x, y * y, x * y], axis=1)

    def reduced(index, fields, keep=None):
        """{row: its sparse CutTable}, the fields summed per (row, index)."""
        key_row, key_index, fields = (row, index, fields) if keep is None else (
            row[keep], index[keep], fields[keep])
        order = np.lexsort((key_index, key_row))
        key_row, key_index, fields = key_row[order], key_index[order], fields[order]
        new = np.flatnonzero(np.concatenate([[key_row.size > 0], (key_row[1:] != key_row[:-1])
                                             | (key_index[1:] != key_index[:-1])]))
        sums = np.add.reduceat(fields, new, axis=0) if new.size else fields[:0]
        key_row, key_index = key_row[new], key_index[new]
        bounds = np.searchsorted(key_row, rows, side="left"), \
            np.searchsorted(key_row, rows, side="right")
        return {int(r): CutTable(int(key_index[i]) if j > i else 0, *exact.split(sums[i:j]),
                                 key_index[i:j]) for r, i, j in zip(rows, *bounds)}

    below = reduced(cells[:, 0], six)
    manders_a = reduced(cells[:, 3], ((x - zero_a) * (y > zero_b))[:, None])
    manders_b = reduced(cells[:, 2], ((y - zero_b) * (x > zero_a))[:, None])
    with_above = above[row]
    above_cells = reduced(cells[:, 1], six, with_above)
    return {int(r): CutTables(below[r], manders_a[r], manders_b[r],
                              above_cells[r] if above[r] else None)
            for r in rows if count[r]}


def combine(records: list[PairStatsRecord]) -> PairStatsRecord:
    """Add the per-row sums and each row's Costes tables."""
    hi, lo = exact.normalize(sum(r.hi for r in records), sum(r.lo for r in records))
    pieces = {}
    for record in records:
        for row, piece in record.tables.items():
            pieces.setdefault(row, []).append(piece)
    tables = {row: CutTables(*(added(t) if t[0] is not None else None
                               for t in zip(*parts)))
              for row, parts in pieces.items()}
    return PairStatsRecord(hi, lo, sum(r.floats for r in records), tables)


def statistic(plan: RowPlan, options: HistogramOptions) -> Statistic:
    return Statistic("pairstats", partial(chunk, plan=plan, options=options), combine,
                     lambda record: record)
