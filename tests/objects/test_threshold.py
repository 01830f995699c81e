"""Streamed thresholds equal scikit-image's on the whole image (or the mask)."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest
from skimage import filters

from streamcoloc.objects.threshold import channel_threshold


def _image(dtype, seed=0, shape=(9, 20, 30)):
    rng = np.random.default_rng(seed)
    image = rng.gamma(2.0, 300.0, shape)
    image[:, 5:12, 8:20] += 1500  # a bright object
    if np.dtype(dtype).kind == "f":
        return image.astype(dtype) / 7.3
    return np.clip(image, 0, np.iinfo(dtype).max).astype(dtype)


def _threshold(image, method, chunks=(4, 7, 11), mask=None, **kwargs):
    data = da.from_array(image, chunks=chunks)
    mask = None if mask is None else da.from_array(mask, chunks=chunks)
    return channel_threshold(data, mask, method, **kwargs)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle", "li", "mean"])
def test_integer_images(dtype, method):
    image = _image(dtype)
    expected = getattr(filters, f"threshold_{method}")(image)
    for chunks in [(4, 7, 11), (9, 20, 30), (1, 3, 30)]:
        assert _threshold(image, method, chunks) == pytest.approx(expected, rel=1e-12, abs=0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", ["otsu", "yen", "isodata", "triangle"])
def test_float_images_bin_like_scikit_image(dtype, method):
    image = _image(dtype, seed=1)
    expected = getattr(filters, f"threshold_{method}")(image)
    for chunks in [(4, 7, 11), (2, 20, 3)]:
        assert _threshold(image, method, chunks) == expected  # the same bin centre


def test_float_mean_and_percent_of_max():
    image = _image(np.float32, seed=2)
    assert _threshold(image, "mean") == pytest.approx(float(np.mean(image, dtype=np.float64)),
                                                      rel=1e-12)
    assert _threshold(image, "percent-of-max", percent_of_max=20) == pytest.approx(
        0.2 * float(image.max()))


def test_integer_percentile():
    image = _image(np.uint16, seed=3)
    assert _threshold(image, "percentile", percentile=90) == pytest.approx(
        np.percentile(image, 90), rel=1e-12)


def test_mask_and_non_finite_values():
    image = _image(np.float64, seed=4)
    mask = np.zeros(image.shape, bool)
    mask[2:8, 3:18, 5:25] = True
    image[0, 0, :4] = [np.nan, np.inf, -np.inf, np.nan]  # outside the mask anyway
    assert _threshold(image, "otsu", mask=mask) == filters.threshold_otsu(image[mask])
    integer = _image(np.uint16, seed=4)
    assert _threshold(integer, "li", mask=mask) == pytest.approx(
        filters.threshold_li(integer[mask]), rel=1e-12)
    image[mask] = np.nan  # non-finite voxels are left out
    with pytest.raises(ValueError, match="no finite value"):
        _threshold(image, "otsu", mask=mask)


def test_constant_images_and_errors():
    assert _threshold(np.full((3, 4, 5), 2.5), "otsu", (2, 2, 2)) == 2.5
    assert _threshold(np.full((3, 4, 5), 9, np.uint8), "yen", (2, 2, 2)) == 9
    with pytest.raises(ValueError, match="no exact streamed form"):
        _threshold(_image(np.float32), "li")
    with pytest.raises(ValueError, match="unknown threshold method"):
        _threshold(_image(np.uint8), "bogus")
    wide = np.array([[0, 2**30]], np.int32)
    with pytest.raises(ValueError, match="pass threshold="):
        _threshold(wide, "otsu", (1, 1))
