"""Exact integer sums that never overflow, as pairs of int64 words.

A chunk kernel accumulates integer statistics in int64, which is exact as long
as one chunk's sum fits (see :data:`streamcoloc.stats.moments.MAX_CHUNK_VOXELS`).
Summed over a whole dataset (10^12 voxels of 16-bit data squared) the totals
need about 75 bits, so across chunks a value ``v`` is carried as two int64
words ``v = hi * 2**32 + lo`` with ``0 <= lo < 2**32``.  Adding pairs word by
word and moving the carry out of ``lo`` is exact while ``|hi| < 2**62``,
i.e. for totals up to about 2**94.  The representation is canonical, so the
result does not depend on the order of additions: this is what makes integer
results bit-identical across chunkings and schedulers.
"""

from __future__ import annotations

import numpy as np

_SHIFT = 32
_LOW_MASK = (1 << _SHIFT) - 1


def split(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Split int64 ``values`` into canonical ``(hi, lo)`` words."""
    values = np.asarray(values, dtype=np.int64)
    return values >> _SHIFT, values & _LOW_MASK


def group_sum(hi: np.ndarray, lo: np.ndarray, group: np.ndarray, n_groups: int):
    """Exact sum of ``(hi, lo)`` rows that share a ``group`` index.

    ``hi`` and ``lo`` have the group axis first; returns canonical words of
    shape ``(n_groups, *hi.shape[1:])``.
    """
    out_hi = np.zeros((n_groups,) + hi.shape[1:], dtype=np.int64)
    out_lo = np.zeros_like(out_hi)
    np.add.at(out_hi, group, hi)
    np.add.at(out_lo, group, lo)  # < 2**32 rows per merge, so no overflow
    return normalize(out_hi, out_lo)


def normalize(hi: np.ndarray, lo: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Move the carry of ``lo`` into ``hi`` so that ``0 <= lo < 2**32``."""
    return hi + (lo >> _SHIFT), lo & _LOW_MASK


def to_int(hi: np.ndarray, lo: np.ndarray) -> np.ndarray:
    """Python integers (an object array) holding ``hi * 2**32 + lo``."""
    return hi.astype(object) * (1 << _SHIFT) + lo.astype(object)
