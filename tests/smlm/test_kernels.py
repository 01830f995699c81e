"""Numba kernels against numpy/scipy brute force."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial import cKDTree

from streamcoloc.smlm.kernels import (assign_tiles, build_cell_list, local_density_sums,
                                      nearest_by_sweep, nearest_other)
from streamcoloc.smlm.pipeline import CellList


def points(n, seed, side=1000.0, z=False, duplicates=0):
    rng = np.random.default_rng(seed)
    xyz = rng.uniform(0, side, (n, 3))
    if not z:
        xyz[:, 2] = 0
    xyz[:duplicates] = xyz[n - duplicates:]  # exact duplicates
    return [np.ascontiguousarray(xyz[:, k]) for k in range(3)]


def test_assign_tiles_matches_brute_force():
    rng = np.random.default_rng(0)
    x, y = rng.uniform(0, 100, 3000), rng.uniform(0, 100, 3000)
    x_edges = np.array([0.0, 30.0, 55.0, 100.0])
    y_edges = np.array([0.0, 50.0, 100.0, 0.0, 20.0, 70.0, 100.0, 0.0, 100.0])
    col_start = np.array([0, 3, 7, 9])
    halo = 6.0
    rows, start, n_core = assign_tiles(x, y, x_edges, y_edges, col_start, halo)
    boxes = [(0, 30, 0, 50), (0, 30, 50, 100), (30, 55, 0, 20), (30, 55, 20, 70),
             (30, 55, 70, 100), (55, 100, 0, 100)]
    assert start.size == len(boxes) + 1 and start[-1] == rows.size
    for t, (x0, x1, y0, y1) in enumerate(boxes):
        near = (x >= x0 - halo) & (x <= x1 + halo) & (y >= y0 - halo) & (y <= y1 + halo)
        own = (x >= x0) & ((x < x1) | (x1 == 100)) & (y >= y0) & ((y < y1) | (y1 == 100))
        members = rows[start[t]:start[t + 1]]
        core, copies = members[:n_core[t]], members[n_core[t]:]
        assert core.tolist() == np.flatnonzero(own).tolist()  # core first, in input order
        assert sorted(copies.tolist()) == np.flatnonzero(near & ~own).tolist()
    assert n_core.sum() == x.size


@pytest.mark.parametrize("planar", [False, True])
def test_build_cell_list_sorts_every_point_into_its_cell_of_its_label(planar):
    x, y, z = points(2000, 1, z=not planar)
    label = np.random.default_rng(3).integers(0, 2, 2000)
    lower, cell = np.zeros(3), 70.0
    dims = (np.array([1000.0, 1000.0, 0.0 if planar else 1000.0]) // cell).astype(np.int64) + 1
    order, start, xs, ys, zs = build_cell_list(x, y, np.empty(0) if planar else z, label, 2,
                                               lower, cell, dims)
    assert sorted(order.tolist()) == list(range(2000))
    assert start.size == 2 * np.prod(dims) + 1
    assert xs.tolist() == x[order].tolist() and ys.tolist() == y[order].tolist()
    assert zs.tolist() == ([] if planar else z[order].tolist())
    cells = ((z // cell) * dims[1] + y // cell) * dims[0] + x // cell + label * np.prod(dims)
    occupied = np.flatnonzero(np.diff(start))
    assert occupied.min() < np.prod(dims) <= occupied.max()  # both labels' grids
    for k in occupied:
        assert (cells[order[start[k]:start[k + 1]]] == k).all()


def cell_list(x, y, z, with_z, **options):
    """The points' cell list, planar (no z) unless ``with_z``."""
    return CellList.of(x, y, z if with_z else None, **options)


@pytest.mark.parametrize("z, duplicates", [(False, 0), (False, 30), (True, 10)])
def test_nearest_other_matches_ckdtree(z, duplicates):
    x, y, zz = points(3000, 2, z=z, duplicates=duplicates)
    cells = cell_list(x, y, zz, z)
    queries = np.arange(x.size)
    got = nearest_other(cells.x, cells.y, cells.z, cells.start, cells.lower, cells.cell,
                        cells.dims, queries, np.full(x.size, np.inf))
    coords = np.stack([x, y, zz], axis=1)[cells.order]
    expected = cKDTree(coords).query(coords, k=2)[0][:, 1]
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert (got == 0).sum() >= 2 * duplicates


