"""Per-label kernels of the object table against numpy."""

from __future__ import annotations

import numpy as np

from streamcoloc.objects import kernels


def test_dense_index_and_pair_counts():
    labels = np.array([0, 5, 5, 9, 9, 9, 0, 5, 2, -1, -1], np.int64)
    index, ids, n_negative = kernels.dense_index(labels)
    assert ids.tolist() == [5, 9, 2] and n_negative == 2
    assert index.tolist() == [-1, 0, 0, 1, 1, 1, -1, 0, 2, -1, -1]
    other = np.array([0, 1, 1, 1, 1, 0, 1, 1, 1, 1, 1], np.int64)
    index_b, ids_b, _ = kernels.dense_index(other)
    a, b, count = kernels.pair_counts(index, index_b, ids_b.size)
    found = sorted(zip(ids[a].tolist(), ids_b[b].tolist(), count.tolist()))
    assert found == [(2, 1, 1), (5, 1, 3), (9, 1, 2)]


def test_region_moments():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 4, (3, 4, 5)).astype(np.int32)
    image = rng.random((3, 4, 5))
    index, ids, _ = kernels.dense_index(labels.ravel())
    count, coords, mass, mass_coords = kernels.region_moments(
        index.reshape(labels.shape), image, ids.size)
    for r, i in enumerate(ids):
        voxels = np.argwhere(labels == i)
        weights = image[labels == i]
        assert count[r] == len(voxels)
        np.testing.assert_array_equal(coords[r], voxels.sum(axis=0))
        np.testing.assert_allclose(mass[r], weights.sum(), rtol=1e-14)
        np.testing.assert_allclose(mass_coords[r], (weights[:, None] * voxels).sum(axis=0),
                                   rtol=1e-14)
