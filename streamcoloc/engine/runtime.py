"""How passes run: checkpoints that make runs resumable, and progress.

A :class:`Session` (a context manager) sets, for every pass run inside it:

* ``checkpoint``: a folder where each block's records (all its parts',
  when its regions are dealt to several tasks) are saved in one file as
  soon as they are computed (``<folder>/<pass token>/block-<index>.pkl``,
  or ``block-<index>-of-<parts>.pkl``, written to a temporary file and
  renamed, so a block's file is complete or absent and holds one dealing
  of its regions).  With ``resume=True`` blocks whose file exists are
  loaded instead of read and recomputed (a resumed pass has as many part
  tasks per block as the interrupted run, whatever its threads); the pass
  token hashes the statistics' options, the dask names of the channels and
  label image and the slice mode, so a checkpoint is never reused for
  other data or options.
  Records are merged in the same fixed order either way, so a resumed run
  gives identical results.  Under dask.distributed the folder must be
  visible to every worker.
* ``progress``: a line on stderr with blocks done, throughput and time left
  (dask callbacks for the local schedulers; futures as they complete under
  a dask.distributed client).

Outside a session passes run plainly, as before.
"""

from __future__ import annotations

import contextlib
import contextvars
import operator
import os
import pickle
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import dask
import dask.threaded
from dask.base import get_scheduler, tokenize
from dask.callbacks import Callback
from dask.system import CPU_COUNT

_CURRENT: contextvars.ContextVar = contextvars.ContextVar("streamcoloc_session", default=None)


@dataclass
class Session:
    """Checkpoint folder (None: no checkpoints), resume, progress display.

    ``computed`` and ``loaded`` count the blocks of this session's passes
    scheduled for computation and loaded from checkpoints (for tests and
    provenance)."""

    checkpoint: Path | str | None = None
    resume: bool = False
    progress: bool = False
    stream: object = None
    computed: int = 0
    loaded: int = 0
    _token: object = field(default=None, repr=False)

    def __enter__(self):
        if self.checkpoint is not None:
            self.checkpoint = Path(self.checkpoint)
            if self.checkpoint.exists() and not self.resume:
                shutil.rmtree(self.checkpoint)
            # created by the first pass that checkpoints (checkpointed), so
            # that a command failing on its arguments leaves no folder behind
        self._token = _CURRENT.set(self)
        return self

    def __exit__(self, *exc):
        _CURRENT.reset(self._token)
        return False


def current() -> Session | None:
    return _CURRENT.get()


# ---------------------------------------------------------------- checkpoints

def pass_folder(session: Session | None, statistics, arrays, has_slices: bool) -> Path | None:
    """The checkpoint folder of a pass (None outside a checkpointing
    session), named by a hash of the statistics' options, the dask names and
    chunks of every array it reads (channels and label image) and the slice
    mode."""
    if session is None or session.checkpoint is None:
        return None
    return session.checkpoint / ("pass-" + tokenize(
        [s.name for s in statistics], [s.chunk for s in statistics],
        [a.name for a in arrays], [a.chunks for a in arrays], has_slices))


def saved_parts(folder: Path | None) -> int | None:
    """Part tasks per block of the checkpoints in ``folder`` (None when it
    holds none): a resumed pass has as many, whatever its threads, so that
    it finds their files and merges as the interrupted run did."""
    names = [p.name for p in folder.glob("block-*.pkl")] if folder is not None else []
    if not names:
        return None
    counts = [int(n[:-len(".pkl")].rsplit("-of-", 1)[1]) if "-of-" in n else 1 for n in names]
    return max(set(counts), key=counts.count)


