"""Two channels and an optional mask, ready for a spatial diagnostic.

:func:`pair_of` validates and aligns them on one block grid (same shape,
numeric dtypes; the mask is any array of the image's shape, nonzero =
inside).  :func:`first_read` reads them once for what the diagnostics need
before their own read: the number of measured voxels, the means, the range
of each channel, Pearson's r and the orthogonal regression line.

A voxel is **measured** when it lies inside the mask (every voxel without
one) and both channels are finite there (as :func:`streamcoloc.pearson`).
Integer data of at most 16 bits are summed exactly (:mod:`.stats.moments`).
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np

from ..engine.inputs import as_input, make_layout
from ..engine.passes import Layout, run_pass
from ..stats import dtypes, extrema, metrics, moments
from ..stats.base import Statistic
from ..stats.voxels import VoxelRules
from .kernels import run_ranges


@dataclass(frozen=True)
class Pair:
    """Aligned channels ``a``, ``b`` (dask arrays of the spatial shape, one
    block grid), the boolean ``mask`` on the same grid (or None), the
    engine's :class:`~streamcoloc.engine.passes.Layout` of them, and the dim
    names of xarray input (or None)."""

    a: da.Array
    b: da.Array
    mask: da.Array | None
    layout: Layout
    dims: tuple | None

    @property
    def exact(self) -> bool:
        """Integer data of at most 16 bits: sums are exact int64."""
        return dtypes.is_exact([self.a.dtype, self.b.dtype])

    @property
    def integer(self) -> bool:
        """Integer (or bool) data of any width: values lie on integers."""
        return all(np.dtype(d).kind in "biu" for d in (self.a.dtype, self.b.dtype))


def pair_of(a, b, mask=None) -> Pair:
    """Wrap and align two single-channel images (numpy, dask, zarr or
    xarray) and an optional mask of the same shape."""
    sources = [as_input(a, "a"), as_input(b, "b")]
    labels = None if mask is None else as_input(mask, "mask").data[0].astype(bool)
    layout = make_layout(sources, ["a", "b"], labels,
                         max_block_voxels=moments.MAX_CHUNK_VOXELS)
    return Pair(layout.sources[0][0], layout.sources[1][0], layout.labels, layout,
                sources[0].dims)


@dataclass(frozen=True)
class Summary:
    """First-read statistics of the measured voxels."""

    n: int
    mean_a: float
    mean_b: float
    range_a: tuple[float, float]
    range_b: tuple[float, float]
    pearson: float
    slope: float
    intercept: float


def first_read(pair: Pair) -> Summary:
    """Read the pair once: moments and ranges of the measured voxels.

    The line is the orthogonal (total least squares) regression of b on a,
    as :func:`streamcoloc.costes_regression` and Fiji Coloc 2.  Raises
    ValueError when no voxel is measured.
    """
    options = moments.MomentOptions(np.array([[0, 1]]), VoxelRules(), np.full((1, 2), np.nan))
    found, ranges = run_pass([moments.statistic(options), _range_statistic()], pair.layout)
    if len(found.keys) == 0 or found.n[0, 0] == 0:
        raise ValueError("no voxel to measure: the mask selects none, or every voxel has a "
                         "NaN/Inf in a or b")
    r, _ = metrics.pearson(found)
    slope, intercept = metrics.orthogonal_regression(found)
    return Summary(int(found.n[0, 0]), float(found.mean_a[0, 0]), float(found.mean_b[0, 0]),
                   ranges[0], ranges[1], float(r[0, 0]), float(slope[0, 0]),
                   float(intercept[0, 0]))


def _range_chunk(channels, regions):
    a, b = dtypes.kernel_channels(channels)
    out = np.array([[np.inf, -np.inf], [np.inf, -np.inf]])
    run_ranges(a[0], b[0], regions.start, regions.stop, out)
    return out


def _range_statistic() -> Statistic:
    """(min, max) of each channel over the measured voxels."""
    return Statistic("ranges", _range_chunk, extrema.combine, extrema.finalize)
