"""Numba kernels of the spatial diagnostics (no dask here).

Every kernel works on one block in memory and adds into accumulators the
caller merges across blocks.  Channels arrive in a canonical kernel dtype
(:mod:`streamcoloc.stats.dtypes`): integers of at most 16 bits are summed
exactly in int64; floats in float64 after subtracting a per-block reference
value (the block's mean), which keeps sums of squares of bright,
low-variance data free of cancellation.

A voxel is *measured* when it lies inside the mask and its value is finite;
the validity arrays (uint8, 1 = measured) say so per voxel, and an empty
validity array means "every voxel is measured" (the fast loops).
"""

from __future__ import annotations

import numba
import numpy as np
from numba import types
from numba.extending import overload

#: Fields of a shifted-moment row: pairs, Σa, Σb, Σa², Σb², Σab.
N, SA, SB, SAA, SBB, SAB = range(6)
#: Voxels of a shift-axis tile whose pairs are summed for every shift while
#: in cache (32 KiB of uint16 per channel).
TILE_VOXELS = 16384
#: Narrowest line (voxels) summed per shift; narrower lines are gathered.
LINE_VOXELS = 64


def _centered(x, ref):
    """``x`` as an accumulator value: int64 for integers (``ref`` unused,
    always 0), ``x − ref`` in float64 for floats."""


@overload(_centered, inline="always")
def _centered_impl(x, ref):
    if isinstance(x, types.Integer):
        return lambda x, ref: np.int64(x)
    return lambda x, ref: np.float64(x) - ref


@numba.njit(nogil=True, cache=True)
def finite_mean(values):
    """Mean of the finite values of an array (0.0 when there are none): the
    reference subtracted from float data before summing."""
    flat = values.ravel()
    total = 0.0
    count = 0
    for q in range(flat.size):
        v = np.float64(flat[q])
        finite = v - v == 0
        total += v if finite else 0.0
        count += 1 if finite else 0
    return total / count if count else 0.0


# ---------------------------------------------------------------- Van Steensel CCF

def _product(x, y, ref_a, ref_b):
    """``(x − ref_a)(y − ref_b)`` as an accumulator value.  Integers (refs
    0) give their exact product as int64, written as a product of 32-bit
    operands: LLVM then vectorizes it with 32 × 32 → 64-bit multiplies
    (measured 1.6× faster than int64 operands).  Floats in float64."""


@overload(_product, inline="always")
def _product_impl(x, y, ref_a, ref_b):
    if isinstance(x, types.Integer) and not x.signed and x.bitwidth <= 16:
        return lambda x, y, ref_a, ref_b: np.int64(np.uint32(x) * np.uint32(y))
    if isinstance(x, types.Integer):
        return lambda x, y, ref_a, ref_b: np.int64(np.int32(x) * np.int32(y))
    return lambda x, y, ref_a, ref_b: (np.float64(x) - ref_a) * (np.float64(y) - ref_b)


