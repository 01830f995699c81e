"""Run-based labelling of one block equals scipy.ndimage.label, numbering included."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from streamcoloc.objects import runs


def _label(foreground, connectivity):
    block = np.ascontiguousarray(foreground, np.uint8).reshape(
        (1,) * (3 - foreground.ndim) + foreground.shape)
    row_start, start, stop = runs.foreground_runs(block)
    run_label, n = runs.label_runs(row_start, start, stop, block.shape[:2], connectivity)
    out = np.zeros(block.shape, np.int32)
    runs.paint(row_start, start, stop, run_label, out)
    return out.reshape(foreground.shape), n, runs.run_sizes(start, stop, run_label, n)


@pytest.mark.parametrize("connectivity", [1, 2, 3])
@pytest.mark.parametrize("density", [0.2, 0.45, 0.7])
def test_3d_equals_scipy(connectivity, density):
    rng = np.random.default_rng(int(density * 100) + connectivity)
    foreground = rng.random((7, 9, 11)) < density
    labels, n, sizes = _label(foreground, connectivity)
    expected, n_expected = ndimage.label(
        foreground, ndimage.generate_binary_structure(3, connectivity))
    assert n == n_expected
    np.testing.assert_array_equal(labels, expected)  # same numbering: raster order
    np.testing.assert_array_equal(sizes[1:], np.bincount(expected.ravel())[1:])
    assert sizes[0] == 0


@pytest.mark.parametrize("connectivity", [1, 2])
def test_2d_and_1d_equal_scipy(connectivity):
    rng = np.random.default_rng(connectivity)
    foreground = ndimage.gaussian_filter(rng.random((40, 50)), 1) > 0.5
    labels, n, _ = _label(foreground, connectivity)
    expected, _ = ndimage.label(foreground, ndimage.generate_binary_structure(2, connectivity))
    np.testing.assert_array_equal(labels, expected)
    line = rng.random(50) < 0.5
    np.testing.assert_array_equal(_label(line, 1)[0], ndimage.label(line)[0])


def test_more_runs_than_first_guess():
    """A checkerboard has a run per foreground voxel: the run arrays grow."""
    foreground = (np.indices((4, 8, 64)).sum(axis=0) % 2).astype(bool)
    labels, n, _ = _label(foreground, 1)
    assert n == foreground.sum()  # no two voxels share a face
    labels, n, _ = _label(foreground, 3)
    np.testing.assert_array_equal(labels, ndimage.label(
        foreground, ndimage.generate_binary_structure(3, 3))[0])


def test_empty_and_full_blocks():
    assert _label(np.zeros((2, 3, 4), bool), 3)[1] == 0
    labels, n, sizes = _label(np.ones((2, 3, 4), bool), 1)
    assert n == 1 and (labels == 1).all() and sizes[1] == 24
