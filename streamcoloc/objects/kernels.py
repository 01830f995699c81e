"""Numba kernels of the object pipeline (no dask): one block in memory at a time.

Every kernel takes raveled (1-D) or 3-D C-contiguous blocks in a few dtypes
(2-D blocks are passed as one plane, shape ``(1, Y, X)``), so a cold cache
compiles each kernel a handful of times at most.
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.typed import Dict

#: Integer dtypes the kernels take as they are (few Numba specializations).
INTEGER_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16),
                  np.dtype(np.int32), np.dtype(np.int64))


def integer_block(block: np.ndarray) -> np.ndarray:
    """An integer (or bool) block raveled in one of :data:`INTEGER_DTYPES`:
    bool as uint8, int8 as int16, other integers as int64 (uint64 values
    must stay below 2**63)."""
    block = np.ascontiguousarray(block)
    if block.dtype == np.bool_:
        return block.view(np.uint8).ravel()
    if block.dtype in INTEGER_DTYPES:
        return block.ravel()
    if block.dtype == np.uint64 and block.size and block.max() >= 2**63:
        raise ValueError("integer values must be below 2**63")
    return block.astype(np.int16 if block.dtype == np.int8 else np.int64).ravel()


@numba.njit(nogil=True, cache=True)
def integer_range(values, mask):
    """``(n, low, high)`` of the voxels where ``mask`` is nonzero (every voxel
    when ``mask`` is empty); ``n`` is 0 when none is counted."""
    use_mask = mask.size > 0
    n = 0
    low = np.int64(np.iinfo(np.int64).max)
    high = np.int64(np.iinfo(np.int64).min)
    for i in range(values.size):
        if use_mask and mask[i] == 0:
            continue
        v = np.int64(values[i])
        n += 1
        low = min(low, v)
        high = max(high, v)
    return n, low, high


@numba.njit(nogil=True, cache=True)
def count_integers(values, mask, low, counts):
    """``counts[v - low] += 1`` for every counted voxel (as :func:`integer_range`)."""
    use_mask = mask.size > 0
    for i in range(values.size):
        if use_mask and mask[i] == 0:
            continue
        counts[np.int64(values[i]) - low] += 1


@numba.njit(nogil=True, cache=True)
def dense_index(labels):
    """Dense region index of every voxel of a raveled label block: ``(index,
    ids)`` with ``index[i] = r`` when ``labels[i] == ids[r]`` (ids in order of
    first appearance) and ``-1`` on background (0).  Consecutive equal labels
    share one hash lookup.  Negative labels are counted in the third output."""
    lookup = Dict.empty(key_type=types.int64, value_type=types.int32)
    index = np.empty(labels.size, np.int32)
    current = np.int64(0)
    current_index = np.int32(-1)
    n_negative = 0
    for i in range(labels.size):
        value = np.int64(labels[i])
        if value != current:
            current = value
            if value <= 0:
                n_negative += 1 if value < 0 else 0
                current_index = np.int32(-1)
            elif value in lookup:
                current_index = lookup[value]
            else:
                current_index = np.int32(len(lookup))
                lookup[value] = current_index
        elif value < 0:
            n_negative += 1
        index[i] = current_index
    ids = np.empty(len(lookup), np.int64)
    for key, position in lookup.items():
        ids[position] = key
    return index, ids, n_negative


@numba.njit(nogil=True, cache=True)
def region_moments(index, image, n_regions):
    """Per region of a 3-D dense-index block: voxel count, Σ coordinates
    (int64, block-local), Σ intensity and Σ intensity × coordinates (float64).
    ``image`` is a block of the same shape, or empty (no intensity sums)."""
    count = np.zeros(n_regions, np.int64)
    coords = np.zeros((n_regions, 3), np.int64)
    mass = np.zeros(n_regions, np.float64)
    mass_coords = np.zeros((n_regions, 3), np.float64)
    has_image = image.size > 0
    for z in range(index.shape[0]):
        for y in range(index.shape[1]):
            row = index[z, y]
            for x in range(row.size):
                r = row[x]
                if r < 0:
                    continue
                count[r] += 1
                coords[r, 0] += z
                coords[r, 1] += y
                coords[r, 2] += x
                if has_image:
                    value = np.float64(image[z, y, x])
                    mass[r] += value
                    mass_coords[r, 0] += value * z
                    mass_coords[r, 1] += value * y
                    mass_coords[r, 2] += value * x
    return count, coords, mass, mass_coords


@numba.njit(nogil=True, cache=True)
def pair_counts(index_a, index_b, n_b):
    """Voxels shared by each pair of regions of two raveled dense-index blocks
    (``n_b`` regions in b): ``(a, b, count)`` arrays, one entry per pair that
    shares a voxel.  A run of voxels with the same pair costs one hash update."""
    table = Dict.empty(key_type=types.int64, value_type=types.int64)
    previous = np.int64(-1)
    run = 0
    for i in range(index_a.size):
        a, b = index_a[i], index_b[i]
        key = np.int64(a) * n_b + b if (a >= 0) & (b >= 0) else np.int64(-1)
        if key == previous:
            run += 1
            continue
        if previous >= 0:
            table[previous] = table.get(previous, 0) + run
        previous = key
        run = 1
    if previous >= 0:
        table[previous] = table.get(previous, 0) + run
    a = np.empty(len(table), np.int32)
    b = np.empty(len(table), np.int32)
    count = np.empty(len(table), np.int64)
    k = 0
    for key, value in table.items():
        a[k], b[k], count[k] = key // n_b, key % n_b, value
        k += 1
    return a, b, count
