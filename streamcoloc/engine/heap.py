"""Keep the process's memory from creeping up with the length of a run.

A pass allocates and frees many tables of a few MiB per block (decoded
channels, label runs, chunk histograms).  glibc's malloc serves blocks below
its mmap threshold from per-thread heaps, and raises that threshold (up to
32 MiB) each time a larger block is freed, so these tables end up in heaps
that fragment and are not returned to the system.  Fixing the mmap
threshold at 4 MiB (tables of that size or more are mapped, and unmapped on
free) and trimming free heap tops above 64 KiB keeps the resident size close
to what is alive: on the 2 GiB volume of ``benchmarks/bench_scale.py`` the
peak RSS of the per-cell analysis fell from 1.73–1.78 GiB (dynamic
threshold) to 1.48–1.53 GiB (fixed thresholds) in
side-by-side runs.  dask.distributed sets the trim threshold of its workers
for the same reason.

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
MMAP_THRESHOLD = 4 * 2**20
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
