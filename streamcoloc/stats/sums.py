"""Pearson-type coefficients from exact sums over a set of voxels.

``Sums`` are the six sufficient statistics (n, Σa, Σb, Σa², Σb², Σab) of a
set, as arrays over many sets at once (object arrays of Python integers for
integer data, so nothing overflows and nothing cancels; float64 otherwise).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from .exact import difference_of_products
from .histograms import cell_row


class Sums(NamedTuple):
    n: np.ndarray
    a: np.ndarray
    b: np.ndarray
    aa: np.ndarray
    bb: np.ndarray
    ab: np.ndarray

    @classmethod
    def of_cells(cls, counts: np.ndarray, a_values: np.ndarray, b_values: np.ndarray,
                 group: np.ndarray, n_groups: int) -> "Sums":
        """Exact sums of voxels grouped by cell: ``counts[i]`` voxels of
        values ``(a_values[i], b_values[i])`` belong to set ``group[i]``.

        Every term is an integer below ``total · max|value|²``: under 2**62
        one pass of int64 sums is exact (:func:`_grouped_sums`); beyond, a
        sort and Python integers."""
        count, a, b, group = _int64(counts, a_values, b_values, group)
        if _sums_fit_int64(count, a, b):
            sums = _grouped_sums(count, a, b, group, n_groups)
            return cls(*(column.astype(object) for column in sums.T))
        order = np.argsort(group, kind="stable")
        present, starts = np.unique(group[order], return_index=True)
        count, a, b = (x[order].astype(object) for x in (count, a, b))
        terms = (count, count * a, count * b, count * a * a, count * b * b, count * a * b)
        sums = []
        for term in terms:
            full = np.zeros(n_groups, dtype=object)
            if len(term):
                full[present] = np.add.reduceat(term, starts)
            sums.append(full)
        return cls(*sums)

    def suffix(self) -> "Sums":
        """Σ over groups g' > g for every g (the sets beyond each index)."""
        def after(x):
            out = np.zeros(len(x), dtype=object)
            out[:-1] = np.cumsum(np.asarray(x, dtype=object)[::-1])[::-1][1:]
            return out
        return Sums(*(after(x) for x in self))

    def total(self) -> "Sums":
        return Sums(*(np.asarray([np.asarray(x, dtype=object).sum()], dtype=object)
                      for x in self))


def _int64(*arrays):
    return tuple(np.asarray(x).astype(np.int64, copy=False) for x in arrays)


def _sums_fit_int64(count, a, b) -> bool:
    """Every six-sum of any set of these cells is below 2**62 in magnitude."""
    return _fit_int64(int(count.sum()), max(int(np.abs(a).max(initial=0)),
                                            int(np.abs(b).max(initial=0))))


def _fit_int64(total: int, largest: int) -> bool:
    """Six-sums of ``total`` voxels of values at most ``largest`` in
    magnitude stay below 2**62 (each is at most total · largest²)."""
    return total * max(largest, 1) ** 2 < 2**62


#: How :func:`keyed_sums` combines a cell's row key and column key into its set.
GRID, LARGER, SMALLER = 0, 1, 2


def keyed_sums(cells, counts, width_b: int, lo_a: int, lo_b: int, key_a, key_b, how: int,
               n_keys_b: int, n_groups: int, voxels: int) -> np.ndarray:
    """(n_groups, 6) exact sums of joint-table cells (ascending) grouped by a
    key of their row and one of their column (keys ≥ 0): cell ``i·width_b + j``
    (values ``lo_a + i``, ``lo_b + j``) goes to set ``key_a[i]·n_keys_b +
    key_b[j]`` (``how`` = GRID), ``max`` (LARGER) or ``min`` (SMALLER) of the
    two, which must be below ``n_groups``.  ``voxels`` = Σ counts (the
    caller's, counted once per table).  int64 from one pass without
    per-cell arrays while no sum can overflow; beyond, Python integers (an
    object array) from :meth:`Sums.of_cells`."""
    counts = np.asarray(counts).astype(np.int64, copy=False)
    key_a, key_b = np.asarray(key_a, np.int64), np.asarray(key_b, np.int64)
    if not _keys_in_range(key_a, key_b, how, n_keys_b, n_groups):
        raise ValueError(f"keys give sets beyond [0, {n_groups})")  # the kernel does not check
    largest = max(abs(lo_a), abs(lo_a + len(key_a) - 1), abs(lo_b), abs(lo_b + width_b - 1))
    if _fit_int64(voxels, largest):
        return _keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, key_b, how, n_keys_b,
                           n_groups)
    i, j = np.divmod(cells, width_b)
    group = {GRID: key_a[i] * n_keys_b + key_b[j], LARGER: np.maximum(key_a[i], key_b[j]),
             SMALLER: np.minimum(key_a[i], key_b[j])}[how]
    return np.stack(Sums.of_cells(counts, i + lo_a, j + lo_b, group, n_groups), axis=1)


def suffix_pearson(sums: np.ndarray):
    """``(r, n)`` of the voxels of the sets after g, for every g but the
    last, from (n_groups, 6) sums (:func:`keyed_sums`): :func:`pearson` of
    each suffix, in one Numba pass for int64 sums."""
    if sums.dtype == np.int64:
        return _suffix_pearson(sums)
    after = Sums(*(x[:-1] for x in Sums(*sums.T).suffix()))
    return pearson(after), np.asarray(after.n, dtype=np.float64)


