"""The randomization kernels against independent pure-Python and numpy references."""

from __future__ import annotations

from itertools import permutations

import numpy as np
import pytest
from scipy import stats

from streamcoloc.significance import kernels, tiles

MASK64 = (1 << 64) - 1


def xoshiro_reference(state, n: int) -> list[int]:
    """xoshiro256** from the authors' C code, in Python integers."""
    s = [int(v) for v in state]

    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    out = []
    for _ in range(n):
        out.append(rotl(s[1] * 5 & MASK64, 7) * 9 & MASK64)
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = rotl(s[3], 45)
    return out


def test_generator_matches_the_reference_implementation():
    state = np.random.SeedSequence(12345).generate_state(4, np.uint64)
    expected = xoshiro_reference(state, 20)
    got = [int(kernels.next_u64(state)) for _ in range(20)]
    assert got == expected


@pytest.mark.parametrize("n", [1, 2, 6, 1000, 2**32])
def test_bounded_draws_are_in_range_and_uniform(n):
    state = np.random.SeedSequence(7).generate_state(4, np.uint64)
    draws = np.array([kernels.below(state, n) for _ in range(6000)])
    assert draws.min() >= 0 and draws.max() < n
    if n == 1:
        assert (draws == 0).all()
    elif n <= 1000:
        counts = np.bincount(draws, minlength=n) if n <= 6 else np.histogram(draws, 10, (0, n))[0]
        assert stats.chisquare(counts).pvalue > 1e-3


def test_shuffle_draws_every_permutation_equally_often():
    state = np.random.SeedSequence(3).generate_state(4, np.uint64)
    values = np.arange(4)
    index = {p: i for i, p in enumerate(permutations(range(4)))}
    counts = np.zeros(24, int)
    for _ in range(12000):
        kernels.shuffle(values, state)  # continues from the last order: still uniform
        counts[index[tuple(values)]] += 1
    assert stats.chisquare(counts).pvalue > 1e-3


def reference_groups(shape, block):
    """Blocks of a 3-D tile grouped by shape, in the kernel's order: per axis
    whole blocks before the cut one, combined z-major; C order within."""
    starts = [list(range(0, n, b)) for n, b in zip(shape, block)]
    groups = {}
    for z in starts[0]:
        for y in starts[1]:
            for x in starts[2]:
                origin = (z, y, x)
                cut = tuple(int(o + b > n) for o, b, n in zip(origin, block, shape))
                groups.setdefault(cut, []).append(tuple(
                    slice(o, min(o + b, n)) for o, b, n in zip(origin, block, shape)))
    return [groups[k] for k in sorted(groups)]


SHAPE, BLOCK = (5, 7, 8), (2, 3, 3)


def test_gather_lays_out_each_group_voxel_major_with_validity():
    rng = np.random.default_rng(0)
    image = rng.normal(size=SHAPE)
    image[1, 2, 3] = np.nan
    mask = rng.random(SHAPE) > 0.3
    groups = tiles.block_groups(SHAPE, BLOCK)
    rows, valid = np.empty(image.size), np.empty(image.size, np.uint8)
    n_invalid = kernels.gather(image, mask.view(np.uint8), True, groups,
                               np.array(BLOCK), rows, valid)
    expected_valid = mask & np.isfinite(image)
    assert n_invalid == image.size - expected_valid.sum()
    reference = reference_groups(SHAPE, BLOCK)
    assert len(reference) == len(groups) == 8
    offset = 0
    for blocks in reference:
        values = np.stack([image[b].ravel() for b in blocks], axis=1)  # (voxel q, block j)
        flags = np.stack([expected_valid[b].ravel() for b in blocks], axis=1)
        part = slice(offset, offset + values.size)
        np.testing.assert_array_equal(rows[part].reshape(values.shape), values)
        np.testing.assert_array_equal(valid[part].reshape(values.shape), flags)
        offset += values.size


def brute_force_sums(a, b, valid_a, valid_b, groups, perm):
    """n, Σa, Σb, Σa², Σb², Σab of one pairing, block by block in numpy
    (Python integers for integer data)."""
    reference = reference_groups(a.shape, BLOCK)
    pairs_a, pairs_b = [], []
    for g, blocks in enumerate(reference):
        slot = groups[g, kernels.G_SLOT]
        for j, target in enumerate(blocks):
            source = blocks[perm[slot + j]]
            keep = valid_a[target].ravel() & valid_b[source].ravel()
            pairs_a.append(a[target].ravel()[keep])
            pairs_b.append(b[source].ravel()[keep])
    x = np.concatenate(pairs_a).astype(object if a.dtype.kind in "iu" else float)
    y = np.concatenate(pairs_b).astype(x.dtype)
    return [len(x), x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()]


@pytest.mark.parametrize("dtype, general", [(np.uint16, False), (np.uint16, True),
                                            (np.float64, True)])
def test_permuted_sums_match_brute_force_pairings(dtype, general):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 65535, SHAPE).astype(dtype)
    b = rng.integers(0, 65535, SHAPE).astype(dtype)
    mask = rng.random(SHAPE) > 0.25 if general else np.ones(SHAPE, bool)
    if dtype == np.float64:
        b[0, 0, 0] = np.nan
    groups = tiles.block_groups(SHAPE, BLOCK)
    block = np.array(BLOCK)
    rows = [np.empty(a.size, dtype), np.empty(a.size, dtype)]
    valid = [np.empty(a.size, np.uint8), np.empty(a.size, np.uint8)]
    n_invalid = sum(kernels.gather(x, mask.view(np.uint8), True, groups, block, r, v)
                    for x, r, v in zip((a, b), rows, valid))
    assert (n_invalid > 0) == general
    n_iter = 6
    state = tiles.tile_seed_state(99, 0)
    drawn = kernels.pairings(groups, n_iter, state.copy())
    exact = dtype == np.uint16
    out_exact = np.zeros((n_iter + 1, 6), np.int64)
    out_float = np.zeros((n_iter + 1, 6))
    kernels.permuted_sums(rows[0], rows[1], valid[0], valid[1], groups, n_iter, state,
                          np.zeros(2), general, exact, out_exact, out_float)
    out = out_exact if exact else out_float
    valid_a, valid_b = mask & np.isfinite(a), mask & np.isfinite(b)
    identity = kernels.identity_pairing(groups)
    assert sorted(identity) == sorted(drawn[0])  # permutations of the same slots
    for k, perm in enumerate([identity, *drawn]):
        expected = brute_force_sums(a, b, valid_a, valid_b, groups, perm)
        if exact:
            assert [int(v) for v in out[k]] == [int(v) for v in expected]
        else:
            np.testing.assert_allclose(out[k], np.array(expected, float), rtol=1e-12)
    assert not all((drawn[k] == identity).all() for k in range(n_iter))
