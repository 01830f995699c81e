"""One streaming read of the data: every statistic of a pass, fused per chunk.

A pass maps each block of the aligned channel arrays (and the label block at
the same place) to a tuple of records, one per statistic, all computed while
the block is in memory; it is one ``dask.array.blockwise`` task per block.
The reads stay tasks of their own: one per source and one for the labels
(dask's optimizer fuses a blockwise task with its inputs only when they are
root tasks; a Zarr array's reads depend on the array's node, and a channel
selected by xarray adds a layer: the graph keeps them apart), so a
block lives from its reads to the end of its chunk task, and a block's
reads can run on several threads (fusing them by hand into the chunk task
needs a private dask API, and measured within the noise: stop 19's note).
Records are merged in block index order into one running record
(:func:`fold`, ``SPLIT_EVERY`` blocks at a time, so memory stays flat; the
randomization test folds its tile records the same way) and finalized.
Nothing here knows a metric: statistics come in as
:class:`~streamcoloc.stats.base.Statistic` triples.

It runs on whatever dask scheduler is current: the threaded one by default,
a ``dask.distributed.Client`` when one is active.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import dask
import dask.array as da
import numpy as np

from ..stats.base import Statistic
from . import heap, runtime
from ..stats.regions import ChunkRegions

SPLIT_EVERY = 8


@dataclass(frozen=True)
class Layout:
    """Channels ready for a pass.

    sources : dask arrays of shape (channels, *spatial), all with the same
        spatial shape and chunks and one block along the channel axis, so a
        block holds every channel of a source (read once for all pairs).
        When ``has_slices`` the slice axis is the first spatial axis.
    labels : dask array of integer ids chunked like the sources, either of
        the spatial shape or (with slices) of one plane, shape ``spatial[1:]``,
        applied to every slice; or None.
    """

    sources: list[da.Array]
    labels: da.Array | None
    has_slices: bool

    @property
    def spatial_chunks(self) -> tuple:
        return self.sources[0].chunks[1:]

    @property
    def n_blocks(self) -> int:
        return int(np.prod([len(c) for c in self.spatial_chunks]))

    @property
    def block_bytes(self) -> float:
        """Average bytes of every source's data per block."""
        total = sum(s.size * s.dtype.itemsize for s in self.sources)
        return total / max(self.n_blocks, 1)


def run_pass(statistics: Sequence[Statistic], layout: Layout) -> list:
    """Read the data once and return each statistic's finalized result
    (with the checkpoints and progress of the current
    :class:`~.runtime.Session`, if any)."""
    heap.bound_heap_growth()
    parts = runtime.checkpointed(chunk_records(statistics, layout), statistics, layout.sources,
                                 runtime.current())
    with runtime.progress(parts, layout.block_bytes) as parts:
        (merged,) = dask.compute(fold(parts, _combine_records, statistics))
    return [s.finalize(r) for s, r in zip(statistics, merged)]


def chunk_records(statistics, layout: Layout) -> list:
    """One delayed tuple of records per block (in a one-element object
    array), in block index order."""
    spatial = tuple(f"axis{i}" for i in range(len(layout.spatial_chunks)))
    args = []
    for number, source in enumerate(layout.sources):
        args += [source, (f"channel{number}",) + spatial]
    first_axis = layout.spatial_chunks[0]  # each block of arange starts at its offset
    args += [da.arange(sum(first_axis), chunks=(first_axis,), dtype=np.int64), spatial[:1]]
    labels = layout.labels
    if labels is not None:
        args += [labels, spatial[-labels.ndim:]]
    # Each source keeps its channel axis (one block) in the output, so the
    # block reaches the task as read: contracting it would copy it.
    channel_axes = tuple(f"channel{number}" for number in range(len(layout.sources)))
    out_axes = channel_axes + spatial
    blocks = da.blockwise(
        _chunk_task, out_axes, *args, statistics=statistics, has_slices=layout.has_slices,
        n_sources=len(layout.sources), has_labels=labels is not None,
        adjust_chunks=dict.fromkeys(out_axes, 1), dtype=object,
        meta=np.empty((0,) * len(out_axes), dtype=object))
    return list(blocks.to_delayed().ravel())


def _chunk_task(*blocks, statistics, has_slices, n_sources, has_labels):
    """Records of one block, wrapped in a 1-element object array; each channel
    becomes a (slices, voxels) view (one slice of everything without slices)."""
    sources, offset = blocks[:n_sources], int(blocks[n_sources][0])
    labels = blocks[n_sources + 1] if has_labels else None
    spatial_shape = sources[0].shape[1:]
    n_slices = spatial_shape[0] if has_slices else 1
    n_voxels = int(np.prod(spatial_shape)) // n_slices
    channels = [block[c].reshape(n_slices, n_voxels) for block in sources
                for c in range(block.shape[0])]
    if labels is not None:
        labels = labels.reshape(-1, n_voxels)
    regions = ChunkRegions.from_labels(labels, n_voxels, offset if has_slices else None)
    out = np.empty((1,) * (n_sources + len(spatial_shape)), dtype=object)
    out.flat[0] = tuple(s.chunk(channels, regions) for s in statistics)
    return out


def _combine_records(statistics, records: list) -> tuple:
    """Each statistic's merge of its records (``records``: tuples of one
    record per statistic)."""
    return tuple(s.combine(list(column)) for s, column in zip(statistics, zip(*records)))


def fold(parts: list, merge, *args):
    """Delayed merge of ``parts`` in their order, ``SPLIT_EVERY`` at a time
    into one running record: ``acc = merge(*args, [acc, next parts...])``.
    ``parts`` are the delayed blocks of a ``map_blocks`` record array (one
    record in a one-element object array each).

    A chain rather than a tree keeps memory flat: a tree holds up to
    ``SPLIT_EVERY - 1`` merged records waiting for their siblings on each of
    its log(blocks) levels, and merged records (joint histograms of every
    region) can be far larger than a block's; the chain holds one running
    record plus the blocks in flight, whatever the size of the data.  The
    blocks themselves are still computed in parallel; only the (cheap)
    merges are sequential.  The fixed order makes results identical on every
    scheduler, and a single block is merged too, so every result passes
    through the same canonical merge."""
    if not parts:
        raise ValueError("the input has no voxels")
    step = dask.delayed(_merge_step, pure=False)
    running = step(merge, args, None, *parts[:SPLIT_EVERY])
    for start in range(SPLIT_EVERY, len(parts), SPLIT_EVERY):
        running = step(merge, args, running, *parts[start:start + SPLIT_EVERY])
    return running


def _merge_step(merge, args, running, *blocks):
    records = [block.item() for block in blocks]
    return merge(*args, records if running is None else [running] + records)
