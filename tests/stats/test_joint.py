"""Sums over joint-table cells against Python-integer references."""

from __future__ import annotations

import numpy as np
import pytest

from streamcoloc.stats.costes import Axis, Staircase
from streamcoloc.stats.histograms import JointCells
from streamcoloc.stats.joint import JointTable, threshold_sums


def _voxels(counts, lo_a, lo_b):
    """(count, a, b) of every non-empty cell, as Python integers."""
    ia, ib = np.nonzero(counts)
    return [(int(counts[i, j]), int(i) + lo_a, int(j) + lo_b) for i, j in zip(ia, ib)]


def _six(voxels, rule):
    chosen = [(c, a, b) for c, a, b in voxels if rule(a, b)]
    return [sum(c * t for c, t in zip((c for c, _, _ in chosen), terms)) for terms in (
        [1] * len(chosen), [a for _, a, _ in chosen], [b for _, _, b in chosen],
        [a * a for _, a, _ in chosen], [b * b for _, _, b in chosen],
        [a * b for _, a, b in chosen])]


#: Values this far from 0 (histogram units) make the six-sums overflow int64:
#: the tables' Python-integer paths.
FAR = 2**31


@pytest.mark.parametrize("shift", [0, FAR], ids=["int64", "python integers"])
@pytest.mark.parametrize("cuts_a, cuts_b", [((102, 104, 104), (9,)), ((0, 100, 200), (7, 12)),
                                            ((103,), (8, 9, 10, 11))])
def test_box_sums_are_the_exact_sums_of_each_box(cuts_a, cuts_b, shift):
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 50, (6, 5)).astype(np.int64)
    counts[rng.random(counts.shape) < 0.3] = 0
    cuts_a = tuple(c + shift for c in cuts_a)
    table = JointTable(JointCells.from_dense(counts), Axis(100 + shift, 105 + shift), Axis(7, 11))
    sums, a, b = table.box_sums(cuts_a, cuts_b)
    edges_a = [-np.inf] + sorted(set(cuts_a)) + [np.inf]
    edges_b = [-np.inf] + sorted(set(cuts_b)) + [np.inf]
    assert len(a) == (len(edges_a) - 1) * (len(edges_b) - 1)
    voxels = _voxels(counts, 100 + shift, 7)
    for k in range(len(a)):
        i, j = divmod(k, len(edges_b) - 1)
        assert edges_a[i] <= a[k] < edges_a[i + 1] and edges_b[j] <= b[k] < edges_b[j + 1]
        expected = _six(voxels, lambda x, y: edges_a[i] <= x < edges_a[i + 1]
                        and edges_b[j] <= y < edges_b[j + 1])
        assert [int(s) for s in sums[k]] == expected


@pytest.mark.parametrize("big", [False, True])
def test_threshold_sums_are_the_exact_sums_of_each_set(big):
    """Every set of :func:`threshold_sums` against Python integers, with
    counts and values (histogram units) whose products overflow int64
    (``big``: the Python-integer path of the box sums)."""
    rng = np.random.default_rng(5)
    counts = rng.integers(0, 50, (7, 6)).astype(np.int64)
    shift = FAR if big else 0
    if big:
        counts[counts > 0] += 2**20
    axis_a, axis_b = Axis(-2 + shift, 4 + shift, step=0.5), Axis(-1 + shift, 4 + shift)
    table = JointTable(JointCells.from_dense(counts), axis_a, axis_b)
    gate_a, gate_b, above_a, above_b = (g + shift for g in (1, 2, 2, 3))
    boxes = table.box_sums((gate_a, above_a), (gate_b, above_b))[0]
    assert boxes.dtype == (object if big else np.int64)  # Python integers beyond int64
    sums = threshold_sums(table, gate_a, gate_b, above_a, above_b)
    voxels = _voxels(counts, -2 + shift, -1 + shift)
    zero_a = zero_b = 0  # ge_gate(0): the unit whose data value is 0

    def data(rule, channel, axis):
        n, sa, sb = _six(voxels, rule)[:3]
        return float((sa if channel == "a" else sb) + axis.base * n) * axis.step

    assert sums.total_a == data(lambda a, b: True, "a", axis_a)
    assert sums.total_b == data(lambda a, b: True, "b", axis_b)
    assert sums.coloc2_a == data(lambda a, b: b >= gate_b and b > zero_b, "a", axis_a)
    assert sums.coloc2_b == data(lambda a, b: a >= gate_a and a > zero_a, "b", axis_b)
    assert sums.den_a == data(lambda a, b: a >= gate_a, "a", axis_a)
    assert sums.den_b == data(lambda a, b: b >= gate_b, "b", axis_b)
    for got, rule in ((sums.below, lambda a, b: a < gate_a or b < gate_b),
                      (sums.above, lambda a, b: a >= above_a or b >= above_b),
                      (sums.both, lambda a, b: a >= gate_a and b >= gate_b)):
        assert [int(x[0]) for x in got] == _six(voxels, rule)


def test_below_and_icq_on_both_paths():
    """The Costes below-set curve and ICQ of a table, and of the same table
    moved far up (its sums beyond int64: the Python-integer paths), are
    identical (r's numerators are exact and shift-invariant)."""
    rng = np.random.default_rng(6)
    counts = rng.integers(0, 40, (30, 25)).astype(np.int64)
    counts[rng.random(counts.shape) < 0.5] = 0
    results = []
    for shift in (0, FAR):
        axis_a, axis_b = Axis(10 + shift, 39 + shift), Axis(5 + shift, 29 + shift)
        table = JointTable(JointCells.from_dense(counts), axis_a, axis_b)
        gates = np.arange(40, 8, -2)
        for kind in ("or", "and"):
            staircase = Staircase(gates + shift, gates - 5 + shift, kind)
            results.extend(table.below(staircase))
        for convention in ("coloc2", "jacop", "napari"):
            results.append(table.icq(22.5 + shift, 17 + shift, convention))
            results.append(table.icq(22 + shift, 17 + shift, convention))  # products of 0
    half = len(results) // 2
    for fast, python in zip(results[:half], results[half:]):
        np.testing.assert_array_equal(fast, python)  # NaN where both are NaN
    assert np.isfinite(results[0]).sum() > 10 and len(set(results[4:half])) > 2
