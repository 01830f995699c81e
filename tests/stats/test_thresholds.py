"""Automatic thresholds from histograms equal scikit-image's on the voxels."""

from __future__ import annotations

import numpy as np
import pytest
from skimage import filters

from streamcoloc.stats.thresholds import AUTO_METHODS, auto_threshold


def _image(seed):
    rng = np.random.default_rng(seed)
    background = rng.normal(100, 15, 4000)
    foreground = rng.normal(rng.integers(250, 1500), 60, rng.integers(200, 2500))
    return np.clip(np.concatenate([background, foreground]), 0, 4095).astype(np.uint16)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("method", ["otsu", "li", "triangle", "yen", "isodata", "mean"])
def test_equal_to_scikit_image_on_integer_data(seed, method):
    image = _image(seed)
    counts = np.bincount(image - image.min())
    values = np.arange(image.min(), image.max() + 1)
    expected = getattr(filters, f"threshold_{method}")(image)
    assert auto_threshold(counts, values, method) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("q", [0, 2.5, 50, 97.5, 100])
def test_percentile_and_percent_of_max(q):
    image = _image(1)
    counts = np.bincount(image - image.min())
    values = np.arange(image.min(), image.max() + 1)
    assert auto_threshold(counts, values, "percentile", percentile=q) == pytest.approx(
        np.percentile(image, q), rel=1e-12)
    assert auto_threshold(counts, values, "percent-of-max", percent_of_max=q) == pytest.approx(
        q / 100 * image.max())


def test_edge_cases():
    assert np.isnan(auto_threshold(np.zeros(5), np.arange(5), "otsu"))
    for method in AUTO_METHODS:
        value = auto_threshold(np.array([0, 7, 0]), np.array([3.0, 4.0, 5.0]), method)
        expected = 4.0 * 0.15 if method == "percent-of-max" else 4.0  # skimage: the value
        assert value == pytest.approx(expected)
    with pytest.raises(ValueError, match="unknown threshold method"):
        auto_threshold(np.ones(3), np.arange(3), "bogus")
