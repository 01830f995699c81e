"""The foreground threshold of one channel, from a histogram built block by block.

The histogram is the one scikit-image builds for the whole image, so the
threshold equals ``skimage.filters.threshold_<method>(image)`` (restricted to
the mask's voxels):

* **integer** images: one bin per integer between the minimum and maximum
  (one read); every method of :data:`~streamcoloc.stats.thresholds.AUTO_METHODS`
  (:func:`~streamcoloc.stats.thresholds.auto_threshold`).
* **float** images: 256 bins of ``numpy.histogram`` over [min, max], in the
  image's dtype (two reads: the range, then the bins); otsu, yen, isodata and
  triangle on those bins, ``mean`` from the sum, ``percent-of-max`` from the
  maximum.  ``li`` (which iterates on the raw values with a tolerance of half
  the smallest gap between distinct values) and ``percentile`` have no exact
  streamed form for floats: pass ``threshold=`` instead.

Non-finite float values are left out (scikit-image fails on them).  Objects
are the voxels ``image > threshold`` (scikit-image's convention).
"""

from __future__ import annotations

import dask
import numpy as np

from ..stats.thresholds import AUTO_METHODS, auto_threshold
from . import kernels
from .blocks import one_record, record_array, tree_reduce

FLOAT_BINS = 256
FLOAT_METHODS = ("otsu", "yen", "isodata", "triangle", "mean", "percent-of-max")
#: Widest integer histogram (int64 counts: 128 MiB).
MAX_INTEGER_BINS = 2**24


def channel_threshold(data, mask, method: str, *, percentile: float = 50.0,
                      percent_of_max: float = 15.0) -> float:
    """The ``method`` threshold of a dask array's voxels (where ``mask``, a
    dask array on the same block grid or None, is nonzero)."""
    if method not in AUTO_METHODS:
        raise ValueError(f"unknown threshold method {method!r}; choose from {AUTO_METHODS}")
    if data.dtype.kind in "biu":
        low, counts = _integer_histogram(data, mask)
        values = np.arange(low, low + counts.size)
        return auto_threshold(counts, values, method, percentile=percentile,
                              percent_of_max=percent_of_max)
    if method not in FLOAT_METHODS:
        raise ValueError(f"threshold method {method!r} has no exact streamed form for float "
                         f"images (choose from {FLOAT_METHODS}, or pass threshold=)")
    return _float_threshold(data, mask, method, percent_of_max)


def _flat_mask(mask_block) -> np.ndarray:
    """A mask block as raveled uint8 (empty: no mask)."""
    if mask_block is None:
        return np.empty(0, np.uint8)
    return np.ascontiguousarray(mask_block != 0).view(np.uint8).ravel()


def _integer_record(block, mask_block):
    values, mask = kernels.integer_block(block), _flat_mask(mask_block)
    n, low, high = kernels.integer_range(values, mask)
    if n == 0:
        return one_record((0, np.zeros(0, np.int64)), block.ndim)
    _check_bins(high - low + 1)
    counts = np.zeros(high - low + 1, np.int64)
    kernels.count_integers(values, mask, low, counts)
    return one_record((int(low), counts), block.ndim)


def _merge_integer(records):
    present = [(low, counts) for low, counts in records if counts.size]
    if not present:
        return 0, np.zeros(0, np.int64)
    low = min(lo for lo, _ in present)
    high = max(lo + c.size for lo, c in present)
    _check_bins(high - low)
    merged = np.zeros(high - low, np.int64)
    for lo, counts in present:
        merged[lo - low:lo - low + counts.size] += counts
    return low, merged


def _check_bins(n_bins):
    if n_bins > MAX_INTEGER_BINS:
        raise ValueError(f"the image's integer values span {n_bins} levels (more than "
                         f"{MAX_INTEGER_BINS}): pass threshold= or a float image")


def _integer_histogram(data, mask):
    (record,) = dask.compute(tree_reduce(record_array(_integer_record, data, mask),
                                         _merge_integer))
    if record[1].size == 0:
        raise ValueError("no voxel to threshold: the mask selects no voxel")
    return record


def _finite_values(block, mask_block):
    values = np.asarray(block).ravel()
    keep = np.isfinite(values)
    if mask_block is not None:
        keep &= np.asarray(mask_block).ravel() != 0
    return values[keep]


def _float_range(block, mask_block):
    """(n, min, max, sum) of the finite voxels (min/max in the image dtype)."""
    values = _finite_values(block, mask_block)
    if values.size == 0:
        return one_record((0, None, None, 0.0), block.ndim)
    return one_record((values.size, values.min(), values.max(),
                       float(values.sum(dtype=np.float64))), block.ndim)


def _merge_range(records):
    present = [r for r in records if r[0]]
    if not present:
        return 0, None, None, 0.0
    return (sum(r[0] for r in present), min(r[1] for r in present),
            max(r[2] for r in present), float(sum(r[3] for r in present)))


def _float_counts(block, mask_block, low, high):
    counts, _ = np.histogram(_finite_values(block, mask_block), bins=FLOAT_BINS,
                             range=(low, high))
    return one_record(counts, block.ndim)


def _sum_counts(records):
    return np.sum(records, axis=0)


def _float_threshold(data, mask, method, percent_of_max) -> float:
    (record,) = dask.compute(tree_reduce(record_array(_float_range, data, mask), _merge_range))
    n, low, high, total = record
    if n == 0:
        raise ValueError("no voxel to threshold: the mask selects no finite value")
    if method == "percent-of-max":
        return float(percent_of_max / 100.0 * high)
    if method == "mean":
        return total / n
    if low == high:  # a constant image: scikit-image returns its value
        return float(low)
    dtype = data.dtype
    low, high = dtype.type(low), dtype.type(high)
    counts = record_array(_float_counts, data, mask, low=low, high=high)
    (counts,) = dask.compute(tree_reduce(counts, _sum_counts))
    # numpy's edges in the image dtype, and scikit-image's bin centres from them
    edges = np.histogram(np.empty(0, dtype), bins=FLOAT_BINS, range=(low, high))[1]
    centers = (edges[:-1] + edges[1:]) / 2.0
    if method == "triangle":
        return auto_threshold(counts, centers, method)
    from skimage import filters

    return float(getattr(filters, f"threshold_{method}")(hist=(counts, centers)))
