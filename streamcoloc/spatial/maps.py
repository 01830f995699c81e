"""Per-voxel colocalization maps, computed block by block and written to Zarr.

Two maps (float32, NaN where a voxel is not measured):

* ``'nmdp'``, the normalized mean deviation product of Jaskolski, Mulle &
  Manzoni (2005) J. Neurosci. Methods 146:42:
  nMDP = (a − ā)(b − b̄) / ((max_a − ā)(max_b − b̄)), with the means and
  maxima over the measured voxels of the whole image (a first read);
  positive where both channels deviate the same way from their means.
* ``'local_pearson'``: Pearson's r in a sliding box window centred on each
  voxel, over the window's measured voxels, the window cut at the image
  border (no padding).  NaN where a channel is constant in the window.

A voxel is measured when it lies inside the mask and both values are finite.
The map keeps the input's block grid (the Zarr chunks are its blocks); the
window map reads each block with a halo of the window radius
(:mod:`.halo`), so memory stays a few blocks per worker whatever the image
size.  Window sums of integer data of at most 16 bits are exact (int64).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import dask.array as da
import numpy as np
import zarr

from ..readers.zarr_chunks import dask_array
from ..stats import dtypes
from . import kernels
from .halo import map_with_halo
from .pair import Summary, first_read, pair_of

KINDS = ("nmdp", "local_pearson")
DEFAULT_WINDOW = 5
#: Largest window (voxels) whose int64 sums n·Σa² of 16-bit data cannot overflow.
MAX_EXACT_WINDOW = 2**15
MAP_DTYPE = np.dtype(np.float32)


@dataclass(frozen=True)
class ColocMap:
    """A colocalization map: the lazy ``data`` (dask, float32), and, when
    written, the Zarr ``path``; ``window`` is the box (voxels per axis) of
    'local_pearson'; ``summary`` the first read's statistics for 'nmdp'."""

    kind: str
    data: da.Array
    path: Path | None = None
    window: tuple | None = None
    summary: Summary | None = field(default=None, repr=False)

    def open(self) -> zarr.Array:
        """The written map as a zarr array."""
        if self.path is None:
            raise ValueError("this map was not written (coloc_map was called without out=)")
        return zarr.open_array(str(self.path), mode="r")


