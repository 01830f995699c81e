"""Costes' automatic threshold, replaying each tool's published algorithm exactly.

Every tool walks a candidate threshold ``t`` down the regression line and
evaluates the Pearson coefficient of the voxels *below* the candidate; they
differ in the regression, the stepped channel, the rounding, the below-set
and the stopping rule (see :data:`METHODS`).  Here a walk never rereads the
data: for a positive slope the candidates of a method form a **staircase**,
a sequence of integer gate pairs ``(g_a, g_b)`` that never increase, and

* below-set ``a < g_a or b < g_b`` (Coloc 2, CellProfiler): a voxel is below
  at cell ``c`` iff ``c < max(K_a(a), K_b(b))``,
* below-set ``a < g_a and b < g_b`` (JACoP): iff ``c < min(K_a(a), K_b(b))``,

where ``K_a(a)`` counts the cells with ``g_a > a``.  One histogram of that
cut-off index with the six sums per bin (:class:`~.sums.Sums`) gives, by
suffix sums, the below-set Pearson r of **every** candidate; any stepper is
then replayed on that table.  The staircase holds every gate pair the
method's stepper can evaluate: for the steppers that jump (bisections,
CellProfiler's) every pair the mapping can produce for a real ``t`` (sampled
at and around every breakpoint); for Coloc 2's walker and JACoP's walk the
pairs of their candidates only.

Gates are in the units of the histograms (integer values, or float grid
cells, :class:`~.voxels.Grid`); thresholds are reported in data units.  A
non-positive or undefined slope gives NaN thresholds (as napari-colocalization
does): with a negative slope a voxel can leave and re-enter the below set.

References: Costes et al. (2004) Biophys. J. 86:3993; Fiji Coloc 2
``AutoThresholdRegression``, ``SimpleStepper``, ``BisectionStepper``;
CellProfiler 4 ``MeasureColocalization.linear_costes``/``bisection_costes``;
JACoP ``CostesAutoThr``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

import numba
import numpy as np

from .sums import pearson

METHODS = ("coloc2", "coloc2-bisection", "cellprofiler-accurate", "cellprofiler-fast",
           "cellprofiler-faster", "jacop")


@dataclass(frozen=True)
class CostesResult:
    """Outcome of one Costes walk.

    threshold_a, threshold_b : float
        In data units, as the tool reports them (NaN when undefined).
    slope, intercept : float
        The method's regression line b = slope·a + intercept.
    r_below : float
        Pearson r of the below set at the returned thresholds.
    n_evaluated : int
        Candidates whose below-set r the tool computed.
    gate_a, gate_b : int or None
        The below set is ``a < gate_a or b < gate_b`` (JACoP: ``and``), in
        histogram units; ``a ≥ gate_a`` is "at or above" the threshold.
    """

    method: str
    threshold_a: float
    threshold_b: float
    slope: float
    intercept: float
    r_below: float
    n_evaluated: int
    gate_a: int | None = None
    gate_b: int | None = None

    @classmethod
    def undefined(cls, method, slope=np.nan, intercept=np.nan) -> "CostesResult":
        return cls(method, np.nan, np.nan, slope, intercept, np.nan, 0)


@dataclass(frozen=True)
class Axis:
    """How histogram units map to data units for one channel: value
    = (unit + base)·step (integers: step 1, base 0); ``lo``/``hi`` are the
    measured extent in histogram units; ``type_min``/``type_max`` the data
    type's range (Coloc 2 clamps thresholds to it); ``integer`` False for
    float data (integers wider than 16 bits are on a grid too, and integer)."""

    lo: int
    hi: int
    step: float = 1.0
    base: int = 0
    type_min: float = -np.inf
    type_max: float = np.inf
    integer: bool = True

    def data(self, unit):
        return (np.asarray(unit, dtype=np.float64) + self.base) * self.step

    def ge_gate(self, threshold):
        """Smallest histogram unit whose data value is ≥ ``threshold``
        (exact when the threshold lies on the grid)."""
        return np.ceil(np.asarray(threshold, dtype=np.float64) / self.step).astype(np.int64) \
            - self.base

    def clamp(self, gate):
        """The gate clamped to [lo, hi + 1]: gates beyond the measured values
        select the same voxels as these."""
        return np.minimum(np.maximum(gate, self.lo), self.hi + 1)  # np.clip's wrapper costs more

    def gt_gate(self, threshold):
        """Smallest histogram unit "strictly above" ``threshold``: for integer
        data the ≥ gate of ⌊T⌋ + 1 (⌊T⌋ + 1 itself in one-value units; exact
        on any grid of step ≤ 1); for float data the ≥ gate of T (values
        equal to T on the grid count as above: the grid's resolution)."""
        threshold = np.asarray(threshold, dtype=np.float64)
        if self.integer:
            return self.ge_gate(np.floor(threshold) + 1)
        return self.ge_gate(threshold)

    @property
    def data_max(self) -> float:
        return float(self.data(self.hi))

    @property
    def data_min(self) -> float:
        return float(self.data(self.lo))


# ------------------------------------------------------------------- regressions

def orthogonal_slope(c_aa: float, c_bb: float, c_ab: float) -> float:
    """Total-least-squares slope from centred sums (Coloc 2, CellProfiler):
    (C_bb − C_aa + √((C_bb − C_aa)² + 4 C_ab²)) / (2 C_ab); NaN when C_ab = 0."""
    if c_ab == 0 or not np.isfinite(c_ab):
        return np.nan
    diff = c_bb - c_aa
    return (diff + math.sqrt(diff * diff + 4 * c_ab * c_ab)) / (2 * c_ab)


# ------------------------------------------------------------------- staircases

@numba.njit(inline="always")
def _round_half_up(x):
    """Java's Math.round: the closest integer, ties toward +∞ (exact)."""
    floor = np.floor(x)
    return floor + (1.0 if x - floor >= 0.5 else 0.0)


@numba.njit(nogil=True, cache=True)
def _coloc2_thresholds(t, m, b, stepped_a, min_a, max_a, min_b, max_b):
    """Coloc 2's thresholds of the candidates ``t`` (1-D float64): Java's
    Math.round of (t, m·t + b) when a is the stepped channel, else of
    ((t − b)/m, t), each clamped to its channel's data type range."""
    ta, tb = np.empty(t.size), np.empty(t.size)
    for i in range(t.size):
        if stepped_a:
            x, y = t[i], t[i] * m + b
        else:
            x, y = (t[i] - b) / m, t[i]
        ta[i] = min(max(_round_half_up(x), min_a), max_a)
        tb[i] = min(max(_round_half_up(y), min_b), max_b)
    return ta, tb


@dataclass
class Staircase:
    """Gate pairs of a method's candidates, ``gate_a``/``gate_b`` never
    increasing along the cells; ``kind`` is 'or' or 'and' (the below set).
    Built by :meth:`of` with ``keep_samples``, it also keeps its sample
    points (``samples``, ascending and distinct) and the cell of each
    (``sample_cells``)."""

    gate_a: np.ndarray
    gate_b: np.ndarray
    kind: str
    samples: np.ndarray = field(default_factory=lambda: np.empty(0))
    sample_cells: np.ndarray = field(default_factory=lambda: np.empty(0, np.int64))

    @classmethod
    def of(cls, mapping: Callable, samples: np.ndarray, kind: str,
           keep_samples: bool = False) -> "Staircase":
        """The distinct gate pairs of ``mapping`` over the sample points
        (the mapping is monotone in t: sorted samples give sorted pairs)."""
        ascending = np.sort(np.asarray(samples, dtype=np.float64), kind="stable")  # (runs: fast)
        ascending = ascending[np.concatenate([[True], ascending[1:] != ascending[:-1]])]
        t = ascending[::-1]
        ga, gb = mapping(t)
        step_a, step_b = np.diff(ga), np.diff(gb)
        if (step_a > 0).any() or (step_b > 0).any():
            raise ValueError("the candidate gates of a positive slope must not increase")
        new = np.ones(len(t), bool)
        new[1:] = (step_a != 0) | (step_b != 0)
        stairs = cls(ga[new].astype(np.int64), gb[new].astype(np.int64), kind)
        if keep_samples:
            stairs.samples, stairs.sample_cells = ascending, (np.cumsum(new) - 1)[::-1].copy()
        return stairs

    def sampled_cells(self, t: np.ndarray) -> tuple:
        """``(cells, found)``: the cell of each t that is one of the sample
        points (``found``), as :meth:`cells` of its gate pairs would give it
        (a sample's pairs are those of the last new cell before it), without
        mapping it again; −1 where not found."""
        if self.samples.size == 0:
            return np.full(t.size, -1, np.int64), np.zeros(t.size, bool)
        where = np.minimum(np.searchsorted(self.samples, t), self.samples.size - 1)
        found = self.samples[where] == t
        return np.where(found, self.sample_cells[where], -1), found

    @property
    def words(self) -> int:
        """8-byte words it holds: two gates per cell, and per sample point
        the point and its cell."""
        return 2 * self.gate_a.size + 2 * self.samples.size

    def cells(self, gate_a, gate_b) -> np.ndarray:
        """Cell index of each gate pair, −1 for a pair not on the staircase
        (the pairs decrease along the cells in (a, then b) order)."""
        gate_a, gate_b = np.broadcast_arrays(np.asarray(gate_a, np.int64),
                                             np.asarray(gate_b, np.int64))
        stair_a, stair_b = (np.asarray(g, np.int64) for g in (self.gate_a, self.gate_b))
        return _stair_cells(stair_a, stair_b, gate_a.ravel(), gate_b.ravel()).reshape(
            gate_a.shape)

    def cutoffs(self, values, axis: str) -> np.ndarray:
        """K(v): the number of cells whose gate on ``axis`` exceeds v."""
        gates = self.gate_a if axis == "a" else self.gate_b
        return np.searchsorted(-gates, -np.asarray(values), side="left")

    def cell_of_cutoffs(self, ka, kb) -> np.ndarray:
        """Index of the first cell at which a voxel is no longer below, from
        its cut-offs K(a), K(b) (:meth:`cutoffs`)."""
        return np.maximum(ka, kb) if self.kind == "or" else np.minimum(ka, kb)


@numba.njit(nogil=True, cache=True)
def _stair_cells(stair_a, stair_b, gate_a, gate_b):
    """:meth:`Staircase.cells`: a binary search per pair for the first cell
    not above it in (a, then b) order, the cells' pairs being decreasing."""
    out = np.empty(gate_a.size, np.int64)
    for i in range(gate_a.size):
        lo, hi = 0, stair_a.size
        while lo < hi:
            mid = (lo + hi) // 2
            if stair_a[mid] > gate_a[i] or (stair_a[mid] == gate_a[i] and stair_b[mid] > gate_b[i]):
                lo = mid + 1
            else:
                hi = mid
        found = lo < stair_a.size and stair_a[lo] == gate_a[i] and stair_b[lo] == gate_b[i]
        out[i] = lo if found else -1
    return out


def _samples(breakpoints: np.ndarray, extra=()) -> np.ndarray:
    """Sample points that meet every cell of a step mapping: its
    breakpoints, their neighbouring floats, the midpoints between them and
    points beyond both ends (where the gates are clamped)."""
    points = np.sort(breakpoints[np.isfinite(breakpoints)])
    span = points[-1] - points[0] + 1 if points.size else 1.0
    ends = [points[0] - span, points[-1] + span] if points.size else []
    return np.concatenate([points, np.nextafter(points, -np.inf), np.nextafter(points, np.inf),
                           (points[1:] + points[:-1]) / 2, ends,
                           np.asarray(extra, dtype=np.float64)])


def _half_integers(lo: float, hi: float) -> np.ndarray:
    """j + 0.5 for every j around [lo, hi] (the breakpoints of rounding)."""
    return np.arange(math.floor(lo) - 2, math.ceil(hi) + 3, dtype=np.float64) + 0.5


# ------------------------------------------------------------------- walks

class Walk:
    """One region's Costes walk for a method: its staircase, then the replay.

    Build it from the regression line (data units) and the channels' axes;
    ``staircase`` (None when the slope is not positive) says which gate pairs
    the method can evaluate; ``replay(below)`` runs the tool's stepper on
    Pearson's r and the voxel count of the below set at every staircase cell
    (from a joint histogram, or from the cut-off tables of a second read).
    ``fallback(gate_a, gate_b, kind)``, when given, supplies the sums of a
    pair missing from the staircase (which building it from every t the
    stepper evaluates should prevent: a new caller evaluating other t must
    sample them too).
    """

    def __init__(self, method: str, axis_a: Axis, axis_b: Axis, line, scale: float | None = None):
        if method not in METHODS:
            raise ValueError(f"unknown Costes method {method!r}; choose from {METHODS}")
        self.method, self.axis_a, self.axis_b = method, axis_a, axis_b
        self.slope, self.intercept = (float(v) for v in line)
        self.scale = scale
        self.staircase = None
        if np.isfinite(self.slope) and self.slope > 0:
            setup = {"coloc2": self._setup_coloc2, "coloc2-bisection": self._setup_coloc2,
                     "cellprofiler-accurate": self._setup_cellprofiler,
                     "cellprofiler-fast": self._setup_cellprofiler,
                     "cellprofiler-faster": self._setup_cellprofiler,
                     "jacop": self._setup_jacop}[method]
            method_gates, samples, kind = setup()

            def gates(t):
                """The method's gates, clamped (:meth:`Axis.clamp`)."""
                ga, gb = method_gates(t)
                return axis_a.clamp(ga), axis_b.clamp(gb)

            self.gates = gates
            if samples.size:  # (Coloc 2's walker and JACoP evaluate exactly their samples)
                self.staircase = Staircase.of(self.gates, samples, kind,
                                              keep_samples=method in ("coloc2", "jacop"))

    @cached_property
    def above(self) -> Staircase | None:
        """Coloc 2's walks (which report Pearson above the thresholds): the
        'and' staircase of every candidate's strictly-above gates, whose
        cut-off table gives the complement of the above set at any
        candidate; None for other methods or without a staircase."""
        if self.staircase is None or not self.method.startswith("coloc2"):
            return None
        _, samples, _ = self._setup_coloc2()  # the candidates' sample points, again
        return Staircase.of(self._above_gates, samples, "and")

    def _above_gates(self, t):
        """The strictly-above gates of the candidates (Coloc 2's walks),
        clamped like :attr:`gates`: the complement of the above set
        ``a > T_a or b > T_b`` is ``a < above_a and b < above_b``."""
        ta, tb = self.thresholds(t)
        ax, bx = self.axis_a, self.axis_b
        return ax.clamp(ax.gt_gate(ta)), bx.clamp(bx.gt_gate(tb))

    def replay(self, below=None, fallback: Callable | None = None) -> CostesResult:
        """The method's result from ``below`` = (r, n) of the below set at
        every staircase cell (None without a staircase)."""
        if self.staircase is None:
            return CostesResult.undefined(self.method, self.slope, self.intercept)
        self.fallback = fallback
        self.r, self.below_n = below
        replay = {"coloc2": self._coloc2_walker, "coloc2-bisection": self._coloc2_bisection,
                  "cellprofiler-accurate": self._cellprofiler_linear,
                  "cellprofiler-fast": self._cellprofiler_linear,
                  "cellprofiler-faster": self._cellprofiler_bisection,
                  "jacop": self._jacop}[self.method]
        return replay()

    def _evaluate(self, t):
        """(r, voxels below, gate_a, gate_b) of every candidate t of the
        method's variable: a sample point kept by the staircase is looked
        up (every candidate of Coloc 2's walker and of JACoP), any other t
        mapped by the gates."""
        t = np.atleast_1d(np.asarray(t, dtype=np.float64))
        stairs = self.staircase
        cells, found = stairs.sampled_cells(t)
        on = np.maximum(cells, 0)
        ga, gb = stairs.gate_a[on], stairs.gate_b[on]
        if not found.all():  # mapped, then looked for on the staircase
            ga[~found], gb[~found] = self.gates(t[~found])
            cells[~found] = stairs.cells(ga[~found], gb[~found])
            on = np.maximum(cells, 0)
        r, n = self.r[on], self.below_n[on]
        for i in np.flatnonzero(cells < 0):
            if self.fallback is None:
                raise RuntimeError(f"candidate gates ({ga[i]}, {gb[i]}) missing from the "
                                   f"{self.method} staircase")
            sums = self.fallback(ga[i], gb[i], stairs.kind)
            r[i], n[i] = pearson(sums)[0], float(sums.n[0])
        return r, n, ga, gb

    def _at(self, t):
        """(r, voxels below) of one candidate."""
        r, n, _, _ = self._evaluate(t)
        return float(r[0]), int(n[0])

    def _result(self, t, threshold_a, threshold_b, evaluated) -> CostesResult:
        r, _, ga, gb = self._evaluate(t)
        return CostesResult(self.method, float(threshold_a), float(threshold_b), self.slope,
                            self.intercept, float(r[0]), evaluated, int(ga[0]), int(gb[0]))

    # -- Coloc 2 ---------------------------------------------------------------
    def _setup_coloc2(self):
        """Coloc 2 ``AutoThresholdRegression``: the stepped channel is a when
        −1 < m < 1, else b; thresholds are Java's Math.round of the line,
        clamped to the data type; below set a < T_a or b < T_b."""
        m, b = self.slope, self.intercept
        ax, bx = self.axis_a, self.axis_b
        self.stepped_a = -1 < m < 1

        def thresholds(t):
            return _coloc2_thresholds(np.atleast_1d(np.asarray(t, dtype=np.float64)), m, b,
                                      self.stepped_a, *map(float, (ax.type_min, ax.type_max,
                                                                   bx.type_min, bx.type_max)))

        def gates(t):
            ta, tb = thresholds(t)
            return ax.ge_gate(ta), bx.ge_gate(tb)

        self.thresholds = thresholds
        axis = ax if self.stepped_a else bx
        self.top, self.bottom = axis.data_max, axis.data_min
        walker = self.top - np.arange(0, max(self.top, 0) + 2)
        if self.method == "coloc2":
            return gates, walker, "or"  # the walker evaluates its candidates only
        # The bisection evaluates any t: the breakpoints of both roundings
        # over both channels' ranges (beyond them the gates are clamped).
        other = bx if self.stepped_a else ax
        own = _half_integers(min(self.bottom, 0.0), max(self.top, axis.data(axis.hi + 1)))
        values = _half_integers(min(other.data_min, 0.0), other.data(other.hi + 1))
        if self.stepped_a:  # the other threshold rounds m·t + b
            other_breaks = (values - b) / m
        else:  # the other threshold rounds (t − b)/m
            other_breaks = values * m + b
        return gates, _samples(np.concatenate([own, other_breaks]), walker), "or"

    def _coloc2_walker(self) -> CostesResult:
        """SimpleStepper: t from the stepped channel's max down by 1; after
        each candidate stop if t − 1 < 1, r < 1e-4 or r > the previous r
        (comparisons with NaN are false, and Java's ``Double.NaN == value``
        never holds); returns the thresholds of the last candidate."""
        candidates = self.top - np.arange(0, max(math.floor(self.top), 0) + 1)
        r = self._evaluate(candidates)[0]
        previous = np.concatenate([[1.0], r[:-1]])
        with np.errstate(invalid="ignore"):
            stops = np.flatnonzero((candidates - 1.0 < 1) | (r < 0.0001) | (r > previous))
        evaluated = int(stops[0]) + 1 if stops.size else len(candidates)
        t = candidates[evaluated - 1]
        return self._result(t, *(x[0] for x in self.thresholds(np.array([t]))), evaluated)

    def _coloc2_bisection(self) -> CostesResult:
        """BisectionStepper: start at |max + min|/2 with last = max; r > 0
        steps down and r < 0 up by half the last difference (r = 0 or NaN: no
        move); stop after 100 updates or when the difference is < 1; returns
        the last candidate (the stepped channel's max if none was evaluated)."""
        t, previous = abs(self.top + self.bottom) * 0.5, self.top
        diff, iterations, evaluated, chosen = abs(t - previous), 0, 0, None
        while not (iterations > 100 or diff < 1.0):
            value = self._at(t)[0]
            evaluated += 1
            chosen, previous = t, t
            if value < 0:
                t = t + diff * 0.5
            elif value > 0:
                t = t - diff * 0.5
            diff = abs(t - previous)
            iterations += 1
        if chosen is None:
            return CostesResult(self.method, self.axis_a.data_max, self.axis_b.data_max,
                                self.slope, self.intercept, np.nan, 0)
        return self._result(chosen, *(x[0] for x in self.thresholds(np.array([chosen]))),
                            evaluated)

    # -- CellProfiler -----------------------------------------------------------
    def _setup_cellprofiler(self):
        """CellProfiler works on images divided by ``scale``, on the line of
        the scaled data; x/scale < i ⟺ x < the smallest value v with
        v/scale ≥ i (computed exactly with true division)."""
        scale = self.scale
        self.m_scaled, self.b_scaled = self.slope, self.intercept / scale

        def smallest_at_least(axis: Axis, x):
            unit = np.ceil(x * scale / axis.step) - axis.base
            scaled = lambda u: axis.data(u) / scale  # noqa: E731
            unit = np.where(scaled(unit - 1) >= x, unit - 1, unit)
            unit = np.where(scaled(unit) < x, unit + 1, unit)
            return unit.astype(np.int64)

        def gates(i):
            i = np.asarray(i, dtype=np.float64)
            return (smallest_at_least(self.axis_a, i),
                    smallest_at_least(self.axis_b, self.m_scaled * i + self.b_scaled))

        units_a = np.arange(min(self.axis_a.lo, 0) - 2, self.axis_a.hi + 3)
        units_b = np.arange(min(self.axis_b.lo, 0) - 2, self.axis_b.hi + 3)
        breakpoints = np.concatenate([
            self.axis_a.data(units_a) / scale,
            (self.axis_b.data(units_b) / scale - self.b_scaled) / self.m_scaled])
        return gates, _samples(breakpoints), "or"

    def _cellprofiler_linear(self) -> CostesResult:
        """``linear_costes`` (Accurate; Fast steps 10/5/2 while r > 0.45/
        0.35/0.25, and 1 below 10 steps): i from one step above the larger
        scaled maximum, skipping candidates above both maxima, down while
        i > step; stop at r ≤ 0 or when fewer than 2 voxels are below
        (scipy's pearsonr raises); r is recomputed only when the number of
        below voxels changes (those are the evaluations counted)."""
        scale, m, b = self.scale, self.m_scaled, self.b_scaled
        top_a, top_b = self.axis_a.data_max / scale, self.axis_b.data_max / scale
        step = 1 / scale
        i = step * ((max(top_a, top_b) // step) + 1)
        chosen = i
        while i > top_a and (m * i) + b > top_b:
            i -= step
        evaluated, last_count, r = 0, None, np.nan
        while i > step:
            chosen = i
            value, count = self._at(i)
            if count < 2:
                break
            if count != last_count:
                r, last_count = value, count
                evaluated += 1
            if r <= 0:
                break
            if self.method == "cellprofiler-accurate" or i < step * 10:
                i -= step
            elif r > 0.45:
                i -= step * 10
            elif r > 0.35:
                i -= step * 5
            elif r > 0.25:
                i -= step * 2
            else:
                i -= step
        return self._result(chosen, chosen * scale, (m * chosen + b) * scale, evaluated)

    def _cellprofiler_bisection(self) -> CostesResult:
        """``bisection_costes`` (Faster): integer mid in [1, scale], candidate
        mid/scale; ≤ 2 voxels below or r < 0 move left = mid − 1, r ≥ 0 moves
        right = mid + 1 and marks mid valid (NaN r: no move); the window is
        cut 1/6 from its top while wider than 6; returns (valid − 1)/scale."""
        scale, m, b = self.scale, self.m_scaled, self.b_scaled
        left, right = 1, scale
        mid = ((right - left) // (6 / 5)) + left
        last_mid, valid, evaluated = 0, 1, 0
        while last_mid != mid:
            value, count = self._at(mid / scale)
            if count <= 2:
                left = mid - 1
            else:
                evaluated += 1
                if value < 0:
                    left = mid - 1
                elif value >= 0:
                    right = mid + 1
                    valid = mid
            last_mid = mid
            mid = ((right - left) // (6 / 5)) + left if right - left > 6 else \
                ((right - left) // 2) + left
        i = (valid - 1) / scale
        return self._result(i, i * scale, (m * i + b) * scale, evaluated)

    # -- JACoP -------------------------------------------------------------------
    def _setup_jacop(self):
        """JACoP ``CostesAutoThr``: i from (int) min(max_a, (max_b − b)/a)
        down to (int) max(min_a, (min_b − b)/a); below set a < i and
        b < (int)(a·i + b) (Java casts truncate toward zero)."""
        a, b = self.slope, self.intercept
        ax, bx = self.axis_a, self.axis_b
        self.loop_max = int(min(ax.data_max, (bx.data_max - b) / a))
        loop_min = int(max(ax.data_min, (bx.data_min - b) / a))
        self.candidates = np.arange(self.loop_max, loop_min - 1, -1, dtype=np.float64)

        def gates(i):
            return ax.ge_gate(i), bx.ge_gate(np.trunc(a * np.asarray(i) + b))

        return gates, self.candidates, "and"

    def _jacop(self) -> CostesResult:
        """Returns the last candidate with the smallest r (r ≤ the running
        minimum, never the first candidate), or the channels' maxima when
        none qualifies; a NaN r repeats the previous value in the running
        minimum (1 at the first candidate)."""
        r_min, shown, chosen = 1.0, 1.0, None
        for i, value in zip(self.candidates, self._evaluate(self.candidates)[0]):
            shown = value if not np.isnan(value) else shown
            if value <= r_min and i != self.loop_max:
                chosen = i
            r_min = min(r_min, shown)
        if chosen is None:  # JACoP's thresholds start at the channels' maxima
            return CostesResult(self.method, self.axis_a.data_max, self.axis_b.data_max,
                                self.slope, self.intercept, np.nan, len(self.candidates))
        return self._result(chosen, chosen, np.trunc(self.slope * chosen + self.intercept),
                            len(self.candidates))
