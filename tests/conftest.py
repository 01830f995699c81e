"""Shared test set-up: hypothesis profiles, reference data, compile timing."""

from __future__ import annotations

import os
import time
import warnings

import numpy as np
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", deadline=None, derandomize=True, max_examples=100, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile("dev", deadline=None, max_examples=100,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_compile_seconds = {}


def pytest_sessionstart(session):
    """Compile (or load from cache) the kernels once, and time it."""
    import streamcoloc

    a = np.arange(60, dtype=np.uint16).reshape(3, 4, 5)
    labels = (a % 3).astype(np.int32)
    for dtype in (np.uint16, np.float64):
        started = time.perf_counter()
        with warnings.catch_warnings():  # the float grid's Kendall binning warning
            warnings.simplefilter("ignore", streamcoloc.ColocWarning)
            streamcoloc.analyse_pairwise(a.astype(dtype), a[::-1].astype(dtype),
                                         label_mask=labels)
        _compile_seconds[np.dtype(dtype).name] = time.perf_counter() - started


def pytest_terminal_summary(terminalreporter):
    detail = ", ".join(f"{k} {v:.2f} s" for k, v in _compile_seconds.items())
    terminalreporter.write_line(f"Numba compile (first call incl. labels): {detail}")
