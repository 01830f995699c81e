"""Where objects of neighbouring blocks touch: label pairs across block faces.

Two voxels ``p`` and ``q`` are connected when ``d = q − p`` has every
component in {−1, 0, 1} and at most ``connectivity`` nonzero components
(``scipy.ndimage.generate_binary_structure(ndim, connectivity)``).  When they
lie in different blocks, their block indices differ by ``δ`` ∈ {−1, 0, 1}ⁿ
with ``d_k = δ_k`` on the axes where ``δ_k ≠ 0``: ``p`` lies on block i's
boundary toward ``δ`` (its last plane along axes with ``δ_k = 1``, its first
with ``δ_k = −1``), ``q`` on block ``i + δ``'s opposite boundary, and along
the other axes (where both blocks span the same range) ``d_k`` ∈ {−1, 0, 1}.
So every connection across blocks is found by comparing, for each *forward*
``δ`` (first nonzero component +1; the backward one is the same pair seen
from the other block), two boundary slabs under a few small shifts: faces,
edges and corners alike, whatever the block sizes.

Each block keeps only its boundary planes (one per axis and side that has a
neighbour); edges and corners are slices of them.
"""

from __future__ import annotations

import itertools

import numpy as np


def boundary_planes(labels: np.ndarray, index: tuple, n_blocks: tuple) -> dict:
    """``{(axis, side): plane}`` copies of the block's first (side 0) and last
    (side 1) planes along every axis where a neighbour block lies."""
    planes = {}
    for axis in range(labels.ndim):
        if index[axis] > 0:
            planes[axis, 0] = np.take(labels, 0, axis=axis).copy()
        if index[axis] < n_blocks[axis] - 1:
            planes[axis, 1] = np.take(labels, -1, axis=axis).copy()
    return planes


def forward_offsets(ndim: int, connectivity: int) -> list[tuple]:
    """Block offsets δ toward the neighbours a block is compared with: first
    nonzero component +1, at most ``connectivity`` nonzero components."""
    offsets = []
    for delta in itertools.product((-1, 0, 1), repeat=ndim):
        nonzero = [d for d in delta if d]
        if nonzero and nonzero[0] == 1 and len(nonzero) <= connectivity:
            offsets.append(delta)
    return offsets


def _slab(planes: dict, delta: tuple, toward: bool) -> np.ndarray:
    """The block's boundary toward ``δ`` (``toward``) or toward ``−δ``, as an
    array over the axes where ``δ_k = 0``."""
    axes = [k for k, d in enumerate(delta) if d]
    first = axes[0]  # δ_first = +1: last plane toward δ, first plane toward −δ
    slab = planes[first, 1 if toward else 0]
    for k in reversed(axes[1:]):  # later axes, from the end so numbers stay valid
        position = k - 1  # the plane lost the axis ``first`` < k
        at_end = (delta[k] == 1) == toward
        slab = np.take(slab, -1 if at_end else 0, axis=position)
    return slab


def touching_pairs(planes_i: dict, planes_j: dict, delta: tuple,
                   connectivity: int) -> np.ndarray:
    """``(P, 2)`` unique pairs (label in block i, label in block i + δ) of
    connected nonzero voxels across the boundary between the two blocks."""
    a = np.atleast_1d(_slab(planes_i, delta, toward=True))  # a corner is one voxel
    b = np.atleast_1d(_slab(planes_j, delta, toward=False))
    budget = connectivity - sum(1 for d in delta if d)
    found = []
    for shift in itertools.product((-1, 0, 1), repeat=a.ndim):
        if sum(1 for s in shift if s) > budget:
            continue
        # pairs a[x] ~ b[x + shift] where both indices are inside the slab
        sa = tuple(slice(max(0, -s), n - max(0, s)) for s, n in zip(shift, a.shape))
        sb = tuple(slice(max(0, s), n - max(0, -s)) for s, n in zip(shift, a.shape))
        left, right = a[sa], b[sb]
        both = (left != 0) & (right != 0)
        if both.any():
            # one int64 key per pair (local labels < 2**31), unique per shift
            found.append(np.unique(left[both].astype(np.int64) << 32 | right[both]))
    if not found:
        return np.zeros((0, 2), np.int64)
    keys = np.unique(np.concatenate(found))
    return np.stack([keys >> 32, keys & 0xFFFFFFFF], axis=1)
