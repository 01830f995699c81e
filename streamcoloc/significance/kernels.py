"""Numba kernels of the tile randomization test (no dask).

A tile is a 3-D array region cut into blocks on a fixed grid.  Blocks of the
same shape form a *group* (interior blocks, and at the array's far edges the
blocks cut by the edge, one group per shape); the test permutes channel b's
blocks within each group.  The kernels:

* :func:`gather` copies a channel's tile into voxel-major rows (per group:
  voxel q of every block, blocks in C order of the block grid, then voxel
  q + 1, ...) with a validity flag per voxel;
* :func:`permuted_sums` draws ``n_iter`` independent uniform permutations of
  every group (Fisher–Yates with the xoshiro256** generator) and, for the
  identity pairing (row 0) and each permutation (rows 1..n_iter), adds the
  Pearson sums n, Σa, Σb, Σa², Σb², Σab of the pairs (voxel q of block j of a,
  voxel q of block π(j) of b) measured in both channels;
* :func:`pairings` returns the permutations :func:`permuted_sums` draws, for
  checks against brute force.

Random numbers: xoshiro256** (Blackman & Vigna, "Scrambled linear
pseudorandom number generators", ACM TOMS 2021) on a state of four uint64
words; integers below n by Lemire's exactly uniform multiply-shift.
"""

from __future__ import annotations

import numba
import numpy as np

#: Fields of a row of sums.
FIELDS = ("n", "sa", "sb", "saa", "sbb", "sab")
N, SA, SB, SAA, SBB, SAB = range(len(FIELDS))
#: Columns of the group table: first block index (z, y, x) of the group in
#: the tile's block grid, block counts (z, y, x), block extents (z, y, x),
#: offset of the group's first voxel in the rows, of its first block in the
#: permutation.
G_FIRST, G_COUNT, G_EXTENT, G_OFFSET, G_SLOT = 0, 3, 6, 9, 10
#: Sums are accumulated in float64 over at most this many pairs, then moved
#: to the tile's sums, so that on the exact path (integers of at most 16 bits,
#: |a·b| ≤ 2**32) every float64 partial sum is an exact integer (< 2**53).
FLUSH_VOXELS = 2**20


@numba.njit(inline="always")
def _rotl(x, k):
    return (x << np.uint64(k)) | (x >> np.uint64(64 - k))


@numba.njit(nogil=True, cache=True)
def next_u64(state):
    """Next 64-bit output of xoshiro256** (``state``: 4 uint64, updated)."""
    s0, s1, s2, s3 = state[0], state[1], state[2], state[3]
    result = _rotl(s1 * np.uint64(5), 7) * np.uint64(9)
    t = s1 << np.uint64(17)
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, 45)
    state[0], state[1], state[2], state[3] = s0, s1, s2, s3
    return result


@numba.njit(nogil=True, cache=True)
def below(state, n):
    """Uniform integer in [0, n), 1 ≤ n ≤ 2**32: Lemire's multiply-shift on
    the top 32 bits of the generator's output, with his rejection step, so
    the draw is exactly uniform (Lemire, "Fast random integer generation in
    an interval", ACM TOMS 2019)."""
    bound = np.uint64(n)
    product = (next_u64(state) >> np.uint64(32)) * bound
    low = product & np.uint64(0xFFFFFFFF)
    if low < bound:
        threshold = (np.uint64(2**32) - bound) % bound
        while low < threshold:
            product = (next_u64(state) >> np.uint64(32)) * bound
            low = product & np.uint64(0xFFFFFFFF)
    return np.int64(product >> np.uint64(32))


@numba.njit(nogil=True, cache=True)
def shuffle(values, state):
    """Fisher–Yates shuffle of ``values`` in place: a uniform permutation of
    whatever order they are in."""
    for i in range(values.size - 1, 0, -1):
        j = below(state, i + 1)
        values[i], values[j] = values[j], values[i]


@numba.njit(inline="always")
def _count(groups, g):
    return groups[g, G_COUNT] * groups[g, G_COUNT + 1] * groups[g, G_COUNT + 2]


@numba.njit(nogil=True, cache=True)
def identity_pairing(groups):
    """Every group's blocks in their own order: slot ``G_SLOT + j`` holds j."""
    n_slots = 0
    for g in range(groups.shape[0]):
        n_slots += _count(groups, g)
    perm = np.empty(n_slots, np.uint32)  # unsigned: no wrap-around check on y[perm[i]]
    for g in range(groups.shape[0]):
        for j in range(_count(groups, g)):
            perm[groups[g, G_SLOT] + j] = j
    return perm


@numba.njit(nogil=True, cache=True)
def next_pairing(perm, groups, state):
    """Shuffle every group's slots of ``perm`` in place, group by group."""
    for g in range(groups.shape[0]):
        slot = groups[g, G_SLOT]
        shuffle(perm[slot:slot + _count(groups, g)], state)


@numba.njit(nogil=True, cache=True)
def pairings(groups, n_iter, state):
    """The ``n_iter`` pairings :func:`permuted_sums` draws from ``state``,
    one row each (for checks against brute force)."""
    perm = identity_pairing(groups)
    out = np.empty((n_iter, perm.size), np.uint32)
    for k in range(n_iter):
        next_pairing(perm, groups, state)
        out[k] = perm
    return out


