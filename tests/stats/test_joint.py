"""Sums over joint-table cells against Python-integer references."""

from __future__ import annotations

import numpy as np

from streamcoloc.stats.costes import Axis
from streamcoloc.stats.histograms import JointCells
from streamcoloc.stats.joint import JointTable, weighted_sum


def _reference(counts, lo_a, lo_b, cells, channel, base=0):
    ia, ib = np.nonzero(counts)
    values = (ia + lo_a) if channel == "a" else (ib + lo_b)
    return float(sum(int(c) * (int(v) + base) for c, v, keep in
                     zip(counts[ia, ib], values, cells) if keep))


def test_weighted_sum_is_the_exact_integer_sum_in_int64_and_beyond():
    rng = np.random.default_rng(4)
    counts = rng.integers(0, 50, (6, 5)).astype(np.int64)
    table = JointTable(JointCells.from_dense(counts), Axis(100, 105), Axis(7, 11))
    cells = table.select(lambda a, b: (a >= 102) & (b < 10))
    for channel in "ab":
        assert weighted_sum(table, cells, channel) == _reference(counts, 100, 7, cells, channel)
    # Counts and values whose products overflow int64: the Python-integer path.
    big = np.array([[2**40, 3], [5, 2**41]], np.int64)
    base = 2**30
    table = JointTable(JointCells.from_dense(big), Axis(0, 1, base=base), Axis(0, 1, base=base))
    every = np.ones(4, bool)
    expected = _reference(big, 0, 0, every, "a", base)
    assert table.n * (base + 1) >= 2**62  # the int64 path would not be safe here
    assert weighted_sum(table, every, "a") == expected