@numba.njit(nogil=True, cache=True)
def ccf_sums(a, b, valid_a, valid_b, lo, hi, stride, shifts, ref_a, ref_b, out):
    """Add the moments of every shifted voxel pair of one block to ``out``.

    ``a`` and ``b`` are the block (with its halo) viewed as ``(P, L)``: the
    axes before the shift axis flattened into P, the shift axis and the axes
    after it into ``L = lines × stride``, so voxel ``(p, i, q)`` (line ``i``
    along the shift axis) is ``a[p, i * stride + q]``.  For shift ``l`` the
    pairs are ``(a[p, i, q], b[p, i + l, q])`` for every line ``i`` of the
    block's own interior ``lo <= i < hi`` with ``0 <= i + l < lines``: each
    pair of the image is counted once, by the block owning its first voxel.
    A pair is measured when ``valid_a`` holds at the first voxel and
    ``valid_b`` at the second (both empty: every pair).

    ``out[k]`` receives (n, Σa, Σb, Σa², Σb², Σab) of shift ``shifts[k]``,
    values taken minus ``ref_a``/``ref_b`` for float data (integer data:
    exact int64, refs unused).

    Narrow lines (shifts along x: one voxel per line) are first gathered
    side by side, ``group`` rows at a time, into a buffer where each line
    holds at least :data:`LINE_VOXELS` voxels, so every shift sums long
    contiguous runs (a transposition of the rows, read once).
    """
    n_lines = a.shape[1] // stride
    use_valid = valid_a.size > 0
    prefix = np.zeros((n_lines + 1, 4), out.dtype)
    group = max(1, LINE_VOXELS // stride)
    if group == 1:
        for p in range(a.shape[0]):
            _row_sums(a[p], b[p], valid_a[p] if use_valid else valid_a.ravel(),
                      valid_b[p] if use_valid else valid_b.ravel(), lo, hi, stride, shifts,
                      ref_a, ref_b, prefix, out)
        return
    size = a.shape[1] * group
    buf_a, buf_b = np.empty(size, a.dtype), np.empty(size, b.dtype)
    buf_va = np.empty(size if use_valid else 0, valid_a.dtype)
    buf_vb = np.empty(size if use_valid else 0, valid_b.dtype)
    for p0 in range(0, a.shape[0], group):
        rows = min(group, a.shape[0] - p0)
        width = rows * stride
        _gather(a, p0, rows, stride, buf_a)
        _gather(b, p0, rows, stride, buf_b)
        if use_valid:
            _gather(valid_a, p0, rows, stride, buf_va)
            _gather(valid_b, p0, rows, stride, buf_vb)
        used = n_lines * width
        _row_sums(buf_a[:used], buf_b[:used], buf_va[:used if use_valid else 0],
                  buf_vb[:used if use_valid else 0], lo, hi, width, shifts, ref_a, ref_b,
                  prefix, out)


@numba.njit(nogil=True, cache=True)
def _gather(x, p0, rows, stride, buffer):
    """``buffer[i * rows * stride + r * stride + q] = x[p0 + r, i * stride + q]``:
    line i of the ``rows`` rows from ``p0``, side by side."""
    width = rows * stride
    for r in range(rows):
        row = x[p0 + r]
        for i in range(row.size // stride):
            for q in range(stride):
                buffer[i * width + r * stride + q] = row[i * stride + q]


@numba.njit(nogil=True, cache=True)
def _row_sums(row_a, row_b, valid_a, valid_b, lo, hi, stride, shifts, ref_a, ref_b, prefix,
              out):
    """:func:`ccf_sums` of one row of ``lines × stride`` voxels.  Without
    validity only Σab is summed pair by pair; the other sums of a shift are
    differences of per-line prefix sums.  The interior is processed in tiles
    of lines that stay in cache while every shift is summed."""
    n_lines = row_a.size // stride
    use_valid = valid_a.size > 0
    if not use_valid:
        _line_prefix_sums(row_a, row_b, stride, ref_a, ref_b, prefix)
        for k in range(shifts.size):
            i0 = max(lo, -shifts[k])
            i1 = min(hi, n_lines - shifts[k])
            if i1 > i0:
                out[k, N] += (i1 - i0) * stride
                out[k, SA] += prefix[i1, 0] - prefix[i0, 0]
                out[k, SAA] += prefix[i1, 1] - prefix[i0, 1]
                out[k, SB] += prefix[i1 + shifts[k], 2] - prefix[i0 + shifts[k], 2]
                out[k, SBB] += prefix[i1 + shifts[k], 3] - prefix[i0 + shifts[k], 3]
    tile = max(1, TILE_VOXELS // stride)
    for t0 in range(lo, hi, tile):
        t1 = min(t0 + tile, hi)
        for k in range(shifts.size):
            shift = shifts[k]
            i0 = max(t0, -shift)
            i1 = min(t1, n_lines - shift)
            if i1 <= i0:
                continue
            first = i0 * stride
            size = (i1 - i0) * stride
            second = first + shift * stride
            av = row_a[first:first + size]
            bv = row_b[second:second + size]
            if use_valid:
                _add_weighted_pairs(av, bv, valid_a[first:first + size],
                                    valid_b[second:second + size], ref_a, ref_b, out[k])
            else:
                out[k, SAB] += _sum_products(av, bv, ref_a, ref_b)


@numba.njit(nogil=True, cache=True)
def _line_prefix_sums(row_a, row_b, stride, ref_a, ref_b, prefix):
    for i in range(prefix.shape[0] - 1):
        av = row_a[i * stride:(i + 1) * stride]
        bv = row_b[i * stride:(i + 1) * stride]
        sa = sb = saa = sbb = 0
        for q in range(av.size):
            x = _centered(av[q], ref_a)
            y = _centered(bv[q], ref_b)
            sa += x
            sb += y
            saa += x * x
            sbb += y * y
        prefix[i + 1, 0] = prefix[i, 0] + sa
        prefix[i + 1, 1] = prefix[i, 1] + saa
        prefix[i + 1, 2] = prefix[i, 2] + sb
        prefix[i + 1, 3] = prefix[i, 3] + sbb


@numba.njit(nogil=True, cache=True)
def _sum_products(av, bv, ref_a, ref_b):
    total = 0
    for q in range(av.size):
        total += _product(av[q], bv[q], ref_a, ref_b)
    return total


@numba.njit(nogil=True, cache=True)
def _add_weighted_pairs(av, bv, wa, wb, ref_a, ref_b, acc):
    n = 0
    sa = sb = saa = sbb = sab = 0
    for q in range(av.size):
        keep = (wa[q] & wb[q]) != 0
        x = _centered(av[q], ref_a)
        y = _centered(bv[q], ref_b)
        x = x if keep else 0
        y = y if keep else 0
        n += 1 if keep else 0
        sa += x
        sb += y
        saa += x * x
        sbb += y * y
        sab += x * y
    acc[N] += n
    acc[SA] += sa
    acc[SB] += sb
    acc[SAA] += saa
    acc[SBB] += sbb
    acc[SAB] += sab


# ---------------------------------------------------------------- nMDP map

@numba.njit(nogil=True, cache=True)
def nmdp(a, b, valid, mean_a, mean_b, scale, out):
    """``out`` = (a − ā)(b − b̄) / scale voxel by voxel, NaN where not
    measured (``valid`` 0; every voxel when ``valid`` is empty, NaN/Inf
    propagate).  All arrays flat."""
    use_valid = valid.size > 0
    for q in range(out.size):
        value = (np.float64(a[q]) - mean_a) * (np.float64(b[q]) - mean_b) / scale
        out[q] = value if not use_valid or valid[q] != 0 else np.nan


# ---------------------------------------------------------------- local Pearson map

@numba.njit(nogil=True, cache=True)
def local_pearson(a, b, valid, origin, radius, ref_a, ref_b, tolerance, acc, out):
    """Pearson's r in a box window around every voxel of a block's interior.

    ``a``, ``b`` (and ``valid``, or empty) are a 3-D block with its halo;
    ``out`` (nz, ny, nx) is its interior, which starts at ``origin`` in the
    block.  The window of voxel ``c`` is the box ``c ± radius`` cut at the
    block (that is, the image) border; its measured voxels give
    r = (nΣab − ΣaΣb) / √((nΣa² − (Σa)²)(nΣb² − (Σb)²)).  ``out`` is NaN
    where the voxel itself is not measured or a channel is constant in the
    window (nΣa² − (Σa)² ≤ tolerance·nΣa²; tolerance 0 for exact sums).

    ``acc`` is an empty array of the accumulator dtype (int64: exact, or
    float64).  Window sums slide along z: each plane's 2-D box sums (prefix
    sums along x, then along y) are added when the plane enters the window
    and subtracted when it leaves, so memory is two planes of six sums.
    """
    nz = out.shape[0]
    z0 = origin[0]
    rz = radius[0]
    window = np.zeros((out.shape[1], out.shape[2], 6), acc.dtype)
    row_start = max(origin[1] - radius[1], 0)
    row_stop = min(origin[1] + out.shape[1] + radius[1], a.shape[1])
    rows = np.zeros((row_stop - row_start + 1, out.shape[2], 6), acc.dtype)
    line = np.zeros((a.shape[2] + 1, 6), acc.dtype)
    entered = left = max(z0 - rz, 0)
    for iz in range(nz):
        while left < max(z0 + iz - rz, 0):
            _add_plane_box_sums(a, b, valid, left, origin, radius, row_start, ref_a, ref_b,
                                -1, rows, line, window)
            left += 1
        while entered < min(z0 + iz + rz + 1, a.shape[0]):
            _add_plane_box_sums(a, b, valid, entered, origin, radius, row_start, ref_a, ref_b,
                                1, rows, line, window)
            entered += 1
        _window_pearson(window, valid, z0 + iz, origin[1], origin[2], tolerance, out[iz])


@numba.njit(nogil=True, cache=True)
def _add_plane_box_sums(a, b, valid, z, origin, radius, row_start, ref_a, ref_b, sign, rows,
                        line, window):
    """``window[iy, ix] += sign ×`` the six sums over the 2-D window of
    interior voxel (iy, ix) in plane ``z`` of the block."""
    ny, nx = window.shape[0], window.shape[1]
    y0, x0 = origin[1], origin[2]
    ry, rx = radius[1], radius[2]
    width = a.shape[2]
    use_valid = valid.size > 0
    rows[0] = 0
    for r in range(1, rows.shape[0]):
        y = row_start + r - 1
        for x in range(width):  # prefix sums along the row
            keep = valid[z, y, x] != 0 if use_valid else True
            u = _centered(a[z, y, x], ref_a)
            v = _centered(b[z, y, x], ref_b)
            u = u if keep else 0
            v = v if keep else 0
            line[x + 1, N] = line[x, N] + (1 if keep else 0)
            line[x + 1, SA] = line[x, SA] + u
            line[x + 1, SB] = line[x, SB] + v
            line[x + 1, SAA] = line[x, SAA] + u * u
            line[x + 1, SBB] = line[x, SBB] + v * v
            line[x + 1, SAB] = line[x, SAB] + u * v
        for ix in range(nx):  # row window sums, accumulated down the rows
            x_lo = max(x0 + ix - rx, 0)
            x_hi = min(x0 + ix + rx + 1, width)
            for f in range(6):
                rows[r, ix, f] = rows[r - 1, ix, f] + line[x_hi, f] - line[x_lo, f]
    for iy in range(ny):
        y_lo = max(y0 + iy - ry, 0) - row_start
        y_hi = min(y0 + iy + ry + 1, a.shape[1]) - row_start
        for ix in range(nx):
            for f in range(6):
                window[iy, ix, f] += sign * (rows[y_hi, ix, f] - rows[y_lo, ix, f])


@numba.njit(nogil=True, cache=True)
def _window_pearson(window, valid, z, y0, x0, tolerance, out):
    use_valid = valid.size > 0
    for iy in range(out.shape[0]):
        for ix in range(out.shape[1]):
            s = window[iy, ix]
            n = s[N]
            var_a = n * s[SAA] - s[SA] * s[SA]
            var_b = n * s[SBB] - s[SB] * s[SB]
            cov = n * s[SAB] - s[SA] * s[SB]
            measured = valid[z, y0 + iy, x0 + ix] != 0 if use_valid else True
            if (not measured or var_a <= tolerance * n * s[SAA]
                    or var_b <= tolerance * n * s[SBB]):
                out[iy, ix] = np.nan
            else:
                r = np.float64(cov) / np.sqrt(np.float64(var_a)) / np.sqrt(np.float64(var_b))
                out[iy, ix] = min(max(r, -1.0), 1.0)


# ---------------------------------------------------------------- runs: ranges, histograms

@numba.njit(nogil=True, cache=True)
def run_ranges(a, b, start, stop, out):
    """``out`` (2, 2) ← min and max of ``a`` (row 0) and ``b`` (row 1) over
    the voxels of the runs ``start[r]:stop[r]`` finite in both channels."""
    for r in range(start.size):
        av = a[start[r]:stop[r]]
        bv = b[start[r]:stop[r]]
        for q in range(av.size):
            x = np.float64(av[q])
            y = np.float64(bv[q])
            if x - x == 0 and y - y == 0:
                out[0, 0] = min(out[0, 0], x)
                out[0, 1] = max(out[0, 1], x)
                out[1, 0] = min(out[1, 0], y)
                out[1, 1] = max(out[1, 1], y)


@numba.njit(inline="always")
def _bin(value, edges):
    """Bin of ``value``: ``k`` with ``edges[k] <= value < edges[k + 1]``, the
    last bin closed (numpy.histogram2d's rule); −1 outside or NaN."""
    last = edges.size - 1
    if not (edges[0] <= value <= edges[last]):
        return -1
    k = int((value - edges[0]) / (edges[last] - edges[0]) * last)
    k = min(max(k, 0), last - 1)
    while k > 0 and value < edges[k]:
        k -= 1
    while k < last - 1 and value >= edges[k + 1]:
        k += 1
    return k


@numba.njit(nogil=True, cache=True)
def joint_counts(a, b, start, stop, edges_a, edges_b, out):
    """``out[i, j]`` += voxels of the runs with ``a`` in bin i and ``b`` in
    bin j (voxels outside the edges or non-finite are not counted)."""
    for r in range(start.size):
        av = a[start[r]:stop[r]]
        bv = b[start[r]:stop[r]]
        for q in range(av.size):
            i = _bin(np.float64(av[q]), edges_a)
            j = _bin(np.float64(bv[q]), edges_b)
            if i >= 0 and j >= 0:
                out[i, j] += 1


@numba.njit(nogil=True, cache=True)
def ica_counts(a, b, start, stop, means, offsets, divisors, edges_a, edges_b, edges_p,
               out_a, out_b, signs):
    """Li's ICA densities of the runs' voxels finite in both channels.

    With ``p = (a − ā)(b − b̄) / (divisor_a · divisor_b)`` and the plotted
    intensity ``(a − offset_a) / divisor_a`` (b alike): ``out_a[i, j]`` +=
    voxels with the intensity of a in bin i and p in bin j (``out_b`` for b);
    ``signs`` += (n, #[(a − ā)(b − b̄) > 0], #[(a − ā)(b − b̄) = 0]).
    """
    scale = divisors[0] * divisors[1]
    for r in range(start.size):
        av = a[start[r]:stop[r]]
        bv = b[start[r]:stop[r]]
        for q in range(av.size):
            x = np.float64(av[q])
            y = np.float64(bv[q])
            if not (x - x == 0 and y - y == 0):
                continue
            product = (x - means[0]) * (y - means[1])
            signs[0] += 1
            signs[1] += 1 if product > 0 else 0
            signs[2] += 1 if product == 0 else 0
            j = _bin(product / scale, edges_p)
            i = _bin((x - offsets[0]) / divisors[0], edges_a)
            if i >= 0 and j >= 0:
                out_a[i, j] += 1
            i = _bin((y - offsets[1]) / divisors[1], edges_b)
            if i >= 0 and j >= 0:
                out_b[i, j] += 1