@pytest.mark.parametrize("z", [False, True])
def test_nearest_other_in_dense_clusters_matches_ckdtree(z):
    """Clusters of many points per cell in an empty field (cells sized on
    the bounding box): searches that stop within the first ring, on the
    distance to the query's own cell faces, stay exact."""
    rng = np.random.default_rng(21)
    centres = rng.uniform(0, 5000, (30, 3))
    xyz = (centres[:, None] + rng.normal(0, 8.0, (30, 200, 3))).reshape(-1, 3)
    if not z:
        xyz[:, 2] = 0
    cells = cell_list(*(np.ascontiguousarray(xyz[:, k]) for k in range(3)), z)
    assert np.diff(cells.start).max() > 20  # dense cells
    got = nearest_other(cells.x, cells.y, cells.z, cells.start, cells.lower, cells.cell,
                        cells.dims, np.arange(len(xyz)), np.full(len(xyz), np.inf))
    coords = xyz[cells.order]
    np.testing.assert_allclose(got, cKDTree(coords).query(coords, k=2)[0][:, 1], rtol=1e-12)


@pytest.mark.parametrize("z", [False, True])
def test_nearest_other_searches_each_querys_own_label(z):
    """Three labels in one list (one grid each, the middle one sparse): each
    query's distance is to the nearest other point of its label only."""
    x, y, zz = points(4000, 12, z=z, duplicates=10)
    label = np.random.default_rng(12).choice(3, x.size, p=[0.6, 0.05, 0.35])
    cells = cell_list(x, y, zz, z, label=label, n_labels=3)
    got = nearest_other(cells.x, cells.y, cells.z, cells.start, cells.lower, cells.cell,
                        cells.dims, np.arange(x.size), np.full(x.size, np.inf))
    sorted_label = label[cells.order]
    coords = np.stack([x, y, zz], axis=1)[cells.order]
    for c in range(3):
        own = sorted_label == c
        expected = cKDTree(coords[own]).query(coords[own], k=2)[0][:, 1]
        np.testing.assert_allclose(got[own], expected, rtol=1e-12)


def test_local_density_sums_are_exact_per_group_and_other_channel():
    rng = np.random.default_rng(13)
    group = rng.integers(0, 6, 5000)  # 3 ROIs x 2 channels
    counts = rng.integers(1, 2**26, (5000, 2))  # sums of squares beyond 2**53: not float-exact
    radius = np.array([5.0, 5.0, -1.0, 5.0, 5.0, 5.0, 5.0])  # group 2: undefined
    counts[group == 2, 0] = 0  # nothing counted within an undefined radius
    for exclude_self in (True, False):
        ld, ld_sum, n_sum, n2_sum = local_density_sums(group, counts, radius, exclude_self, 7)
        own = counts[np.arange(5000), group % 2]
        assert ld.tolist() == (own - (radius[group] >= 0) + (not exclude_self)).tolist()
        assert (ld[group == 2] == (0 if exclude_self else 1)).all()
        assert ld_sum.tolist() == [int(ld[group == g].sum()) for g in range(7)]
    for g in range(7):
        for c in range(2):
            values = [int(v) for v in counts[group == g, c]] if c != g % 2 else []
            assert n_sum[g, c] == sum(values)
            assert n2_sum[g, c] == sum(v * v for v in values)


def test_nearest_other_within_margin_is_exact_beyond_is_an_upper_bound():
    x, y, z = points(500, 3, side=5000.0)
    cells = CellList.of(x, y, z)
    margin = np.random.default_rng(3).uniform(0, 200, x.size)
    got = nearest_other(cells.x, cells.y, cells.z, cells.start, cells.lower, cells.cell,
                        cells.dims, np.arange(x.size), margin)
    coords = np.stack([cells.x, cells.y, cells.z], axis=1)
    expected = cKDTree(coords).query(coords, k=2)[0][:, 1]
    exact = got <= margin
    assert 0 < exact.sum() < x.size
    np.testing.assert_allclose(got[exact], expected[exact], rtol=1e-12)
    assert (got[~exact] >= expected[~exact] * (1 - 1e-12)).all()
    single = CellList.of(x[:1], y[:1], z[:1])
    assert np.isinf(nearest_other(single.x, single.y, single.z, single.start, single.lower,
                                  single.cell, single.dims, np.array([0]), np.array([np.inf])))


