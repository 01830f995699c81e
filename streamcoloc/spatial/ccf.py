"""Van Steensel's cross-correlation function (CCF), streamed with a halo.

For a shift ``l`` along one axis, CCF(l) is Pearson's r of the voxel pairs
``(a[i], b[i + l])`` over every position ``i`` with ``i + l`` inside the
image (no wrap-around), the means recomputed on those pairs: JACoP's
``CCF()`` (Bolte & Cordelières 2006, J. Microsc. 224:213) after van
Steensel et al. (1996) J. Cell Sci. 109:787.  napari-colocalization pairs
``a[i]`` with ``b[i − l]``: its CCF(l) is this CCF(−l).

With a mask, a pair is measured when **both** of its voxels lie inside the
mask (and, as everywhere, both values are finite).

Out of core: each block gets a halo of ``max_shift`` voxels along the shift
axis (:mod:`.halo`), and a Numba kernel adds, for every shift, the sums
n, Σa, Σb, Σa², Σb², Σab of the pairs whose first voxel lies in the block's
own interior, so every pair of the image is counted exactly once, in one
read of the data for all shifts.  Integer data of at most 16 bits are summed
in int64 and merged exactly (results do not depend on the chunking); float
data in float64 about each block's mean, merged as in :mod:`.stats.moments`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from functools import partial
from math import prod

import dask
import numpy as np
import pandas as pd
from scipy.optimize import OptimizeWarning, curve_fit

from ..analysis import ColocWarning
from ..engine.inputs import resolve_axis
from ..stats import dtypes, exact, metrics, moments
from ..stats.regions import NO_SLICE
from . import kernels
from .halo import map_with_halo
from .pair import pair_of

#: FWHM of a Gaussian per unit of its standard deviation d: 2·√(2 ln 2).
FWHM_PER_SIGMA = 2.0 * np.sqrt(2.0 * np.log(2.0))


@dataclass(frozen=True)
class CCFResult:
    """The CCF and its Gaussian fit.

    shifts : int64 array, −max_shift … max_shift
    ccf : Pearson's r at each shift (NaN where undefined: no pair, or a
        channel constant over the pairs)
    n_pairs : measured pairs at each shift
    fit : (a, b, c, d) of CCF ≈ a + (b − a)·exp(−(x − c)² / (2d²)), NaN when
        the fit failed
    axis : the shift axis (number, in the input's axis order)
    """

    shifts: np.ndarray
    ccf: np.ndarray
    n_pairs: np.ndarray
    fit: np.ndarray
    axis: int

    @property
    def centre(self) -> float:
        """Centre c of the fitted Gaussian (voxels; 0 for colocalized
        channels, the offset of b relative to a otherwise)."""
        return float(self.fit[2])

    @property
    def fwhm(self) -> float:
        """Full width at half maximum of the fitted Gaussian, 2√(2 ln 2)·|d|."""
        return float(FWHM_PER_SIGMA * abs(self.fit[3]))

    @property
    def peak_shift(self) -> int:
        """Shift of the largest CCF value (ties: the first)."""
        return int(self.shifts[np.nanargmax(self.ccf)])

    def fitted(self, x) -> np.ndarray:
        """The fitted Gaussian at shifts ``x``."""
        return gaussian(np.asarray(x, dtype=np.float64), *self.fit)

    def table(self) -> pd.DataFrame:
        """One row per shift: shift, ccf, n_pairs, fitted."""
        return pd.DataFrame({"shift": self.shifts, "ccf": self.ccf, "n_pairs": self.n_pairs,
                             "fitted": self.fitted(self.shifts)})


def van_steensel_ccf(a, b, mask=None, max_shift: int = 20, axis=-1) -> CCFResult:
    """Van Steensel's cross-correlation function of two channels.

    CCF(l) = Σ(a_i − ā_l)(b_{i+l} − b̄_l) / √(Σ(a_i − ā_l)² Σ(b_{i+l} − b̄_l)²)
    over the pairs (a_i, b_{i+l}) with i + l inside the image along ``axis``
    (no wrap-around), ā_l and b̄_l the means over those pairs, for
    l = −max_shift … max_shift, as JACoP.  With ``mask``, only pairs with
    both voxels inside the mask; pairs with a NaN/Inf are left out.  The
    curve is fitted with JACoP's Gaussian a + (b − a)·exp(−(x − c)²/(2d²))
    (least squares, :func:`fit_gaussian`); the centre c and the FWHM
    2√(2 ln 2)·|d| measure the shift and spread of the colocalization.

    Parameters
    ----------
    a, b : array-like (numpy, dask, zarr or xarray) of the same shape
    mask : array-like of the same shape, optional (nonzero = inside)
    max_shift : int, 1 ≤ max_shift < length of ``axis``
    axis : int or dim name (xarray input), default the last axis (x)

    Returns
    -------
    CCFResult

    References
    ----------
    van Steensel et al. (1996) J. Cell Sci. 109:787; Bolte & Cordelières
    (2006) J. Microsc. 224:213.
    """
    pair = pair_of(a, b, mask)
    axis = resolve_axis(axis, pair.dims, pair.a.ndim, "axis")
    length = pair.a.shape[axis]
    if not isinstance(max_shift, (int, np.integer)) or not 1 <= max_shift < length:
        raise ValueError(f"max_shift must be an integer with 1 <= max_shift < {length} (the "
                         f"length of axis {axis}), got {max_shift!r}")
    shifts = np.arange(-max_shift, max_shift + 1, dtype=np.int64)
    arrays = [pair.a, pair.b] + ([] if pair.mask is None else [pair.mask])
    blocks = map_with_halo(partial(_block_record, axis=axis, shifts=shifts), arrays,
                           {axis: int(max_shift)},
                           out_chunks=lambda chunks: tuple((1,) * len(c) for c in chunks),
                           dtype=object)
    records = [part.item() for part in dask.compute(*blocks.to_delayed().ravel())]
    found = moments.finalize(moments.combine(records))
    r, _ = metrics.pearson(found)
    ccf = np.full(shifts.size, np.nan)
    n_pairs = np.zeros(shifts.size, np.int64)
    index = found.keys[:, 0] + max_shift
    ccf[index] = r[:, 0]
    n_pairs[index] = found.n[:, 0].astype(np.int64)
    if not n_pairs.any():
        raise ValueError("no voxel pair to measure: the mask selects none, or every voxel has "
                         "a NaN/Inf in a or b")
    return CCFResult(shifts, ccf, n_pairs, fit_gaussian(shifts, ccf, max_shift), axis)


def _block_record(a, b, mask=None, *, origin, interior, axis, shifts):
    """The moment record (one key per shift) of the pairs whose first voxel
    is in this block's interior, in a 1-element object array."""
    ca, cb = dtypes.kernel_channels([a, b])
    lines = a.shape[axis]
    stride = prod(a.shape[axis + 1:])
    view = (prod(a.shape[:axis]), lines * stride)
    exact_path = ca.dtype.kind in "iu"
    valid_a, valid_b = _validity(ca, cb, mask, exact_path)
    if exact_path:
        refs = (0.0, 0.0)
        sums = np.zeros((shifts.size, 6), np.int64)
    else:
        refs = (kernels.finite_mean(ca), kernels.finite_mean(cb))
        sums = np.zeros((shifts.size, 6), np.float64)
    lo = origin[axis]
    kernels.ccf_sums(ca.reshape(view), cb.reshape(view), valid_a.reshape(-1, view[1]),
                     valid_b.reshape(-1, view[1]), lo, lo + interior[axis], stride, shifts,
                     refs[0], refs[1], sums)
    out = np.empty((1,) * a.ndim, dtype=object)
    out.flat[0] = _moment_record(shifts, sums, refs, exact_path)
    return out


def _validity(a, b, mask, exact_path):
    """uint8 arrays (1 = measured) for the first and second voxel of a pair,
    or empty arrays when every voxel is measured."""
    if exact_path:
        if mask is None:
            return np.zeros(0, np.uint8), np.zeros(0, np.uint8)
        inside = np.ascontiguousarray(mask).view(np.uint8)
        return inside, inside
    valid_a, valid_b = np.isfinite(a), np.isfinite(b)
    if mask is not None:
        valid_a &= mask
        valid_b &= mask
    elif valid_a.all() and valid_b.all():
        return np.zeros(0, np.uint8), np.zeros(0, np.uint8)
    return valid_a.view(np.uint8), valid_b.view(np.uint8)


_KERNEL_TO_MOMENTS = [moments.N, moments.SA, moments.SB, moments.SAA, moments.SBB, moments.SAB]


def _moment_record(shifts, sums, refs, exact_path) -> moments.MomentRecord:
    """Kernel sums as a :class:`~streamcoloc.stats.moments.MomentRecord`
    keyed (shift, NO_SLICE), so records merge with :func:`moments.combine`
    (exactly for integer data, Chan et al. for floats)."""
    present = sums[:, kernels.N] > 0
    sums = sums[present]
    keys = np.stack([shifts[present], np.full(sums.shape[0], NO_SLICE, np.int64)], axis=1)
    fields = np.zeros((sums.shape[0], 1, len(moments.FIELDS)), sums.dtype)
    if exact_path:
        fields[:, 0, _KERNEL_TO_MOMENTS] = sums
        hi, lo = exact.split(fields)
        return moments.MomentRecord(keys, hi=hi, lo=lo)
    n, sa, sb = sums[:, kernels.N], sums[:, kernels.SA], sums[:, kernels.SB]
    fields[:, 0, moments.N] = n
    fields[:, 0, moments.MEAN_A] = refs[0] + sa / n
    fields[:, 0, moments.MEAN_B] = refs[1] + sb / n
    fields[:, 0, moments.CAA] = sums[:, kernels.SAA] - sa * sa / n
    fields[:, 0, moments.CBB] = sums[:, kernels.SBB] - sb * sb / n
    fields[:, 0, moments.CAB] = sums[:, kernels.SAB] - sa * sb / n
    return moments.MomentRecord(keys, values=fields)


def gaussian(x, a, b, c, d):
    """JACoP's (ImageJ CurveFitter's) Gaussian: a + (b − a)·exp(−(x − c)²/(2d²))."""
    return a + (b - a) * np.exp(-((x - c) ** 2) / (2.0 * d * d))


def fit_gaussian(shifts, ccf, max_shift) -> np.ndarray:
    """Least-squares fit of :func:`gaussian` to the finite CCF values.

    Levenberg-Marquardt (``scipy.optimize.curve_fit``) from two starting
    points, keeping the fit with the smaller residual: JACoP's (min, max,
    shift of the max, d = max_shift) and one with d from the width at half
    maximum of the data (LM from JACoP's wide start can settle in a wrong
    minimum for a narrow peak; ImageJ's simplex restarts avoid that).  NaN
    parameters with a :class:`~streamcoloc.ColocWarning` when both fail.
    """
    finite = np.isfinite(ccf)
    x, y = shifts[finite].astype(np.float64), ccf[finite]
    best, best_residual = None, np.inf
    if x.size >= 4 and np.ptp(y) > 0:
        low, high, peak = y.min(), y.max(), x[np.argmax(y)]
        half_width = np.count_nonzero(y >= (low + high) / 2) / 2
        for width in (float(max_shift), max(half_width, 0.5) * 2 / FWHM_PER_SIGMA):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("error", OptimizeWarning)
                    params, _ = curve_fit(gaussian, x, y, p0=[low, high, peak, width],
                                          maxfev=20000)
            except (RuntimeError, OptimizeWarning):
                continue
            residual = np.sum((gaussian(x, *params) - y) ** 2)
            if np.all(np.isfinite(params)) and residual < best_residual:
                best, best_residual = params, residual
    if best is None:
        warnings.warn("the Gaussian fit of the CCF failed (too few finite values, a flat "
                      "curve, or no convergence): fit parameters are NaN", ColocWarning,
                      stacklevel=3)
        return np.full(4, np.nan)
    return best
