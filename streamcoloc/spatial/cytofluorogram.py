"""The cytofluorogram (scatter plot of b against a) as a joint histogram.

Instead of one point per voxel, the voxels are counted in a ``bins × bins``
table, so the plot of a volume of any size costs one table.  Alongside come
the orthogonal regression line of b on a (Fiji Coloc 2's
``AutoThresholdRegression``; Costes et al. 2004, Biophys. J. 86:3993) and the
thresholds, Costes' by default (:func:`streamcoloc.costes_threshold`).

Reads: one for the ranges, means and moments of the measured voxels (the
line), one for the table, plus :func:`streamcoloc.costes_threshold`'s own
(one for integer data, two for float data) when Costes thresholds are asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ..analysis import costes_threshold
from ..engine.passes import run_pass
from ..stats import dtypes
from ..stats.base import Statistic
from ..stats.costes import CostesResult
from . import kernels
from .bins import check_bins, intensity_edges
from .pair import first_read, pair_of


@dataclass(frozen=True)
class Cytofluorogram:
    """Joint histogram of the measured voxels and the lines to draw on it.

    counts : int64 (len(edges_a) − 1, len(edges_b) − 1); ``counts[i, j]``
        voxels with a in bin i and b in bin j (as numpy.histogram2d(a, b))
    edges_a, edges_b : bin edges (see :func:`.bins.intensity_edges`)
    slope, intercept : orthogonal regression b = slope·a + intercept
    threshold_a, threshold_b : thresholds (NaN: none)
    pearson : Pearson's r of the measured voxels
    n : measured voxels
    costes : the Costes walk when the thresholds are Costes', else None
    """

    counts: np.ndarray
    edges_a: np.ndarray
    edges_b: np.ndarray
    slope: float
    intercept: float
    threshold_a: float
    threshold_b: float
    pearson: float
    n: int
    costes: CostesResult | None = None


def cytofluorogram(a, b, mask=None, bins: int = 256, threshold="costes",
                   costes_method: str = "coloc2") -> Cytofluorogram:
    """Joint histogram of two channels with the regression line and thresholds.

    Parameters
    ----------
    a, b : array-like (numpy, dask, zarr or xarray) of the same shape
    mask : array-like of the same shape, optional (nonzero = inside)
    bins : bins per channel over the channel's range (integer data: bins of
        a whole number of values, at most ``bins``; :mod:`.bins`)
    threshold : 'costes' (default: :func:`streamcoloc.costes_threshold` with
        ``costes_method``), a pair (T_a, T_b) in data units, or None
    costes_method : a Costes method name (see :func:`streamcoloc.costes_threshold`)

    Voxels with NaN/Inf in a or b, or outside the mask, are not counted.
    """
    bins = check_bins(bins)
    pair = pair_of(a, b, mask)
    summary = first_read(pair)
    edges_a = intensity_edges(*summary.range_a, bins, pair.integer)
    edges_b = intensity_edges(*summary.range_b, bins, pair.integer)
    (counts,) = run_pass([_joint_statistic(edges_a, edges_b)], pair.layout)
    costes = None
    if isinstance(threshold, str):
        if threshold != "costes":
            raise ValueError(f"threshold must be 'costes', a pair (T_a, T_b) or None, got "
                             f"{threshold!r}")
        costes = costes_threshold(a, b, mask=mask, method=costes_method)
        thresholds = (costes.threshold_a, costes.threshold_b)
    elif threshold is None:
        thresholds = (np.nan, np.nan)
    else:
        thresholds = tuple(float(t) for t in threshold)
        if len(thresholds) != 2:
            raise ValueError(f"threshold needs two values (T_a, T_b), got {threshold!r}")
    return Cytofluorogram(counts, edges_a, edges_b, summary.slope, summary.intercept,
                          float(thresholds[0]), float(thresholds[1]), summary.pearson,
                          summary.n, costes)


def _joint_chunk(channels, regions, edges_a, edges_b):
    a, b = dtypes.kernel_channels(channels)
    counts = np.zeros((edges_a.size - 1, edges_b.size - 1), np.int64)
    kernels.joint_counts(a[0], b[0], regions.start, regions.stop, edges_a, edges_b, counts)
    return counts


def _sum(records):
    return np.sum(records, axis=0)


def _identity(record):
    return record


def _joint_statistic(edges_a, edges_b) -> Statistic:
    return Statistic("cytofluorogram", partial(_joint_chunk, edges_a=edges_a, edges_b=edges_b),
                     _sum, _identity)