def coloc_map(a, b, kind: str = "nmdp", window=None, out=None, mask=None,
              overwrite: bool = False) -> ColocMap:
    """Per-voxel colocalization map of two channels, streamed.

    Parameters
    ----------
    a, b : array-like (numpy, dask, zarr or xarray), same shape, 2-D or 3-D
    kind : 'nmdp' (Jaskolski et al. 2005) or 'local_pearson'
    window : odd int or one odd int per axis ('local_pearson' only; default
        5): the box side in voxels, e.g. (1, 7, 7) for windows within planes
    out : path of the Zarr array to write (chunked like the input's blocks,
        with the map's attributes); None: nothing is written, the result's
        ``data`` is the lazy map
    mask : array-like of the same shape, optional (nonzero = inside)
    overwrite : replace an existing array at ``out``

    Returns
    -------
    ColocMap
    """
    if kind not in KINDS:
        raise ValueError(f"unknown map kind {kind!r}; choose from {KINDS}")
    pair = pair_of(a, b, mask)
    if pair.a.ndim not in (2, 3):
        raise ValueError(f"colocalization maps need 2-D or 3-D images, got {pair.a.ndim}-D")
    arrays = [pair.a, pair.b] + ([] if pair.mask is None else [pair.mask])
    summary = box = None
    if kind == "nmdp":
        if window is not None:
            raise ValueError("window applies to kind='local_pearson' only (nMDP is per voxel)")
        summary = first_read(pair)
        scale = (summary.range_a[1] - summary.mean_a) * (summary.range_b[1] - summary.mean_b)
        if not scale > 0:
            raise ValueError("nMDP is undefined: a channel is constant over the measured "
                             "voxels (its maximum equals its mean)")
        data = da.map_blocks(partial(_nmdp_block, means=(summary.mean_a, summary.mean_b),
                                     scale=scale), *arrays, dtype=MAP_DTYPE)
    else:
        box = _window(window, pair.a.ndim)
        if pair.exact and np.prod(box) > MAX_EXACT_WINDOW:
            raise ValueError(f"window {box} holds {np.prod(box)} voxels; at most "
                             f"{MAX_EXACT_WINDOW} keep integer sums exact")
        radius = tuple(w // 2 for w in box)
        data = map_with_halo(partial(_local_pearson_block, radius=radius), arrays,
                             dict(enumerate(radius)), out_chunks=lambda chunks: chunks,
                             dtype=MAP_DTYPE)
    stored = tuple(c[0] for c in pair.a.chunks)
    data = data.rechunk(stored)
    result = ColocMap(kind, data, None, box, summary)
    if out is None:
        return result
    return _write(result, Path(out), stored, overwrite)


def _window(window, ndim: int) -> tuple:
    """The box as one odd side per axis."""
    window = DEFAULT_WINDOW if window is None else window
    sides = (window,) * ndim if np.isscalar(window) else tuple(window)
    if len(sides) != ndim or not all(isinstance(s, (int, np.integer)) and s >= 1 and s % 2
                                     for s in sides):
        raise ValueError(f"window must be an odd positive integer or {ndim} of them (one per "
                         f"axis), got {window!r}")
    if np.prod(sides) < 2:
        raise ValueError("window must hold at least 2 voxels")
    return tuple(int(s) for s in sides)


def _nmdp_block(a, b, mask=None, *, means, scale):
    ca, cb = dtypes.kernel_channels([a, b])
    valid = _validity(ca, cb, mask)
    out = np.empty(a.shape, MAP_DTYPE)
    kernels.nmdp(ca.ravel(), cb.ravel(), valid.ravel(), means[0], means[1], scale, out.ravel())
    return out


def _local_pearson_block(a, b, mask=None, *, origin, interior, radius):
    ca, cb = dtypes.kernel_channels([a, b])
    valid = _validity(ca, cb, mask)
    if ca.ndim == 2:  # a plane: a 3-D block of depth 1
        ca, cb, valid = ca[None], cb[None], valid[None]
        origin, interior, radius = (0,) + origin, (1,) + interior, (0,) + radius
    exact_path = ca.dtype.kind in "iu"
    refs = (0.0, 0.0) if exact_path else (kernels.finite_mean(ca), kernels.finite_mean(cb))
    tolerance = 0.0 if exact_path else 16 * np.finfo(np.float64).eps
    accumulator = np.empty(0, np.int64 if exact_path else np.float64)
    out = np.empty(interior, MAP_DTYPE)
    kernels.local_pearson(ca, cb, valid, np.array(origin, np.int64), np.array(radius, np.int64),
                          refs[0], refs[1], tolerance, accumulator, out)
    return out[0] if a.ndim == 2 else out


def _validity(a, b, mask) -> np.ndarray:
    """uint8 (1 = measured) of the block's shape, or an empty array of its
    rank when every voxel is measured."""
    valid = None
    if a.dtype.kind == "f":
        finite = np.isfinite(a) & np.isfinite(b)
        if not finite.all():
            valid = finite
    if mask is not None:
        valid = mask if valid is None else valid & mask
    if valid is None:
        return np.zeros((0,) * a.ndim, np.uint8)
    return np.ascontiguousarray(valid).view(np.uint8)


def _write(result: ColocMap, path: Path, chunks: tuple, overwrite: bool) -> ColocMap:
    """Store the map block by block into a new Zarr array at ``path``."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass overwrite=True to replace it")
    attrs = {"kind": result.kind, "window": result.window, "nan": "voxel not measured"}
    if result.summary is not None:
        s = result.summary
        attrs.update(mean_a=s.mean_a, mean_b=s.mean_b, max_a=s.range_a[1], max_b=s.range_b[1])
    target = zarr.create_array(str(path), shape=result.data.shape, chunks=chunks,
                               dtype=MAP_DTYPE, fill_value=np.nan, overwrite=overwrite,
                               attributes=attrs)
    da.store(result.data, target, lock=False)
    return ColocMap(result.kind, dask_array(target, target.chunks), path, result.window,
                    result.summary)
