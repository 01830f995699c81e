"""glibc heap settings applied once, never against the user's environment."""

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
