#!/usr/bin/env python
"""Pieces of the analysis against the code they replaced.

* **Costes walks** (``Walk.replay``, Coloc 2's walker): the candidates looked
  up among the staircase's sample points against mapped through the gates
  and searched on the staircase (the previous code, still the path of a
  staircase that keeps no sample points).  On walks of the size of
  bench_pixel's ~3,000 cut cells (ranges ~600 x 500) and of its 50 cells
  (~1,800 x 1,200); the results are checked equal.
* **Extents** (``histograms._extents`` on plain uint16 runs): extremes in the
  data's dtype, shifted after, against the previous loop in int64 (kept here
  as the reference), on a synthetic block of region runs like bench_pixel's
  (~86 voxels a run); the extents are checked equal.
* **The scan of a row's byte scratch** (``histograms._scan_cells``, the end
  of every dense row's joint count): a word's 8 cells written without a
  branch, 8 empty words skipped at once, against a branch per cell and a
  test per word (the previous scan, kept here as the reference), on rows
  like bench_pixel's 50 regions (~1M voxels of correlated channels in an
  extent of ~1,750 x 1,400 values: ~8 % of the cells non-empty).  Each scan
  first refills the scratch it resets (a copy of the row's bytes, the same
  for both, so the ratio understates the scans'); the cells are checked
  equal.
* **Label runs** (``regions._scan_runs``): the label changes found 64 voxels
  at a time into a bit mask, and the last id's index kept, against each
  run's end found 32 voxels at a time and then one by one, and every id
  looked up (the previous scan, kept here as the reference), on a 16
  Mi-voxel block of bench_pixel's 50 cells (its own generator); the runs
  are checked equal.
* **Moments** of that block's regions: the kernel that sums them from the
  block's joint cells (``histograms._cell_moments``, the analyses' path when
  they count joint tables) against the voxel kernel's chunk
  (``moments.chunk``); the records are checked equal.

Each pair alternates ``--repeat`` times in one process after a warm-up and
prints the medians and the median of the ratios (previous / new).

    .venv/bin/python benchmarks/bench_pieces.py
"""

from __future__ import annotations

import argparse

import numba
import numpy as np
from harness import alternated

from bench_pixel import channel_block, labels_block, make_scene

from streamcoloc.stats import histograms, moments, regions
from streamcoloc.stats.voxels import VoxelRules
from streamcoloc.stats.costes import Axis, Staircase, Walk
from streamcoloc.stats.histograms import _BIG, HI_A, HI_B, LO_A, LO_B, N, N_ZERO


def walks(ranges: tuple, count: int, rng) -> list:
    """(walk with its sample points, the same walk without them, below r and
    n) on random lines through random extents of about ``ranges``."""
    out = []
    for _ in range(count):
        lo_a, lo_b = (int(x) for x in rng.integers(100, 200, 2))
        axes = (Axis(lo_a, lo_a + ranges[0], type_min=0, type_max=65535),
                Axis(lo_b, lo_b + ranges[1], type_min=0, type_max=65535))
        line = (float(rng.uniform(0.4, 0.9)), float(rng.uniform(-20, 20)))
        kept = Walk("coloc2", *axes, line)
        mapped = Walk("coloc2", *axes, line)
        stairs = mapped.staircase
        mapped.staircase = Staircase(stairs.gate_a, stairs.gate_b, stairs.kind)
        cells = stairs.gate_a.size
        below = (np.linspace(0.9, -0.1, cells) + rng.normal(0, 0.01, cells), np.arange(cells))
        out.append((kept, mapped, below))
    return out


@numba.njit(nogil=True)
def _old_extents(a_all, b_all, run_start, run_stop, run_region, zero, shift, out):
    """The previous plain extents (one pair, one slice): every value widened
    to int64 and shifted first."""
    for r in range(run_start.size):
        a, b = a_all[run_start[r]:run_stop[r]], b_all[run_start[r]:run_stop[r]]
        lo_a, hi_a, lo_b, hi_b, n_zero = _BIG, -_BIG, _BIG, -_BIG, 0
        for q in range(a.size):
            x, y = np.int64(a[q]) >> shift[0], np.int64(b[q]) >> shift[1]
            lo_a, hi_a = min(lo_a, x), max(hi_a, x)
            lo_b, hi_b = min(lo_b, y), max(hi_b, y)
            n_zero += (x == zero[0]) & (y == zero[1])
        row = out[run_region[r], 0, 0]
        row[N] += a.size
        row[LO_A], row[HI_A] = min(row[LO_A], lo_a), max(row[HI_A], hi_a)
        row[LO_B], row[HI_B] = min(row[LO_B], lo_b), max(row[HI_B], hi_b)
        row[N_ZERO] += n_zero


def block(rng, voxels: int = 2**24, regions: int = 20, run: int = 86):
    """Two correlated uint16 channels and region runs covering ~2/3 of them."""
    base = rng.integers(150, 1900, voxels).astype(np.uint16)
    channels = [base[None], (base * 0.6 + rng.integers(0, 300, voxels)).astype(np.uint16)[None]]
    start = np.arange(0, voxels - run, int(run * 1.5), dtype=np.int64)
    stop = start + run
    region = rng.integers(0, regions, start.size).astype(np.int32)
    return channels, start, stop, region, regions


