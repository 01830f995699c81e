"""What every benchmark script shares: measurements in fresh subprocesses and
their peak memory.

A script runs each measurement as ``python SCRIPT --_worker KIND --_args JSON``
(its own ``worker(kind, args)`` prints one JSON line), so that every peak RSS
(VmHWM) is that measurement's alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def peak_rss() -> int:
    """Peak RSS of this process in bytes: VmHWM (ru_maxrss survives fork+exec
    on Linux, so a child would report at least its parent's RSS at fork)."""
    try:
        with open("/proc/self/status") as f:
            for row in f:
                if row.startswith("VmHWM:"):
                    return int(row.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def current_rss() -> int:
    """Current RSS of this process in bytes."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def spawn(script: str, kind: str, args: dict) -> dict:
    """Run ``script``'s ``worker(kind, args)`` in a fresh interpreter and
    return the JSON of its last stdout line."""
    cmd = [sys.executable, os.path.abspath(script), "--_worker", kind, "--_args",
           json.dumps(args)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise RuntimeError(f"worker {kind} of {os.path.basename(script)} failed "
                           f"(exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def parse_or_work(parser: argparse.ArgumentParser, worker, argv=None):
    """The script's parsed arguments; or, in a measurement process started by
    :func:`spawn` (``--_worker KIND --_args JSON``), run ``worker(kind, args)``,
    print its JSON and return None."""
    parser.add_argument("--_worker", help=argparse.SUPPRESS)
    parser.add_argument("--_args", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._worker:
        print(json.dumps(worker(args._worker, json.loads(args._args))))
        return None
    return args


def fmt_bytes(n) -> str:
    """Bytes as MiB, for the printed tables."""
    return f"{n / 2**20:,.0f} MiB"


def verdict(ok) -> str:
    return "PASS" if ok else "FAIL"


def alternated(before, after, repeat: int) -> tuple:
    """Time the calls ``before()`` and ``after()`` alternately ``repeat``
    times, in one process: (median seconds of each, median of the ratios
    before / after)."""
    times = ([], [])
    for _ in range(repeat):
        for call, out in zip((before, after), times):
            start = time.perf_counter()
            call()
            out.append(time.perf_counter() - start)
    return (statistics.median(times[0]), statistics.median(times[1]),
            statistics.median(b / a for b, a in zip(*times)))