def count_queries(q, points_xyz, z, radius, label=None, **options):
    """Counts of the points of each label around the query points ``q``:
    the queries go in the same cell list under a label of their own (one
    more grid, radius -1: never counted); returns (queries, labels + 1) in
    query order."""
    n_labels = 1 if label is None else int(label.max()) + 1
    own = np.zeros(points_xyz[0].size, np.int64) if label is None else label
    labels = np.concatenate([np.full(q[0].size, n_labels), own])
    x, y, zz = (np.concatenate([a, b]) for a, b in zip(q, points_xyz))
    cells = cell_list(x, y, zz, z, label=labels, n_labels=n_labels + 1, **options)
    queries = cells.positions_of_first(q[0].size)
    out = np.empty((q[0].size, n_labels + 1), np.int64)
    out[cells.order[queries]] = cells.count(queries, np.append(radius, -1.0))
    return out


@pytest.mark.parametrize("z", [False, True])
def test_count_within_matches_ckdtree(z):
    x, y, zz = points(4000, 4, z=z, duplicates=20)
    q = points(1000, 5, side=1100.0, z=z)
    tree = cKDTree(np.stack([x, y, zz], axis=1))
    for radius in (0.0, 13.0, 40.0, 95.0):
        got = count_queries(q, (x, y, zz), z, [radius], min_cell=radius / 2)
        expected = tree.query_ball_point(np.stack(q, axis=1), radius, return_length=True)
        np.testing.assert_array_equal(got[:, 0], expected)
        assert (got[:, 1] == 0).all()
    assert (count_queries(q, (x, y, zz), z, [-1.0]) == 0).all()


@pytest.mark.parametrize("z", [False, True])
def test_count_within_counts_each_label_within_its_own_radius(z):
    """Three labels with different radii (one undefined) in one list: each
    column equals cKDTree on that label's points alone."""
    x, y, zz = points(6000, 8, z=z, duplicates=30)
    label = np.random.default_rng(9).integers(0, 3, x.size)
    q = points(800, 10, side=1100.0, z=z)
    radii = np.array([22.0, 61.0, -1.0])
    got = count_queries(q, (x, y, zz), z, radii, label, min_cell=radii.max() / 3)
    assert got.shape == (800, 4)
    for c, radius in enumerate(radii[:2]):
        own = label == c
        tree = cKDTree(np.stack([x[own], y[own], zz[own]], axis=1))
        expected = tree.query_ball_point(np.stack(q, axis=1), radius, return_length=True)
        np.testing.assert_array_equal(got[:, c], expected)
    assert (got[:, 2:] == 0).all()
    # cells sized by the smallest radius: the wider label searches more cells
    fine = count_queries(q, (x, y, zz), z, radii, label, min_cell=radii[0])
    np.testing.assert_array_equal(fine, got)


def test_cell_list_refuses_labels_outside_its_grids():
    x, y, z = points(10, 11)
    with pytest.raises(ValueError, match=r"labels must be one per point in \[0, 2\)"):
        CellList.of(x, y, z, label=np.full(10, 2), n_labels=2)
    with pytest.raises(ValueError, match="one per point"):
        CellList.of(x, y, z, label=np.zeros(9, int), n_labels=2)


def test_count_within_is_inclusive():
    x, y = np.array([0.0, 3.0, 0.0, 6.0]), np.array([0.0, 4.0, 5.0, 0.0])
    cells = CellList.of(x, y, min_cell=5.0)
    query = np.flatnonzero(cells.order == 0)  # the point at the origin
    assert cells.count(query, 5.0).tolist() == [[3]]  # itself and two at exactly 5, not 6


def test_nearest_by_sweep_matches_brute_force():
    rng = np.random.default_rng(6)
    x, y, z = (rng.uniform(0, 1000, 2000) for _ in range(3))
    group, ids = rng.integers(0, 3, 2000), np.arange(2000)
    order = np.argsort(x)
    q = rng.choice(2000, 50, replace=False)
    bound = np.where(np.arange(50) % 2, np.inf, rng.uniform(5, 60, 50))
    got = nearest_by_sweep(x[q], y[q], z[q], group[q], ids[q], bound, x[order], y[order],
                           z[order], group[order], ids[order])
    d = np.sqrt((x[q, None] - x) ** 2 + (y[q, None] - y) ** 2 + (z[q, None] - z) ** 2)
    d[(group[q, None] != group) | (ids[q, None] == ids)] = np.inf
    expected = np.minimum(d.min(axis=1), bound)
    np.testing.assert_allclose(got, expected, rtol=1e-12)
