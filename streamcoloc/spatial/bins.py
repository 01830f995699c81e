"""Bin edges of the diagnostic histograms (cytofluorogram, ICA).

Bins follow numpy.histogram2d's rule: bin k holds edges[k] <= v < edges[k+1],
the last bin also holds its upper edge (the kernels' ``_bin`` does the same,
so counts equal numpy.histogram2d's with the same edges).
"""

from __future__ import annotations

from math import ceil

import numpy as np

#: Most bins per axis (a 4096 × 4096 table of int64 is 128 MiB per task).
MAX_BINS = 4096


def check_bins(bins) -> int:
    if not isinstance(bins, (int, np.integer)) or not 1 <= bins <= MAX_BINS:
        raise ValueError(f"bins must be an integer from 1 to {MAX_BINS}, got {bins!r}")
    return int(bins)


def intensity_edges(low: float, high: float, bins: int, integer: bool) -> np.ndarray:
    """Edges covering [low, high].

    Integer data: bins of a whole number ``w`` of integer values,
    w = ⌈(high − low + 1) / bins⌉, starting at ``low`` (at most ``bins`` bins;
    each integer value falls in exactly one bin, none at an edge's rounding).
    Float data: ``bins`` equal bins from low to high.  A constant channel
    gets one bin around its value.
    """
    if integer:
        width = max(1, ceil((high - low + 1) / bins))
        count = ceil((high - low + 1) / width)
        return low + width * np.arange(count + 1, dtype=np.float64)
    if high > low:
        return np.linspace(low, high, bins + 1)
    return np.array([low - 0.5, low + 0.5])


def symmetric_edges(limit: float, bins: int) -> np.ndarray:
    """``bins`` equal bins over [−limit, limit] (limit 1 when 0), so 0 lies
    at the centre of the axis, as JACoP draws the ICA plots."""
    limit = limit if limit > 0 else 1.0
    return np.linspace(-limit, limit, bins + 1)
