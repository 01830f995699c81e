"""The engine: same numbers on any chunking and scheduler, merge order fixed."""

from __future__ import annotations

import collections

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from dask.callbacks import Callback

import streamcoloc


def _volume(dtype):
    """12-bit-like values: every metric (ranks, Costes) from joint tables."""
    rng = np.random.default_rng(11)
    a = rng.integers(0, 800, (6, 40, 50))
    b = (a // 2 + rng.integers(0, 400, a.shape))
    labels = rng.choice(np.array([0, 5, 2**50 + 1, 999], dtype=np.int64), (40, 50))
    return a.astype(dtype), b.astype(dtype), labels


def _run(a, b, labels, chunks_a, chunks_b, **kwargs):
    """Every metric, Costes thresholds per region and slice."""
    return streamcoloc.analyse_pairwise(
        da.from_array(a, chunks=chunks_a), da.from_array(b, chunks=chunks_b),
        label_mask=labels, slice_axis=0, **kwargs)


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_threads_vs_two_process_local_cluster(dtype):
    """Integer input: bit-identical on one chunk, odd chunks and a 2-process
    LocalCluster.  Float input: identical for the same chunking on any
    scheduler (fixed merge order), and equal to rounding across chunkings."""
    from distributed import Client, LocalCluster

    a, b, labels = _volume(dtype)
    one_chunk = _run(a, b, labels, -1, -1)
    odd = _run(a, b, labels, (2, 17, 23), (4, 13, 31))
    wide = dict(max_table_cells=1000, metrics=["pcc_threshold", "srcc", "icq", "mcc"])
    odd_wide = _run(a, b, labels, (2, 17, 23), (4, 13, 31), **wide)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster):
        distributed = _run(a, b, labels, (2, 17, 23), (4, 13, 31))
        distributed_wide = _run(a, b, labels, (2, 17, 23), (4, 13, 31), **wide)
    pd.testing.assert_frame_equal(odd_wide, distributed_wide, check_exact=True)
    assert distributed_wide.attrs["tables"] == "wide"
    pd.testing.assert_frame_equal(odd, distributed, check_exact=True)
    assert distributed.attrs["tables"] == "joint"
    if np.dtype(dtype).kind == "u":
        pd.testing.assert_frame_equal(one_chunk, odd, check_exact=True)
    else:
        pd.testing.assert_frame_equal(one_chunk, odd, check_exact=False, rtol=1e-12)
    assert len(odd) == 6 * 3


def test_synchronous_scheduler_gives_the_same_float_result():
    a, b, labels = _volume(np.float32)
    threaded = _run(a, b, labels, (3, 20, 20), (3, 20, 20))
    with dask.config.set(scheduler="synchronous"):
        serial = _run(a, b, labels, (3, 20, 20), (3, 20, 20))
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)


class _TaskCounter(Callback):
    """Counts finished tasks by the first word of their key's name (the
    function of the layer, or of the first of the layers dask fused)."""

    def __init__(self):
        super().__init__()
        self.counts = collections.Counter()

    def _posttask(self, key, result, dsk, state, worker_id):
        name = key[0] if isinstance(key, tuple) else key
        self.counts[str(name).split("-")[0]] += 1


@pytest.mark.parametrize("dtype, chunks, threads, chunk_tasks, blocks", [
    # 2 x 2 x 2 blocks on 3 threads: every block's regions dealt to 3 tasks
    (np.uint16, (3, 20, 25), 3, 8 * 3, 8),
    # floats first take a pass with the (unsplit) extrema: one task per
    # block, the runs' task fused into it by dask; then the tables in parts
    (np.float64, (3, 20, 25), 3, 8 + 8 * 3, 8),
    # 2 x 2 blocks on 2 threads: the last block to run dealt to 2 tasks
    # (every block has 2 part tasks, 3 of them empty)
    (np.uint16, (6, 20, 25), 2, 4 * 2, 4),
])
def test_block_regions_dealt_to_parts_give_identical_results(dtype, chunks, threads,
                                                             chunk_tasks, blocks):
    """Local threads: each block's label runs are found once and its
    regions dealt to several tasks; every column is identical (floats too)
    to the synchronous scheduler's one task per block."""
    a, b, labels = _volume(dtype)
    with dask.config.set(scheduler="synchronous"):
        whole_blocks = _run(a, b, labels, chunks, chunks)
    counter = _TaskCounter()
    with dask.config.set(scheduler="threads", num_workers=threads), counter:
        in_parts = _run(a, b, labels, chunks, chunks)
    pd.testing.assert_frame_equal(whole_blocks, in_parts, check_exact=True)
    assert counter.counts["chunk_task"] == chunk_tasks
    assert counter.counts["regions_task"] == blocks


