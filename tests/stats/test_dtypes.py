"""Canonical kernel dtypes."""

import numpy as np

from streamcoloc.stats import dtypes


def test_kernel_dtypes_stay_few():
    assert dtypes.kernel_dtype([np.bool_, np.uint8]) == np.uint8
    assert dtypes.kernel_dtype([np.int8]) == np.int16
    assert dtypes.kernel_dtype([np.uint16, np.int16]) == np.int32
    assert dtypes.kernel_dtype([np.float16, np.float32]) == np.float32
    assert dtypes.kernel_dtype([np.uint32]) == np.float64
    assert dtypes.is_exact([np.uint16, np.int8]) and not dtypes.is_exact([np.int32])
