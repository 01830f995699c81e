"""Coefficients that depend on thresholds, from sums over the threshold sets.

Both the joint-histogram path and the per-voxel path reduce a region to the
same :class:`ThresholdSums`, and these formulas turn them into coefficients:

* Coloc 2 (default): tM1 = Σa[b > 0 and b ≥ T_b] / Σa over the region (tM2
  symmetric); Pearson below threshold over a < T_a or b < T_b and above
  threshold over a > T_a or b > T_b (``PearsonsCorrelation`` Below/Above).
* CellProfiler (``MeasureColocalization``, per object): M1 = Σa[a ≥ T_a and
  b ≥ T_b] / Σa[a ≥ T_a]; overlap, k1, k2 over the both-above set; RWC1 =
  Σ a·W over the both-above set / Σa[a ≥ T_a] (Singan et al. 2011).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .costes import Axis
from .sums import Sums, pearson


@dataclass
class ThresholdSums:
    """Sums of one region at its thresholds: ``total_*``, ``coloc2_*``,
    ``den_*`` and ``rwc_*`` in data units; the six-sum sets in histogram
    units of ``axis_a``/``axis_b`` (None when not computed)."""

    axis_a: Axis
    axis_b: Axis
    total_a: float
    total_b: float
    coloc2_a: float
    coloc2_b: float
    den_a: float
    den_b: float
    below: Sums | None = None
    above: Sums | None = None
    both: Sums | None = None
    rwc_a: float = np.nan
    rwc_b: float = np.nan


def rwc_numerator(sum_xw: int, sum_w: int, axis: Axis, top: int) -> float:
    """Σ value·W/top over a set of voxels in data units (RWC's numerator,
    weights W = top − |rank_a − rank_b| with 0-based dense ranks and top the
    larger maximal rank + 1), from the exact integer sums Σ x·W and Σ W of
    its voxels' histogram units x (value = (x + base)·step): one rounding of
    the exact ratio (Σ x·W + base·Σ W)/top, times the step (a power of two),
    so every chunking and either path (joint table, per-voxel read) gives
    the same bits."""
    return (int(sum_xw) + int(axis.base) * int(sum_w)) / int(top) * axis.step


def _ratio(num, den) -> float:
    return float(num) / float(den) if den else np.nan


def coefficients(t: ThresholdSums, convention: str) -> dict:
    out = {}
    if convention == "coloc2":
        out["tm1"], out["tm2"] = _ratio(t.coloc2_a, t.total_a), _ratio(t.coloc2_b, t.total_b)
    else:
        both = t.both
        sa = float(t.axis_a.step) * float(both.a[0] + t.axis_a.base * both.n[0])
        sb = float(t.axis_b.step) * float(both.b[0] + t.axis_b.base * both.n[0])
        out["tm1"], out["tm2"] = _ratio(sa, t.den_a), _ratio(sb, t.den_b)
        saa, sbb, sab = (data_product(both, t.axis_a, t.axis_b, w) for w in ("aa", "bb", "ab"))
        out["overlap"] = sab / np.sqrt(saa * sbb) if saa > 0 and sbb > 0 else np.nan
        out["k1"], out["k2"] = _ratio(sab, saa), _ratio(sab, sbb)
        out["rwc1"], out["rwc2"] = _ratio(t.rwc_a, t.den_a), _ratio(t.rwc_b, t.den_b)
    if t.below is not None:
        out["pcc_below"] = float(pearson(t.below)[0])
    if t.above is not None:
        out["pcc_above"] = float(pearson(t.above)[0])
    return out


def data_product(s: Sums, axis_a: Axis, axis_b: Axis, which: str) -> float:
    """Σa², Σb² or Σab in data units from sums in histogram units."""
    n, sa, sb = s.n[0], s.a[0], s.b[0]
    ba, bb = axis_a.base, axis_b.base
    if which == "aa":
        return float(s.aa[0] + 2 * ba * sa + ba * ba * n) * axis_a.step**2
    if which == "bb":
        return float(s.bb[0] + 2 * bb * sb + bb * bb * n) * axis_b.step**2
    return float(s.ab[0] + ba * sb + bb * sa + ba * bb * n) * axis_a.step * axis_b.step