def test_blocks_are_dealt_to_parts_only_where_they_are_exact_and_share_memory():
    """One task per block without labels, with a statistic that is not
    computed region by region, and under the synchronous and multiprocessing
    schedulers; else enough parts to share the blocks evenly among the
    threads, the last threads − 1 blocks to run in a part per thread (not
    beyond TAIL_ROUNDS rounds of blocks); a resumed pass keeps the
    interrupted run's part tasks per block."""
    from streamcoloc.engine.passes import TAIL_ROUNDS, Dealing, Layout, deal_blocks
    from streamcoloc.stats import extrema, moments
    from streamcoloc.stats.voxels import VoxelRules

    def layout(n_blocks, labels=True):
        source = da.zeros((1, n_blocks, 4), dtype=np.uint16, chunks=(1, 1, 4))
        return Layout([source], da.ones((n_blocks, 4), dtype=np.int32, chunks=(1, 4))
                      if labels else None, has_slices=False)

    by_region = [moments.statistic(moments.MomentOptions(
        np.array([[0, 0]]), VoxelRules(), np.full((1, 2), np.nan)))]
    with dask.config.set(scheduler="threads", num_workers=3):
        assert deal_blocks(by_region, layout(2)) == Dealing(3, 3)  # 6 tasks on 3 threads
        assert deal_blocks(by_region, layout(6)) == Dealing(1, 3, 4)  # last 2 in 3 parts
        assert deal_blocks(by_region, layout(7)) == Dealing(2, 3, 5)
        assert deal_blocks(by_region, layout(3 * TAIL_ROUNDS)) == Dealing(1, 3, 3 * TAIL_ROUNDS - 2)
        assert deal_blocks(by_region, layout(3 * TAIL_ROUNDS + 1)) == Dealing(1, 1)
        assert deal_blocks(by_region, layout(2, labels=False)) == Dealing()
        assert deal_blocks(by_region + [extrema.extrema_statistic(VoxelRules())],
                           layout(2)) == Dealing()
    with dask.config.set(scheduler="threads", num_workers=2):
        assert deal_blocks(by_region, layout(2)) == Dealing(1, 2, 1)
    assert Dealing(2, 8, 9).with_layers(3) == Dealing(2, 3, 9, 3)
    assert Dealing(2, 2).with_layers(1).layers == 1
    resumed = Dealing(1, 2, 23).with_layers(8)  # the interrupted run's 8 part tasks
    assert resumed.layers == 8 and resumed == Dealing(1, 2, 23, 8)
    assert [Dealing(1, 1).with_layers(8).next_parts() for _ in range(3)] == [1, 1, 1]
    for scheduler in ("synchronous", "processes"):
        with dask.config.set(scheduler=scheduler, num_workers=3):
            assert deal_blocks(by_region, layout(4)) == Dealing()


def test_the_last_blocks_to_run_are_dealt_to_a_part_per_thread():
    """Dealing counts the blocks in the order their runs are found: the
    first tail_from get ``parts``, the later ones ``tail_parts``; the parts
    a block is not dealt to are empty."""
    from streamcoloc.engine.passes import Dealing, _regions_task

    dealing = Dealing(1, 3, 2)
    assert [dealing.next_parts() for _ in range(4)] == [1, 1, 3, 3]
    dealing = Dealing(1, 2, 1)
    labels = np.array([[1, 1, 2, 2, 2, 0, 3]], np.int32)
    first, last = (_regions_task(labels, np.zeros(1, np.int64), False, 2, dealing).flat[0]
                   for _ in range(2))
    assert [list(part.ids) for part in first] == [[1, 2, 3], []]
    assert first[1].start.size == 0 and first[1].plane_start.tolist() == [0, 0]
    assert sorted(int(i) for part in last for i in part.ids) == [1, 2, 3]
    assert all(part.ids.size for part in last)


