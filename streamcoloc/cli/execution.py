"""Where and how a command runs: the scheduler, progress and resumable runs.

Default: dask's threaded scheduler on this machine.  ``--scheduler ADDRESS``
connects to a dask.distributed scheduler, ``--workers N`` starts a local
cluster of N processes; the same analysis then runs there.  Progress goes to
stderr unless ``--quiet``.  Per-block partial statistics are checkpointed in
``OUT/checkpoints``; ``--resume`` reuses them (and the finished sources of a
batch), recomputing only what is missing.
"""

from __future__ import annotations

import contextlib
import shutil
import sys
import time
import warnings
from pathlib import Path

from ..engine.runtime import Session
from ..reports import write_results


def add_arguments(parser, resume: bool = True) -> None:
    """--scheduler, --workers, --quiet and (for commands with checkpointed
    passes) --resume."""
    group = parser.add_argument_group("execution")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on this dask.distributed scheduler (tcp://host:port)")
    group.add_argument("--workers", type=int, metavar="N",
                       help="start a local dask cluster of N worker processes")
    group.add_argument("--quiet", action="store_true", help="no progress output")
    if resume:
        group.add_argument("--resume", action="store_true",
                           help="reuse the checkpoints of an interrupted run into the same --out")


@contextlib.contextmanager
def execution(args, out: Path):
    """The cluster (if asked) and the :class:`~streamcoloc.engine.runtime.Session`
    of a command writing into ``out``.  Commands with ``--resume`` checkpoint
    their passes in ``out/checkpoints``, removed once the command has
    finished."""
    if args.scheduler and args.workers:
        raise ValueError("give --scheduler or --workers, not both")
    resumable = hasattr(args, "resume")
    checkpoint = Path(out) / "checkpoints" if resumable else None
    with contextlib.ExitStack() as stack:
        client = None
        if args.scheduler or args.workers:
            from distributed import Client, LocalCluster

            if args.workers:
                if args.workers < 1:
                    raise ValueError(f"--workers must be at least 1, got {args.workers}")
                cluster = stack.enter_context(LocalCluster(
                    n_workers=args.workers, threads_per_worker=1, processes=True,
                    dashboard_address=":0"))
                client = stack.enter_context(Client(cluster))
            else:
                client = stack.enter_context(Client(args.scheduler))
            if not args.quiet:
                print(f"streamcoloc: dask dashboard {client.dashboard_link}", file=sys.stderr)
        session = stack.enter_context(Session(checkpoint=checkpoint,
                                              resume=resumable and args.resume,
                                              progress=not args.quiet))
        yield session
    if checkpoint is not None:
        shutil.rmtree(checkpoint, ignore_errors=True)


@contextlib.contextmanager
def recorded(args, out: Path):
    """:func:`execution` that also records every warning raised inside it:
    yields the list of warnings, printed on stderr when the block ends."""
    with warnings.catch_warnings(record=True) as caught, execution(args, out):
        warnings.simplefilter("always")
        yield caught
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)


def write_run(out, table, given: dict, extra: dict, caught, started: float) -> Path:
    """Write the results folder (see :func:`~streamcoloc.reports.write_results`)
    with ``extra``, the warnings and the run's total time in run.json."""
    return write_results(table, out, inputs=given, extra={
        **extra, "warnings": [str(w.message) for w in caught],
        "total_seconds": time.perf_counter() - started})


def done(out: Path, started: float) -> int:
    print(f"\nresults written to {out}/ in {time.perf_counter() - started:.1f} s")
    return 0