@numba.njit(nogil=True)
def _old_scan(scratch, words, size, listed, cells, counts, n):
    """The previous scan: a test per word, a branch per cell."""
    p = 0
    for w in range((size + 7) >> 3):
        end = (w + 1) << 3
        if words[w] == 0 and (p == listed.size or listed[p] >= end):
            continue
        for c in range(w << 3, min(end, size)):
            count = np.int64(scratch[c])
            while p < listed.size and listed[p] == c:
                count += 256
                p += 1
            if count:
                cells[n] = c
                counts[n] = count
                n += 1
        words[w] = 0
    return n


@numba.njit(nogil=True)
def _old_scan_runs(labels, max_run, lookup, plane_start, start, stop, region):
    """The previous run scan: each run's end found by comparing 32 voxels at
    a time with its first label, then one by one; every id looked up."""
    n_runs = 0
    n_negative = 0
    for p in range(labels.shape[0]):
        plane_start[p] = n_runs
        plane = labels[p]
        q = 0
        while q < plane.size:
            value = plane[q]
            end = q + 1
            while end + 32 <= plane.size:
                differs = False
                for i in range(end, end + 32):
                    differs |= plane[i] != value
                if differs:
                    break
                end += 32
            while end < plane.size and plane[end] == value:
                end += 1
            if value < 0:
                n_negative += end - q
            elif value > 0:
                key = np.int64(value)
                if key in lookup:
                    index = lookup[key]
                else:
                    index = np.int32(len(lookup))
                    lookup[key] = index
                for first in range(q, end, max_run):
                    if n_runs < start.size:
                        start[n_runs] = first
                        stop[n_runs] = min(first + max_run, end)
                        region[n_runs] = index
                    n_runs += 1
            q = end
    plane_start[labels.shape[0]] = n_runs
    return n_runs, n_negative


def label_runs(kernel, labels) -> tuple:
    """The runs ``kernel`` finds in a (1, voxels) label block."""
    lookup = numba.typed.Dict.empty(key_type=numba.types.int64, value_type=numba.types.int32)
    capacity = labels.size // 16
    plane_start = np.zeros(2, np.int64)
    start, stop = np.empty(capacity, np.int64), np.empty(capacity, np.int64)
    region = np.empty(capacity, np.int32)
    n, _ = kernel(labels, regions.MAX_RUN, lookup, plane_start, start, stop, region)
    return start[:n], stop[:n], region[:n]


