"""Costes walks against slow, literal replays of each tool (tests/reference_costes.py)."""

from __future__ import annotations


import numpy as np
import pytest

import streamcoloc
from streamcoloc.stats.costes import METHODS, Axis, Staircase, Walk

from .. import reference_costes as ref


def _pair(seed, n=600, slope=0.7, dtype=np.uint16, noise=40, offset=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 250, n)
    a = base + rng.integers(0, noise, n) + offset
    b = base * slope + rng.integers(0, noise, n)
    return a.astype(dtype), np.clip(b, 0, np.iinfo(dtype).max).astype(dtype)


CASES = [dict(seed=s, slope=m, dtype=d) for s, (m, d) in enumerate(
    [(0.7, np.uint16), (1.8, np.uint16), (0.4, np.uint8), (1.0, np.uint8), (2.5, np.uint16),
     (0.95, np.uint16)])]


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("implementation", ["costes", "bisection"])
def test_coloc2_walks_equal_the_replay(case, implementation):
    a, b = _pair(**case)
    method = "coloc2" if implementation == "costes" else "coloc2-bisection"
    expected = ref.coloc2_costes(a, b, implementation, regression_skips_first_voxel=False)
    got = streamcoloc.costes_threshold(a.reshape(20, 30), b.reshape(20, 30), method=method)
    assert (got.threshold_a, got.threshold_b) == (expected["threshold_a"], expected["threshold_b"])
    assert got.n_evaluated == expected["n_evaluated"]
    assert got.slope == pytest.approx(expected["slope"], rel=1e-9)
    assert got.r_below == pytest.approx(expected["r_below"], rel=1e-9, nan_ok=True)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("mode", ["accurate", "fast", "faster"])
def test_cellprofiler_walks_equal_the_replay(case, mode):
    a, b = _pair(**case)
    scale = np.iinfo(a.dtype).max
    expected = ref.cellprofiler_costes(a, b, mode, scale=scale)
    got = streamcoloc.costes_threshold(a, b, method=f"cellprofiler-{mode}")
    assert got.threshold_a == pytest.approx(expected["threshold_a"], rel=1e-12)
    assert got.threshold_b == pytest.approx(expected["threshold_b"], rel=1e-9)
    assert got.n_evaluated == expected["n_evaluated"]


@pytest.mark.parametrize("case", CASES)
def test_jacop_walk_equals_the_replay(case):
    a, b = _pair(**case)
    expected = ref.jacop_costes(a, b)
    got = streamcoloc.costes_threshold(a, b, method="jacop")
    assert (got.threshold_a, got.threshold_b) == (expected["threshold_a"], expected["threshold_b"])
    assert got.n_evaluated == expected["n_evaluated"]
    assert got.r_below == pytest.approx(expected["r_below"], rel=1e-9, nan_ok=True)


def test_cellprofiler_scale_parameter_and_units():
    a, b = _pair(3, dtype=np.uint16)
    expected = ref.cellprofiler_costes(a, b, "accurate", scale=4095)
    got = streamcoloc.costes_threshold(a, b, method="cellprofiler-accurate", scale=4095)
    assert got.threshold_a == pytest.approx(expected["threshold_a"], rel=1e-12)