def checkpointed(parts: list, folder: Path | None, session: Session | None,
                 per_block: int = 1) -> list:
    """Replace the delayed records of each checkpointed block (the block's
    task, or its ``per_block`` part tasks, in block order) by a load of its
    file, and make the others save theirs: ``block-<b>.pkl``, or
    ``block-<b>-of-<per_block>.pkl`` holding the records of all its parts,
    saved once the last is computed.  One file per block: how a run deals a
    block's regions to its parts may depend on its threads and on the order
    its blocks ran in (:func:`~.passes.deal_blocks`), and a file per part
    could mix two runs' dealings (a part saved late by an interrupted run,
    beside parts of its resume).  ``session.loaded`` and
    ``session.computed`` count blocks.  Without a folder the parts are
    returned unchanged."""
    if folder is None:
        return parts
    folder.mkdir(parents=True, exist_ok=True)
    load, save = dask.delayed(_load, pure=False), dask.delayed(_save, pure=False)
    part = dask.delayed(operator.getitem, pure=True)
    out = []
    for block in range(len(parts) // per_block):
        path = folder / (f"block-{block}.pkl" if per_block == 1 else
                         f"block-{block}-of-{per_block}.pkl")
        if session.resume and path.exists():
            session.loaded += 1
            records = load(str(path))
        else:
            session.computed += 1
            records = save(parts[block * per_block:(block + 1) * per_block], str(path))
        out += [part(records, k) for k in range(per_block)]
    return out


def _load(path: str):
    with open(path, "rb") as f:
        return pickle.load(f)


def _save(records, path: str):
    directory = os.path.dirname(path)
    with tempfile.NamedTemporaryFile(dir=directory, delete=False, suffix=".tmp") as f:
        pickle.dump(records, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(f.name, path)
    return records


# ---------------------------------------------------------------- progress

class _Display:
    """Blocks done, GB/s and time left, rewritten in place at most twice a second."""

    def __init__(self, total: int, block_bytes: float, stream, per_block: int = 1):
        self.total, self.block_bytes, self.per_block = max(total, 1), block_bytes, per_block
        self.stream = stream or sys.stderr
        self.done, self.started, self.shown = 0, time.perf_counter(), 0.0

    def update(self, n: int = 1, final: bool = False):
        self.done += n
        now = time.perf_counter()
        if not final and now - self.shown < 0.5:
            return
        self.shown = now
        elapsed = max(now - self.started, 1e-9)
        rate = self.done * self.block_bytes / self.per_block / elapsed / 1e9
        left = elapsed / self.done * (self.total - self.done) if self.done else float("nan")
        self.stream.write(f"\rstreamcoloc: {self.done // self.per_block}/"
                          f"{self.total // self.per_block} blocks, {rate:.2f} GB/s, "
                          f"{left:.0f} s left" + ("\n" if final else ""))
        self.stream.flush()


class _LocalProgress(Callback):
    """Counts finished block tasks of the local (threaded, synchronous) schedulers."""

    def __init__(self, display: _Display, keys: set):
        super().__init__()
        self.display, self.keys = display, keys

    def _posttask(self, key, result, dsk, state, worker_id):
        if key in self.keys:
            self.display.update()

    def _finish(self, dsk, state, errored):
        if not errored:
            self.display.update(0, final=True)


@contextlib.contextmanager
def progress(parts: list, block_bytes: float, per_block: int = 1):
    """Show the current session's progress while the block ``parts`` are
    computed (``per_block`` of them per block): yields the parts to merge
    (futures already computed under a dask.distributed client, the parts
    themselves otherwise, counted by a local-scheduler callback until the
    context exits)."""
    session = current()
    if session is None or not session.progress:
        yield parts
        return
    display = _Display(len(parts), block_bytes, session.stream, per_block)
    client = _client()
    if client is None:
        with _LocalProgress(display, {part.key for part in parts}):
            yield parts
        return
    from distributed import as_completed

    futures = client.compute(parts)
    for _ in as_completed(futures):
        display.update()
    display.update(0, final=True)
    yield futures


def parallelism() -> int:
    """Tasks the current scheduler runs at once: the threads of the workers
    of an active dask.distributed client, else the threaded scheduler's
    (dask's ``num_workers`` setting, or the CPU count)."""
    client = _client()
    if client is not None:
        return max(1, sum(client.nthreads().values()))
    return int(dask.config.get("num_workers", None) or CPU_COUNT)


def threads_share_memory() -> bool:
    """True under dask's threaded scheduler (the default, or asked for by
    config): the tasks of a pass run on threads of this process."""
    return runs_locally() and get_scheduler() in (None, dask.threaded.get)


def runs_locally() -> bool:
    """True when tasks run in this process (dask's local schedulers), False
    under an active dask.distributed client."""
    return _client() is None


def map_local(func, items) -> list:
    """``[func(item) for item in items]`` on this process's threads (dask's
    ``num_workers``, or the CPU count; one under the synchronous scheduler):
    finalization on the driver, whatever runs the passes.  Worth it only
    where ``func`` spends most of its time in nogil kernels."""
    items = list(items)
    threads = local_threads()
    if min(threads, len(items)) <= 1:
        return [func(item) for item in items]
    with ThreadPoolExecutor(min(threads, len(items))) as pool:
        return list(pool.map(func, items))


def start_local(func, *args):
    """Start ``func(*args)`` on another thread of this process and return a
    function that waits for its result (computed at once on the caller's
    thread when :func:`map_local` would use one thread): work beside the
    caller's, worth it where ``func`` runs in a nogil kernel."""
    if local_threads() <= 1:
        result = func(*args)
        return lambda: result
    pool = ThreadPoolExecutor(1)
    future = pool.submit(func, *args)
    pool.shutdown(wait=False)  # the thread ends with its task
    return future.result


def local_threads() -> int:
    """Threads for work on this process (dask's ``num_workers``, or the CPU
    count; one under the synchronous scheduler)."""
    if dask.config.get("scheduler", None) in ("sync", "synchronous", "single-threaded"):
        return 1
    return int(dask.config.get("num_workers", None) or CPU_COUNT)


def _client():
    try:
        from distributed import get_client

        return get_client()
    except (ImportError, ValueError):
        return None
