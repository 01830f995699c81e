"""Dense region ids for one chunk: labels of any size without per-region masks.

Label images carry arbitrary ids (sparse, non-contiguous, up to 2**63 - 1).
Each chunk maps the ids it contains to dense local indices 0..R-1 in one scan,
so every accumulator is a small ``(R, ...)`` table indexed by that local id and
the chunk's record carries the real ids alongside (merged across chunks by id).
Label 0 is background and maps to -1 (not measured).
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from numba import types
from numba.typed import Dict

BACKGROUND = -1
WHOLE_IMAGE_ID = 0  # region id used when no label image is given
NO_SLICE = -1  # slice index recorded when no slice axis is given


@numba.njit(nogil=True, cache=True)
def _dense_ids(labels):
    """Local dense ids of a flat label array, in order of first appearance.

    Returns ``(local, ids, n_negative)``: ``local[i]`` is the dense index of
    ``labels[i]`` (``-1`` for label 0), ``ids`` the label id of each dense
    index, ``n_negative`` the number of negative labels seen (an error for the
    caller to raise).  Label images are spatially coherent, so the previous
    voxel's label is checked before the hash table.
    """
    local = np.empty(labels.size, dtype=np.int32)
    lookup = Dict.empty(key_type=types.int64, value_type=types.int32)
    ids = np.empty(16, dtype=np.int64)
    n_ids = 0
    n_negative = 0
    previous = np.int64(0)
    previous_local = np.int32(-1)
    for i in range(labels.size):
        value = np.int64(labels[i])
        if value == previous:
            local[i] = previous_local
            continue
        if value <= 0:
            if value < 0:
                n_negative += 1
            index = np.int32(-1)
        elif value in lookup:
            index = lookup[value]
        else:
            index = np.int32(n_ids)
            lookup[value] = index
            if n_ids == ids.size:
                grown = np.empty(2 * ids.size, dtype=np.int64)
                grown[:n_ids] = ids
                ids = grown
            ids[n_ids] = value
            n_ids += 1
        local[i] = index
        previous = value
        previous_local = index
    return local, ids[:n_ids].copy(), n_negative


@dataclass(frozen=True)
class ChunkRegions:
    """Where each voxel of a chunk belongs: its dense region and its slice.

    Attributes
    ----------
    local : ndarray of int32, shape (SL, P), or None
        Dense region index per voxel (``-1`` = background); ``SL`` is 1 when
        one label plane applies to every slice.  ``None`` means the whole chunk
        is one region with id :data:`WHOLE_IMAGE_ID`.
    ids : ndarray of int64, shape (R,)
        Label id of each dense index.
    slice_offset : int
        Global index of the chunk's first slice, or ``None`` without slices.
    """

    local: np.ndarray | None
    ids: np.ndarray
    slice_offset: int | None

    @classmethod
    def from_labels(cls, labels: np.ndarray | None, slice_offset: int | None):
        """Build from a label block shaped ``(SL, P)`` (or None for no labels)."""
        if labels is None:
            return cls(None, np.array([WHOLE_IMAGE_ID], dtype=np.int64), slice_offset)
        flat = _canonical_labels(labels).ravel()
        local, ids, n_negative = _dense_ids(flat)
        if n_negative:
            raise ValueError(
                f"label image has {n_negative} negative label values in a chunk; "
                "labels must be 0 (background) or positive integer ids"
            )
        return cls(local.reshape(labels.shape), ids, slice_offset)

    def keys(self, n_slices: int) -> np.ndarray:
        """``(R * n_slices, 2)`` int64 keys (region id, global slice) in
        ``(region, slice)`` C order, matching a ``(R, S, ...)`` accumulator."""
        region = np.repeat(self.ids, n_slices)
        if self.slice_offset is None:
            slices = np.full(region.size, NO_SLICE, dtype=np.int64)
        else:
            slices = np.tile(np.arange(n_slices, dtype=np.int64) + self.slice_offset, self.ids.size)
        return np.stack([region, slices], axis=1)

    @property
    def kernel_labels(self) -> np.ndarray:
        """The local id array for kernels; shape ``(0, 0)`` means no labels."""
        if self.local is None:
            return np.empty((0, 0), dtype=np.int32)
        return self.local


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
