"""Per-channel automatic thresholds from a value histogram (one read).

For integer data scikit-image builds exactly our histogram (one bin per
integer between the region's min and max), so these thresholds equal
``skimage.filters.threshold_*`` on the same voxels: otsu, yen and isodata are
scikit-image's own functions given the histogram; li, triangle and mean
follow its code on the histogram.  ``percentile`` is numpy's linear
interpolation between order statistics; ``percent-of-max`` is CellProfiler's
"threshold as percentage of maximum intensity".

Float data are histogrammed on a power-of-two grid (:class:`~.voxels.Grid`),
whose cells stand for their lower edge: thresholds are then those of the data
rounded down to the grid, not of scikit-image's 256 bins.

Thresholds are returned in data units.  scikit-image separates foreground as
``image > threshold``; the Manders gate then applies the chosen convention's
operator (Coloc 2: b ≥ T_b and b > 0).
"""

from __future__ import annotations

import numpy as np

AUTO_METHODS = ("otsu", "li", "triangle", "yen", "isodata", "mean", "percentile",
                "percent-of-max")


def auto_threshold(counts: np.ndarray, values: np.ndarray, method: str, *,
                   percentile: float = 50.0, percent_of_max: float = 15.0) -> float:
    """The ``method`` threshold of the voxels counted in ``counts`` at data
    ``values`` (ascending).  NaN when no voxel is counted."""
    counts = np.asarray(counts)
    present = np.flatnonzero(counts)
    if present.size == 0:
        return np.nan
    counts = counts[present[0]:present[-1] + 1]
    values = np.asarray(values, dtype=np.float64)[present[0]:present[-1] + 1]
    if values.size == 1 and method != "percent-of-max":  # a constant image: its value
        return float(values[0])
    if method in ("otsu", "yen", "isodata"):
        from skimage import filters

        function = getattr(filters, f"threshold_{method}")
        return float(function(hist=(counts, values)))
    if method == "percentile":
        return _percentile(counts, values, percentile)
    if method == "percent-of-max":
        return float(percent_of_max / 100.0 * values[-1])
    functions = {"li": _li, "triangle": _triangle, "mean": _mean}
    if method not in functions:
        raise ValueError(f"unknown threshold method {method!r}; choose from {AUTO_METHODS}")
    return float(functions[method](counts, values))


def _mean(counts, values) -> float:
    """``numpy.mean`` of the voxels (skimage ``threshold_mean``)."""
    return float((counts * values).sum() / counts.sum())


def _li(counts, values) -> float:
    """skimage ``threshold_li`` for integer images: minimum cross-entropy
    iteration on the histogram of the values shifted to start at 0, with
    float32 weights and tolerance 0.5 (Li & Lee 1993; Li & Tam 1998)."""
    if values.size == 1:
        return float(values[0])
    low = values[0]
    centers = values - low
    weights = counts.astype(np.float32)
    tolerance = 0.5
    t_next = float((counts * centers).sum() / counts.sum())
    t_current = -2 * tolerance
    while abs(t_next - t_current) > tolerance:
        t_current = t_next
        foreground = centers > t_current
        mean_fore = np.average(centers[foreground], weights=weights[foreground])
        mean_back = np.average(centers[~foreground], weights=weights[~foreground])
        if mean_back == 0:
            break
        t_next = (mean_back - mean_fore) / (np.log(mean_back) - np.log(mean_fore))
    return float(t_next + low)


def _triangle(counts, values) -> float:
    """skimage ``threshold_triangle`` (Zack et al. 1977; ImageJ's variant)."""
    hist = counts.astype(np.float64)
    n_bins = len(hist)
    peak = int(np.argmax(hist))
    height = hist[peak]
    low, high = np.flatnonzero(hist)[[0, -1]]
    if low == high:
        return float(values[low])
    flip = peak - low < high - peak
    if flip:
        hist = hist[::-1]
        low = n_bins - high - 1
        peak = n_bins - peak - 1
    width = peak - low
    x = np.arange(width)
    y = hist[x + low]
    norm = np.sqrt(height**2 + width**2)
    length = (height / norm) * x - (width / norm) * y
    level = int(np.argmax(length)) + low
    if flip:
        level = n_bins - level - 1
    return float(values[level])


def _percentile(counts, values, q: float) -> float:
    """``numpy.percentile(voxels, q)`` (linear interpolation) from counts."""
    n = int(counts.sum())
    position = (n - 1) * q / 100.0
    below = int(np.floor(position))
    ends = np.cumsum(counts)
    lower = values[np.searchsorted(ends, below, side="right")]
    upper = values[np.searchsorted(ends, min(below + 1, n - 1), side="right")]
    return float(lower + (upper - lower) * (position - below))
