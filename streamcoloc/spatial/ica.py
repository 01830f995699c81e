"""Li's intensity correlation analysis (ICA), as histograms.

Li et al. (2004) J. Neurosci. 24:4070 plot, for each channel, the intensity
of every voxel against the product of the channels' deviations from their
means, (a − ā)(b − b̄): colocalized channels lean to the right (positive
products), segregated ones to the left.  Here each plot is a 2-D histogram
(voxel counts by intensity bin and product bin), so a volume of any size
costs two tables, and the intensity correlation quotient ICQ comes from the
same read.

Normalization ``'jacop'`` (default) draws what JACoP's ``ICA()`` draws
(Bolte & Cordelières 2006): intensities (a − min_a) / max_a and products of
those normalized values, i.e. (a − ā)(b − b̄) / (max_a · max_b); ``None``
keeps data units.  Means, minima and maxima are over the measured voxels.

Reads: one for the means and ranges, one for the histograms and the signs.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from ..engine.passes import run_pass
from ..stats import dtypes
from ..stats.base import Statistic
from ..stats.joint import ICQ_CONVENTIONS, icq_from_counts
from . import kernels
from .bins import check_bins, intensity_edges, symmetric_edges
from .pair import first_read, pair_of

NORMALIZATIONS = ("jacop", None)


@dataclass(frozen=True)
class ICAResult:
    """Li's ICA of two channels.

    counts_a : int64 (len(edges_a) − 1, len(edges_product) − 1); voxels by
        intensity of a (rows) and deviation product (columns); counts_b alike
    edges_a, edges_b : intensity bin edges (normalized or data units)
    edges_product : product bin edges, symmetric about 0
    icq : Li's ICQ in ``icq_convention``
    n, n_positive, n_zero : measured voxels, and those whose product
        (a − ā)(b − b̄) is > 0 and = 0
    mean_a, mean_b : the means (data units)
    normalize : 'jacop' or None
    """

    counts_a: np.ndarray
    counts_b: np.ndarray
    edges_a: np.ndarray
    edges_b: np.ndarray
    edges_product: np.ndarray
    icq: float
    n: int
    n_positive: int
    n_zero: int
    mean_a: float
    mean_b: float
    normalize: str | None
    icq_convention: str


def li_ica(a, b, mask=None, bins: int = 256, normalize="jacop",
           icq_convention: str = "coloc2") -> ICAResult:
    """Li's intensity correlation analysis: two histograms and the ICQ.

    For each channel, a ``bins × bins`` histogram of intensity against
    p = (a − ā)(b − b̄) over the measured voxels (inside ``mask``, finite in
    both channels), with ā, b̄ their means.  ``normalize='jacop'``: the
    intensity is (a − min_a)/max_a and p is divided by max_a·max_b (JACoP's
    plots; needs max > 0); ``None``: data units (integer data then get bins
    of whole values, :func:`.bins.intensity_edges`).  The product axis spans
    ±max|p| over the channels' ranges, symmetric about 0.

    ICQ = share of voxels with p > 0, minus 0.5 (Li et al. 2004), in the
    conventions of :func:`streamcoloc.li_icq`: 'coloc2' (p = 0 counts as
    positive), 'jacop' (only p > 0), 'napari' (p = 0 left out).
    """
    bins = check_bins(bins)
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize must be one of {NORMALIZATIONS}, got {normalize!r}")
    if icq_convention not in ICQ_CONVENTIONS:
        raise ValueError(f"unknown icq_convention {icq_convention!r}; choose from "
                         f"{ICQ_CONVENTIONS}")
    pair = pair_of(a, b, mask)
    s = first_read(pair)
    means = np.array([s.mean_a, s.mean_b])
    if normalize == "jacop":
        if not (s.range_a[1] > 0 and s.range_b[1] > 0):
            raise ValueError("JACoP's normalization divides by each channel's maximum, which "
                             "must be > 0; use normalize=None")
        offsets = np.array([s.range_a[0], s.range_b[0]])
        divisors = np.array([s.range_a[1], s.range_b[1]])
        edges_a = np.linspace(0.0, (s.range_a[1] - s.range_a[0]) / s.range_a[1], bins + 1)
        edges_b = np.linspace(0.0, (s.range_b[1] - s.range_b[0]) / s.range_b[1], bins + 1)
    else:
        offsets, divisors = np.zeros(2), np.ones(2)
        edges_a = intensity_edges(*s.range_a, bins, pair.integer)
        edges_b = intensity_edges(*s.range_b, bins, pair.integer)
    reach_a = max(abs(s.range_a[0] - s.mean_a), abs(s.range_a[1] - s.mean_a))
    reach_b = max(abs(s.range_b[0] - s.mean_b), abs(s.range_b[1] - s.mean_b))
    edges_p = symmetric_edges(reach_a * reach_b / (divisors[0] * divisors[1]), bins)
    statistic = Statistic("ica", partial(_ica_chunk, means=means, offsets=offsets,
                                         divisors=divisors,
                                         edges=(edges_a, edges_b, edges_p)), _sum_each, _identity)
    (counts_a, counts_b, signs) = run_pass([statistic], pair.layout)[0]
    n, positive, zero = (int(v) for v in signs)
    icq = icq_from_counts(positive, zero, n, icq_convention)
    return ICAResult(counts_a, counts_b, edges_a, edges_b, edges_p, icq, n, positive, zero,
                     s.mean_a, s.mean_b, normalize, icq_convention)


def _ica_chunk(channels, regions, means, offsets, divisors, edges):
    a, b = dtypes.kernel_channels(channels)
    edges_a, edges_b, edges_p = edges
    counts_a = np.zeros((edges_a.size - 1, edges_p.size - 1), np.int64)
    counts_b = np.zeros((edges_b.size - 1, edges_p.size - 1), np.int64)
    signs = np.zeros(3, np.int64)
    kernels.ica_counts(a[0], b[0], regions.start, regions.stop, means, offsets, divisors,
                       edges_a, edges_b, edges_p, counts_a, counts_b, signs)
    return counts_a, counts_b, signs


def _sum_each(records):
    return tuple(np.sum(parts, axis=0) for parts in zip(*records))


def _identity(record):
    return record
