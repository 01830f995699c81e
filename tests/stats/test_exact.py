import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from streamcoloc.stats import exact

int64s = st.integers(-(2**63), 2**63 - 1)


@given(st.lists(st.lists(int64s, min_size=3, max_size=3), min_size=1, max_size=60),
       st.randoms())
def test_group_sum_is_exact_and_order_free(rows, random):
    values = np.array(rows, dtype=np.int64)
    group = np.array([random.randrange(4) for _ in rows])
    hi, lo = exact.split(values)
    order = list(range(len(rows)))
    random.shuffle(order)
    got = exact.to_int(*exact.group_sum(hi, lo, group, 4))
    shuffled = exact.to_int(*exact.group_sum(hi[order], lo[order], group[order], 4))
    for g in range(4):
        expected = [sum(int(values[i, j]) for i in range(len(rows)) if group[i] == g)
                    for j in range(3)]
        assert list(got[g]) == expected
    assert (got == shuffled).all()


def test_totals_beyond_int64():
    big = np.full((1000, 1), 2**62, dtype=np.int64)
    hi, lo = exact.split(big)
    total = exact.to_int(*exact.group_sum(hi, lo, np.zeros(1000, int), 1))
    assert total[0, 0] == 1000 * 2**62


def _difference(x, y, z, w):
    return np.array([exact.difference_of_products(*v) for v in zip(x, y, z, w)])


def test_difference_of_products_rounds_once_like_python_integers():
    """float(x·y − z·w) in 128 bits equals Python's exactly rounded float of
    the integer, over random magnitudes, the int64 extremes and numbers on
    either side of rounding ties (ties go to even)."""
    rng = np.random.default_rng(0)
    cases = []
    for bits in rng.integers(1, 64, (40, 4)):
        cases.append([rng.integers(-(2 ** (int(k) - 1)), 2 ** (int(k) - 1), 300) for k in bits])
    extremes = np.array([2**63 - 1, -(2**63), -1, 0, 1, 2**62, -(2**62), 2**53 + 1, 2**32 - 1,
                         2**32], np.int64)
    grid = np.array(np.meshgrid(*[extremes] * 4)).reshape(4, -1)
    cases.append(list(grid))
    ties = []  # v = q·2**62 + r on and next to halfway points between doubles near 2**k
    for k in range(54, 125):
        for m in range(-3, 4):
            for d in (-1, 0, 1):
                q, r = divmod(2**k + m * 2 ** (k - 53) + d, 2**62)
                ties.append((q, 2**62, -r, 1))
    cases.append(list(np.array(ties, np.int64).T))
    for x, y, z, w in cases:
        x, y, z, w = (np.asarray(v, np.int64) for v in (x, y, z, w))
        expected = [float(int(p) * int(q) - int(r) * int(s)) for p, q, r, s in zip(x, y, z, w)]
        np.testing.assert_array_equal(_difference(x, y, z, w), expected)


def test_to_int_on_its_int64_and_python_integer_paths():
    hi = np.array([0, -1, 2**29, -(2**30) + 1, 5], np.int64)
    lo = np.array([0, 2**32 - 1, 7, 3, 2**40], np.int64)  # the last word not canonical
    expected = [int(h) * 2**32 + int(v) for h, v in zip(hi, lo)]
    assert list(exact.to_int(hi, lo)) == expected  # int64 path
    hi[0] = 2**40
    expected[0] = 2**72
    assert list(exact.to_int(hi, lo)) == expected  # Python integers
    assert exact.to_int(hi[:0], lo[:0]).size == 0


def test_products_added_in_128_bits_give_the_python_integer():
    import numba

    @numba.njit
    def total(x, y):
        hi, lo = np.uint64(0), np.uint64(0)
        for k in range(x.size):
            hi, lo = exact.add_product(hi, lo, x[k], y[k])
        return hi, lo

    rng = np.random.default_rng(3)
    for sign in (1, -1):
        x = rng.integers(-(2**62), 2**62, 50) * sign
        y = rng.integers(0, 2**62, 50)
        x[:3] = [2**63 - 1, -(2**63), 0]
        expected = sum(int(a) * int(b) for a, b in zip(x, y))
        assert exact.words_to_int(*total(x, y)) == expected
    assert exact.words_to_int(*total(np.array([-1]), np.array([1]))) == -1


def test_product_sum_is_exact_beyond_int64():
    """Σ w·v equals Python's integer sum where products and the sum overflow
    int64 (and with negative values)."""
    rng = np.random.default_rng(4)
    weights = rng.integers(-2**62, 2**62, 1000)
    values = rng.integers(-2**62, 2**62, 1000)
    expected = sum(int(w) * int(v) for w, v in zip(weights, values))
    assert abs(expected) > 2**100
    assert exact.product_sum(weights, values) == expected
    assert exact.product_sum(np.zeros(0, np.int64), np.zeros(0, np.int64)) == 0
