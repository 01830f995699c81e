"""The prefetch hint compiles for every canonical dtype to LLVM's prefetch,
changes nothing, and refuses arrays whose addresses it would get wrong."""

from __future__ import annotations

import numba
import numpy as np
import pytest
from numba.core.errors import TypingError

from streamcoloc.stats.prefetch import prefetch_range


@numba.njit
def _sum_with_prefetch(values, start, stop):
    total = 0.0
    for q in range(start, stop):
        prefetch_range(values, q + 1, min(q + 200, values.size))  # runs up to the array's end
        total += values[q]
    return total


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.float32,
                                   np.float64])
def test_prefetch_compiles_for_each_dtype_and_leaves_values_alone(dtype):
    values = np.arange(1000).astype(dtype)
    before = values.copy()
    assert _sum_with_prefetch(values, 0, values.size) == float(before.astype(np.float64).sum())
    assert _sum_with_prefetch(values, 5, 5) == 0.0  # an empty range prefetches nothing
    np.testing.assert_array_equal(values, before)
    signature = (numba.typeof(values), numba.int64, numba.int64)
    assert "@llvm.prefetch" in _sum_with_prefetch.inspect_llvm(signature)


@numba.njit
def _prefetch_first(values):
    prefetch_range(values, 0, 1)


@pytest.mark.parametrize("values", [np.zeros((4, 4)), np.zeros(8)[::2]], ids=["2-D", "strided"])
def test_prefetch_refuses_arrays_that_are_not_1d_contiguous(values):
    with pytest.raises(TypingError, match="1-D C-contiguous"):
        _prefetch_first(values)
