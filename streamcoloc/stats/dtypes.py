"""Canonical kernel dtypes: few Numba specializations, exact where possible.

Every chunk kernel takes its channels in one of a handful of dtypes, so a cold
Numba cache compiles each kernel a few times at most:

* the **exact** path, integers of at most 16 bits (and bool): uint8, uint16,
  int16 (int8 is widened) or int32 (uint16 mixed with signed data); every
  value and every product of two fits int64 sums without rounding;
* the **float** path, everything else: float32 (float16/float32 input) or
  float64 (float64 input, and integers wider than 16 bits, whose squares
  would overflow int64 sums).
"""

from __future__ import annotations

import numpy as np

EXACT_DTYPES = frozenset(np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.uint16, np.int16))


def is_exact(dtypes) -> bool:
    """True when every channel dtype takes the exact integer path."""
    return all(np.dtype(d) in EXACT_DTYPES for d in dtypes)


def kernel_dtype(dtypes) -> np.dtype:
    """The one dtype a chunk's channels are cast to before a kernel."""
    if is_exact(dtypes):
        common = np.result_type(*[np.uint8 if np.dtype(d) == np.bool_ else d for d in dtypes])
        return np.dtype(np.int16) if common == np.int8 else common
    if all(np.dtype(d) in (np.dtype(np.float16), np.dtype(np.float32)) for d in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def kernel_channels(channels: list[np.ndarray]) -> tuple[np.ndarray, ...]:
    """The channels as C-contiguous arrays of their kernel dtype (no copy when
    they already are), as the tuple Numba kernels index by channel number."""
    dtype = kernel_dtype([c.dtype for c in channels])
    return tuple(np.ascontiguousarray(c, dtype=dtype) for c in channels)
