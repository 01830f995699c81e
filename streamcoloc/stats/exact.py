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

Finalizing needs ``float(x·y − z·w)`` of int64 sums (the numerators of a
correlation): :func:`difference_of_products` forms it in 128-bit two's
complement (a pair of uint64 words) and rounds once, to the nearest double
with ties to even, as ``float`` of the Python integer does.
"""

from __future__ import annotations

import functools

import numba
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
    """Python integers (an object array) holding ``hi * 2**32 + lo`` (formed
    in int64 when every |hi| < 2**30 and |lo| < 2**61: nothing can overflow)."""
    if hi.size == 0 or (max(int(hi.max()), -int(hi.min())) < 2**30
                        and max(int(lo.max()), -int(lo.min())) < 2**61):
        return ((hi << _SHIFT) + lo).astype(object)
    return hi.astype(object) * (1 << _SHIFT) + lo.astype(object)


_M32, _S32 = np.uint64(0xFFFFFFFF), np.uint64(32)
_ZERO, _ONE, _W = np.uint64(0), np.uint64(1), np.uint64(64)


@numba.njit(inline="always")
def _negate(hi, lo):
    lo = ~lo + _ONE
    return ~hi + (_ONE if lo == _ZERO else _ZERO), lo


@numba.njit(inline="always")
def _product(x, y):
    """x·y of int64 x, y as 128-bit two's complement words (hi, lo)."""
    ux = np.uint64(-x) if x < 0 else np.uint64(x)  # −2**63 wraps to 2**63: right as uint64
    uy = np.uint64(-y) if y < 0 else np.uint64(y)
    x0, x1, y0, y1 = ux & _M32, ux >> _S32, uy & _M32, uy >> _S32
    p00, p01, p10, p11 = x0 * y0, x0 * y1, x1 * y0, x1 * y1
    mid = (p00 >> _S32) + (p01 & _M32) + (p10 & _M32)
    hi, lo = p11 + (p01 >> _S32) + (p10 >> _S32) + (mid >> _S32), (p00 & _M32) | (mid << _S32)
    return _negate(hi, lo) if (x < 0) != (y < 0) else (hi, lo)


@numba.njit(inline="always")
def _rounded(hi, lo):
    """The 128-bit two's complement (hi, lo) as the nearest float64: its top
    64 bits, with any lower set bit folded into the last one (a sticky bit,
    so the single conversion rounds as the whole number would), scaled."""
    negative = (hi >> np.uint64(63)) == _ONE
    if negative:
        hi, lo = _negate(hi, lo)
    if hi == _ZERO:
        value = np.float64(lo)
    else:
        s = _ONE
        while s < _W and (hi >> s) != _ZERO:
            s += _ONE
        if s < _W:
            top, rest = (hi << (_W - s)) | (lo >> s), lo & ((_ONE << s) - _ONE)
        else:
            top, rest = hi, lo
        value = np.float64(top | (_ONE if rest != _ZERO else _ZERO)) * 2.0 ** np.float64(s)
    return -value if negative else value


@numba.njit(inline="always")
def difference_of_products(x, y, z, w):
    """``float(x·y − z·w)`` of int64 values, exactly rounded once (the
    result needs at most 128 bits)."""
    h1, l1 = _product(x, y)
    h2, l2 = _product(z, w)
    return _rounded(h1 - h2 - (_ONE if l1 < l2 else _ZERO), l1 - l2)


@numba.njit(inline="always")
def add_product(hi, lo, x, y):
    """128-bit two's complement words (hi, lo) plus x·y (int64 x, y)."""
    h, low = _product(x, y)
    total = lo + low
    return hi + h + (_ONE if total < lo else _ZERO), total


def product_sum(*factors, bound=None) -> int:
    """Σ_i Π_k factors[k][i] of integer arrays, exact: in int64 when a
    bound on Σ|Π| is below 2**62 (so no term or partial sum can overflow),
    in Python integers otherwise.  The bound is the caller's ``bound`` when
    it is low enough (no float products), else a float estimate."""
    if bound is None or bound >= 2**62:
        bound = np.abs(functools.reduce(np.multiply, (np.asarray(f, np.float64)
                                                      for f in factors))).sum()
    kind = np.int64 if bound < 2**62 else object
    return int(functools.reduce(np.multiply, (np.asarray(f).astype(kind) for f in factors)).sum())


def words_to_int(hi, lo) -> int:
    """The Python integer held by 128-bit two's complement words."""
    value = (int(hi) << 64) | int(lo)
    return value - (1 << 128) if value >> 127 else value
