"""Keep the process's memory bounded and its freed memory reused.

A pass allocates and frees many tables of a few MiB per block or task
(decoded channels, label runs, chunk histograms, merged joint tables; the
SMLM tiles' columns, cell lists and counts).  glibc's malloc serves blocks
below its mmap threshold from per-thread heaps (arenas), and raises that
threshold (up to 32 MiB) each time a larger block is freed; the heaps
fragment and their free memory is not returned to the system.  On the first
pass two settings are made:

* **The mmap threshold is fixed at 32 MiB** (the ceiling of glibc's own
  adjustment): larger tables are mapped and unmapped on their own, smaller
  ones come from the heaps.  Side by side on bench_pixel's 64 x 1024 x 1024
  volume with 50 regions against glibc's defaults: peak RSS 832–843 MiB
  with the defaults, 681–708 MiB with this (and a trim threshold of 64 KiB,
  the pixel passes' setting until stop 19), the same time; a 4 MiB mmap
  threshold saved 60–90 MiB more but cost 30 % of the time.
* **Up to 64 MiB of free heap top is kept per arena** (the trim threshold,
  glibc's own adaptive ceiling): the next block's or task's tables get the
  freed memory back instead of fresh pages that the system faults in and
  zeroes (about 2.4 µs per 4 KiB page on this machine).  The memory kept is
  at most 64 MiB per arena (per allocating thread), whatever the data size.
  Measured side by side against a 64 KiB threshold (the pages returned):

  - SMLM tile passes, 10^6 localizations per channel
    (``benchmarks/bench_smlm.py``, medians of interleaved fresh runs): 1.10 s,
    80k page faults, peak RSS 680 MiB kept vs 1.33 s, 244k, 630 MiB returned
    (1.21x, d2bd86c; 0.77 vs 0.88 s, 75k vs 146k faults, 1.14x, at 4f54c0a,
    whose tile tasks allocate less);
  - pixel passes, every metric on bench_pixel's 50 regions: 8k page faults
    per analysis kept vs 18k returned in a long-running process, and 16 pairs
    of fresh processes (``bench_revisions.py`` on two revisions of stop 19)
    1.07x faster (CPU time 1.09x), peak RSS 788 MiB kept vs 755 MiB returned.
    ``benchmarks/bench_pixel.py`` prints this side by side ("50 regions,
    freed memory returned", min of 5 runs in one fresh process each): 1.00x,
    10.0k vs 13.3k page faults per run, 885 vs 843 MiB, once (stop 19):
    the gain is at most a few per cent, within this machine's noise.

To repeat a comparison against glibc's defaults, set
``MALLOC_TRIM_THRESHOLD_=131072`` (glibc's own default) in the environment,
which leaves glibc's settings untouched: nothing is set off glibc or when the
user set ``MALLOC_MMAP_THRESHOLD_`` or ``MALLOC_TRIM_THRESHOLD_``.  The
setting is made where a pass starts, so it reaches the tasks under dask's
local schedulers only; dask.distributed's nannies start their workers with
``MALLOC_TRIM_THRESHOLD_=65536`` (freed memory returned to the system), and
there glibc keeps that.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import os

#: mallopt parameter numbers (glibc malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD = 32 * 2**20
TRIM_THRESHOLD = 64 * 2**20

_set = False  # the thresholds are set


def bound_heap_growth() -> bool:
    """Set glibc's mmap and trim thresholds (see the module docstring) unless
    they are set already; True when they are."""
    global _set
    mallopt = _mallopt()
    if mallopt is None:
        return False
    if not _set:
        _set = bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
                    and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD))
    return _set


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
