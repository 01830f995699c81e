"""Pearson-type coefficients from exact sums over a set of voxels.

``Sums`` are the six sufficient statistics (n, Σa, Σb, Σa², Σb², Σab) of a
set, as arrays over many sets at once (object arrays of Python integers for
integer data, so nothing overflows and nothing cancels; float64 otherwise).
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np


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
        count = np.asarray(counts).astype(np.int64, copy=False)
        a = np.asarray(a_values).astype(np.int64, copy=False)
        b = np.asarray(b_values).astype(np.int64, copy=False)
        group = np.asarray(group).astype(np.int64, copy=False)
        total = int(count.sum())
        big = max(int(np.abs(a).max(initial=0)), int(np.abs(b).max(initial=0)))
        if total * max(big, 1) ** 2 < 2**62:  # every term's sum is at most this
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


def pearson(s: Sums) -> np.ndarray:
    """r = (nΣab − ΣaΣb) / √((nΣa² − (Σa)²)(nΣb² − (Σb)²)) per set, with
    exact numerators for integer sums (one rounding each); NaN for fewer than
    2 voxels or a constant channel (zero variance)."""
    n = np.asarray(s.n, dtype=object)
    cov = (n * s.ab - s.a * s.b).astype(np.float64)
    var_a = (n * s.aa - s.a * s.a).astype(np.float64)
    var_b = (n * s.bb - s.b * s.b).astype(np.float64)
    valid = (var_a > 0) & (var_b > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = cov / (np.sqrt(var_a) * np.sqrt(var_b))
    return np.where(valid, np.clip(r, -1.0, 1.0), np.nan)


@numba.njit(nogil=True, cache=True)
def _grouped_sums(count, a, b, group, n_groups):
    """(n_groups, 6) int64: n, Σa, Σb, Σa², Σb², Σab of the voxels of each
    set (exact while every sum stays below 2**63)."""
    out = np.zeros((n_groups, 6), np.int64)
    for i in range(count.size):
        row = out[group[i]]
        c, x, y = count[i], a[i], b[i]
        row[0] += c
        row[1] += c * x
        row[2] += c * y
        row[3] += c * x * x
        row[4] += c * y * y
        row[5] += c * x * y
    return out
