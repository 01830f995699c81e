"""Where each voxel of a chunk belongs, as runs: labels of any size without masks.

Label images carry arbitrary ids (sparse, non-contiguous, up to 2**63 - 1).
One scan of a chunk's label block cuts every plane into **runs**: maximal
stretches of consecutive voxels (in C order) that share a label, at most
:data:`MAX_RUN` long.  Each run carries a dense local region index 0..R-1
(the ids are mapped in order of first appearance, with a hash table consulted
once per run, not per voxel), so every accumulator is a small ``(R, ...)``
table and kernels add a whole run to one row from registers.  The chunk's
record carries the real ids alongside; records are merged across chunks by id.
Label 0 is background: its voxels belong to no run.

Without a label image the whole chunk is one region (id :data:`WHOLE_IMAGE_ID`)
cut into runs of :data:`MAX_RUN` voxels.  Capped runs keep float sums blocked
(two-level summation) and a run's voxels in the L1/L2 cache for kernels that
pass over a run twice.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.typed import Dict

WHOLE_IMAGE_ID = 0  # region id used when no label image is given
NO_SLICE = -1  # slice index recorded when no slice axis is given
#: Longest run (voxels): 2 channels × 2048 float64 = 32 KiB, an L1 cache; and
#: at most 2**15, so int32 sums of a run of 16-bit values cannot overflow.
MAX_RUN = 2048


@numba.njit(nogil=True, cache=True)
def _label_runs(labels, max_run):
    """Runs of a ``(planes, voxels)`` label block.

    Returns ``(plane_start, start, stop, region, ids, n_negative)``: the runs
    of plane ``p`` are ``plane_start[p]:plane_start[p + 1]``; run ``r`` covers
    voxels ``start[r]:stop[r]`` of its plane and belongs to dense region
    ``region[r]``, whose label id is ``ids[region[r]]``.  ``n_negative``
    counts negative labels (an error for the caller to raise).

    The run arrays are sized for runs of 16 voxels on average; a block with
    shorter runs is scanned a second time into arrays of the exact size.
    (Arrays grown inside the loop would cost Numba reference counting on
    every iteration.)
    """
    lookup = Dict.empty(key_type=types.int64, value_type=types.int32)
    capacity = max(64, labels.size // 16)
    plane_start = np.zeros(labels.shape[0] + 1, np.int64)
    while True:
        start = np.empty(capacity, np.int64)
        stop = np.empty(capacity, np.int64)
        region = np.empty(capacity, np.int32)
        n_runs, n_negative = _scan_runs(labels, max_run, lookup, plane_start, start, stop,
                                        region)
        if n_runs <= capacity:
            break
        capacity = n_runs
    ids = np.empty(len(lookup), np.int64)
    for key, index in lookup.items():
        ids[index] = key
    return plane_start, start[:n_runs].copy(), stop[:n_runs].copy(), region[:n_runs].copy(), \
        ids, n_negative


@numba.njit(nogil=True, cache=True)
def _scan_runs(labels, max_run, lookup, plane_start, start, stop, region):
    """Fill the run arrays as far as they go; returns (runs found, negative
    labels).  ``lookup`` maps label ids to dense indices in order of first
    appearance and is kept across calls.

    A plane's runs end where its label changes: voxels 1.. of the plane are
    compared with their predecessors 64 at a time into a bit mask, without
    branches (a loop LLVM vectorizes), whose set bits are read lowest first;
    the window that reaches the plane's end ends its last run.  An id equal
    to the last one looked up is not looked up again (a row crosses a region
    in one run between background runs, and the next row the same region).
    Together 1.6x faster than finding each run's end by comparing 32 voxels
    at a time with its first and then one by one, and looking every id up
    (benchmarks/bench_pieces.py).  (One function: a Numba helper inlined
    twice, taking the arrays, would count their references at each call.)"""
    n_runs = n_negative = 0
    last_id, index = np.int64(0), np.int32(0)  # the last id looked up and its index
    for p in range(labels.shape[0]):
        plane_start[p] = n_runs
        plane = labels[p]
        first, base = 0, 1  # the current run's first voxel; the window's
        while plane.size:
            changes = np.uint64(0)
            if base + 64 <= plane.size:  # (a fixed count, which LLVM unrolls)
                for i in range(64):
                    changes |= np.uint64(plane[base + i] != plane[base + i - 1]) << np.uint64(i)
            else:
                for i in range(max(plane.size - base, 0)):
                    changes |= np.uint64(plane[base + i] != plane[base + i - 1]) << np.uint64(i)
            at_end = last = base + 64 >= plane.size  # the window ends the plane's last run
            while changes or last:
                if changes:
                    end = base + _lowest_bit(changes)
                    changes &= changes - np.uint64(1)
                else:
                    end, last = plane.size, False
                value = plane[first]
                if value < 0:
                    n_negative += end - first
                elif value > 0:
                    key = np.int64(value)
                    if key != last_id:
                        if key in lookup:
                            index = lookup[key]
                        else:
                            index = np.int32(len(lookup))
                            lookup[key] = index
                        last_id = key
                    for q in range(first, end, max_run):
                        if n_runs < start.size:
                            start[n_runs] = q
                            stop[n_runs] = min(q + max_run, end)
                            region[n_runs] = index
                        n_runs += 1
                first = end
            if at_end:
                break
            base += 64
    plane_start[labels.shape[0]] = n_runs
    return n_runs, n_negative


#: De Bruijn sequence for the index of a 64-bit word's lowest set bit
#: (Leiserson, Prokop & Randall 1998): its top 6 bits after multiplying by
#: that bit alone are distinct for each of the 64 bits.
_DE_BRUIJN = np.uint64(0x03F79D71B4CB0A89)
_BIT_OF = np.zeros(64, np.int64)
_BIT_OF[[((_DE_BRUIJN.item() << k) % 2**64) >> 58 for k in range(64)]] = np.arange(64)


@numba.njit(inline="always")
def _lowest_bit(word):
    """Index of the lowest set bit of a non-zero uint64."""
    return _BIT_OF[((word & (~word + np.uint64(1))) * _DE_BRUIJN) >> np.uint64(58)]


@dataclass(frozen=True)
class ChunkRegions:
    """The runs of one chunk (see the module docstring).

    Attributes
    ----------
    plane_start : ndarray of int64, shape (SL + 1,)
        Runs of label plane ``p`` are ``plane_start[p]:plane_start[p + 1]``;
        ``SL`` is 1 when one plane of runs applies to every slice.
    start, stop : ndarray of int64, shape (n_runs,)
        Voxel range of each run within its plane.
    region : ndarray of int32, shape (n_runs,)
        Dense region index of each run.
    ids : ndarray of int64, shape (R,)
        Label id of each dense index.
    slice_offset : int or None
        Global index of the chunk's first slice, or None without slices.
    """

    plane_start: np.ndarray
    start: np.ndarray
    stop: np.ndarray
    region: np.ndarray
    ids: np.ndarray
    slice_offset: int | None

    @classmethod
    def from_labels(cls, labels: np.ndarray | None, n_voxels: int, slice_offset: int | None):
        """Runs of a label block shaped ``(SL, n_voxels)``, or of one region
        covering ``n_voxels`` voxels per plane when ``labels`` is None."""
        if labels is None:
            start = np.arange(0, n_voxels, MAX_RUN, dtype=np.int64)
            return cls(np.array([0, start.size], np.int64), start,
                       np.minimum(start + MAX_RUN, n_voxels), np.zeros(start.size, np.int32),
                       np.array([WHOLE_IMAGE_ID], np.int64), slice_offset)
        plane_start, start, stop, region, ids, n_negative = _label_runs(
            _canonical_labels(labels), MAX_RUN)
        if n_negative:
            raise ValueError(
                f"label image has {n_negative} negative label values in a chunk; "
                "labels must be 0 (background) or positive integer ids")
        return cls(plane_start, start, stop, region, ids, slice_offset)

    def split(self, n_parts: int) -> tuple["ChunkRegions", ...]:
        """The chunk's regions dealt into ``n_parts`` groups (some may be
        empty) of about equal voxels: the largest region first, each to the
        group with the fewest voxels so far (ties to the lower group).  A
        group keeps its regions' runs in their order and its regions in
        their order of first appearance, so a region's statistics come out
        of its group exactly as out of the whole chunk.  O(runs + regions ·
        log groups): one stable sort of the runs by group."""
        if n_parts == 1:
            return (self,)
        n_regions = self.ids.size
        voxels = np.bincount(self.region, weights=self.stop - self.start, minlength=n_regions)
        group = np.empty(n_regions, np.int64)
        loads = [(0.0, k) for k in range(n_parts)]  # a heap of (voxels, group)
        for g in np.argsort(-voxels, kind="stable"):
            load, k = heapq.heappop(loads)
            group[g] = k
            heapq.heappush(loads, (load + voxels[g], k))
        # each region's index within its group, in order of first appearance
        by_group = np.argsort(group, kind="stable")
        first_of_group = np.concatenate([[0], np.cumsum(np.bincount(group, minlength=n_parts))])
        dense = np.empty(n_regions, np.int32)
        dense[by_group] = np.arange(n_regions) - first_of_group[group[by_group]]
        run_group = group[self.region]
        runs = np.argsort(run_group, kind="stable")  # by group, then plane and run order
        run_bounds = np.searchsorted(run_group[runs], np.arange(n_parts + 1))
        n_planes = self.plane_start.size - 1
        plane_of_run = np.repeat(np.arange(n_planes), np.diff(self.plane_start))
        parts = []
        for k in range(n_parts):
            mine = runs[run_bounds[k]:run_bounds[k + 1]]
            parts.append(ChunkRegions(
                np.searchsorted(plane_of_run[mine], np.arange(n_planes + 1)),
                self.start[mine], self.stop[mine], dense[self.region[mine]],
                self.ids[by_group[first_of_group[k]:first_of_group[k + 1]]], self.slice_offset))
        return tuple(parts)

    def none(self) -> "ChunkRegions":
        """The chunk with none of its regions (its planes and slice offset)."""
        empty = np.zeros(0, np.int64)
        return ChunkRegions(np.zeros_like(self.plane_start), empty, empty,
                            np.zeros(0, np.int32), empty, self.slice_offset)

    def keys(self, n_slices: int) -> np.ndarray:
        """``(R * n_slices, 2)`` int64 keys (region id, global slice) in
        ``(region, slice)`` C order, matching a ``(R, S, ...)`` accumulator."""
        region = np.repeat(self.ids, n_slices)
        if self.slice_offset is None:
            slices = np.full(region.size, NO_SLICE, dtype=np.int64)
        else:
            slices = np.tile(np.arange(n_slices, dtype=np.int64) + self.slice_offset, self.ids.size)
        return np.stack([region, slices], axis=1)

    def voxels(self, n_slices: int) -> np.ndarray:
        """``(R, n_slices)`` int64 voxels of each region's runs in each slice
        (its label plane's, or the one plane's in every slice)."""
        n_planes = self.plane_start.size - 1
        if n_planes not in (1, n_slices):
            raise ValueError(f"{n_planes} label planes for {n_slices} slices")
        plane = np.repeat(np.arange(n_planes), np.diff(self.plane_start))
        out = np.bincount(self.region.astype(np.int64) * n_planes + plane,
                          self.stop - self.start, self.ids.size * n_planes)  # (exact below 2**53)
        out = out.astype(np.int64).reshape(self.ids.size, n_planes)
        return out if n_planes == n_slices else np.repeat(out, n_slices, axis=1)


def _canonical_labels(labels: np.ndarray) -> np.ndarray:
    """Labels in an integer dtype the kernel takes without a copy (bool as
    uint8, uint64 as int64 after checking ids stay below 2**63)."""
    if labels.dtype == np.bool_:
        return labels.view(np.uint8)
    if labels.dtype == np.uint64:
        if labels.size and labels.max() >= 2**63:
            raise ValueError("label ids must be below 2**63")
        return labels.view(np.int64)
    return labels