def test_dealing_pickles_without_its_count(monkeypatch):
    """Graphs go to other processes pickled, Dealing with them: it must not
    pickle its count (itertools objects cannot be pickled from Python 3.14
    on, simulated here); a copy counts afresh."""
    import copyreg
    import itertools
    import pickle

    from streamcoloc.engine.passes import Dealing

    def refuse(count):
        raise TypeError("cannot pickle 'itertools.count' object")

    monkeypatch.setitem(copyreg.dispatch_table, itertools.count, refuse)
    dealing = Dealing(1, 2, 1)
    assert dealing.next_parts() == 1
    copy = pickle.loads(pickle.dumps(dealing))
    assert copy == dealing and [copy.next_parts() for _ in range(2)] == [1, 2]


@pytest.mark.parametrize("blocks, threads, parts", [
    (1, 2, 2), (4, 2, 1), (5, 4, 3), (3, 8, 5), (2, 3, 3), (100, 8, 1), (1, 64, 8),
    (3, 20, 6), (3, 10, 3), (11, 64, 5)])
def test_even_parts_share_the_blocks_evenly(blocks, threads, parts):
    """The fewest parts whose rounds of tasks end within 10 % of an even
    share, and no fewer; when none of 1..MAX_PARTS does, the soonest."""
    from streamcoloc.engine.passes import MAX_PARTS, even_parts

    def rounds(p):
        return -(-blocks * p // threads) / p

    assert even_parts(blocks, threads) == parts
    assert all(rounds(p) > 1.1 * blocks / threads for p in range(1, parts))
    if rounds(parts) > 1.1 * blocks / threads:  # none within the slack: the soonest
        assert all(rounds(p) >= rounds(parts) for p in range(1, MAX_PARTS + 1))


def test_labels_chunked_unlike_the_channels_are_refused():
    from streamcoloc.engine.passes import Dealing, Layout, chunk_records
    from streamcoloc.stats import moments
    from streamcoloc.stats.voxels import VoxelRules

    source = da.zeros((1, 4, 4), dtype=np.uint16, chunks=(1, 2, 2))
    labels = da.ones((4, 4), dtype=np.int32, chunks=(4, 2))
    statistic = moments.statistic(moments.MomentOptions(
        np.array([[0, 0]]), VoxelRules(), np.full((1, 2), np.nan)))
    with pytest.raises(ValueError, match="label image's chunks"):
        chunk_records([statistic], Layout([source], labels, has_slices=False), Dealing(2, 2))


def test_many_regions_and_blocks():
    """Thousands of sparse regions over hundreds of blocks: counts are exact."""
    rng = np.random.default_rng(2)
    labels = (rng.integers(0, 3000, (40, 200)) * 1_000_003).astype(np.int64)
    a = rng.integers(0, 255, labels.shape).astype(np.uint8)
    table = streamcoloc.analyse_pairwise(da.from_array(a, chunks=(7, 9)),
                                         da.from_array(a, chunks=(7, 9)), label_mask=labels,
                                         metrics=["overlap"])
    ids, counts = np.unique(labels[labels > 0], return_counts=True)
    assert list(table["region"]) == list(ids)
    assert list(table["n_pixels"]) == list(counts)


class _Record:
    """A record that counts how many of its kind are alive at once."""

    alive = peak = 0

    def __init__(self, n):
        self.n = n
        type(self).alive += 1
        type(self).peak = max(type(self).peak, type(self).alive)

    def __del__(self):
        type(self).alive -= 1


@pytest.mark.parametrize("n_blocks", [64, 512])
def test_records_held_at_once_do_not_grow_with_the_number_of_blocks(n_blocks):
    """Blocks are merged into one running record, SPLIT_EVERY at a time: at
    most SPLIT_EVERY block records wait for a merge, plus the running
    record and the merge's output, whatever the number of blocks (a merge
    tree would hold up to SPLIT_EVERY - 1 records on each of its levels)."""
    from streamcoloc.engine.passes import SPLIT_EVERY, Layout, run_pass
    from streamcoloc.stats.base import Statistic

    counter = Statistic("count", lambda channels, regions: _Record(channels[0].size),
                        lambda records: _Record(sum(r.n for r in records)),
                        lambda record: record.n)
    source = da.ones((1, n_blocks, 2), dtype=np.uint16, chunks=(1, 1, 2))
    _Record.alive = _Record.peak = 0
    with dask.config.set(scheduler="synchronous"):
        (total,) = run_pass([counter], Layout([source], None, has_slices=False))
    assert total == 2 * n_blocks
    assert _Record.peak <= SPLIT_EVERY + 2
