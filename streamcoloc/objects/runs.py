"""Connected components of a binary block by runs and a union-find (Numba, no dask).

A block's foreground is cut into **runs**: maximal stretches of foreground
voxels along the last axis of one row ``(z, y)``.  Two runs are connected
when some voxel pair of theirs is (``scipy.ndimage.generate_binary_structure
(3, connectivity)``): for a row offset ``(dz, dy)`` with ``m`` nonzero
components (``m ≤ connectivity``), runs ``[s, e)`` and ``[s', e')`` touch when
``s < e' + k`` and ``s' < e + k``, with ``k = 1`` if a diagonal step along x
is still allowed (``m + 1 ≤ connectivity``), else ``k = 0``.  Each row is
compared with the (up to 4) rows before it in raster order, runs are joined
in a union-find whose roots are the smallest run index, and components are
numbered 1..n in order of their first run: the raster order of their first
voxel, as ``scipy.ndimage.label`` numbers them.

Work and memory grow with the number of runs, not voxels (He et al.,
"A run-based two-scan labeling algorithm", IEEE TIP 17(5), 2008).  A 1-D or
2-D block is a 3-D block with leading axes of length 1.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _scan_runs(foreground, row_start, start, stop):
    """Fill the run arrays as far as they go; returns the number of runs."""
    n_runs = 0
    n_y = foreground.shape[1]
    for z in range(foreground.shape[0]):
        for y in range(n_y):
            row_start[z * n_y + y] = n_runs
            row = foreground[z, y]
            x = 0
            while x < row.size:
                if row[x] == 0:
                    x += 1
                    continue
                first = x
                while x < row.size and row[x] != 0:
                    x += 1
                if n_runs < start.size:
                    start[n_runs] = first
                    stop[n_runs] = x
                n_runs += 1
    row_start[foreground.shape[0] * n_y] = n_runs
    return n_runs


@numba.njit(nogil=True, cache=True)
def foreground_runs(foreground):
    """``(row_start, start, stop)`` of a 3-D uint8 block: the runs of row
    ``z * Y + y`` are ``row_start[row]:row_start[row + 1]``, run ``r`` covers
    x in ``[start[r], stop[r])``.  Sized for runs of 8 voxels on average; a
    block with more runs is scanned again into arrays of the exact size."""
    capacity = max(64, foreground.size // 8)
    row_start = np.zeros(foreground.shape[0] * foreground.shape[1] + 1, np.int64)
    while True:
        start = np.empty(capacity, np.int32)
        stop = np.empty(capacity, np.int32)
        n_runs = _scan_runs(foreground, row_start, start, stop)
        if n_runs <= capacity:
            return row_start, start[:n_runs].copy(), stop[:n_runs].copy()
        capacity = n_runs


@numba.njit(nogil=True, cache=True, inline="always")
def _find(parent, r):
    while parent[r] != r:
        parent[r] = parent[parent[r]]  # path halving
        r = parent[r]
    return r


@numba.njit(nogil=True, cache=True, inline="always")
def _union(parent, a, b):
    a = _find(parent, a)
    b = _find(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


@numba.njit(nogil=True, cache=True)
def _join_rows(parent, row_start, start, stop, row, other, k):
    """Union every run of ``row`` with the runs of ``other`` it touches."""
    j_first = row_start[other]
    j_end = row_start[other + 1]
    for i in range(row_start[row], row_start[row + 1]):
        while j_first < j_end and stop[j_first] + k <= start[i]:
            j_first += 1  # runs ending before run i (starts grow with i)
        j = j_first
        while j < j_end and start[j] < stop[i] + k:
            _union(parent, i, j)
            j += 1


@numba.njit(nogil=True, cache=True)
def label_runs(row_start, start, stop, shape_zy, connectivity):
    """``(run_label, n)``: label 1..n of every run, numbered by first run."""
    n_z, n_y = shape_zy
    n_runs = start.size
    parent = np.arange(n_runs).astype(np.int32)
    for z in range(n_z):
        for y in range(n_y):
            row = z * n_y + y
            for dz, dy in ((0, -1), (-1, -1), (-1, 0), (-1, 1)):
                nonzero = (dz != 0) + (dy != 0)
                if nonzero > connectivity or z + dz < 0 or not 0 <= y + dy < n_y:
                    continue
                k = 1 if nonzero + 1 <= connectivity else 0
                _join_rows(parent, row_start, start, stop, row, (z + dz) * n_y + y + dy, k)
    run_label = np.empty(n_runs, np.int32)
    n = 0
    for r in range(n_runs):
        root = _find(parent, r)
        if root == r:
            n += 1
            run_label[r] = n
        else:
            run_label[r] = run_label[root]  # root < r: already numbered
    return run_label, n


@numba.njit(nogil=True, cache=True)
def run_sizes(start, stop, run_label, n):
    """Voxels per label 0..n (index 0, the background, is left 0)."""
    sizes = np.zeros(n + 1, np.int64)
    for r in range(start.size):
        sizes[run_label[r]] += stop[r] - start[r]
    return sizes


@numba.njit(nogil=True, cache=True)
def paint(row_start, start, stop, run_value, out):
    """Write ``run_value[r]`` on the voxels of every run of a zeroed 3-D
    ``out``."""
    n_y = out.shape[1]
    for z in range(out.shape[0]):
        for y in range(n_y):
            row = out[z, y]
            for r in range(row_start[z * n_y + y], row_start[z * n_y + y + 1]):
                row[start[r]:stop[r]] = run_value[r]
