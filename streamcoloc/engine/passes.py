"""One streaming read of the data: every statistic of a pass, fused per chunk.

The pass maps each dask block to a tuple of records (one per statistic, all
computed while the block is in memory), merges the records in a tree of
fixed shape and order (block index order, ``split_every`` at a time), and
finalizes them.  Nothing here knows a metric: statistics come in as
:class:`~streamcoloc.stats.base.Statistic` triples.

It runs on whatever dask scheduler is current: the threaded one by default,
a ``dask.distributed.Client`` when one is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import product
from typing import Sequence

import dask
import dask.array as da
import numpy as np

from ..stats.base import Statistic
from ..stats.regions import ChunkRegions

SPLIT_EVERY = 8


@dataclass(frozen=True)
class Layout:
    """Channels ready for a pass.

    sources : dask arrays of shape (channels, *spatial), all with the same
        spatial shape and chunks and one block along the channel axis, so a
        block holds every channel of a source (read once for all pairs).
        When ``has_slices`` the slice axis is the first spatial axis.
    labels : dask array of integer ids of the spatial shape (or 1 along the
        slice axis: one plane for all), chunked like the sources, or None.
    """

    sources: list[da.Array]
    labels: da.Array | None
    has_slices: bool

    @property
    def spatial_chunks(self) -> tuple:
        return self.sources[0].chunks[1:]


def run_pass(statistics: Sequence[Statistic], layout: Layout) -> list:
    """Read the data once and return each statistic's finalized result."""
    root = _tree_combine(statistics, _chunk_records(statistics, layout))
    (merged,) = dask.compute(root)
    return [s.finalize(r) for s, r in zip(statistics, merged)]


def _chunk_records(statistics, layout: Layout) -> list:
    source_blocks = [s.to_delayed().reshape(s.numblocks[1:]) for s in layout.sources]
    chunks = layout.spatial_chunks
    slice_offsets = np.concatenate([[0], np.cumsum(chunks[0])[:-1]])
    label_blocks = None if layout.labels is None else layout.labels.to_delayed()
    chunk = dask.delayed(_chunk_task, pure=False)
    parts = []
    for index in product(*(range(len(c)) for c in chunks)):
        labels = None
        if label_blocks is not None:
            labels = label_blocks[tuple(i if n > 1 else 0 for i, n in zip(index, label_blocks.shape))]
        offset = int(slice_offsets[index[0]]) if layout.has_slices else None
        parts.append(chunk(statistics, offset, labels, *[b[index] for b in source_blocks]))
    return parts


def _chunk_task(statistics, slice_offset, labels, *sources):
    """Records of one block: each channel becomes a (slices, voxels) view."""
    def planes(block):
        return block.reshape(block.shape[0] if slice_offset is not None else 1, -1)

    regions = ChunkRegions.from_labels(None if labels is None else planes(labels), slice_offset)
    channels = [planes(block[c]) for block in sources for c in range(block.shape[0])]
    return tuple(s.chunk(channels, regions) for s in statistics)


def _combine_task(statistics, *parts):
    return tuple(s.combine(list(records)) for s, records in zip(statistics, zip(*parts)))


def _tree_combine(statistics, parts: list):
    """Merge in a tree of fixed shape; a single block is combined too, so
    every result passes through the same canonical merge."""
    if not parts:
        raise ValueError("the input has no voxels")
    combine = dask.delayed(_combine_task, pure=False)
    if len(parts) == 1:
        return combine(statistics, parts[0])
    while len(parts) > 1:
        parts = [combine(statistics, *parts[i:i + SPLIT_EVERY])
                 for i in range(0, len(parts), SPLIT_EVERY)]
    return parts[0]
