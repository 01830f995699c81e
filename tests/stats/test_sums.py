"""Sums.of_cells: exact grouped sums on each of its paths (int64 sums below
2**62, Python integers beyond), against Python integers."""

import numpy as np
import pytest

from streamcoloc.stats.sums import GRID, LARGER, SMALLER, Sums, keyed_sums, pearson, \
    suffix_pearson


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


def _python_pearson(sums):
    """pearson's formula on Python integers (one rounding per numerator)."""
    out = []
    for n, a, b, aa, bb, ab in zip(*(map(int, x) for x in sums)):
        cov, var_a, var_b = float(n * ab - a * b), float(n * aa - a * a), float(n * bb - b * b)
        out.append(min(1.0, max(-1.0, cov / (np.sqrt(var_a) * np.sqrt(var_b))))
                   if var_a > 0 and var_b > 0 else np.nan)
    return np.array(out)


@pytest.mark.parametrize("big", [2**10, 2**20, 2**31], ids=["small", "int64 sums", "beyond"])
def test_pearson_and_suffix_pearson_round_like_python_integers(big):
    """The 128-bit path (sums within int64) and the Python-integer path give
    bit-identical r; suffix_pearson is pearson of the sets after each group."""
    rng = np.random.default_rng(big)
    n, n_groups = 400, 9
    counts = rng.integers(1, 10**6 if big > 2**20 else 10**3, n)  # int64 sums up to 2**20
    a = rng.integers(big - 50, big, n)  # bright and low-variance: numerators cancel
    b = a + rng.integers(-3, 4, n)
    group = rng.integers(0, n_groups, n)
    group[:n_groups] = np.arange(n_groups)
    sums = Sums.of_cells(counts, a, b, group, n_groups)
    np.testing.assert_array_equal(pearson(sums), _python_pearson(sums))
    constant = Sums.of_cells(counts, np.full(n, big), b, group, n_groups)
    assert np.isnan(pearson(constant)).all()
    if max(abs(int(v)) for x in sums for v in x) < 2**62:  # sums within int64
        after = Sums(*(x[:-1] for x in sums.suffix()))
        for words in (np.array([list(map(int, x)) for x in sums]).T, np.stack(sums, axis=1)):
            r, voxels = suffix_pearson(words)  # int64 (Numba) and object (Python) sums
            np.testing.assert_array_equal(r, _python_pearson(after))
            np.testing.assert_array_equal(voxels, [float(v) for v in after.n])


@pytest.mark.parametrize("how", [GRID, LARGER, SMALLER])
def test_keyed_sums_group_cells_by_their_row_and_column_keys(how):
    rng = np.random.default_rng(how)
    width_a, width_b, lo_a, lo_b = 30, 20, -7, 100
    cells = np.sort(rng.choice(width_a * width_b, 250, replace=False))
    counts = rng.integers(1, 1000, cells.size)
    key_a, key_b = rng.integers(0, 4, width_a), rng.integers(0, 3, width_b)
    i, j = cells // width_b, cells % width_b
    group = {GRID: key_a[i] * 3 + key_b[j], LARGER: np.maximum(key_a[i], key_b[j]),
             SMALLER: np.minimum(key_a[i], key_b[j])}[how]
    got = keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, key_b, how, 3, 12,
                     int(counts.sum()))
    expected = Sums.of_cells(counts, i + lo_a, j + lo_b, group, 12)
    assert got.tolist() == [list(map(int, row)) for row in zip(*expected)]
    assert got.dtype == np.int64
    beyond = keyed_sums(cells, counts * 2**40, width_b, lo_a, lo_b, key_a, key_b, how, 3, 12,
                        int(counts.sum()) * 2**40)
    assert beyond.dtype == object  # sums beyond int64: Python integers
    assert beyond.tolist() == [[int(v) for v in row]
                               for row in zip(*Sums.of_cells(counts * 2**40, i + lo_a, j + lo_b,
                                                             group, 12))]
    with pytest.raises(ValueError, match="beyond"):
        keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, key_b, how, 3, 2, 1)
    negative = key_b.copy()
    negative[5] = -1
    with pytest.raises(ValueError, match="beyond"):
        keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, negative, how, 3, 12, 1)
    if how == GRID:  # a column key at n_keys_b would alias the next row's sets
        with pytest.raises(ValueError, match="beyond"):
            keyed_sums(cells, counts, width_b, lo_a, lo_b, key_a, key_b, how, 2, 12, 1)
