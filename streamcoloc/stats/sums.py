"""Pearson-type coefficients from exact sums over a set of voxels.

``Sums`` are the six sufficient statistics (n, Σa, Σb, Σa², Σb², Σab) of a
set, as arrays over many sets at once (object arrays of Python integers for
integer data, so nothing overflows and nothing cancels; float64 otherwise).
"""

from __future__ import annotations

from typing import NamedTuple

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
        int64 products are exact (one set: plain sums; under 2**53 the
        float64 sums of ``np.bincount`` are exact too, no sort needed; else
        a sort and per-set int64 sums); beyond, Python integers."""
        count = np.asarray(counts).astype(np.int64, copy=False)
        a = np.asarray(a_values).astype(np.int64, copy=False)
        b = np.asarray(b_values).astype(np.int64, copy=False)
        total = int(count.sum())
        big = max(int(np.abs(a).max(initial=0)), int(np.abs(b).max(initial=0)))
        bound = total * max(big, 1) ** 2  # every term's sum is at most this
        if bound < 2**62 and (n_groups == 1 or bound < 2**53):
            ca, cb = count * a, count * b
            terms = (count, ca, cb, ca * a, cb * b, ca * b)
            if n_groups == 1:
                return cls(*(np.array([int(t.sum())], dtype=object) for t in terms))
            return cls(*(np.bincount(group, weights=t.astype(np.float64), minlength=n_groups)
                         .astype(np.int64).astype(object) for t in terms))
        order = np.argsort(group, kind="stable")
        present, starts = np.unique(group[order], return_index=True)
        count, a, b = count[order], a[order], b[order]
        terms = (count, count * a, count * b, count * a * a, count * b * b, count * a * b)
        if bound >= 2**62:  # int64 products could overflow: Python ints
            terms = tuple(t.astype(object) for t in (count, count * a, count * b))
            ao, bo = a.astype(object), b.astype(object)
            terms += (terms[1] * ao, terms[2] * bo, terms[1] * bo)
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
