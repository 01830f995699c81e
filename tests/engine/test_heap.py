"""glibc heap settings: set once, never against the user's environment, and what the
trim threshold is for (freed task memory reused)."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

SCRIPT = "from streamcoloc.engine.heap import bound_heap_growth as f; print(f(), f())"


def _run(env):
    return subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True,
                          env=env, check=True).stdout.split()


@pytest.mark.skipif(sys.platform != "linux" or ctypes.util.find_library("c") is None,
                    reason="glibc only")
def test_thresholds_are_set_on_glibc_once_and_not_over_the_users_environment():
    import os

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    assert _run(env) == ["True", "True"]  # cached: set once
    assert _run(dict(env, MALLOC_TRIM_THRESHOLD_="131072")) == ["False", "False"]


CHURN = """
import resource, sys
import numpy as np
from streamcoloc.engine import heap
heap.TRIM_THRESHOLD = int(sys.argv[1])
assert heap.bound_heap_growth()
def churn():  # a task's arrays: 10 x ~4 MiB, written, then freed
    return sum(float(np.ones(2**19 - 1024)[0]) for _ in range(10))
churn()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
churn()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _huge_pages_always() -> bool:
    try:
        with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
            return "[always]" in f.read()
    except OSError:
        return False


@pytest.mark.skipif(sys.platform != "linux" or ctypes.util.find_library("c") is None
                    or _huge_pages_always(),
                    reason="glibc with 4 KiB pages (page faults counted per page) only")
def test_passes_keep_freed_task_memory_for_the_next_task():
    """With the passes' trim threshold a second task reuses the first one's
    freed memory (few page faults); with a 64 KiB one (the pixel passes'
    until stop 19) the freed tops go back to the system and are faulted in
    again."""
    import os

    from streamcoloc.engine.heap import TRIM_THRESHOLD

    env = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def faults(trim):
        return int(subprocess.run([sys.executable, "-c", CHURN, str(trim)], capture_output=True,
                                  text=True, env=env, check=True).stdout)

    kept, returned = faults(TRIM_THRESHOLD), faults(64 * 2**10)
    assert returned > 2000  # ~1000 pages per array faulted in again
    assert kept < returned / 10