def pearson(s: Sums) -> np.ndarray:
    """r = (nΣab − ΣaΣb) / √((nΣa² − (Σa)²)(nΣb² − (Σb)²)) per set, with
    exact numerators for integer sums (one rounding each: in 128 bits when
    every sum fits int64, in Python integers beyond); NaN for fewer than 2
    voxels or a constant channel (zero variance)."""
    words = _int64_columns(s)
    if words is not None:
        return _pearson_int64(*words)
    n = np.asarray(s.n, dtype=object)
    cov = (n * s.ab - s.a * s.b).astype(np.float64)
    var_a = (n * s.aa - s.a * s.a).astype(np.float64)
    var_b = (n * s.bb - s.b * s.b).astype(np.float64)
    valid = (var_a > 0) & (var_b > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / (np.sqrt(var_a) * np.sqrt(var_b))
    return np.where(valid, np.clip(r, -1.0, 1.0), np.nan)


def _int64_columns(s: Sums):
    """The sums as int64 arrays when they are integers that fit, else None."""
    if np.asarray(s.n).dtype != object:
        return None  # float sums
    try:
        return tuple(np.asarray(x, dtype=np.int64) for x in s)
    except OverflowError:
        return None


@numba.njit(inline="always")
def _r(n, a, b, aa, bb, ab):
    """:func:`pearson` of one set's int64 sums (numerators exact in 128 bits)."""
    cov = difference_of_products(n, ab, a, b)
    var_a = difference_of_products(n, aa, a, a)
    var_b = difference_of_products(n, bb, b, b)
    if var_a > 0 and var_b > 0:
        return min(1.0, max(-1.0, cov / (np.sqrt(var_a) * np.sqrt(var_b))))
    return np.nan


@numba.njit(nogil=True, cache=True)
def _pearson_int64(n, a, b, aa, bb, ab):
    r = np.empty(n.size)
    for i in range(n.size):
        r[i] = _r(n[i], a[i], b[i], aa[i], bb[i], ab[i])
    return r


@numba.njit(nogil=True, cache=True)
def _suffix_pearson(sums):
    n_groups = sums.shape[0]
    r, n = np.empty(max(n_groups - 1, 0)), np.empty(max(n_groups - 1, 0))
    s = np.zeros(6, np.int64)
    for g in range(n_groups - 1, 0, -1):
        s += sums[g]
        r[g - 1] = _r(s[0], s[1], s[2], s[3], s[4], s[5])
        n[g - 1] = s[0]
    return r, n


@numba.njit(nogil=True, cache=True)
def _keys_in_range(key_a, key_b, how, n_keys_b, n_groups):
    """Do all keys of :func:`keyed_sums` give sets in [0, n_groups)?  (One
    pass over the two key arrays: numpy's reductions cost more per call for
    the few thousand keys of a region.)"""
    top_a = top_b = np.int64(0)
    for k in key_a:
        if k < 0:
            return False
        top_a = max(top_a, k)
    for k in key_b:
        if k < 0:
            return False
        top_b = max(top_b, k)
    if how == GRID:
        return top_b < n_keys_b and top_a * n_keys_b + top_b < n_groups
    return (max(top_a, top_b) if how == LARGER else min(top_a, top_b)) < n_groups


@numba.njit(nogil=True, cache=True)
def _keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, key_b, how, n_keys_b, n_groups):
    """Consecutive cells mostly share their set (keys change at a few cuts)
    and their row (value x of a): along a run of cells of one row and one set
    only n, Σ c·y and Σ c·y² are kept (in registers), and the run adds
    (n, x·n, Σ c·y, x²·n, Σ c·y², x·Σ c·y) to its set, two products per
    cell instead of five."""
    out = np.zeros((n_groups, 6), np.int64)
    i, first = -1, 0
    current, row = -1, -1
    n = sy = syy = np.int64(0)
    for k in range(cells.size):
        i, first = cell_row(cells[k], width_b, i, first)
        j = cells[k] - first
        if how == GRID:
            g = key_a[i] * n_keys_b + key_b[j]
        elif how == LARGER:
            g = max(key_a[i], key_b[j])
        else:
            g = min(key_a[i], key_b[j])
        if g != current or i != row:
            if current >= 0:
                _flush_run(out[current], lo_a + row, n, sy, syy)
            current, row = g, i
            n = sy = syy = np.int64(0)
        c, y = counts[k], lo_b + j
        n += c
        sy += c * y
        syy += c * y * y
    if current >= 0:
        _flush_run(out[current], lo_a + row, n, sy, syy)
    return out


@numba.njit(inline="always")
def _flush_run(row, x, n, sy, syy):
    """Add ``n`` voxels of value ``x`` in a, with Σ c·y = ``sy`` and
    Σ c·y² = ``syy`` (a run of cells of one row, or one cell), to the six
    sums ``row``."""
    row[0] += n
    row[1] += x * n
    row[2] += sy
    row[3] += x * x * n
    row[4] += syy
    row[5] += x * sy


@numba.njit(inline="always")
def _add_six(row, c, x, y):
    """``c`` voxels of values (x, y) into the six sums ``row``."""
    _flush_run(row, x, c, c * y, c * y * y)


@numba.njit(nogil=True, cache=True)
def _grouped_sums(count, a, b, group, n_groups):
    """(n_groups, 6) int64: n, Σa, Σb, Σa², Σb², Σab of the voxels of each
    set (exact while every sum stays below 2**63)."""
    out = np.zeros((n_groups, 6), np.int64)
    for i in range(count.size):
        _add_six(out[group[i]], count[i], a[i], b[i])
    return out
