"""Value histograms of channel pairs per region and slice: chunk, merge, finalize.

For every (region, slice, pair) row the record holds the measured voxels'
extent ``[lo_a, hi_a] × [lo_b, hi_b]`` and either

* the **joint** histogram ``H[a − lo_a, b − lo_b]`` (voxel counts per pair of
  values), the sufficient statistic of every order- and threshold-based
  metric: ranks, Spearman, Kendall, ICQ, the Costes walk of any tool, Manders
  and Pearson above/below any threshold, auto thresholds; or
* the two **marginal** histograms, when the joint tables of all rows would
  exceed ``max_cells`` cells, or a chunk's would hold more cells than voxels
  (wide 16-bit ranges, many regions, small chunks): enough for ranks and
  auto thresholds; the joint quantities then need a second read
  (:mod:`.pairstats`).

Values are integers: the channel values for integer data of at most 16 bits,
the grid cells of :class:`~.voxels.Grid` for float data.  A chunk sizes its
tables on its own extents; merging aligns them on the union of the extents,
so one read suffices without knowing the value range beforehand.  A merge
whose joint tables would exceed the budget keeps their marginals instead
(summing a joint table over an axis), so the decision is the same whatever
the chunking.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numba
import numpy as np

from .base import Statistic
from .dtypes import kernel_channels
from .regions import ChunkRegions
from .voxels import VoxelRules, measured_pair, quantize

#: Default budget of joint-histogram cells over all rows (int64: 128 MiB, of
#: the order of a block of data, so that the running merged tables do not
#: dominate a run's memory): one 4096 x 4096 table (12-bit data), or 256
#: regions of 256 x 256 (8-bit data).  ``max_table_cells`` raises it.
MAX_CELLS = 2**24
#: A chunk keeps joint tables of up to max(its voxels, this) cells (int32
#: counts within a chunk: 64 MiB at most, like a block of two 16-bit channels).
MIN_CHUNK_CELLS = 2**24

N, LO_A, HI_A, LO_B, HI_B, N_ZERO = range(6)
_BIG = np.iinfo(np.int64).max


@numba.njit(nogil=True, cache=True)
def _extents(channels, pairs, plane_start, run_start, run_stop, run_region, settings, zero,
             shift, plain, out):
    """``out[region, slice, pair] = (n, lo_a, hi_a, lo_b, hi_b, n_zero)`` of
    the measured voxels (min/max start at ±``_BIG``); n_zero counts voxels
    whose values are both ``zero`` (the value of 0 of each channel).  Values
    are shifted right by the channel's ``shift`` (bins of 2**shift values; 0:
    one bin per value).  ``plain``: no rule excludes or changes a value (a
    loop LLVM vectorizes)."""
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia, ib = pairs[k, 0], pairs[k, 1]
        for s in range(channels[0].shape[0]):
            plane = s if n_label_planes > 1 else 0
            for r in range(plane_start[plane], plane_start[plane + 1]):
                a = channels[ia][s][run_start[r]:run_stop[r]]
                b = channels[ib][s][run_start[r]:run_stop[r]]
                row = out[run_region[r], s, k]
                if plain:
                    found = _plain_extents(a, b, zero[ia], zero[ib], shift[ia], shift[ib])
                else:
                    found = _general_extents(a, b, settings[ia], settings[ib], zero[ia],
                                             zero[ib], shift[ia], shift[ib])
                row[N] += found[N]
                row[LO_A], row[HI_A] = min(row[LO_A], found[LO_A]), max(row[HI_A], found[HI_A])
                row[LO_B], row[HI_B] = min(row[LO_B], found[LO_B]), max(row[HI_B], found[HI_B])
                row[N_ZERO] += found[N_ZERO]


@numba.njit(inline="always")
def _plain_extents(a, b, zero_a, zero_b, shift_a, shift_b):
    lo_a, hi_a, lo_b, hi_b, n_zero = _BIG, -_BIG, _BIG, -_BIG, 0
    for q in range(a.size):
        x, y = np.int64(a[q]) >> shift_a, np.int64(b[q]) >> shift_b
        lo_a, hi_a = min(lo_a, x), max(hi_a, x)
        lo_b, hi_b = min(lo_b, y), max(hi_b, y)
        n_zero += (x == zero_a) & (y == zero_b)
    return np.int64(a.size), lo_a, hi_a, lo_b, hi_b, n_zero


@numba.njit(inline="always")
def _general_extents(a, b, set_a, set_b, zero_a, zero_b, shift_a, shift_b):
    n, lo_a, hi_a, lo_b, hi_b, n_zero = 0, _BIG, -_BIG, _BIG, -_BIG, 0
    for q in range(a.size):
        keep, x, y = measured_pair(np.int64(a[q]), np.int64(b[q]), set_a, set_b)
        x, y = x >> shift_a, y >> shift_b
        n += 1 if keep else 0
        n_zero += 1 if keep & (x == zero_a) & (y == zero_b) else 0
        lo_a = min(lo_a, x) if keep else lo_a
        hi_a = max(hi_a, x) if keep else hi_a
        lo_b = min(lo_b, y) if keep else lo_b
        hi_b = max(hi_b, y) if keep else hi_b
    return np.int64(n), lo_a, hi_a, lo_b, hi_b, np.int64(n_zero)


@numba.njit(nogil=True, cache=True)
def _scatter(channels, pairs, plane_start, run_start, run_stop, run_region, settings,
             shift, plain, row_of, extents, offset_a, offset_b, joint, table_a, table_b):
    """Count the measured voxels into the flat tables: the joint table of row
    ``i`` starts at ``offset_a[i]`` (row-major over a, then b); marginal
    tables of a and b start at ``offset_a[i]`` and ``offset_b[i]``.
    ``plain`` as for :func:`_extents`."""
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia, ib = pairs[k, 0], pairs[k, 1]
        for s in range(channels[0].shape[0]):
            plane = s if n_label_planes > 1 else 0
            for r in range(plane_start[plane], plane_start[plane + 1]):
                i = row_of[run_region[r], s, k]
                a = channels[ia][s][run_start[r]:run_stop[r]]
                b = channels[ib][s][run_start[r]:run_stop[r]]
                lo_a, lo_b = extents[i, LO_A], extents[i, LO_B]
                width_b = extents[i, HI_B] - lo_b + 1
                start_a, start_b = offset_a[i], offset_b[i]
                shift_a, shift_b = shift[ia], shift[ib]
                if plain and joint:
                    origin = start_a - lo_a * width_b - lo_b
                    for q in range(a.size):
                        table_a[origin + (np.int64(a[q]) >> shift_a) * width_b
                                + (np.int64(b[q]) >> shift_b)] += 1
                    continue
                if plain:
                    origin_a, origin_b = start_a - lo_a, start_b - lo_b
                    for q in range(a.size):
                        table_a[origin_a + (np.int64(a[q]) >> shift_a)] += 1
                        table_b[origin_b + (np.int64(b[q]) >> shift_b)] += 1
                    continue
                for q in range(a.size):
                    keep, x, y = measured_pair(np.int64(a[q]), np.int64(b[q]),
                                               settings[ia], settings[ib])
                    if not keep:
                        continue
                    x, y = x >> shift_a, y >> shift_b
                    if joint:
                        table_a[start_a + (x - lo_a) * width_b + (y - lo_b)] += 1
                    else:
                        table_a[start_a + x - lo_a] += 1
                        table_b[start_b + y - lo_b] += 1


@dataclass(frozen=True)
class HistogramOptions:
    """pairs : (K, 2) channel indices; rules : background and saturation;
    grids : per channel, a :class:`~.voxels.Grid` for float data or None for
    integer data; max_cells : budget of joint cells over all rows;
    shifts : per channel, values are shifted right by it (bins of 2**shift
        values, for coarser tables)."""

    pairs: np.ndarray
    rules: VoxelRules
    grids: tuple | None = None
    max_cells: int = MAX_CELLS
    shifts: tuple | None = None


@dataclass
class HistogramRecord:
    """``keys`` (rows, 3) = (region id, slice, pair index); ``extents`` (rows, 6)
    = (n, lo_a, hi_a, lo_b, hi_b, n_zero); ``tables``: per row a 2-D joint table, or
    a pair of 1-D marginal tables when ``joint`` is False (counts: int32 in
    a chunk's record, int64 once merged)."""

    keys: np.ndarray
    extents: np.ndarray
    joint: bool
    tables: list

    def marginals(self) -> list:
        """The tables as marginal pairs (summing joint tables)."""
        if not self.joint:
            return self.tables
        return [(t.sum(axis=1, dtype=np.int64), t.sum(axis=0, dtype=np.int64))
                for t in self.tables]


def _cells(extents: np.ndarray) -> np.ndarray:
    return (extents[:, HI_A] - extents[:, LO_A] + 1) * (extents[:, HI_B] - extents[:, LO_B] + 1)


def _integer_channels(channels, options: HistogramOptions):
    """The chunk's channels as integer arrays of one kernel dtype."""
    if options.grids is None:
        return kernel_channels(channels)
    background = options.rules.background
    return tuple(quantize(c, grid, None if background is None else background[i])
                 for i, (c, grid) in enumerate(zip(channels, options.grids)))


def chunk(channels: list[np.ndarray], regions: ChunkRegions,
          options: HistogramOptions) -> HistogramRecord:
    """Histogram record of one chunk; ``channels`` are (S, P) blocks."""
    blocks = _integer_channels(channels, options)
    # Floats are quantized after their background subtraction: only the
    # exclusion of non-finite values (and saturation) remains for the kernel.
    rules = options.rules if options.grids is None else VoxelRules(
        None, (np.iinfo(np.int32).max,) * len(blocks))
    settings = rules.settings(len(blocks), exact_path=True)
    n_slices = blocks[0].shape[0]
    n_pairs = len(options.pairs)
    extents = np.zeros((regions.ids.size, n_slices, n_pairs, 6), np.int64)
    extents[..., [LO_A, LO_B]] = _BIG
    extents[..., [HI_A, HI_B]] = -_BIG
    runs = (regions.plane_start, regions.start, regions.stop, regions.region)
    zero = np.array([0 if options.grids is None else -grid.base for grid in (
        options.grids or [None] * len(blocks))], np.int64)
    shift = np.array(options.shifts or (0,) * len(blocks), np.int64)
    plain = not rules.general
    _extents(blocks, options.pairs, *runs, settings, zero, shift, plain, extents)
    present = extents[..., N] > 0
    row_of = np.full(present.shape, -1, np.int64)
    row_of[present] = np.arange(present.sum())
    rows = extents[present]
    region_ids = np.broadcast_to(regions.ids[:, None, None], present.shape)[present]
    slices = np.broadcast_to(np.arange(n_slices)[None, :, None], present.shape)[present]
    slices = slices + regions.slice_offset if regions.slice_offset is not None else \
        np.full(slices.shape, -1)
    pair_index = np.broadcast_to(np.arange(n_pairs)[None, None, :], present.shape)[present]
    keys = np.stack([region_ids, slices, pair_index], axis=1).astype(np.int64)
    # Joint tables when they fit the budget and are no bigger than the chunk
    # (a dense table much larger than its voxels is mostly empty: marginals).
    cells = int(_cells(rows).sum())
    joint = cells <= options.max_cells and cells <= max(int(rows[:, N].sum()), MIN_CHUNK_CELLS)
    width_a = rows[:, HI_A] - rows[:, LO_A] + 1
    width_b = rows[:, HI_B] - rows[:, LO_B] + 1
    sizes_a = _cells(rows) if joint else width_a
    offset_a = np.concatenate([[0], np.cumsum(sizes_a)])
    offset_b = np.concatenate([[0], np.cumsum(width_b)])
    table_a = np.zeros(offset_a[-1], np.int32)
    table_b = np.zeros(0 if joint else offset_b[-1], np.int32)
    _scatter(blocks, options.pairs, *runs, settings, shift, plain, row_of, rows, offset_a,
             offset_b, joint, table_a, table_b)
    if joint:
        tables = [table_a[offset_a[i]:offset_a[i + 1]].reshape(width_a[i], width_b[i])
                  for i in range(len(rows))]
    else:
        tables = [(table_a[offset_a[i]:offset_a[i + 1]], table_b[offset_b[i]:offset_b[i + 1]])
                  for i in range(len(rows))]
    return HistogramRecord(keys, rows, joint, tables)


def combine(records: list[HistogramRecord], max_cells: int = MAX_CELLS) -> HistogramRecord:
    """Merge records on the union of each row's extents (deterministic for a
    given order); joint tables become marginals when the union of all joint
    tables would exceed ``max_cells``."""
    keys = np.concatenate([r.keys for r in records])
    extents = np.concatenate([r.extents for r in records])
    unique, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    merged = np.zeros((len(unique), 6), np.int64)
    np.add.at(merged[:, N], group, extents[:, N])
    np.add.at(merged[:, N_ZERO], group, extents[:, N_ZERO])
    merged[:, [LO_A, LO_B]] = _BIG
    merged[:, [HI_A, HI_B]] = -_BIG
    np.minimum.at(merged[:, LO_A], group, extents[:, LO_A])
    np.maximum.at(merged[:, HI_A], group, extents[:, HI_A])
    np.minimum.at(merged[:, LO_B], group, extents[:, LO_B])
    np.maximum.at(merged[:, HI_B], group, extents[:, HI_B])
    joint = all(r.joint for r in records) and bool(_cells(merged).sum() <= max_cells)
    width_a = merged[:, HI_A] - merged[:, LO_A] + 1
    width_b = merged[:, HI_B] - merged[:, LO_B] + 1
    if joint:
        tables = [np.zeros((wa, wb), np.int64) for wa, wb in zip(width_a, width_b)]
        inputs = [t for r in records for t in r.tables]
    else:
        tables = [(np.zeros(wa, np.int64), np.zeros(wb, np.int64))
                  for wa, wb in zip(width_a, width_b)]
        inputs = [t for r in records for t in r.marginals()]
    for row, (g, table) in enumerate(zip(group, inputs)):
        da = extents[row, LO_A] - merged[g, LO_A]
        db = extents[row, LO_B] - merged[g, LO_B]
        if joint:
            tables[g][da:da + table.shape[0], db:db + table.shape[1]] += table
        else:
            tables[g][0][da:da + table[0].size] += table[0]
            tables[g][1][db:db + table[1].size] += table[1]
    return HistogramRecord(unique, merged, joint, tables)


def statistic(options: HistogramOptions) -> Statistic:
    """The histograms as a :class:`~streamcoloc.stats.base.Statistic`."""
    return Statistic("histograms", partial(chunk, options=options),
                     partial(combine, max_cells=options.max_cells), lambda record: record)

