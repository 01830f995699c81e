"""Value histograms of channel pairs per region and slice: chunk, merge, finalize.

For every (region, slice, pair) row the record holds the measured voxels'
extent ``[lo_a, hi_a] × [lo_b, hi_b]`` and either

* the **joint** histogram ``H[a − lo_a, b − lo_b]`` (voxel counts per pair of
  values) as its non-empty cells (:class:`JointCells`), the sufficient
  statistic of every order- and threshold-based metric: ranks, Spearman,
  Kendall, ICQ, the Costes walk of any tool, Manders and Pearson above/below
  any threshold, auto thresholds; or
* the two **marginal** histograms, when the non-empty joint cells of all rows
  would exceed ``max_cells``: enough for ranks and auto thresholds; the
  joint quantities then need a second read (:mod:`.pairstats`).

Values are integers: the channel values for integer data of at most 16 bits,
the grid cells of :class:`~.voxels.Grid` for float data.  A chunk counts one
row at a time, in a dense scratch table sized on the row's extents in that
chunk (or, for a row with far fewer voxels than cells or wider than
:data:`MAX_ROW_CELLS`, by sorting its voxels' cells), and keeps its non-empty
cells, so a chunk's record never holds more cells than voxels however many
regions it meets (correlated channels fill a few per cent of each region's
extent).  Merging re-indexes the cells on the
union of the extents and adds equal cells, so one read suffices without
knowing the value range beforehand.  The budget is checked again on the
merged rows (the cells of a merge are at least those of its parts), so the
choice of joint or marginal tables is the same whatever the chunking.

Asked for (``moment_thresholds``), a chunk's record also holds the moments
of its rows (:class:`~.moments.MomentRecord`, the same as the voxel kernel's),
summed from its joint cells before any are dropped for the budget: a few
operations per cell rather than per voxel, and no pass of their own over
the voxels (the kernel 2.8x faster than the voxel kernel's chunk on a
block of bench_pixel's 50 cells, benchmarks/bench_pieces.py).
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass
from functools import cached_property, partial

import numba
import numpy as np

from . import moments
from .base import Statistic
from .dtypes import kernel_channels
from .prefetch import prefetch_range
from .regions import ChunkRegions
from .voxels import VoxelRules, measured_pair, quantize

#: Default budget of non-empty joint-histogram cells over all rows (an int64
#: index and an int64 count each: 1 GiB, a fixed part of a run's memory
#: whatever the data's size): four full 4096 x 4096 tables (12-bit data), or
#: thousands of regions of 16-bit data (a region has at most one cell per
#: voxel).  Beyond it the per-voxel second read keeps, per row, cut-off tables
#: of the value range, which for thousands of regions take more time and
#: memory than their joint cells (bench_pixel prints the side-by-side on its
#: ~3,000 cut cells: "cut cells at the old budget").  ``max_table_cells``
#: changes it.
MAX_CELLS = 2**26
#: Largest dense extent of one row (cells) that a chunk counts in a uint8
#: scratch table of its extent (16 MiB at most); a wider row's voxels are
#: sorted (a wide 16-bit row: 2**32 cells).
MAX_ROW_CELLS = 2**24
#: A chunk's row with fewer than 1/SPARSE_ROW voxels per cell of its extent
#: sorts its voxels' cells rather than counting them in the scratch table and
#: scanning its extent (sorting costs a few passes per voxel, the scan a
#: fraction of a voxel's count per cell, and a large scratch misses the caches).
#: With the byte scratch, 16, 256 and 1024 measured the same as 64 within the
#: noise on bench_pixel's ~3,000 cut cells (in-process A/B, 4 alternations).
SPARSE_ROW = 64
#: How many runs ahead :func:`_joint_cells` prefetches the channels' values
#: (it visits runs region by region, out of memory order); 0 turns it off
#: (benchmarks/bench_prefetch.py prints the ratio).
PREFETCH_RUNS = 2

#: Cells of room that :func:`_scan_cells` needs past the last one it keeps
#: (it writes each cell of a word at the next free place before knowing
#: whether to keep it).
SCAN_SLACK = 1

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
    """Extremes in the channels' own dtypes (SIMD lanes of their width, not
    of int64: 1.24x on a uint16 block, benchmarks/bench_pieces.py), shifted after
    (a right shift keeps the order); voxels at zero are counted in a second
    loop only when zero lies within both ranges."""
    if a.size == 0:
        return np.int64(0), _BIG, -_BIG, _BIG, -_BIG, np.int64(0)
    lo_a, hi_a, lo_b, hi_b = a[0], a[0], b[0], b[0]
    for q in range(1, a.size):
        lo_a, hi_a = min(lo_a, a[q]), max(hi_a, a[q])
        lo_b, hi_b = min(lo_b, b[q]), max(hi_b, b[q])
    lo_a, hi_a = np.int64(lo_a) >> shift_a, np.int64(hi_a) >> shift_a
    lo_b, hi_b = np.int64(lo_b) >> shift_b, np.int64(hi_b) >> shift_b
    n_zero = 0
    if lo_a <= zero_a <= hi_a and lo_b <= zero_b <= hi_b:
        for q in range(a.size):
            n_zero += ((np.int64(a[q]) >> shift_a) == zero_a) & \
                ((np.int64(b[q]) >> shift_b) == zero_b)
    return np.int64(a.size), lo_a, hi_a, lo_b, hi_b, np.int64(n_zero)


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
def _runs_by_region(plane_start, run_region, n_regions):
    """Runs grouped by (label plane, region): those of region ``g`` in plane
    ``p`` are ``order[first[p * n_regions + g]:first[p * n_regions + g + 1]]``
    (a counting sort; plane order kept within a group)."""
    n_planes = plane_start.size - 1
    first = np.zeros(n_planes * n_regions + 1, np.int64)
    for p in range(n_planes):
        for r in range(plane_start[p], plane_start[p + 1]):
            first[p * n_regions + run_region[r] + 1] += 1
    for k in range(n_planes * n_regions):
        first[k + 1] += first[k]
    fill = first[:-1].copy()
    order = np.empty(run_region.size, np.int64)
    for p in range(n_planes):
        for r in range(plane_start[p], plane_start[p + 1]):
            g = p * n_regions + run_region[r]
            order[fill[g]] = r
            fill[g] += 1
    return order, first


@numba.njit(nogil=True, cache=True)
def _joint_cells(channels, pairs, plane_start, run_start, run_stop, run_region, settings,
                 shift, plain, rows, extents, n_regions, scratch, cells, counts, ahead):
    """Joint histogram of every row (``rows[i]`` = dense region, slice,
    pair; its extent ``extents[i]``) as its non-empty cells, written to
    ``cells`` and ``counts`` (at least Σ min(cells of the extent, voxels)
    of the rows + :data:`SCAN_SLACK` long).

    Each row is counted alone in ``scratch`` (uint8 zeros, a multiple of 8
    long and at least the largest dense row's cells): a cell's count modulo
    256 there, and the cell listed once more each time its count reaches a
    multiple of 256 (at most voxels // 256 listings per row).  The count is
    written out in the loop: as an inlined function taking the arrays it
    measured 3x slower.  The non-empty cells are then copied out in
    row-major order and reset by a scan of the row's extent, 8 cells at a
    time (:func:`_scan_cells`).  A byte per cell rather than an int32 keeps a
    region's scratch in the caches and scans a quarter of the memory.  A row
    with far fewer voxels than cells (:data:`SPARSE_ROW`: small regions of
    wide-ranged data), or wider than the scratch, skips it: its voxels'
    cells are sorted and counted.  A row's runs are visited in order of
    their region, out of memory order, so the values of the run ``ahead``
    runs on are prefetched (0: none).  Returns ``offsets``: the cells of
    row ``i`` are ``cells[offsets[i]:offsets[i + 1]]`` (row-major indices
    ``(a − lo_a)·width_b + (b − lo_b)``, ascending) with their voxel
    counts.  ``plain`` as for :func:`_extents`."""
    order, first = _runs_by_region(plane_start, run_region, n_regions)
    n_label_planes = plane_start.size - 1
    offsets = np.zeros(rows.shape[0] + 1, np.int64)
    touched = spare = np.empty(0, np.int64)  # voxels' cells of a sparse row, 256s of a dense one
    words = scratch.view(np.uint64)  # once (made per row in _scan_cells: 5 % slower)
    n = 0
    for i in range(rows.shape[0]):
        region, s, k = rows[i, 0], rows[i, 1], rows[i, 2]
        ia, ib = pairs[k, 0], pairs[k, 1]
        shift_a, shift_b = shift[ia], shift[ib]
        lo_a, lo_b = extents[i, LO_A], extents[i, LO_B]
        width_b = extents[i, HI_B] - lo_b + 1
        size = (extents[i, HI_A] - lo_a + 1) * width_b
        origin = -lo_a * width_b - lo_b
        sparse = extents[i, N] * SPARSE_ROW < size or size > scratch.size
        most = extents[i, N] if sparse else extents[i, N] // 256  # cells to list
        if touched.size < most:
            touched = np.empty(most, np.int64)
            spare = np.empty(most, np.int64)
        if n + min(size, extents[i, N]) + SCAN_SLACK > cells.size:  # (the caller's bound: never)
            raise ValueError("joint cells beyond the buffers")
        m = 0  # cells listed in touched
        group = (s if n_label_planes > 1 else 0) * n_regions + region
        for t in range(first[group], first[group + 1]):
            r = order[t]
            if ahead > 0 and t + ahead < first[group + 1]:
                later = order[t + ahead]
                if run_start[later] != run_stop[order[t + ahead - 1]]:  # a jump
                    _prefetch_run(channels[ia][s], channels[ib][s], run_start[later],
                                  run_stop[later])
            a = channels[ia][s][run_start[r]:run_stop[r]]
            b = channels[ib][s][run_start[r]:run_stop[r]]
            set_a, set_b = settings[ia], settings[ib]
            if sparse:
                for q in range(a.size):
                    c = _cell(a[q], b[q], plain, set_a, set_b, shift_a, shift_b, origin, width_b)
                    if c >= 0:
                        touched[m] = c
                        m += 1
            else:
                for q in range(a.size):
                    c = _cell(a[q], b[q], plain, set_a, set_b, shift_a, shift_b, origin, width_b)
                    if c >= 0:
                        v = np.int64(scratch[c]) + 1
                        if v == 256:
                            touched[m] = c
                            m += 1
                            v = 0
                        scratch[c] = v
        if m > 1:
            _radix_sort(touched[:m], spare[:m], size)
        if sparse:
            for q in range(m):
                if q == 0 or touched[q] != touched[q - 1]:
                    cells[n] = touched[q]
                    counts[n] = 0
                    n += 1
                counts[n - 1] += 1
        else:
            n = _scan_cells(scratch, words, size, touched[:m], cells, counts, n)
        offsets[i + 1] = n
    return offsets


@numba.njit(nogil=True, cache=True)
def _scan_cells(scratch, words, size, listed, cells, counts, n):
    """Copy the non-empty cells among the first ``size`` of ``scratch`` (and
    its uint64 view ``words``) to ``cells``/``counts`` from ``n`` on, each
    count being its byte plus 256 per time the cell is in ``listed``
    (ascending), and reset them.  Returns the new ``n``.

    Empty words (8 cells) are skipped, 8 at a time where 8 words from a
    multiple of 8 are all empty.  A word's cells are written without a
    branch, each at ``n``, which advances only past a non-empty one (a
    correlated row fills about half the cells of its non-empty words: a
    branch per cell would be mispredicted at half of them), so ``cells`` and
    ``counts`` need :data:`SCAN_SLACK` cell of room past the last kept.
    Together 1.6x faster than a branch per cell and a test per word on rows
    like bench_pixel's regions (benchmarks/bench_pieces.py)."""
    p = 0  # next listed cell
    n_words = (size + 7) >> 3
    w = 0
    while w < n_words:
        if w & 7 == 0 and w + 8 <= n_words and (p == listed.size or listed[p] >= (w + 8) << 3) and (
                words[w] | words[w + 1] | words[w + 2] | words[w + 3] | words[w + 4]
                | words[w + 5] | words[w + 6] | words[w + 7]) == 0:
            w += 8
            continue
        word, first = words[w], w << 3
        if p < listed.size and listed[p] < first + 8:
            for c in range(first, min(first + 8, size)):
                count = np.int64(scratch[c])
                while p < listed.size and listed[p] == c:
                    count += 256
                    p += 1
                cells[n], counts[n] = c, count
                n += 1 if count else 0
        elif word != 0:
            for j in range(8):  # (bytes past ``size`` are 0)
                count = np.int64((word >> np.uint64(8 * j)) & np.uint64(255))
                cells[n], counts[n] = first + j, count
                n += 1 if count else 0
        words[w] = 0
        w += 1
    return n


@numba.njit(nogil=True, cache=True)
def _prefetch_run(a, b, start, stop):
    """Prefetch the values of a run (voxels ``start:stop``) in both channels."""
    prefetch_range(a, start, stop)
    prefetch_range(b, start, stop)


@numba.njit(nogil=True, cache=True)
def _radix_sort(keys, spare, bound):
    """Sort ``keys`` (0 ≤ key < ``bound``) in place: least significant
    digit first, 12 bits per pass, ``spare`` as large as ``keys``."""
    count = np.empty(4097, np.int64)
    source, target = keys, spare
    shift, passes = 0, 0
    while (bound - 1) >> shift or passes == 0:
        count[:] = 0
        for key in source:
            count[((key >> shift) & 4095) + 1] += 1
        for d in range(4096):
            count[d + 1] += count[d]
        for key in source:
            digit = (key >> shift) & 4095
            target[count[digit]] = key
            count[digit] += 1
        source, target = target, source
        shift, passes = shift + 12, passes + 1
    if passes % 2:
        keys[:] = spare


@numba.njit(inline="always")
def _cell(a, b, plain, set_a, set_b, shift_a, shift_b, origin, width_b):
    """Scratch cell of a voxel's values (−1 when not measured)."""
    if plain:
        return origin + (np.int64(a) >> shift_a) * width_b + (np.int64(b) >> shift_b)
    keep, x, y = measured_pair(np.int64(a), np.int64(b), set_a, set_b)
    return origin + (x >> shift_a) * width_b + (y >> shift_b) if keep else np.int64(-1)


@numba.njit(nogil=True, cache=True)
def _marginal_counts(cells, counts, width_a, width_b):
    """Row and column totals of row-major ``cells`` (ascending) with
    ``counts`` (int64 adds: exact; one pass, where ``np.add.at`` measured
    ~40 ns per cell)."""
    totals_a, totals_b = np.zeros(width_a, np.int64), np.zeros(width_b, np.int64)
    i, first = -1, 0
    for k in range(cells.size):
        i, first = cell_row(cells[k], width_b, i, first)
        totals_a[i] += counts[k]
        totals_b[cells[k] - first] += counts[k]
    return totals_a, totals_b


@numba.njit(inline="always")
def cell_row(cell, width, row, first):
    """``(row, index of the row's first cell)`` of a row-major ``cell``,
    given those of the previous cell of an ascending sequence (``row`` −1
    at the start): one division per new row rather than one per cell."""
    if row < 0 or cell >= first + width:
        row = cell // width
        first = row * width
    return row, first


@numba.njit(nogil=True, cache=True)
def _placed(cells, width, row_offset, column_offset, new_width):
    """Row-major ``cells`` of a table ``width`` wide, placed at (row_offset,
    column_offset) in a table ``new_width`` wide (ascending stays ascending)."""
    out = np.empty(cells.size, np.int64)
    row, first = -1, 0
    for k in range(cells.size):
        row, first = cell_row(cells[k], width, row, first)
        out[k] = (row + row_offset) * new_width + cells[k] - first + column_offset
    return out


@numba.njit(nogil=True, cache=True)
def _merge_into(cells_a, counts_a, cells_b, counts_b, cells, counts):
    """Union of two ascending, distinct cell sequences written to ``cells``
    (counts of equal cells added, int64: exact); returns its length."""
    i = j = n = 0
    while i < cells_a.size and j < cells_b.size:
        a, b = cells_a[i], cells_b[j]
        cells[n] = min(a, b)
        counts[n] = (counts_a[i] if a <= b else 0) + (counts_b[j] if b <= a else 0)
        i += 1 if a <= b else 0
        j += 1 if b <= a else 0
        n += 1
    for k in range(i, cells_a.size):
        cells[n], counts[n] = cells_a[k], counts_a[k]
        n += 1
    for k in range(j, cells_b.size):
        cells[n], counts[n] = cells_b[k], counts_b[k]
        n += 1
    return n


def _merge_sorted(cells_a, counts_a, cells_b, counts_b) -> tuple:
    """:func:`_merge_into` in new buffers, shrunk in place to the union
    (rather than copied out: merged rows of 16-bit noise hold ~10**8 cells)."""
    cells = np.empty(cells_a.size + cells_b.size, np.int64)
    counts = np.empty(cells.size, np.int64)
    n = _merge_into(cells_a, counts_a, cells_b, counts_b, cells, counts)
    for buffer in (cells, counts):  # (realloc: no other reference exists)
        buffer.resize(n, refcheck=False)
    return cells, counts


@dataclass(frozen=True)
class JointCells:
    """A joint histogram by its non-empty cells.

    ``cells`` are row-major indices ``i·width_b + j`` of the dense table of
    ``shape`` = (width_a, width_b), ascending and distinct; ``counts`` their
    voxel counts (> 0).
    """

    cells: np.ndarray
    counts: np.ndarray
    shape: tuple

    @classmethod
    def from_dense(cls, table: np.ndarray) -> "JointCells":
        flat = np.asarray(table).ravel()
        cells = np.flatnonzero(flat)
        return cls(cells, flat[cells].astype(np.int64), tuple(np.shape(table)))

    @cached_property
    def n(self) -> int:
        """Voxels counted (Σ counts)."""
        return int(self.counts.sum())

    @cached_property
    def rows(self) -> np.ndarray:
        """Row (a − lo_a) of each cell, ascending."""
        return self.cells // self.shape[1]

    @cached_property
    def columns(self) -> np.ndarray:
        """Column (b − lo_b) of each cell."""
        return self.cells % self.shape[1]

    def dense(self) -> np.ndarray:
        table = np.zeros(self.shape[0] * self.shape[1], np.int64)
        table[self.cells] = self.counts
        return table.reshape(self.shape)

    @cached_property
    def _marginals(self) -> tuple:
        return _marginal_counts(self.cells, self.counts.astype(np.int64, copy=False),
                                self.shape[0], self.shape[1])

    def marginals(self) -> tuple:
        """Voxel counts per value of a and of b (int64, exact)."""
        return self._marginals

    def take_marginals(self, totals_a: np.ndarray, totals_b: np.ndarray) -> None:
        """Keep marginals counted elsewhere from these cells (a sweep's:
        :mod:`.sweep`) as this table's, unless it has its own already, so
        that they are held once."""
        self.__dict__.setdefault("_marginals", (totals_a, totals_b))

    @classmethod
    def merged(cls, parts: list, shape: tuple) -> "JointCells":
        """Sum of ``parts`` = [(JointCells, row offset, column offset)] placed
        in a table of ``shape``."""
        if len(parts) == 1 and parts[0][1:] == (0, 0) and parts[0][0].shape == tuple(shape) \
                and parts[0][0].counts.dtype == np.int64:
            table = parts[0][0]  # a row no new block touched: as it is, in arrays of its own
            if table.cells.base is None and table.counts.base is None:
                return table  # (a view would keep its chunk's whole buffer alive)
            return cls(table.cells.copy(), table.counts.copy(), shape)
        # Placed cells stay ascending: merge the sorted sequences, always the
        # two smallest first, so that a large part (the running sum of the
        # previous merges) is merged once rather than once per other part.
        heap = [(t.cells.size, k, _placed(t.cells, t.shape[1], da, db, shape[1]),
                 t.counts.astype(np.int64, copy=len(parts) == 1))  # (own arrays, as above)
                for k, (t, da, db) in enumerate(parts)]
        heapq.heapify(heap)
        while len(heap) > 1:
            _, k, cells_a, counts_a = heapq.heappop(heap)
            _, _, cells_b, counts_b = heapq.heappop(heap)
            cells, counts = _merge_sorted(cells_a, counts_a, cells_b, counts_b)
            heapq.heappush(heap, (cells.size, k, cells, counts))
        _, _, cells, counts = heap[0]
        return cls(cells, counts, shape)


@dataclass(frozen=True)
class JointParts:
    """A joint histogram as the parts that sum to it, not yet summed:
    ``parts`` = ((JointCells, row offset, column offset), ...) placed in a
    table of ``shape`` (:meth:`JointCells.merged`).  :func:`combine` leaves
    its rows so, and :meth:`HistogramRecord.table` sums a row on first use:
    the rows' sums then run on the threads that derive the rows' metrics
    rather than one after the other in the last merge."""

    parts: tuple
    shape: tuple

    @property
    def bound(self) -> int:
        """The parts' cells: at least those of the sum."""
        return sum(t.cells.size for t, _, _ in self.parts)

    def merged(self) -> JointCells:
        return JointCells.merged(list(self.parts), self.shape)


@dataclass(frozen=True)
class HistogramOptions:
    """pairs : (K, 2) channel indices; rules : background and saturation;
    grids : per channel, a :class:`~.voxels.Grid` for float data or None for
    integer data; max_cells : budget of joint cells over all rows;
    shifts : per channel, values are shifted right by it (bins of 2**shift
        values, for coarser tables);
    moment_thresholds : (K, 2) thresholds of tm1/tm2 (NaN: none), or None:
        given, the record also holds the moments of every row
        (:func:`_cell_moments`; integer values only, neither grids nor
        shifts)."""

    pairs: np.ndarray
    rules: VoxelRules
    grids: tuple | None = None
    max_cells: int = MAX_CELLS
    shifts: tuple | None = None
    moment_thresholds: np.ndarray | None = None


@dataclass
class HistogramRecord:
    """``keys`` (rows, 3) = (region id, slice, pair index); ``extents`` (rows, 6)
    = (n, lo_a, hi_a, lo_b, hi_b, n_zero); ``tables``: per row its
    :class:`JointCells` (or, once merged, its :class:`JointParts`: read the
    rows through :meth:`table`), or a pair of 1-D marginal tables when
    ``joint`` is False (int32 in a chunk's record, int64 once merged);
    ``moments``: the rows' :class:`~.moments.MomentRecord` when asked for
    (``HistogramOptions.moment_thresholds``), else None."""

    keys: np.ndarray
    extents: np.ndarray
    joint: bool
    tables: list
    moments: moments.MomentRecord | None = None

    def table(self, i: int):
        """Row ``i``'s table, its parts summed now if they are not yet (and
        kept so): safe on several threads as long as each reads its own rows."""
        table = self.tables[i]
        if isinstance(table, JointParts):
            table = self.tables[i] = table.merged()
        return table

    def cell_bound(self, i: int) -> int:
        """At least the non-empty cells of joint row ``i``, without summing it."""
        table = self.tables[i]
        return table.bound if isinstance(table, JointParts) else table.cells.size

    def marginals(self) -> list:
        """The tables as marginal pairs (summing joint tables)."""
        if not self.joint:
            return self.tables
        return [self.table(i).marginals() for i in range(len(self.tables))]


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
    if ((shift < 0) | (shift > 62)).any():  # (a shift by 64 bits is undefined in the kernels)
        raise ValueError(f"histogram bin shifts must lie in [0, 62], not {options.shifts}")
    plain = not rules.general
    _extents(blocks, options.pairs, *runs, settings, zero, shift, plain, extents)
    present = extents[..., N] > 0
    rows = extents[present]
    where = np.argwhere(present)  # (dense region, slice, pair) of each row, C order
    slices = where[:, 1] + regions.slice_offset if regions.slice_offset is not None else \
        np.full(len(where), -1)
    keys = np.stack([regions.ids[where[:, 0]], slices, where[:, 2]], axis=1).astype(np.int64)
    width_a = rows[:, HI_A] - rows[:, LO_A] + 1
    width_b = rows[:, HI_B] - rows[:, LO_B] + 1
    dense = _cells(rows)
    scratch_cells = int(dense[(rows[:, N] * SPARSE_ROW >= dense)
                              & (dense <= MAX_ROW_CELLS)].max(initial=0))
    # Buffers at the bound, not grown as cells come: growing copies (and
    # faults in) their pages again and again; pages never written stay
    # unmapped, and the buffers are then shrunk to the cells.
    bound = int(np.minimum(dense, rows[:, N]).sum()) + SCAN_SLACK
    cells, counts = np.empty(bound, np.int64), np.empty(bound, np.int64)
    scratch = np.zeros(-(-scratch_cells // 8) * 8, np.uint8)  # whole uint64 words
    offsets = _joint_cells(blocks, options.pairs, *runs, settings, shift, plain, where, rows,
                           regions.ids.size, scratch, cells, counts, PREFETCH_RUNS)
    for buffer in (cells, counts):  # shrunk in place (realloc; no other reference
        buffer.resize(offsets[-1], refcheck=False)  # exists), not copied to their cells
    tables = [JointCells(cells[offsets[i]:offsets[i + 1]], counts[offsets[i]:offsets[i + 1]],
                         (int(width_a[i]), int(width_b[i]))) for i in range(len(rows))]
    fits = len(cells) <= options.max_cells
    return HistogramRecord(keys, rows, fits, tables if fits else [t.marginals() for t in tables],
                           None if options.moment_thresholds is None else _moments_record(
                               options, regions, extents, where, rows, cells, counts, offsets))


def _moments_record(options: HistogramOptions, regions: ChunkRegions, extents, where, rows,
                    cells, counts, offsets) -> moments.MomentRecord:
    """The moments of a chunk's ``rows`` (the ``extents`` present, at
    ``where``) from their cells (:func:`_cell_moments`); a row's voxels
    excluded (saturated) are its region's voxels not counted."""
    if options.grids is not None or any(options.shifts or ()):
        raise ValueError("moments from joint cells need integer values (no grid, no shift)")
    n_fields = len(moments.FIELDS)
    row_sums = np.zeros((len(rows), n_fields), np.int64)
    _cell_moments(cells, counts, offsets, rows, where[:, 2],
                  moments.gates(options.moment_thresholds, True), row_sums)
    sums = np.zeros(extents.shape[:3] + (n_fields,), np.int64)
    sums[tuple(where.T)] = row_sums
    sums[..., moments.N_SATURATED] = regions.voxels(extents.shape[1])[..., None] - extents[..., N]
    return moments.record_of(sums, regions)


@numba.njit(nogil=True, cache=True)
def _cell_moments(cells, counts, offsets, extents, pair, gates, out):
    """``out[i]`` = the :data:`~.moments.FIELDS` of row ``i``'s voxels from
    its cells ``cells[offsets[i]:offsets[i + 1]]`` (row-major, ascending;
    values x = lo_a + row, y = lo_b + column) with ``counts``, its pair's
    integer ``gates`` (K, 2) of Σa[b ≥ gate_b] and Σb[a ≥ gate_a]: n, Σa, Σb,
    Σa², Σb², Σab, Σa[b ≥ 1], Σb[a ≥ 1], the gated sums, and the voxels with
    a < 0 or b < 0 (the excluded counts are the caller's).  Exact int64, as
    the voxel kernel's (:mod:`.moments`: chunks of at most
    MAX_CHUNK_VOXELS 16-bit voxels).  Along a row of the table only sums
    over its cells' y are kept, then added with its x: a few operations per
    cell, where the voxel kernel spends them per voxel (a row holds ~10
    voxels a cell on bench_pixel's regions)."""
    for r in range(offsets.size - 1):
        lo_a, lo_b = extents[r, LO_A], extents[r, LO_B]
        width_b = extents[r, HI_B] - lo_b + 1
        gate_a, gate_b = gates[pair[r], 0], gates[pair[r], 1]
        i, first, row = -1, 0, -1
        n = sy = syy = n_positive = n_gated = n_negative = np.int64(0)  # over the row's y
        for k in range(offsets[r], offsets[r + 1]):
            i, first = cell_row(cells[k], width_b, i, first)
            if i != row:
                if row >= 0:
                    _add_table_row(out[r], lo_a + row, gate_a, n, sy, syy, n_positive, n_gated,
                                   n_negative)
                row = i
                n = sy = syy = n_positive = n_gated = n_negative = np.int64(0)
            c, y = counts[k], lo_b + cells[k] - first
            n += c
            sy += c * y
            syy += c * y * y
            n_positive += c if y >= 1 else 0
            n_gated += c if y >= gate_b else 0
            n_negative += c if y < 0 else 0
        if row >= 0:
            _add_table_row(out[r], lo_a + row, gate_a, n, sy, syy, n_positive, n_gated,
                           n_negative)


@numba.njit(inline="always")
def _add_table_row(acc, x, gate_a, n, sy, syy, n_positive, n_gated, n_negative):
    """Add a table row's ``n`` voxels of value ``x`` in a to the moment
    fields ``acc``, given Σ c·y, Σ c·y² and the counts with y ≥ 1, y ≥ gate_b
    and y < 0 over its cells."""
    acc[moments.N] += n
    acc[moments.N_NEGATIVE] += n if x < 0 else n_negative
    acc[moments.SA] += x * n
    acc[moments.SB] += sy
    acc[moments.SAA] += x * x * n
    acc[moments.SBB] += syy
    acc[moments.SAB] += x * sy
    acc[moments.SA_BPOS] += x * n_positive
    acc[moments.SB_APOS] += sy if x >= 1 else 0
    acc[moments.SA_BTHR] += x * n_gated
    acc[moments.SB_ATHR] += sy if x >= gate_a else 0


def combine(records: list[HistogramRecord], max_cells: int = MAX_CELLS) -> HistogramRecord:
    """Merge records on the union of each row's extents (deterministic for a
    given order); joint tables become marginals when all merged rows hold
    more than ``max_cells`` non-empty cells.  Joint rows are left as their parts
    (:class:`JointParts`) while the parts' cells fit ``max_cells`` (then so
    do the sums'); beyond, they are summed here to count their cells.  Rows
    that come in as parts (the previous merge's) are summed first, so a
    record holds the parts of one merge at most."""
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
    width_a = merged[:, HI_A] - merged[:, LO_A] + 1
    width_b = merged[:, HI_B] - merged[:, LO_B] + 1
    shift_a = extents[:, LO_A] - merged[group, LO_A]
    shift_b = extents[:, LO_B] - merged[group, LO_B]
    merged_moments = None if records[0].moments is None else \
        moments.combine([r.moments for r in records])
    if all(r.joint for r in records):
        parts = [[] for _ in range(len(unique))]
        inputs = (r.table(i) for r in records for i in range(len(r.tables)))
        for g, table, da, db in zip(group, inputs, shift_a, shift_b):
            parts[g].append((table, int(da), int(db)))
        tables = [JointParts(tuple(p), (int(wa), int(wb)))
                  for p, wa, wb in zip(parts, width_a, width_b)]
        if sum(t.bound for t in tables) > max_cells:  # the sums' cells decide
            tables = [t.merged() for t in tables]
            if sum(t.cells.size for t in tables) > max_cells:
                return HistogramRecord(unique, merged, False, [t.marginals() for t in tables],
                                       merged_moments)
        return HistogramRecord(unique, merged, True, tables, merged_moments)
    inputs = [t for r in records for t in r.marginals()]
    tables = [(np.zeros(wa, np.int64), np.zeros(wb, np.int64))
              for wa, wb in zip(width_a, width_b)]
    for g, (hist_a, hist_b), da, db in zip(group, inputs, shift_a, shift_b):
        tables[g][0][da:da + hist_a.size] += hist_a
        tables[g][1][db:db + hist_b.size] += hist_b
    return HistogramRecord(unique, merged, False, tables, merged_moments)


def statistic(options: HistogramOptions) -> Statistic:
    """The histograms as a :class:`~streamcoloc.stats.base.Statistic`."""
    return Statistic("histograms", partial(chunk, options=options),
                     partial(combine, max_cells=options.max_cells), lambda record: record,
                     by_region=True)