@numba.njit(nogil=True, cache=True)
def gather(image, mask, use_mask, groups, block, rows, valid):
    """Copy a 3-D tile into the group-major ``rows`` (see :func:`permuted_sums`)
    and set ``valid`` to 1 where the voxel is measured: finite, and inside
    ``mask`` (a uint8 tile) when ``use_mask``.  Returns the number of voxels
    not measured."""
    n_invalid = 0
    for g in range(groups.shape[0]):
        cz, cy, cx = groups[g, G_COUNT], groups[g, G_COUNT + 1], groups[g, G_COUNT + 2]
        ez, ey, ex = groups[g, G_EXTENT], groups[g, G_EXTENT + 1], groups[g, G_EXTENT + 2]
        count = _count(groups, g)
        offset = groups[g, G_OFFSET]
        j = 0
        for iz in range(cz):
            z0 = (groups[g, G_FIRST] + iz) * block[0]
            for iy in range(cy):
                y0 = (groups[g, G_FIRST + 1] + iy) * block[1]
                for ix in range(cx):
                    x0 = (groups[g, G_FIRST + 2] + ix) * block[2]
                    q = 0
                    for dz in range(ez):
                        for dy in range(ey):
                            for dx in range(ex):
                                value = image[z0 + dz, y0 + dy, x0 + dx]
                                ok = value - value == 0  # finite (always, for integers)
                                if use_mask:
                                    ok = ok & (mask[z0 + dz, y0 + dy, x0 + dx] != 0)
                                at = offset + q * count + j
                                rows[at] = value
                                valid[at] = 1 if ok else 0
                                n_invalid += 0 if ok else 1
                                q += 1
                    j += 1
    return n_invalid


@numba.njit(nogil=True, cache=True, fastmath={"reassoc"})
def permuted_sums(a_rows, b_rows, a_valid, b_valid, groups, n_iter, state, shift, general,
                  exact, out_exact, out_float):
    """Pearson sums of the identity pairing and of ``n_iter`` permutations.

    Layout of ``*_rows`` and ``*_valid`` (from :func:`gather`): group after
    group; within a group of ``count`` blocks of ``size`` voxels, voxel q of
    block j is at ``offset + q·count + j`` (voxel-major, so each pass over
    one q reads the permuted blocks of b from a span of ``count`` values
    that stays in cache).

    Values enter as ``x = a − shift[0]``, ``y = b − shift[1]`` (shift 0 on
    the exact path).  Voxel q of block j of a pairs with voxel q of block
    π(j) of b; a pair counts when both voxels are valid.  With ``general``
    False every voxel is valid, so n, Σx, Σy, Σx², Σy² are those of the
    identity and only Σxy is summed per permutation.  Row k of
    ``out_exact`` (int64, when ``exact``) or ``out_float`` (float64)
    receives (n, Σx, Σy, Σx², Σy², Σxy) of pairing k: row 0 the identity,
    rows 1..n_iter the permutations.  Each permutation continues from the
    previous one (a Fisher–Yates shuffle of any order is uniform), so the
    draws depend only on ``state``.
    """
    perm = identity_pairing(groups)
    part = np.zeros(len(FIELDS))
    for k in range(n_iter + 1):
        full = general or k == 0
        if k > 0:
            next_pairing(perm, groups, state)
        for g in range(groups.shape[0]):
            count = _count(groups, g)
            size = groups[g, G_EXTENT] * groups[g, G_EXTENT + 1] * groups[g, G_EXTENT + 2]
            offset = groups[g, G_OFFSET]
            order = perm[groups[g, G_SLOT]:groups[g, G_SLOT] + count]
            for q in range(size):
                start = offset + q * count
                for first in range(0, count, FLUSH_VOXELS):
                    stop = min(first + FLUSH_VOXELS, count)
                    x = a_rows[start + first:start + stop]
                    vx = a_valid[start + first:start + stop]
                    y = b_rows[start:start + count]
                    vy = b_valid[start:start + count]
                    js = order[first:stop]
                    if full:
                        _add_pairs(part, x, y, vx, vy, js, shift[0], shift[1])
                    else:
                        _add_products(part, x, y, js, shift[0], shift[1])
                    _flush(part, k, exact, out_exact, out_float)
        if not full:
            for f in range(SAB):
                out_exact[k, f] = out_exact[0, f]
                out_float[k, f] = out_float[0, f]


@numba.njit(inline="always")
def _add_products(part, x, y, js, shift_x, shift_y):
    """Σxy of the pairs (x[i], y[js[i]])."""
    sxy = 0.0
    for i in range(x.size):
        sxy += (np.float64(x[i]) - shift_x) * (np.float64(y[js[i]]) - shift_y)
    part[SAB] += sxy


@numba.njit(inline="always")
def _add_pairs(part, x, y, vx, vy, js, shift_x, shift_y):
    """The six sums of the pairs (x[i], y[js[i]]) where both are valid
    (selects, not branches: an invalid value, even NaN, contributes 0)."""
    n = sx = sy = sxx = syy = sxy = 0.0
    for i in range(x.size):
        j = js[i]
        keep = (vx[i] & vy[j]) != 0
        u = np.float64(x[i]) - shift_x if keep else 0.0
        v = np.float64(y[j]) - shift_y if keep else 0.0
        n += 1.0 if keep else 0.0
        sx += u
        sy += v
        sxx += u * u
        syy += v * v
        sxy += u * v
    part[N] += n
    part[SA] += sx
    part[SB] += sy
    part[SAA] += sxx
    part[SBB] += syy
    part[SAB] += sxy


@numba.njit(inline="always")
def _flush(part, k, exact, out_exact, out_float):
    """Move the float64 partial sums into row ``k`` of the tile's sums."""
    for f in range(len(FIELDS)):
        if exact:
            out_exact[k, f] += np.int64(part[f])
        else:
            out_float[k, f] += part[f]
        part[f] = 0.0
