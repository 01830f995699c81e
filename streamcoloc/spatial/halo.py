"""Blocks with a halo: each block extended by its neighbours' voxels.

Shift- and window-based statistics need, for every voxel of a block, voxels
up to ``depth`` away along some axes.  :func:`map_with_halo` hands each task
its block extended by ``depth`` voxels of the neighbouring blocks along those
axes (nothing past the image border: ``dask.array.overlap`` with
``boundary='none'``), and says where the block's own interior starts, so a
kernel can count what belongs to the interior only.  Each stored block is
read once; neighbours take slices of it.
"""

from __future__ import annotations

from typing import Callable

import dask.array as da
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize, overlap


def map_with_halo(func: Callable, arrays: list[da.Array], depth: dict[int, int], *,
                  out_chunks: Callable[[tuple], tuple], dtype) -> da.Array:
    """``func(*blocks, origin=..., interior=...)`` on every block with its halo.

    ``arrays`` share one block grid; ``depth`` maps an axis to the halo
    width along it.  ``origin`` is the index of the block's first interior
    voxel in the extended block and ``interior`` its interior shape.
    ``out_chunks(chunks)`` gives the output chunks from the (possibly
    merged) interior chunks: blocks narrower than the halo are merged with a
    neighbour first.
    """
    chunks = list(arrays[0].chunks)
    widths = {}
    for axis, width in depth.items():
        chunks[axis], widths[axis] = _halo_chunks(chunks[axis], int(width))
    chunks = tuple(chunks)
    arrays = [x.rechunk(chunks) for x in arrays]
    widths = {axis: width for axis, width in widths.items() if width}
    # dask's overlap copies every block even with no halo: only where needed
    extended = [overlap(x, depth=widths, boundary="none") for x in arrays] if widths \
        else arrays

    def task(*blocks, block_id=None):
        origin = tuple(0 if block_id[axis] == 0 else widths.get(axis, 0)
                       for axis in range(len(chunks)))
        interior = tuple(c[i] for c, i in zip(chunks, block_id))
        return func(*blocks, origin=origin, interior=interior)

    return da.map_blocks(task, *extended, chunks=out_chunks(chunks), dtype=dtype,
                         meta=np.empty((0,) * len(chunks), dtype))


def _halo_chunks(chunks: tuple, width: int) -> tuple[tuple, int]:
    """Chunks along one axis and the halo width to use: no halo for a single
    block; blocks merged so that none is narrower than the halo (one block
    when the axis is not longer than the halo)."""
    if width == 0 or len(chunks) == 1:
        return chunks, 0
    if width >= sum(chunks):
        return (sum(chunks),), 0
    return ensure_minimum_chunksize(width, chunks), width
