"""Label pairs across block faces, edges and corners."""

from __future__ import annotations

import numpy as np
import pytest

from streamcoloc.objects.faces import boundary_planes, forward_offsets, touching_pairs


@pytest.mark.parametrize("ndim, connectivity, expected", [
    (1, 1, 1), (2, 1, 2), (2, 2, 4), (3, 1, 3), (3, 2, 9), (3, 3, 13)])
def test_forward_offsets(ndim, connectivity, expected):
    offsets = forward_offsets(ndim, connectivity)
    assert len(offsets) == expected
    # with the backward offsets, every neighbour block is there exactly once
    both = set(offsets) | {tuple(-d for d in o) for o in offsets}
    assert len(both) == 2 * expected


def _pairs(a, b, delta, connectivity, n_blocks):
    """Pairs between block a at index 0... and block b at index delta."""
    first = tuple(0 if d >= 0 else 1 for d in delta)
    second = tuple(f + d for f, d in zip(first, delta))
    return touching_pairs(boundary_planes(a, first, n_blocks),
                          boundary_planes(b, second, n_blocks), delta, connectivity)


def test_face_pairs_with_and_without_diagonals():
    a = np.zeros((3, 3), np.int32)
    b = np.zeros((3, 3), np.int32)
    a[2, 0] = 1  # last row of a, column 0
    a[2, 2] = 2
    b[0, 1] = 7  # first row of b, column 1: diagonal to both
    b[0, 2] = 8  # face neighbour of a's 2
    assert _pairs(a, b, (1, 0), 1, (2, 1)).tolist() == [[2, 8]]
    assert _pairs(a, b, (1, 0), 2, (2, 1)).tolist() == [[1, 7], [2, 7], [2, 8]]


def test_corner_pairs():
    a = np.zeros((2, 2, 2), np.int32)
    b = np.zeros((2, 2, 2), np.int32)
    a[1, 1, 1] = 5
    b[0, 0, 0] = 6
    n_blocks = (2, 2, 2)
    assert _pairs(a, b, (1, 1, 1), 3, n_blocks).tolist() == [[5, 6]]
    assert _pairs(a, b, (1, 1, 1), 2, n_blocks).size == 0  # corners need connectivity 3
    c = np.zeros((2, 2, 2), np.int32)
    c[0, 1, 0] = 9  # block at δ = (1, -1, 1): a's corner (1, 0, 1) meets c's (0, 1, 0)
    a[1, 0, 1] = 4
    assert _pairs(a, c, (1, -1, 1), 3, n_blocks).tolist() == [[4, 9]]


def test_boundary_planes_only_toward_neighbours():
    labels = np.arange(24).reshape(2, 3, 4)
    planes = boundary_planes(labels, (0, 1, 0), (1, 3, 2))
    assert set(planes) == {(1, 0), (1, 1), (2, 1)}
    np.testing.assert_array_equal(planes[2, 1], labels[:, :, -1])
