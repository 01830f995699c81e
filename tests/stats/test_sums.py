"""Sums.of_cells: exact grouped sums on each of its paths (int64 sums below
2**62, Python integers beyond), against Python integers."""

import numpy as np
import pytest

from streamcoloc.stats.sums import Sums


def reference(counts, a, b, group, n_groups):
    out = [[0] * n_groups for _ in range(6)]
    for c, x, y, g in zip(counts.tolist(), a.tolist(), b.tolist(), group.tolist()):
        for k, term in enumerate((c, c * x, c * y, c * x * x, c * y * y, c * x * y)):
            out[k][g] += term
    return out


@pytest.mark.parametrize("n_groups", [1, 7])
@pytest.mark.parametrize("big, path", [(2**10, 0), (2**14, 1), (2**31, 2)],
                         ids=["below 2^53", "below 2^62", "beyond 2^62"])
def test_of_cells_is_exact_on_every_path(n_groups, big, path):
    rng = np.random.default_rng(n_groups + big)
    n = 500
    counts = rng.integers(1, 10**6, n)
    a = rng.integers(-big, big, n)
    b = rng.integers(-big, big, n)
    a[0], b[1] = big - 1, -big  # the largest magnitudes, present
    group = rng.integers(0, n_groups, n)
    bound = int(counts.sum()) * big * big  # the path the magnitudes select
    assert np.searchsorted([2**53, 2**62], bound, side="right") == path
    got = Sums.of_cells(counts, a, b, group, n_groups)
    assert [list(map(int, x)) for x in got] == reference(counts, a, b, group, n_groups)


def test_of_cells_with_empty_groups_and_no_cells():
    got = Sums.of_cells(np.array([3]), np.array([2]), np.array([5]), np.array([2]), 4)
    assert [list(map(int, x)) for x in got] == [[0, 0, 3, 0], [0, 0, 6, 0], [0, 0, 15, 0],
                                                [0, 0, 12, 0], [0, 0, 75, 0], [0, 0, 30, 0]]
    empty = Sums.of_cells(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int64),
                          np.zeros(0, np.int64), 2)
    assert [list(map(int, x)) for x in empty] == [[0, 0]] * 6
