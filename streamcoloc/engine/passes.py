"""One streaming read of the data: every statistic of a pass, fused per chunk.

A pass maps each block of the aligned channel arrays (and the label block at
the same place) to a tuple of records, one per statistic, all computed while
the block is in memory: one ``dask.array.blockwise`` task per block, or, with
a label image and statistics computed region by region, one task per part of
the block's regions (:func:`deal_blocks`: enough parts to share fewer
blocks than threads evenly among them, and the last blocks in a task per
thread so that the threads finish together).  The block's label runs
(:class:`~streamcoloc.stats.regions.ChunkRegions`) are then found once, in a
task of their own, and dealt into the parts.  The reads stay tasks of their
own: one per source and one for the labels (dask's optimizer fuses a
blockwise task with its inputs only when they are root tasks; a Zarr array's
reads depend on the array's node, and a channel selected by xarray adds a
layer: the graph keeps them apart), so a block lives from its reads to the
end of its last chunk task, and a block's reads can run on several threads
(fusing them by hand into the chunk task needs a private dask API, and
measured within the noise: stop 19's note).  Records are merged in block
index order (a block's parts in order) into one running record
(:func:`fold`, ``SPLIT_EVERY`` blocks at a time, so memory stays flat; the
randomization test folds its tile records the same way) and finalized.
Nothing here knows a metric: statistics come in as
:class:`~streamcoloc.stats.base.Statistic` triples.

It runs on whatever dask scheduler is current: the threaded one by default,
a ``dask.distributed.Client`` when one is active.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Sequence

import dask
import dask.array as da
import numpy as np

from ..stats.base import Statistic
from . import heap, runtime
from ..stats.regions import ChunkRegions

SPLIT_EVERY = 8
#: Most tasks a block's regions are dealt to (:func:`deal_blocks`).
MAX_PARTS = 8
#: Most rounds of blocks (blocks / threads) for which the last blocks are
#: dealt to a task per thread (:func:`deal_blocks`).
TAIL_ROUNDS = 8


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
    session = runtime.current()
    arrays = layout.sources + ([layout.labels] if layout.labels is not None else [])
    folder = runtime.pass_folder(session, statistics, arrays, layout.has_slices)
    dealing = deal_blocks(statistics, layout)
    saved = session is not None and session.resume and runtime.saved_parts(folder)
    if saved:
        dealing = dealing.with_layers(saved)
    parts = runtime.checkpointed(chunk_records(statistics, layout, dealing), folder, session,
                                 dealing.layers)
    with runtime.progress(parts, layout.block_bytes, dealing.layers) as parts:
        (merged,) = dask.compute(fold(parts, _combine_records, statistics,
                                      per_step=SPLIT_EVERY * dealing.layers))
    return [s.finalize(r) for s, r in zip(statistics, merged)]


@dataclass(frozen=True)
class Dealing:
    """How many tasks a pass deals each block's regions to: ``parts``, and
    ``tail_parts`` for the blocks dealt after the first ``tail_from`` (in
    the order dask runs their label runs' tasks, which :meth:`next_parts`
    counts).  Every block has :attr:`layers` part tasks (at least
    ``min_layers``); a block dealt to fewer leaves the others empty (records
    of no region).  A region's record is the same whatever its block's
    dealing, so the results do not depend on the order."""

    parts: int = 1
    tail_parts: int = 1
    tail_from: int = 0
    min_layers: int = 1
    dealt: itertools.count = field(default_factory=itertools.count, compare=False)

    @property
    def layers(self) -> int:
        return max(self.parts, self.tail_parts, self.min_layers)

    def with_layers(self, layers: int) -> "Dealing":
        """The same dealing in exactly ``layers`` part tasks per block (a
        resumed pass's, to find the interrupted run's files): at most that
        many parts, and empty part tasks up to it."""
        return Dealing(min(self.parts, layers), min(self.tail_parts, layers), self.tail_from,
                       layers)

    def next_parts(self) -> int:
        """Parts of the next block dealt (``next`` of a count: atomic in
        CPython, so safe on dask's threads)."""
        return self.tail_parts if next(self.dealt) >= self.tail_from else self.parts

    def __reduce__(self):
        """Pickled without its count (itertools objects cannot be pickled
        from Python 3.14 on): a copy counts afresh; only dask's threads,
        which share this one, deal blocks to several tasks."""
        return Dealing, (self.parts, self.tail_parts, self.tail_from, self.min_layers)

    def __dask_tokenize__(self):
        return "Dealing", self.parts, self.tail_parts, self.tail_from, self.min_layers


def deal_blocks(statistics, layout: Layout) -> Dealing:
    """Tasks per block under dask's threaded scheduler, when there is a
    label image and every statistic is computed region by region (a
    region's record then comes out of its part exactly as out of the whole
    block, and the parts' records merge as the block's would): the
    :func:`even_parts` of the blocks over the threads, and the last
    threads − 1 blocks to run dealt to a task per thread (at most
    :data:`MAX_PARTS`), so that the threads finish together rather than one
    finishing the last block alone while the others wait.  On bench_pixel's
    50 cells with every metric (4 blocks, 2 threads: the last one in 2
    parts) that measured 1.11x and 1.13x faster than one task per block
    (medians of 30 in-process alternations, two runs), every block in 2
    parts 1.08x and 1.10x; bench_pixel prints the A/B (16 alternations in
    a fresh process): 1.16x, 1.11x, 1.12x and 1.00x in four runs.  Only for
    at most :data:`TAIL_ROUNDS` rounds of blocks: each block then has a task per
    thread, most of them empty (~0.2 ms each with its share of a merge),
    and the last round matters less the more rounds there are.  (A resumed
    pass loads only blocks saved whole: :func:`~.runtime.checkpointed`.)

    One task per block otherwise: under a dask.distributed client or the
    multiprocessing scheduler a block's tasks could run in different
    processes and the block would be sent to each."""
    if layout.labels is None or not runtime.threads_share_memory() \
            or not all(s.by_region for s in statistics):
        return Dealing()
    n_blocks, threads = layout.n_blocks, runtime.local_threads()
    parts = even_parts(n_blocks, threads)
    tail_parts = min(threads, MAX_PARTS)
    if tail_parts <= parts or n_blocks > TAIL_ROUNDS * threads:
        return Dealing(parts, parts)
    return Dealing(parts, tail_parts, max(n_blocks - (threads - 1), 0))


def even_parts(n_blocks: int, n_threads: int, slack: float = 0.1) -> int:
    """The fewest parts per block (at most :data:`MAX_PARTS`) whose tasks,
    dealt to the threads in rounds, end within ``slack`` of an even share:
    ⌈blocks·parts/threads⌉/parts ≤ (1 + slack)·blocks/threads, counting
    blocks as equal work; when no count does, the one whose rounds end
    soonest (the fewest on ties).  One block on 2 threads: 2 parts; 5 on 4:
    3; 3 on 20: 6; 4 on 2, or 10 rounds of blocks and more: 1.

    Each part costs fixed work (every statistic's set-up, its own buffers):
    on bench_pixel's 50 cells with every metric, 4 blocks on 2 threads in 2
    parts took 6 % more CPU for the same time (in-process, 20 alternations),
    while the whole volume in one block took 1.34x less time in 2 parts
    than in one task (8 alternations; bench_pixel prints this A/B)."""
    even = n_blocks / n_threads
    rounds = {parts: -(-n_blocks * parts // n_threads) / parts
              for parts in range(1, MAX_PARTS + 1)}
    for parts, end in rounds.items():
        if end <= (1 + slack) * even:
            return parts
    return min(rounds, key=lambda parts: (rounds[parts], parts))


def chunk_records(statistics, layout: Layout, dealing: Dealing = Dealing()) -> list:
    """One delayed tuple of records per block and part of its regions (in a
    one-element object array), in block index order (a block's parts in
    order).  With a label image, a task per block finds its regions' runs
    and deals them as ``dealing`` says (:meth:`ChunkRegions.split`); part
    ``k`` of every block is then a layer of its own, so dask's optimizer
    does not fuse the runs' task into each part's (which would find them
    once per part)."""
    spatial = tuple(f"axis{i}" for i in range(len(layout.spatial_chunks)))
    args = []
    for number, source in enumerate(layout.sources):
        args += [source, (f"channel{number}",) + spatial]
    first_axis = layout.spatial_chunks[0]  # each block of arange starts at its offset
    offsets = (da.arange(sum(first_axis), chunks=(first_axis,), dtype=np.int64), spatial[:1])
    labels = layout.labels
    if labels is None:
        args += offsets
    else:
        if labels.chunks != layout.spatial_chunks[-labels.ndim:]:
            raise ValueError(f"the label image's chunks {labels.chunks} differ from the "
                             f"channels' {layout.spatial_chunks[-labels.ndim:]}")
        args += [_object_blocks(_regions_task, spatial, labels, spatial[-labels.ndim:], *offsets,
                                has_slices=layout.has_slices, n_spatial=len(spatial),
                                dealing=dealing), spatial]
    # Each source keeps its channel axis (one block) in the output, so the
    # block reaches the task as read: contracting it would copy it.
    channel_axes = tuple(f"channel{number}" for number in range(len(layout.sources)))
    out_axes = channel_axes + spatial + ("part",)
    parts = [_object_blocks(_chunk_task, out_axes, *args, statistics=statistics, part=k,
                            has_slices=layout.has_slices, n_sources=len(layout.sources),
                            has_labels=labels is not None)
             for k in range(dealing.layers)]
    blocks = parts[0] if dealing.layers == 1 else da.concatenate(parts, axis=-1)
    return list(blocks.to_delayed().ravel())


def _object_blocks(func, out_axes, *args, **kwargs) -> da.Array:
    """``blockwise(func, out_axes, *args, **kwargs)`` giving one Python object
    per block (in a one-element object array)."""
    return da.blockwise(func, out_axes, *args,
                        adjust_chunks=dict.fromkeys(out_axes, 1), align_arrays=False,
                        new_axes={"part": 1} if "part" in out_axes else None, dtype=object,
                        meta=np.empty((0,) * len(out_axes), dtype=object), **kwargs)


def _regions_task(labels, offset, has_slices, n_spatial, dealing):
    """The runs of a label block (:class:`ChunkRegions`) dealt into its
    parts (:meth:`Dealing.next_parts`) and as many more empty ones as make
    :attr:`Dealing.layers`, in a 1-element object array."""
    n_voxels = int(np.prod(labels.shape[1:])) if has_slices and labels.ndim == n_spatial \
        else labels.size
    regions = ChunkRegions.from_labels(labels.reshape(-1, n_voxels), n_voxels,
                                       int(offset[0]) if has_slices else None)
    parts = regions.split(dealing.next_parts())
    out = np.empty((1,) * n_spatial, dtype=object)
    out.flat[0] = parts + (regions.none(),) * (dealing.layers - len(parts))
    return out


def _chunk_task(*blocks, statistics, part, has_slices, n_sources, has_labels):
    """Records of one block (of part ``part`` of its regions), wrapped in a
    1-element object array; each channel becomes a (slices, voxels) view
    (one slice of everything without slices).  After the sources comes the
    block's :func:`_regions_task` output with a label image, else its
    offset along the first axis (a block of ``arange``)."""
    sources = blocks[:n_sources]
    spatial_shape = sources[0].shape[1:]
    n_slices = spatial_shape[0] if has_slices else 1
    n_voxels = int(np.prod(spatial_shape)) // n_slices
    channels = [block[c].reshape(n_slices, n_voxels) for block in sources
                for c in range(block.shape[0])]
    if has_labels:
        regions = blocks[n_sources].flat[0][part]
    else:
        offset = int(blocks[n_sources][0]) if has_slices else None
        regions = ChunkRegions.from_labels(None, n_voxels, offset)
    out = np.empty((1,) * (n_sources + len(spatial_shape) + 1), dtype=object)
    out.flat[0] = tuple(s.chunk(channels, regions) for s in statistics)
    return out


def _combine_records(statistics, records: list) -> tuple:
    """Each statistic's merge of its records (``records``: tuples of one
    record per statistic)."""
    return tuple(s.combine(list(column)) for s, column in zip(statistics, zip(*records)))


def fold(parts: list, merge, *args, per_step: int = SPLIT_EVERY):
    """Delayed merge of ``parts`` in their order, ``per_step`` at a time
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
    running = step(merge, args, None, *parts[:per_step])
    for start in range(per_step, len(parts), per_step):
        running = step(merge, args, running, *parts[start:start + per_step])
    return running


def _merge_step(merge, args, running, *blocks):
    records = [block.item() for block in blocks]
    return merge(*args, records if running is None else [running] + records)
