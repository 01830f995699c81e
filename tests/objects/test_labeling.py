"""label_objects equals scipy.ndimage.label on the whole array, whatever the blocks."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from streamcoloc.objects import label_objects


def assert_same_objects(labels, expected):
    """Same objects up to their numbering, and ids consecutive from 1."""
    labels = np.asarray(labels)
    np.testing.assert_array_equal(labels > 0, expected > 0)
    inside = expected > 0
    pairs = np.unique(np.stack([labels[inside], expected[inside]]), axis=1)
    n = len(np.unique(expected[inside]))
    assert pairs.shape[1] == n  # one-to-one
    assert len(np.unique(pairs[0])) == n
    np.testing.assert_array_equal(np.unique(labels[inside]), np.arange(1, n + 1))


def _reference(foreground, connectivity, min_size=0):
    expected, _ = ndimage.label(
        foreground, ndimage.generate_binary_structure(foreground.ndim, connectivity))
    if min_size:
        sizes = np.bincount(expected.ravel())
        expected[sizes[expected] < min_size] = 0
    return expected


def _blobs(shape, seed):
    """Smoothed noise and the threshold leaving 30 % foreground (many objects)."""
    image = ndimage.gaussian_filter(np.random.default_rng(seed).random(shape), 1.2)
    return image, np.quantile(image, 0.7)


CHUNKS_3D = [(12, 20, 25), (4, 7, 9), (3, 20, 4), (1, 5, 25), (12, 1, 25)]
CHUNKS_2D = [(40, 50), (7, 9), (1, 50), (40, 3), (13, 17)]


@pytest.mark.parametrize("connectivity", [1, 2, 3])
@pytest.mark.parametrize("chunks", CHUNKS_3D)
def test_3d_equals_scipy(chunks, connectivity):
    image, threshold = _blobs((12, 20, 25), seed=connectivity)
    result = label_objects(da.from_array(image, chunks=chunks), threshold=threshold,
                           connectivity=connectivity)
    expected = _reference(image > threshold, connectivity)
    assert result.n_objects == expected.max() > 3
    assert result.labels.chunks == da.from_array(image, chunks=chunks).chunks
    assert_same_objects(result.labels.compute(), expected)


def test_one_block_numbers_like_scipy():
    image, threshold = _blobs((12, 20, 25), seed=4)
    labels = label_objects(image, threshold=threshold, connectivity=1).labels.compute()
    np.testing.assert_array_equal(labels, _reference(image > threshold, 1))


@pytest.mark.parametrize("connectivity", [1, 2])
@pytest.mark.parametrize("chunks", CHUNKS_2D)
def test_2d_equals_scipy(chunks, connectivity):
    image, threshold = _blobs((40, 50), seed=10 + connectivity)
    result = label_objects(da.from_array(image, chunks=chunks), threshold=threshold,
                           connectivity=connectivity)
    expected = _reference(image > threshold, connectivity)
    assert result.n_objects == expected.max() > 3
    assert_same_objects(result.labels.compute(), expected)


U_AND_SPIRAL = """
.#....#.........
.#....#..######.
.#....#.......#.
.#....#.......#.
.#....#..####.#.
.#....#..#..#.#.
.#....#..#..#.#.
.#....#..#.##.#.
.#....#..#....#.
.#....#..#....#.
.######..#....#.
.........######.
................
..........#.....
#...............
.#..............
"""


def _u_shape_2d():
    """A U whose arms (top blocks) join only in the next row of blocks, a
    spiral crossing block boundaries, a dot, and two voxels touching only
    diagonally: 5 objects with connectivity 1, 4 with 2."""
    rows = U_AND_SPIRAL.split()
    return np.array([[c == "#" for c in row] for row in rows], np.uint8)


@pytest.mark.parametrize("chunks", [(8, 8), (8, 4), (4, 16), (3, 5), (16, 16)])
@pytest.mark.parametrize("connectivity", [1, 2])
def test_u_shapes_join_through_other_blocks(chunks, connectivity):
    image = _u_shape_2d()
    result = label_objects(da.from_array(image, chunks=chunks), threshold=0,
                           connectivity=connectivity)
    expected = _reference(image > 0, connectivity)
    assert result.n_objects == (4 if connectivity == 2 else 5)
    assert_same_objects(result.labels.compute(), expected)


@pytest.mark.parametrize("connectivity", [1, 2, 3])
def test_3d_u_shape_and_diagonal_corner_chain(connectivity):
    image = np.zeros((8, 8, 8), bool)
    image[0:7, 0, 1] = image[0:7, 0, 3] = True  # arms along z in blocks z < 4 ...
    image[6, 0, 1:4] = True  # ... joined in the blocks z >= 4
    for i in range(8):  # a chain of corner contacts through every block corner
        image[i, i, 7 - i] = True
    result = label_objects(da.from_array(image, chunks=(4, 4, 4)), threshold=0.5,
                           connectivity=connectivity)
    expected = _reference(image, connectivity)
    assert result.n_objects == (2 if connectivity == 3 else 9)
    assert_same_objects(result.labels.compute(), expected)


@pytest.mark.parametrize("min_size", [0, 1, 5, 40, 10**6])
def test_min_size_removes_small_objects(min_size):
    image, threshold = _blobs((12, 20, 25), seed=7)
    result = label_objects(da.from_array(image, chunks=(5, 6, 7)), threshold=threshold,
                           min_size=min_size)
    expected = _reference(image > threshold, 3, min_size)
    assert result.n_objects == len(np.unique(expected)) - 1
    assert_same_objects(result.labels.compute(), expected)


def test_mask_restricts_objects_and_threshold():
    from skimage.filters import threshold_otsu

    image = (_blobs((30, 40), seed=3)[0] * 4000).astype(np.uint16)
    mask = np.zeros(image.shape, bool)
    mask[5:25, 8:30] = True
    result = label_objects(da.from_array(image, chunks=(7, 9)), mask=mask)
    assert result.threshold == threshold_otsu(image[mask]) and result.method == "otsu"
    assert_same_objects(result.labels.compute(), _reference((image > result.threshold) & mask, 2))


def test_numpy_xarray_and_zarr_output(tmp_path):
    image, threshold = _blobs((20, 30), seed=5)
    expected = _reference(image > threshold, 2)
    from_numpy = label_objects(image, threshold=threshold)
    assert_same_objects(from_numpy.labels.compute(), expected)
    named = xr.DataArray(image, dims=("y", "x"))
    mask = xr.DataArray(np.ones((30, 20), bool), dims=("x", "y"))  # transposed by name
    assert_same_objects(label_objects(named, threshold=threshold, mask=mask).labels.compute(),
                        expected)
    out = tmp_path / "labels.zarr"
    written = label_objects(da.from_array(image, chunks=(7, 11)), threshold=threshold,
                            out=out)
    assert_same_objects(written.labels.compute(), expected)
    assert written.labels.dtype == np.int32
    with pytest.raises(FileExistsError, match="overwrite"):
        label_objects(image, threshold=0.5, out=out)
    label_objects(image, threshold=0.7, out=out, overwrite=True)


def test_non_finite_values_are_background():
    image, threshold = _blobs((20, 30), seed=6)
    image[3:6, 4:9] = np.nan
    image[10:12, 10:20] = np.inf
    labels = label_objects(da.from_array(image, chunks=(6, 7)),
                           threshold=threshold).labels.compute()
    assert (labels[3:6, 4:9] == 0).all() and (labels[10:12, 10:20] == 0).all()
    assert_same_objects(labels, _reference(np.isfinite(image) & (image > threshold), 2))


def test_constant_image_has_no_objects():
    result = label_objects(np.full((5, 6), 7, np.uint16))
    assert result.threshold == 7 and result.n_objects == 0
    assert not result.labels.compute().any()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(connectivity=0), ValueError, "connectivity"),
    (dict(connectivity=3), ValueError, "connectivity"),
    (dict(min_size=-1), ValueError, "min_size"),
    (dict(threshold=np.nan), ValueError, "NaN"),
    (dict(threshold_method="bogus"), ValueError, "unknown threshold method"),
    (dict(mask=np.ones((5, 5), bool)), ValueError, "mask has shape"),
    (dict(mask=np.ones((4, 5))), TypeError, "mask has dtype"),
    (dict(mask=np.zeros((4, 5), bool)), ValueError, "no voxel"),
])
def test_bad_input(kwargs, error, match):
    with pytest.raises(error, match=match):
        label_objects(np.arange(20, dtype=np.uint8).reshape(4, 5), **kwargs)


def test_bad_images():
    with pytest.raises(TypeError, match="numeric"):
        label_objects(np.ones((3, 3), complex))
    with pytest.raises(ValueError, match="1-D to 3-D"):
        label_objects(np.ones((2, 2, 2, 2)), threshold=0)
