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
  gates (Pearson above the thresholds at any cell);
* at known gates: the six sums of the below, above and both-above sets,
  Σa over b ≥ g_b, Σb over a ≥ g_a and the RWC numerators.

Sums are int64 within a chunk (≤ 2**30 voxels of 16-bit values) and merged
exactly as pairs of words (:mod:`.exact`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial

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
                cut_span, bin_off, bins, tm_off, tm, gates, dense_off, dense, dense_top, ints,
                floats):
    """Add one chunk into per-row sums (``ints``, ``floats``: rows × fields)
    and per-row tables (``bins`` at ``bin_off[row, 0]``, ``tm``, over the
    cut-off indices ``cut_span[row, 0]`` to ``cut_span[row, 1]``; with flag
    8 the above-gate table at ``bin_off[row, 1]`` over ``cut_span[row, 2]``
    to ``cut_span[row, 3]``, cut-offs at ``cut_off[row, 2:4]``).
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
              row_of, lo, flags, cut_off, cuts, span):
    """``span[row]`` = (min, max) of the cut-off indices K_a, K_b of the
    chunk's measured voxels (rows with Costes tables), and (min, max) of
    the above-gate cut-offs (flag 8)."""
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
                for q in range(a.size):
                    keep, x, y = measured_pair(np.int64(a[q]), np.int64(b[q]),
                                               settings[ia], settings[ib])
                    if keep:
                        ua, ub = x - lo[row, 0], y - lo[row, 1]
                        ka, kb = cuts[cut_off[row, 0] + ua], cuts[cut_off[row, 1] + ub]
                        low, high = min(low, ka, kb), max(high, ka, kb)
                        if above:
                            cell = _above_cell(cuts, cut_off, row, ua, ub)
                            low2, high2 = min(low2, cell), max(high2, cell)
                span[row, 0], span[row, 1], span[row, 2], span[row, 3] = low, high, low2, high2


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


@dataclass
class PairStatsRecord:
    """Per-row int sums as exact words (rows × N_INT), float sums, and the
    Costes tables of the rows present: {row: (first cut-off index, bins
    (span × 6) words, tm (2 × span) words, first above-gate cut-off index,
    its bins words)}; the last two are (0, None) without flag 8."""

    hi: np.ndarray
    lo: np.ndarray
    floats: np.ndarray
    tables: dict


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
    _cut_span(blocks, options.pairs, *runs, settings, row_of, plan.lo, plan.flags, plan.cut_off,
              plan.cuts, span)
    width = np.maximum(span[:, 1] - span[:, 0] + 1, 0)
    width2 = np.maximum(span[:, 3] - span[:, 2] + 1, 0)
    starts = np.concatenate([[0], np.cumsum(6 * (width + width2))])
    bin_off = np.stack([starts[:-1], starts[:-1] + 6 * width], axis=1)
    tm_flat = np.concatenate([[0], np.cumsum(np.repeat(width, 2))])
    bins = np.zeros(starts[-1], np.int64)
    tm = np.zeros(tm_flat[-1], np.int64)
    ints = np.zeros((len(plan.rows), N_INT), np.int64)
    floats = np.zeros((len(plan.rows), N_FLOAT))
    _accumulate(blocks, options.pairs, *runs, settings, row_of, plan.lo, plan.flags,
                plan.rank_off, plan.ranks, plan.means, zero, plan.cut_off, plan.cuts,
                plan.cut_kind, span, bin_off, bins, tm_flat[:-1].reshape(-1, 2), tm,
                plan.gates, plan.dense_off, plan.dense, plan.dense_top, ints, floats)
    tables = {}
    for row in present[width[present] > 0]:
        above = bins[bin_off[row, 1]:starts[row + 1]].reshape(-1, 6)
        tables[int(row)] = (int(span[row, 0]),
                            exact.split(bins[bin_off[row, 0]:bin_off[row, 1]].reshape(-1, 6)),
                            exact.split(tm[tm_flat[2 * row]:tm_flat[2 * row + 2]].reshape(2, -1)),
                            int(span[row, 2]) if width2[row] else 0,
                            exact.split(above) if width2[row] else None)
    hi, lo = exact.split(ints)
    return PairStatsRecord(hi, lo, floats, tables)


def combine(records: list[PairStatsRecord]) -> PairStatsRecord:
    """Add the per-row sums; align each row's Costes tables on the union of
    their cut-off spans."""
    hi, lo = exact.normalize(sum(r.hi for r in records), sum(r.lo for r in records))
    pieces = {}
    for record in records:
        for row, piece in record.tables.items():
            pieces.setdefault(row, []).append(piece)
    tables = {}
    for row, parts in pieces.items():
        first, bins = _aligned([(p[0], p[1]) for p in parts], axis=0)
        _, tm = _aligned([(p[0], p[2]) for p in parts], axis=1)
        above = [(p[3], p[4]) for p in parts if p[4] is not None]
        first2, bins2 = _aligned(above, axis=0) if above else (0, None)
        tables[row] = (first, bins, tm, first2, bins2)
    return PairStatsRecord(hi, lo, sum(r.floats for r in records), tables)


def _aligned(parts, axis: int):
    """``(first, words)``: pieces ``(start, (hi, lo))`` of a table along
    cut-off indices (``axis`` of the word arrays), added on the union of
    their spans."""
    first = min(start for start, _ in parts)
    last = max(start + words[0].shape[axis] - 1 for start, words in parts)
    shape = list(parts[0][1][0].shape)
    shape[axis] = last - first + 1
    total = [np.zeros(shape, np.int64) for _ in range(2)]
    for start, words in parts:
        at = [slice(None)] * len(shape)
        at[axis] = slice(start - first, start - first + words[0].shape[axis])
        for k in range(2):
            total[k][tuple(at)] += words[k]
    return first, exact.normalize(*total)


def statistic(plan: RowPlan, options: HistogramOptions) -> Statistic:
    return Statistic("pairstats", partial(chunk, plan=plan, options=options), combine,
                     lambda record: record)