def scratch_rows(rng, count: int = 4, voxels: int = 2**20) -> list:
    """(byte scratch, size, listed cells) of ``count`` rows of correlated
    uint16-like values: b = 0.7 a + N(0, 25), a in [150, 1900)."""
    rows = []
    for _ in range(count):
        a = rng.integers(150, 1900, voxels)
        b = np.rint(0.7 * a + rng.normal(0, 25, voxels)).astype(np.int64)
        width = int(b.max() - b.min() + 1)
        size = int(a.max() - a.min() + 1) * width
        full = np.bincount((a - a.min()) * width + b - b.min(), minlength=size)
        scratch = np.zeros(-(-size // 8) * 8, np.uint8)
        scratch[:size] = full % 256
        listed = np.repeat(np.arange(size), full // 256).astype(np.int64)
        rows.append((scratch, size, listed))
    return rows


def scan(kernel, rows, work, cells, counts) -> list:
    """Each row's scratch refilled into ``work``, then scanned by ``kernel``."""
    out = []
    for scratch, size, listed in rows:
        np.copyto(work[:scratch.size], scratch)
        n = kernel(work, work.view(np.uint64), size, listed, cells, counts, 0)
        out.append((cells[:n].copy(), counts[:n].copy()) if cells is not None else n)
    return out


def new_extents(channels, start, stop, region, regions):
    out = _fresh(regions)
    histograms._extents(channels, np.array([[0, 1]]), np.array([0, start.size]), start, stop,
                        region, np.zeros((2, 3), np.int64), np.zeros(2, np.int64),
                        np.zeros(2, np.int64), True, out)
    return out


def old_extents(channels, start, stop, region, regions):
    out = _fresh(regions)
    _old_extents(channels[0][0], channels[1][0], start, stop, region, np.zeros(2, np.int64),
                 np.zeros(2, np.int64), out)
    return out


def _fresh(regions):
    out = np.zeros((regions, 1, 1, 6), np.int64)
    out[..., [LO_A, LO_B]] = _BIG
    out[..., [HI_A, HI_B]] = -_BIG
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"bench_pieces: medians of {args.repeat} alternations, previous / new")
    for ranges, count in (((600, 500), 300), ((1800, 1200), 50)):
        cases = walks(ranges, count, rng)
        for kept, mapped, below in cases:
            if kept.replay(below) != mapped.replay(below):
                raise SystemExit("bench_pieces: the walks' results differ")
        old, new, ratio = alternated(lambda: [m.replay(b) for _, m, b in cases],
                                     lambda: [k.replay(b) for k, _, b in cases], args.repeat)
        print(f"  Coloc 2 walks {ranges[0]}x{ranges[1]} (x{count}): mapped {1e6 * old / count:.0f}"
              f" us, looked up {1e6 * new / count:.0f} us a walk, ratio {ratio:.2f}x")
    data = block(rng)
    if not (old_extents(*data) == new_extents(*data)).all():
        raise SystemExit("bench_pieces: the extents differ")
    old, new, ratio = alternated(lambda: old_extents(*data), lambda: new_extents(*data),
                                 args.repeat)
    print(f"  extents of a 16 Mi-voxel uint16 block: int64 loop {1e3 * old:.1f} ms, "
          f"own dtype {1e3 * new:.1f} ms, ratio {ratio:.2f}x")
    rows = scratch_rows(rng)
    work = np.zeros(max(r[0].size for r in rows), np.uint8)
    cells = np.empty(max(r[1] for r in rows) + histograms.SCAN_SLACK, np.int64)
    counts = np.empty_like(cells)
    found = [scan(k, rows, work, cells, counts) for k in (_old_scan, histograms._scan_cells)]
    if not all((x == y).all() for old_row, new_row in zip(*found)
               for x, y in zip(old_row, new_row)):
        raise SystemExit("bench_pieces: the scans' cells differ")
    old, new, ratio = alternated(lambda: scan(_old_scan, rows, work, cells, counts),
                                 lambda: scan(histograms._scan_cells, rows, work, cells, counts),
                                 args.repeat)
    kept = sum(c.size for c, _ in found[1]) / len(rows)
    print(f"  scans of {len(rows)} rows' byte scratch (~{rows[0][1] / 1e6:.1f}M cells, "
          f"{kept / 1e3:.0f}k non-empty, refill included): a branch per cell "
          f"{1e3 * old / len(rows):.2f} ms, branch-free {1e3 * new / len(rows):.2f} ms a row, "
          f"ratio {ratio:.2f}x")
    scene, place = make_scene((64, 1024, 1024)), [(0, 64), (0, 512), (0, 512)]
    labels = labels_block(scene, place).reshape(1, -1)
    old_runs, new_runs = (label_runs(k, labels) for k in (_old_scan_runs, regions._scan_runs))
    if not all((x == y).all() for x, y in zip(old_runs, new_runs)):
        raise SystemExit("bench_pieces: the label runs differ")
    old, new, ratio = alternated(lambda: label_runs(_old_scan_runs, labels),
                                 lambda: label_runs(regions._scan_runs, labels), args.repeat)
    print(f"  label runs of a 16 Mi-voxel block of bench_pixel's 50 cells ({new_runs[0].size:,} "
          f"runs): run by run {1e3 * old:.1f} ms, 64 voxels at a time {1e3 * new:.1f} ms, "
          f"ratio {ratio:.2f}x")
    channels = [channel_block(scene, c, place).reshape(1, -1) for c in (0, 1)]
    chunk_regions = regions.ChunkRegions.from_labels(labels, labels.shape[1], None)
    record = histograms.chunk(channels, chunk_regions, histograms.HistogramOptions(
        PAIR, VoxelRules(), moment_thresholds=NO_THRESHOLDS))
    voxels = moments_of_voxels(channels, chunk_regions)
    if not all((x == y).all() for x, y in ((record.moments.keys, voxels.keys),
                                           (record.moments.hi, voxels.hi),
                                           (record.moments.lo, voxels.lo))):
        raise SystemExit("bench_pieces: the moments differ")
    tables = [np.concatenate([getattr(t, name) for t in record.tables])
              for name in ("cells", "counts")]
    offsets = np.concatenate([[0], np.cumsum([t.cells.size for t in record.tables])])
    old, new, ratio = alternated(lambda: moments_of_voxels(channels, chunk_regions),
                                 lambda: moments_of_cells(*tables, offsets, record.extents),
                                 args.repeat)
    print(f"  moments of a block's 50 cells ({tables[0].size:,} joint cells of "
          f"{int(record.extents[:, histograms.N].sum()):,} voxels): per voxel "
          f"{1e3 * old:.1f} ms, from the cells {1e3 * new:.1f} ms, ratio {ratio:.2f}x")


PAIR, NO_THRESHOLDS = np.array([[0, 1]]), np.full((1, 2), np.nan)


def moments_of_voxels(channels, chunk_regions):
    return moments.chunk(channels, chunk_regions,
                         moments.MomentOptions(PAIR, VoxelRules(), NO_THRESHOLDS))


def moments_of_cells(cells, counts, offsets, extents):
    sums = np.zeros((offsets.size - 1, len(moments.FIELDS)), np.int64)
    histograms._cell_moments(cells, counts, offsets, extents, np.zeros(offsets.size - 1, np.int64),
                             moments.gates(NO_THRESHOLDS, True), sums)
    return sums


if __name__ == "__main__":
    main()
