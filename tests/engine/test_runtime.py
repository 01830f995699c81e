"""Sessions: checkpoints survive an interrupted or killed run, resume recomputes
only missing blocks; progress; a worker killed mid-run changes nothing."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import textwrap

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
import zarr
from dask.callbacks import Callback

import streamcoloc
from streamcoloc.engine.runtime import Session

N_BLOCKS = 4 * 3 * 2


def _volume(path):
    """Two uint16 channels stored in 24 chunks, opened as zarr arrays."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 3000, (8, 60, 40))
    b = a // 3 + rng.integers(0, 1000, a.shape)
    arrays = []
    for name, data in (("a", a), ("b", b)):
        z = zarr.open_array(str(path / name), mode="w", shape=a.shape, chunks=(2, 20, 20),
                            dtype="uint16")
        z[:] = data
        arrays.append(zarr.open_array(str(path / name), mode="r"))
    return arrays


def _analyse(a, b):
    """One block per stored chunk (dask arrays keep their chunks)."""
    return streamcoloc.analyse_pairwise(da.from_zarr(a), da.from_zarr(b),
                                        metrics=["pcc", "overlap", "mcc", "srcc"])


class _StopAfter(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) once ``n`` blocks were saved."""

    def __init__(self, n):
        super().__init__()
        self.n, self.saved = n, 0

    def _posttask(self, key, result, dsk, state, worker_id):
        name = key[0] if isinstance(key, tuple) else key
        if str(name).startswith("_save"):
            self.saved += 1
            if self.saved == self.n:
                raise KeyboardInterrupt


def test_interrupted_run_resumes_without_recomputing_saved_blocks(tmp_path):
    a, b = _volume(tmp_path)
    plain = _analyse(a, b)
    checkpoint = tmp_path / "checkpoints"
    # one thread, so that no other block finishes after the interrupt
    with pytest.raises(KeyboardInterrupt), dask.config.set(scheduler="synchronous"), \
            Session(checkpoint=checkpoint), _StopAfter(7):
        _analyse(a, b)
    saved = len(list(checkpoint.rglob("block-*.pkl")))
    assert saved == 7
    with Session(checkpoint=checkpoint, resume=True) as session:
        resumed = _analyse(a, b)
    assert session.loaded == saved
    assert session.computed == N_BLOCKS - saved
    pd.testing.assert_frame_equal(plain, resumed, check_exact=True)


def test_killed_process_resumes_from_its_checkpoints(tmp_path):
    """The process is killed (os._exit) after 5 saved blocks; a new process
    finds the same checkpoint folder (tokens are stable across processes)."""
    a, b = _volume(tmp_path)
    script = textwrap.dedent(f"""
        import os, zarr
        import dask.array as da
        from dask.callbacks import Callback
        import streamcoloc
        from streamcoloc.engine.runtime import Session

        class Kill(Callback):
            saved = 0
            def _posttask(self, key, result, dsk, state, worker_id):
                name = key[0] if isinstance(key, tuple) else key
                if str(name).startswith("_save"):
                    Kill.saved += 1
                    if Kill.saved == 5:
                        os._exit(9)

        a = zarr.open_array({str(tmp_path / "a")!r}, mode="r")
        b = zarr.open_array({str(tmp_path / "b")!r}, mode="r")
        with Session(checkpoint={str(tmp_path / "ck")!r}), Kill():
            streamcoloc.analyse_pairwise(da.from_zarr(a), da.from_zarr(b), metrics=["pcc", "overlap", "mcc", "srcc"])
    """)
    run = subprocess.run([sys.executable, "-c", script], timeout=300)
    assert run.returncode == 9
    saved = len(list((tmp_path / "ck").rglob("block-*.pkl")))
    assert 5 <= saved < N_BLOCKS
    with Session(checkpoint=tmp_path / "ck", resume=True) as session:
        resumed = _analyse(a, b)
    assert session.loaded == saved and session.computed == N_BLOCKS - saved
    pd.testing.assert_frame_equal(_analyse(a, b), resumed, check_exact=True)


def test_checkpoints_not_reused_for_other_data(tmp_path):
    a, b = _volume(tmp_path)
    with Session(checkpoint=tmp_path / "ck"):
        _analyse(a, b)
    with Session(checkpoint=tmp_path / "ck", resume=True) as session:
        swapped = _analyse(b, a)
    assert session.loaded == 0 and session.computed == N_BLOCKS
    pd.testing.assert_frame_equal(swapped, _analyse(b, a), check_exact=True)


def test_checkpoints_of_blocks_in_parts(tmp_path):
    """With a label image and 16 threads each block is eight part tasks
    (two regions' parts per block, the last 15 blocks to run dealt to eight),
    saved in one file per block; a resume loads them all, on 16 threads or
    on 2 (it has as many part tasks as the interrupted run), identical
    tables; other labels are other data: nothing is loaded."""
    from streamcoloc.engine.passes import Dealing, Layout, deal_blocks
    from streamcoloc.stats import moments

    a, b = _volume(tmp_path)
    labels = np.arange(8 * 60 * 40, dtype=np.int32).reshape(8, 60, 40) % 7
    layout = Layout([da.from_zarr(a)[None]], da.from_array(labels, chunks=(2, 20, 20)), False)
    with dask.config.set(scheduler="threads", num_workers=16):
        assert deal_blocks([moments.statistic(None)], layout) == \
            Dealing(2, 8, N_BLOCKS - 15)

    def analyse(labels=labels):
        return streamcoloc.analyse_pairwise(da.from_zarr(a), da.from_zarr(b), label_mask=labels,
                                            metrics=["pcc", "mcc", "srcc"])

    with dask.config.set(scheduler="threads", num_workers=16):
        with Session(checkpoint=tmp_path / "ck") as first:
            expected = analyse()
        assert first.computed == N_BLOCKS
        assert len(list((tmp_path / "ck").rglob("block-*-of-8.pkl"))) == N_BLOCKS
    for threads in (16, 2):
        with dask.config.set(scheduler="threads", num_workers=threads), \
                Session(checkpoint=tmp_path / "ck", resume=True) as session:
            pd.testing.assert_frame_equal(expected, analyse(), check_exact=True)
        assert session.loaded == N_BLOCKS and session.computed == 0
    other = labels[::-1].copy()
    fresh = analyse(other)
    with Session(checkpoint=tmp_path / "ck", resume=True) as session:
        pd.testing.assert_frame_equal(analyse(other), fresh, check_exact=True)
    assert session.loaded == 0 and session.computed > 0


def test_a_block_is_saved_whole_with_one_dealing_of_its_regions(tmp_path):
    """How a block's regions are dealt to its part tasks depends on the
    threads and on the order the blocks ran in, so a block's parts are
    saved together, in one file: each holds records of disjoint regions
    that together are all the block's.  A resume on 2 threads after a run
    on 3 computes only the block whose file is gone; identical tables."""
    from streamcoloc.engine.runtime import _load

    a, b = _volume(tmp_path)
    labels = np.arange(8 * 60 * 40, dtype=np.int32).reshape(8, 60, 40) % 7

    def analyse():
        return streamcoloc.analyse_pairwise(da.from_zarr(a), da.from_zarr(b), label_mask=labels,
                                            metrics=["pcc", "mcc", "srcc"])

    with dask.config.set(scheduler="threads", num_workers=3), \
            Session(checkpoint=tmp_path / "ck") as first:
        expected = analyse()
    files = sorted((tmp_path / "ck").rglob("block-*-of-3.pkl"))
    assert first.computed == N_BLOCKS == len(files)
    dealt = 0
    for path in files:
        ids = [set(part.item()[0].keys[:, 0].tolist()) for part in _load(str(path))]
        assert sum(map(len, ids)) == len(set().union(*ids)) > 0  # disjoint, none lost
        dealt += sum(1 for i in ids if i) > 1
    assert dealt >= 1  # the last blocks to run in several non-empty parts
    files[5].unlink()
    with dask.config.set(scheduler="threads", num_workers=2), \
            Session(checkpoint=tmp_path / "ck", resume=True) as session:
        pd.testing.assert_frame_equal(expected, analyse(), check_exact=True)
    assert session.loaded == N_BLOCKS - 1 and session.computed == 1 and files[5].exists()


def test_without_resume_old_checkpoints_are_discarded(tmp_path):
    a, b = _volume(tmp_path)
    with Session(checkpoint=tmp_path / "ck"):
        _analyse(a, b)
    with Session(checkpoint=tmp_path / "ck") as session:
        _analyse(a, b)
    assert session.loaded == 0 and session.computed == N_BLOCKS


def test_progress_line_only_when_asked(tmp_path):
    a, b = _volume(tmp_path)
    shown, silent = io.StringIO(), io.StringIO()
    with Session(progress=True, stream=shown):
        _analyse(a, b)
    with Session(progress=False, stream=silent):
        _analyse(a, b)
    last = shown.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith(f"streamcoloc: {N_BLOCKS}/{N_BLOCKS} blocks") and "GB/s" in last
    assert silent.getvalue() == ""


def test_progress_counts_blocks_when_their_regions_run_in_parts(tmp_path):
    """With a label image and 16 threads each of the 24 blocks is two tasks;
    the line still counts blocks."""
    from streamcoloc.engine.passes import even_parts

    assert even_parts(N_BLOCKS, 16) == 2
    a, b = _volume(tmp_path)
    labels = np.arange(8 * 60 * 40, dtype=np.int32).reshape(8, 60, 40) % 7
    shown = io.StringIO()
    with dask.config.set(scheduler="threads", num_workers=16), \
            Session(progress=True, stream=shown):
        streamcoloc.analyse_pairwise(da.from_zarr(a), da.from_zarr(b), label_mask=labels,
                                     metrics=["pcc"])
    last = shown.getvalue().rstrip("\n").split("\r")[-1]
    assert last.startswith(f"streamcoloc: {N_BLOCKS}/{N_BLOCKS} blocks")


class _KillOnce:
    """Worker plugin: the first worker to finish ``n`` block tasks dies at
    once (os._exit), once per test (a marker file)."""

    def __init__(self, n, marker):
        self.n, self.marker, self.done = n, marker, 0

    def setup(self, worker):
        self.done = 0

    def transition(self, key, start, finish, **kwargs):
        name = key[0] if isinstance(key, tuple) else key
        if finish == "memory" and str(name).startswith("chunk_task"):
            self.done += 1
            if self.done == self.n and not os.path.exists(self.marker):
                open(self.marker, "w").close()
                os._exit(1)


@pytest.mark.timeout(300)
def test_worker_killed_mid_run_still_gives_the_right_answer(tmp_path):
    from distributed import Client, LocalCluster
    from distributed.diagnostics.plugin import WorkerPlugin

    plugin = type("KillOnce", (_KillOnce, WorkerPlugin), {})(3, str(tmp_path / "killed"))
    a, b = _volume(tmp_path)
    expected = _analyse(a, b)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        client.register_plugin(plugin)
        result = _analyse(a, b)
    assert os.path.exists(tmp_path / "killed"), "no worker was killed: the test proved nothing"
    pd.testing.assert_frame_equal(expected, result, check_exact=True)


def test_parallelism_follows_the_threaded_scheduler_setting():
    from dask.system import CPU_COUNT

    from streamcoloc.engine.runtime import parallelism

    with dask.config.set(num_workers=None):
        assert parallelism() == CPU_COUNT
    with dask.config.set(num_workers=7):
        assert parallelism() == 7


def test_map_local_keeps_order_and_uses_the_local_threads():
    import threading

    from streamcoloc.engine.runtime import map_local

    barrier = threading.Barrier(2, timeout=10)

    def meet(i):  # returns only once two calls run at the same time
        barrier.wait()
        return i * i, threading.get_ident()

    with dask.config.set(num_workers=2):
        out = map_local(meet, range(6))
    assert [v for v, _ in out] == [i * i for i in range(6)]
    assert len({t for _, t in out}) == 2
    with dask.config.set(scheduler="sync", num_workers=2):
        threads = {t for _, t in map_local(lambda i: (i, threading.get_ident()), range(4))}
    assert threads == {threading.get_ident()}  # the synchronous scheduler: this thread only


def test_start_local_runs_beside_the_caller():
    """The started function runs on another thread while the caller goes on
    (they meet at a barrier), and its result comes back; under the
    synchronous scheduler it runs at once on the caller's thread."""
    import threading

    from streamcoloc.engine.runtime import start_local

    barrier = threading.Barrier(2, timeout=10)

    def meet(x):
        barrier.wait()
        return x + 1, threading.get_ident()

    with dask.config.set(num_workers=2):
        result = start_local(meet, 41)
        barrier.wait()  # returns only once the started function waits too
        value, thread = result()
    assert value == 42 and thread != threading.get_ident()
    with dask.config.set(scheduler="sync", num_workers=2):
        value, thread = start_local(lambda x: (x * 2, threading.get_ident()), 21)()
    assert (value, thread) == (42, threading.get_ident())
