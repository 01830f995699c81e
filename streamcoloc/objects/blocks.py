"""Per-block records as dask graphs: one task per block, neighbours, tree merges.

The object pipeline needs what the engine's passes do not give a chunk: the
position of its block in the grid and its neighbours.  A *record array* is a
dask array of dtype object with one element per block (chunks of 1), made by
``dask.array.map_blocks`` with ``block_id``; records are then combined with
their neighbours (:func:`neighbour_map`) or merged in a tree of fixed shape
and order (:func:`tree_reduce`), so a result does not depend on the
scheduler.  A tree holds up to ``SPLIT_EVERY - 1`` records per level: fine
for these small records (moments, ranges, counts), unlike the large
histogram records for which :mod:`streamcoloc.engine.passes` folds into one
running record.  Graphs are built directly (one
task per block), not from ``dask.delayed`` calls on array blocks, whose
construction costs grow with the number of blocks.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
from dask.base import tokenize
from dask.delayed import Delayed
from dask.highlevelgraph import HighLevelGraph

from ..engine.inputs import Input, as_input

SPLIT_EVERY = 8


def spatial_array(x, what: str) -> Input:
    """A single-channel image (numpy, dask, zarr, xarray) as an :class:`Input`
    whose ``data`` is the dask array without the channel axis."""
    wrapped = as_input(x, what)
    return Input(wrapped.data[0], wrapped.dims, wrapped.coords)


def aligned(reference: Input, other: Input, what: str) -> da.Array:
    """``other`` in the axis order (by dim name, for xarray inputs) and on the
    block grid of ``reference``; a clear error when the shapes differ."""
    data = other.data
    if reference.dims is not None and other.dims is not None and other.dims != reference.dims:
        if set(other.dims) != set(reference.dims):
            raise ValueError(f"{what} has dims {other.dims}, expected {reference.dims}")
        data = data.transpose([other.dims.index(d) for d in reference.dims])
    if data.shape != reference.data.shape:
        raise ValueError(f"{what} has shape {data.shape}, but the image has shape "
                         f"{reference.data.shape}")
    return data.rechunk(reference.data.chunks)


def block_starts(chunks) -> list[np.ndarray]:
    """Per axis, the first index of every block."""
    return [np.concatenate([[0], np.cumsum(c)[:-1]]).astype(np.int64) for c in chunks]


def one_record(value, ndim: int) -> np.ndarray:
    """``value`` as the single element of an ``ndim``-D object array (a block
    of a record array)."""
    out = np.empty((1,) * ndim, dtype=object)
    out.flat[0] = value
    return out


def record_array(function, *arrays, **kwargs) -> da.Array:
    """``function(*blocks, **kwargs)`` on every block of the aligned
    ``arrays`` (None entries are passed as None; a ``block_id`` parameter gets
    the block's index), as a record array: ``function`` returns
    :func:`one_record`."""
    ndim = next(a.ndim for a in arrays if a is not None)
    return da.map_blocks(function, *arrays, chunks=(1,) * ndim, dtype=object,
                         meta=np.empty((0,) * ndim, object), **kwargs)


def neighbour_map(function, records: da.Array, offsets: list[tuple], *args) -> da.Array:
    """A record array of ``function(record, neighbour_records, numbers, offsets,
    *args)`` per block, given the records of the blocks at ``index + δ`` for
    every ``δ`` of ``offsets`` inside the grid, their numbers (C order of the
    grid) and those δ."""
    grid = records.numblocks
    name = "neighbours-" + tokenize(records.name, function, offsets, args)
    layer = {}
    for index in np.ndindex(*grid):
        keys, numbers, deltas = [], [], []
        for delta in offsets:
            other = tuple(i + d for i, d in zip(index, delta))
            if all(0 <= o < n for o, n in zip(other, grid)):
                keys.append((records.name, *other))
                numbers.append(int(np.ravel_multi_index(other, grid)))
                deltas.append(delta)
        layer[(name, *index)] = (function, (records.name, *index), keys,
                                 np.array(numbers, np.int64),
                                 np.array(deltas, np.int64).reshape(-1, len(grid)), *args)
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[records])
    return da.Array(graph, name, chunks=records.chunks, meta=records._meta)


def tree_reduce(records: da.Array, combine) -> Delayed:
    """Merge a record array's records ``SPLIT_EVERY`` at a time, in block
    order (one record is passed through ``combine`` too)."""
    keys = [(records.name, *index) for index in np.ndindex(*records.numblocks)]
    name = "merge-" + tokenize(records.name, combine)
    layer = {}
    level, merge = 0, _merge_blocks
    while level == 0 or len(keys) > 1:
        merged = []
        for start in range(0, len(keys), SPLIT_EVERY):
            key = (name, level, start // SPLIT_EVERY)
            layer[key] = (merge, combine, keys[start:start + SPLIT_EVERY])
            merged.append(key)
        keys, level, merge = merged, level + 1, _merge
    graph = HighLevelGraph.from_collections(name, layer, dependencies=[records])
    return Delayed(keys[0], graph, layer=name)


def _merge_blocks(combine, blocks):
    return combine([block.item() for block in blocks])


def _merge(combine, records):
    return combine(records)


def as_3d(block: np.ndarray) -> np.ndarray:
    """A 1-D, 2-D or 3-D block as a C-contiguous 3-D array (leading axes of 1)."""
    block = np.ascontiguousarray(block)
    return block.reshape((1,) * (3 - block.ndim) + block.shape)
