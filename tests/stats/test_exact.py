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
