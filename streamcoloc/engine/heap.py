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

The SMLM tile passes are the other way round: each task frees its tile's
arrays (tens of MiB: columns, cell lists, counts), and with a 64 KiB trim
threshold the next task gets them back as fresh pages that the kernel
faults in and zeroes.  Their passes keep up to 64 MiB of free heap top per
arena (:data:`TILE_TRIM_THRESHOLD`, glibc's own adaptive ceiling).  At 10^6
localizations per channel ``benchmarks/bench_smlm.py`` prints the two side
by side (medians of interleaved fresh runs): 1.10 s, 80k page faults, peak
RSS 680 MiB kept vs 1.33 s, 244k, 630 MiB returned (1.21x, d2bd86c; 0.77 vs
0.88 s, 75k vs 146k faults, 1.14x, at 4f54c0a, whose tile tasks allocate
less); the memory kept is at most 64 MiB per worker thread, whatever the
table size.

This changes a process-wide setting on the first pass of each kind; it does
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
TRIM_THRESHOLD = 64 * 2**10  # pixel passes
TILE_TRIM_THRESHOLD = 64 * 2**20  # SMLM tile passes

_trim_set = None  # the trim threshold last set


def bound_heap_growth(trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Set glibc's mmap threshold (32 MiB) and trim threshold (see the
    module docstring) unless they are set already; True when they are."""
    global _trim_set
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if _trim_set != trim_threshold:
        if not (mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) and
                mallopt(M_TRIM_THRESHOLD, trim_threshold)):
            return False
        _trim_set = trim_threshold
    return True


@functools.cache
def _mallopt():
    """glibc's ``mallopt``, or None (not glibc, or the user's environment
    sets the thresholds)."""
    if any(name in os.environ for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_")):
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        mallopt = ctypes.CDLL(name).mallopt
    except (OSError, AttributeError):  # not glibc (musl, macOS, Windows)
        return None
    mallopt.argtypes, mallopt.restype = (ctypes.c_int, ctypes.c_int), ctypes.c_int
    return mallopt