def test_negative_slope_gives_nan_with_a_warning():
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, 500).astype(np.uint8)
    b = (255 - a // 2 - rng.integers(0, 20, 500)).astype(np.uint8)
    with pytest.warns(streamcoloc.ColocWarning, match="not positive"):
        result = streamcoloc.costes_threshold(a, b)
    assert np.isnan(result.threshold_a) and result.slope < 0


def test_swapping_channels_swaps_the_thresholds():
    """Coloc 2 steps channel a when |m| < 1; swapped, the slope is 1/m and
    channel b (the same data) is stepped: thresholds swap, except at rounding
    ties of the line (none in this data)."""
    a, b = _pair(5, slope=0.6)
    ab = streamcoloc.costes_threshold(a, b)
    ba = streamcoloc.costes_threshold(b, a)
    assert ba.slope == pytest.approx(1 / ab.slope, rel=1e-9)
    assert (ba.threshold_a, ba.threshold_b) == (ab.threshold_b, ab.threshold_a)


def test_staircase_is_monotone_and_finds_its_cells():
    axes = (Axis(0, 300, type_min=0, type_max=65535), Axis(5, 200, type_min=0, type_max=65535))
    walk = Walk("coloc2-bisection", *axes, (0.63, 4.2))
    stairs = walk.staircase
    assert np.all(np.diff(stairs.gate_a) <= 0) and np.all(np.diff(stairs.gate_b) <= 0)
    assert np.all((np.diff(stairs.gate_a) != 0) | (np.diff(stairs.gate_b) != 0))
    cells = stairs.cells(stairs.gate_a, stairs.gate_b)
    assert (cells == np.arange(len(cells))).all()
    assert stairs.cells([10**6], [3]).tolist() == [-1]
    # queries broadcast against each other, as numpy's do
    assert stairs.cells(stairs.gate_a[2], stairs.gate_b[2]) == 2
    assert stairs.cells(stairs.gate_a[[0, -1]], [stairs.gate_b[0]]).tolist() == [0, -1]
    assert stairs.cells([[stairs.gate_a[1]]], [[stairs.gate_b[1]]]).tolist() == [[1]]
    # the bisection may evaluate any t: every real t of the mapping lands on a cell
    t = np.random.default_rng(1).uniform(-50, 500, 20000)
    assert (stairs.cells(*walk.gates(t)) >= 0).all()
    # Coloc 2's walker evaluates t = max, max - 1, ..., 0 only: its staircase
    # holds their distinct gate pairs (and those of t = -1)
    walker = Walk("coloc2", *axes, (0.63, 4.2))
    gates = walker.gates(300.0 - np.arange(302))
    assert set(zip(walker.staircase.gate_a, walker.staircase.gate_b)) == set(zip(*gates))
    assert len(walker.staircase.gate_a) < len(stairs.gate_a)
    and_stairs = Staircase(np.array([5, 3]), np.array([4, 4]), "and")
    cutoffs = and_stairs.cutoffs(np.array([4, 6]), "a"), and_stairs.cutoffs(np.array([1, 1]), "b")
    assert and_stairs.cell_of_cutoffs(*cutoffs).tolist() == [1, 0]


@pytest.mark.parametrize("method", METHODS)
def test_candidates_looked_up_among_the_samples_land_where_their_gates_do(method):
    """A staircase's own sample points are looked up rather than mapped
    again: each finds the cell of its gate pairs, other points are not found,
    and a walk evaluates both alike (the r, n and gates of the mapped t)."""
    axes = Axis(3, 300, type_min=0, type_max=65535), Axis(7, 250, type_min=0, type_max=65535)
    walk = Walk(method, *axes, (0.63, 4.2), scale=65535.0)
    stairs = walk.staircase
    # kept by the steppers that evaluate exactly their samples, and only by them
    assert (stairs.samples.size > 0) == (method in ("coloc2", "jacop"))
    if method not in ("coloc2", "jacop"):
        return  # (their candidates are anywhere between the sample points)
    cells, found = stairs.sampled_cells(stairs.samples)
    assert found.all() and (cells == stairs.cells(*walk.gates(stairs.samples))).all()
    others = np.random.default_rng(2).uniform(-50, 500, 2000)
    others = others[~np.isin(others, stairs.samples)]
    cells, found = stairs.sampled_cells(others)
    assert not found.any() and (cells == -1).all()
    walk.r, walk.below_n = np.arange(stairs.gate_a.size) / 7.0, np.arange(stairs.gate_a.size)
    walk.fallback = None
    for t in (stairs.samples[::37], np.concatenate([stairs.samples[::53], others[::41]])):
        t = t[stairs.cells(*walk.gates(t)) >= 0]  # (a walker's staircase: its candidates only)
        expected = stairs.cells(*walk.gates(t))
        r, n, ga, gb = walk._evaluate(t)
        assert (r == walk.r[expected]).all() and (n == walk.below_n[expected]).all()
        assert (ga == walk.gates(t)[0]).all() and (gb == walk.gates(t)[1]).all()


@pytest.mark.parametrize("a, b", [([0, 10, 0, 10, 0, 0], [0, 10, 0, 10, 0, 0]),
                                  ([0, 0, 10, 0, 10], [0, 1, 10, 0, 10]),
                                  ([2, 2, 9, 9], [5, 7, 30, 30])],
                         ids=["two values", "constant a below", "constant a, two b"])
def test_jacop_without_a_selectable_candidate_returns_the_channel_maxima(a, b):
    """Every candidate's below set is constant in a channel (r NaN), so JACoP
    never sets its thresholds: they stay at their initial values, the
    channels' maxima, with no r."""
    a, b = np.array([a], np.uint16), np.array([b], np.uint16)
    expected = ref.jacop_costes(a, b)
    got = streamcoloc.costes_threshold(a, b, method="jacop")
    assert (got.threshold_a, got.threshold_b) == (a.max(), b.max())
    assert (got.threshold_a, got.threshold_b) == (expected["threshold_a"],
                                                  expected["threshold_b"])
    assert np.isnan(got.r_below) and np.isnan(expected["r_below"])
    assert got.n_evaluated == expected["n_evaluated"] > 0
