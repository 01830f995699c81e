"""Colocalization maps against brute-force numpy windows, on several chunkings."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
import zarr

from streamcoloc.spatial import coloc_map


def brute_local_pearson(a, b, box, mask=None):
    """r over the measured voxels of the box around each measured voxel,
    the box cut at the border; numpy on each window."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    measured = np.isfinite(a) & np.isfinite(b)
    if mask is not None:
        measured &= mask
    out = np.full(a.shape, np.nan)
    radius = [w // 2 for w in box]
    for index in zip(*np.nonzero(measured)):
        window = tuple(slice(max(i - r, 0), i + r + 1) for i, r in zip(index, radius))
        keep = measured[window]
        x, y = a[window][keep], b[window][keep]
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[index] = np.corrcoef(x, y)[0, 1]
    return out


def brute_nmdp(a, b, mask=None):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    measured = np.isfinite(a) & np.isfinite(b) & (True if mask is None else mask)
    mean_a, mean_b = a[measured].mean(), b[measured].mean()
    out = (a - mean_a) * (b - mean_b) / ((a[measured].max() - mean_a)
                                         * (b[measured].max() - mean_b))
    return np.where(measured, out, np.nan)


def assert_map_equal(actual, expected, atol=2e-6):
    np.testing.assert_array_equal(np.isnan(actual), np.isnan(expected))
    np.testing.assert_allclose(actual[~np.isnan(actual)], expected[~np.isnan(expected)],
                               rtol=0, atol=atol)


SHAPE = (5, 13, 11)
CHUNKINGS = [SHAPE, (2, 7, 6), (1, 13, 5), (5, 4, 11), (3, 13, 2)]


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50, SHAPE).astype(np.uint16)
    b = (a + rng.integers(0, 30, SHAPE)).astype(np.uint16)
    b[2, 3:8, 2:6] = 7  # a constant patch across chunk boundaries: NaN windows
    a[:, 6, 4] = 900  # a bright line across every z chunk
    mask = rng.random(SHAPE) > 0.2
    return a, b, mask


@pytest.mark.parametrize("box", [(3, 3, 3), (1, 5, 3), (5, 3, 7)])
@pytest.mark.parametrize("masked", [False, True])
def test_local_pearson_matches_brute_force(images, box, masked):
    a, b, mask = images
    mask = mask if masked else None
    expected = brute_local_pearson(a, b, box, mask)
    for chunks in CHUNKINGS:
        result = coloc_map(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                           kind="local_pearson", window=box, mask=mask)
        assert result.data.chunks == da.from_array(a, chunks=chunks).chunks
        assert_map_equal(result.data.compute(), expected)


def test_local_pearson_float_data_and_nan(images):
    a, b, _ = images
    af = a.astype(np.float64) * 0.01 + 5000.0  # bright, low variance
    bf = b.astype(np.float32)
    af[1, 2, 3] = np.nan
    expected = brute_local_pearson(af, bf, (3, 3, 3))
    for chunks in CHUNKINGS[:3]:
        result = coloc_map(da.from_array(af, chunks=chunks), da.from_array(bf, chunks=chunks),
                           kind="local_pearson", window=3)
        assert_map_equal(result.data.compute(), expected, atol=1e-5)


def test_local_pearson_2d(images):
    a, b, mask = images
    expected = brute_local_pearson(a[0], b[0], (3, 5), mask[0])
    result = coloc_map(da.from_array(a[0], chunks=(4, 3)), da.from_array(b[0], chunks=(4, 3)),
                       kind="local_pearson", window=(3, 5), mask=mask[0])
    assert_map_equal(result.data.compute(), expected)


@pytest.mark.parametrize("masked", [False, True])
def test_nmdp_written_to_zarr_with_the_input_chunks(images, tmp_path, masked):
    a, b, mask = images
    mask = mask if masked else None
    expected = brute_nmdp(a, b, mask)
    for number, chunks in enumerate(CHUNKINGS[:3]):
        path = tmp_path / f"nmdp{number}.zarr"
        result = coloc_map(da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                           kind="nmdp", out=path, mask=mask)
        stored = zarr.open_array(str(path), mode="r")
        assert stored.chunks == chunks and stored.dtype == np.float32
        assert stored.attrs["kind"] == "nmdp"
        assert_map_equal(stored[...], expected)
        assert_map_equal(result.open()[...], expected)


def test_written_local_pearson_map(images, tmp_path):
    a, b, _ = images
    path = tmp_path / "lp.zarr"
    result = coloc_map(da.from_array(a, chunks=(2, 7, 6)), da.from_array(b, chunks=(2, 7, 6)),
                       kind="local_pearson", window=(1, 3, 3), out=path)
    assert_map_equal(zarr.open_array(str(path))[...], brute_local_pearson(a, b, (1, 3, 3)))
    assert result.window == (1, 3, 3)
    with pytest.raises(FileExistsError):
        coloc_map(a, b, kind="local_pearson", out=path)
    coloc_map(a, b, kind="nmdp", out=path, overwrite=True)
    assert zarr.open_array(str(path)).attrs["kind"] == "nmdp"


def test_bad_requests_are_named(images):
    a, b, _ = images
    with pytest.raises(ValueError, match="kind"):
        coloc_map(a, b, kind="pearson")
    with pytest.raises(ValueError, match="odd"):
        coloc_map(a, b, kind="local_pearson", window=4)
    with pytest.raises(ValueError, match="odd"):
        coloc_map(a, b, kind="local_pearson", window=(3, 3))
    with pytest.raises(ValueError, match="exact"):
        coloc_map(a, b, kind="local_pearson", window=33)
    with pytest.raises(ValueError, match="window applies"):
        coloc_map(a, b, kind="nmdp", window=3)
    with pytest.raises(ValueError, match="constant"):
        coloc_map(np.ones(SHAPE), b, kind="nmdp")
    with pytest.raises(ValueError, match="2-D or 3-D"):
        coloc_map(np.ones((2, 2, 2, 2)), np.ones((2, 2, 2, 2)))
    with pytest.raises(ValueError, match="not written"):
        coloc_map(a, b).open()
