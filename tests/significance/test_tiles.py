"""The tile method: geometry, seeds, exact records, and the whole null
distribution against a brute-force numpy permutation."""

from __future__ import annotations

from fractions import Fraction
from itertools import product

import dask
import dask.array as da
import numpy as np
import pytest

from streamcoloc.significance import costes_randomization, kernels, tiles

from .test_kernels import reference_groups


def test_default_tiles_hold_at_most_the_budget_and_depend_on_shapes_only():
    for shape, block in [((64, 1024, 1024), (3, 3, 3)), ((4096, 8192), (3, 3)),
                         ((5, 7), (2, 2)), ((10**8,), (1,)), ((16, 4096, 4096), (1, 2, 2))]:
        blocks = tiles.default_tile_blocks(shape, block)
        assert np.prod([min(t * b, n) for t, b, n in zip(blocks, block, shape)]) \
            <= tiles.TILE_VOXELS
        assert all(t <= -(-n // b) for t, b, n in zip(blocks, block, shape))
    assert tiles.default_tile_blocks((64, 1024, 1024), (3, 3, 3)) == (22, 114, 171)
    assert tiles.default_tile_blocks((2048, 2048), (3, 3)) == (683, 683)  # one tile


def test_block_groups_cover_the_tile_once():
    groups = tiles.block_groups((7, 10, 9), (3, 4, 3))
    counts = groups[:, kernels.G_COUNT:kernels.G_COUNT + 3].prod(axis=1)
    sizes = groups[:, kernels.G_EXTENT:kernels.G_EXTENT + 3].prod(axis=1)
    assert (counts * sizes).sum() == 7 * 10 * 9
    np.testing.assert_array_equal(groups[:, kernels.G_OFFSET],
                                  np.concatenate([[0], np.cumsum(counts * sizes)[:-1]]))
    np.testing.assert_array_equal(groups[:, kernels.G_SLOT],
                                  np.concatenate([[0], np.cumsum(counts)[:-1]]))
    assert len(groups) == 4  # z: 2 whole + 1 cut; y: 2 whole + 1 cut; x: 3 whole


def test_tile_seeds_are_those_of_seed_sequence_spawn():
    children = np.random.SeedSequence(2024).spawn(5)
    for t, child in enumerate(children):
        np.testing.assert_array_equal(tiles.tile_seed_state(2024, t),
                                      child.generate_state(4, np.uint64))


def test_float_records_undo_the_shift_exactly():
    rng = np.random.default_rng(0)
    sums = rng.normal(size=(3, 6)) * 1e3
    sums[:, kernels.N] = [5, 17, 0]
    shift = np.array([1234.5678, -0.001])
    record = tiles.exact_record(sums, shift)
    scale = Fraction(2) ** tiles.FLOAT_SCALE_BITS
    k, l = (Fraction(v) for v in shift)
    for row, out in zip(sums, record):
        n, sa, sb, saa, sbb, sab = (Fraction(v) for v in row)
        assert out[kernels.N] == n
        assert Fraction(out[kernels.SA]) / scale == sa + n * k
        assert Fraction(out[kernels.SB]) / scale == sb + n * l
        assert Fraction(out[kernels.SAA]) / scale**2 == saa + 2 * k * sa + n * k * k
        assert Fraction(out[kernels.SBB]) / scale**2 == sbb + 2 * l * sb + n * l * l
        assert Fraction(out[kernels.SAB]) / scale**2 == sab + l * sa + k * sb + n * k * l


def test_pearson_from_record_is_one_for_identical_sums_and_nan_when_degenerate():
    x = np.array([3, 1, 4, 1, 5, 9, 2, 6], dtype=object) * (1 << 700)
    row = [len(x), x.sum(), x.sum(), (x * x).sum(), (x * x).sum(), (x * x).sum()]
    constant = [4, 8, 4, 16, 4, 8]  # b constant: Σb² n = (Σb)²
    r = tiles.pearson_from_record(np.array([row, constant, [1, 2, 2, 4, 4, 4]], dtype=object))
    assert r[0] == 1.0 and np.isnan(r[1:]).all()


def brute_force_null(a, b, mask, block, tile_blocks, n_iter, seed):
    """Pearson r of every pairing, permuting whole arrays in numpy with the
    pairings the kernel draws for each tile."""
    valid_a, valid_b = mask & np.isfinite(a), mask & np.isfinite(b)
    tile_shape = [t * s for t, s in zip(tile_blocks, block)]
    origins = list(product(*[range(0, n, t) for n, t in zip(a.shape, tile_shape)]))
    moved_b = np.repeat(b[None], n_iter + 1, axis=0)
    moved_valid = np.repeat(valid_b[None], n_iter + 1, axis=0)
    for t, origin in enumerate(origins):  # C order of the tile grid
        window = tuple(slice(o, o + s) for o, s in zip(origin, tile_shape))
        tile_a = a[window]
        groups = tiles.block_groups(tile_a.shape, block)
        drawn = kernels.pairings(groups, n_iter, tiles.tile_seed_state(seed, t))
        reference = reference_groups(tile_a.shape, block)
        for k, perm in enumerate(drawn, start=1):
            for g, blocks in enumerate(reference):
                slot = groups[g, kernels.G_SLOT]
                for j, target in enumerate(blocks):
                    source = blocks[perm[slot + j]]
                    to = tuple(slice(w.start + s.start, w.start + s.stop)
                               for w, s in zip(window, target))
                    fro = tuple(slice(w.start + s.start, w.start + s.stop)
                                for w, s in zip(window, source))
                    moved_b[k][to] = b[fro]
                    moved_valid[k][to] = valid_b[fro]
    r = []
    for k in range(n_iter + 1):
        keep = valid_a & moved_valid[k]
        x, y = a[keep].astype(float), moved_b[k][keep].astype(float)
        dx, dy = x - x.mean(), y - y.mean()
        r.append((dx @ dy) / np.sqrt((dx @ dx) * (dy @ dy)))
    return np.array(r)


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_null_matches_brute_force_permutations_across_tiles(dtype):
    rng = np.random.default_rng(5)
    shape, block, tile_blocks = (7, 11, 13), (2, 3, 3), (2, 2, 3)  # cut blocks and tiles
    a = rng.integers(0, 3000, shape).astype(dtype)
    b = (a // 3 + rng.integers(0, 3000, shape)).astype(dtype)
    mask = rng.random(shape) > 0.2
    if dtype == np.float64:
        a[2, 3, 4] = np.nan
        b[0, 5, 5] = np.inf
    result = costes_randomization(da.from_array(a, chunks=(4, 5, 6)), b, mask=mask, n_iter=8,
                                  block_size=block, seed=11, tile_blocks=tile_blocks)
    expected = brute_force_null(a, b, mask, block, tile_blocks, 8, 11)
    np.testing.assert_allclose(result.observed, expected[0], rtol=1e-12)
    np.testing.assert_allclose(result.null, expected[1:], rtol=1e-10)
    assert result.n_voxels == (mask & np.isfinite(a) & np.isfinite(b)).sum()


@pytest.mark.parametrize("dtype", [np.uint16, np.float64])
def test_same_seed_same_result_on_any_chunking_and_scheduler(dtype):
    rng = np.random.default_rng(2)
    shape = (9, 40, 50)
    a = rng.integers(0, 60000, shape).astype(dtype)
    b = rng.integers(0, 60000, shape).astype(dtype)
    mask = rng.random(shape) > 0.1
    if dtype == np.float64:
        a *= 1.37e-3  # values that are not integers
        b[4, 20, :7] = np.nan
    options = {"n_iter": 30, "block_size": (2, 3, 3), "seed": 123, "tile_blocks": (2, 5, 4)}
    runs = []
    for chunks, scheduler in [((9, 40, 50), "synchronous"), ((2, 7, 50), "threads"),
                              ((5, 13, 9), "threads")]:
        with dask.config.set(scheduler=scheduler):
            runs.append(costes_randomization(da.from_array(a, chunks=chunks),
                                             da.from_array(b, chunks=(3, 40, 17)),
                                             mask=da.from_array(mask, chunks=(5, 20, 25)),
                                             **options))
    for other in runs[1:]:
        assert other.observed == runs[0].observed
        np.testing.assert_array_equal(other.null, runs[0].null)
    assert len(np.unique(runs[0].null)) == 30
    different = costes_randomization(a, b, mask=mask, **{**options, "seed": 124})
    assert not np.array_equal(different.null, runs[0].null)
