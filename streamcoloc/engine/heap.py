"""Keep the process's memory from creeping up with the length of a run.

A pass allocates and frees many tables of a few MiB per block (decoded
channels, label runs, chunk histograms).  glibc's malloc serves blocks below
its mmap threshold from per-thread heaps, and raises that threshold (up to
32 MiB) each time a larger block is freed; the heaps fragment and their
free memory is not returned to the system.  Fixing the mmap threshold at
32 MiB (the ceiling of glibc's own adjustment, so smaller tables are still
reused from the heaps at full speed) and trimming free heap tops above
64 KiB keeps the resident size closer to what is alive.  Side by side on
bench_pixel's 64 x 1024 x 1024 volume with 50 regions: peak RSS 832–843 MiB
without, 681–708 MiB with, the same time (0.49–0.55 s vs 0.54–0.58 s); a
4 MiB threshold saved 60–90 MiB more but cost 30 % of the time.  To repeat
the comparison, run ``benchmarks/bench_pixel.py`` as it is and with
``MALLOC_TRIM_THRESHOLD_=131072`` (glibc's own default) in the environment,
which leaves glibc's settings untouched (see below).
dask.distributed sets the trim threshold of its workers for the same reason.

This changes a process-wide setting, once, on the first pass; it does
nothing off glibc or when the user set ``MALLOC_MMAP_THRESHOLD_`` or
``MALLOC_TRIM_THRESHOLD_`` in the environment.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

#: mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**10


@functools.cache
def bound_heap_growth() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring);
    True when they were set."""
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return False
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and \
        bool(mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
