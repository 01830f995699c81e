"""Turn user inputs (numpy, dask, zarr, xarray) into a validated :class:`Layout`.

Everything becomes a dask array (a numpy input is chunked too, so every input
streams the same way); channels are checked for shape and dtype, aligned on
one chunk grid, and the slice axis is moved first.  Errors name the input and
the problem.
"""

from __future__ import annotations

from dataclasses import dataclass

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from ..readers.chunking import TARGET_BLOCK_VOXELS, block_chunks
from ..readers.zarr_chunks import dask_array
from . import runtime
from .passes import Layout


@dataclass(frozen=True)
class Input:
    """A dask array with its channel axis first, its spatial dim names
    (None when the input had none) and xarray coords (for label lookup)."""

    data: da.Array
    dims: tuple[str, ...] | None
    coords: object = None

    @property
    def spatial_shape(self) -> tuple:
        return self.data.shape[1:]


def as_input(x, what: str) -> Input:
    """Wrap a single-channel numpy, dask, zarr or xarray image."""
    dims, coords, data = _as_dask(x, what)
    return Input(data[None], dims, coords)


def as_multichannel_input(x, channel_axis, what: str) -> Input:
    """Wrap an image with a channel axis (number or dim name); the channel
    axis becomes one block so each block is read once for every pair."""
    dims, coords, data = _as_dask(x, what)
    axis = resolve_axis(channel_axis, dims, data.ndim, "channel_axis")
    data = da.moveaxis(data, axis, 0)
    data = data.rechunk({0: -1})
    if dims is not None:
        dims = dims[:axis] + dims[axis + 1:]
    return Input(data, dims, coords)


def _as_dask(x, what: str):
    dims = coords = None
    if isinstance(x, xr.DataArray):
        dims, coords, x = tuple(map(str, x.dims)), x.coords, x.data
    if isinstance(x, da.Array):
        data = x
    elif isinstance(x, zarr.Array):
        stored = x.shards or x.chunks
        data = dask_array(x, block_chunks(x.shape, stored, ("",) * x.ndim))
    else:
        array = np.asarray(x)
        # Named by a hash of the values only where a resume must recognize
        # them (a checkpointing session): hashing costs ~2.5 s per GB here.
        session = runtime.current()
        hashed = session is not None and session.checkpoint is not None
        data = da.from_array(array, chunks=_auto_chunks(array.shape),
                             name=None if hashed else False)
    if data.size == 0:
        raise ValueError(f"{what} is empty (shape {data.shape})")
    return dims, coords, data


def _auto_chunks(shape, limit=TARGET_BLOCK_VOXELS):
    """Blocks of about ``limit`` voxels (dask's "auto" counts bytes: uint8)."""
    return da.core.normalize_chunks("auto", shape, limit=limit, dtype=np.uint8)


def resolve_axis(axis, dims, ndim: int, what: str) -> int:
    """An axis given as a number or, for xarray input, a dim name."""
    if isinstance(axis, str):
        if dims is None:
            raise ValueError(f"{what}={axis!r} is a dim name, but the input has no named dims "
                             "(pass an xarray.DataArray or an axis number)")
        if axis not in dims:
            raise ValueError(f"{what}={axis!r} is not a dim of the input {dims}")
        return dims.index(axis)
    if not -ndim <= int(axis) < ndim:
        raise ValueError(f"{what}={axis} is out of range for {ndim}-D input")
    return int(axis) % ndim


def make_layout(sources: list[Input], names: list[str], labels=None, slice_axis=None,
                max_block_voxels: int | None = None) -> Layout:
    """Validate and align channel sources (and a label image) for a pass.

    ``names`` name the channels of all sources in order.  ``slice_axis`` is
    a spatial axis number or dim name; for xarray input a ``t`` dim is used as
    the slice axis when none is given.  ``labels`` is an integer/bool image
    of the spatial shape or, with a slice axis, of one plane (applied to
    every plane), or the name of a coordinate of the xarray input.
    """
    channel_names = iter(names)
    for source in sources:
        what = ", ".join(repr(next(channel_names)) for _ in range(source.data.shape[0]))
        if np.dtype(source.data.dtype).kind not in "biuf":
            raise TypeError(f"channel {what} has dtype {source.data.dtype}; intensities must "
                            "be numeric (bool, integer or float)")
    first = sources[0]
    sources = [_match_dims(s, first.dims, "channel") for s in sources]
    if len({s.spatial_shape for s in sources}) > 1:
        detail = ", ".join(str(s.spatial_shape) for s in sources)
        raise ValueError(f"channels have different shapes: {detail}")
    ndim = len(first.spatial_shape)
    if slice_axis is None and first.dims is not None and "t" in first.dims:
        slice_axis = "t"
    axis = None if slice_axis is None else resolve_axis(slice_axis, first.dims, ndim, "slice_axis")

    arrays = [s.data if axis is None else da.moveaxis(s.data, axis + 1, 1) for s in sources]
    label_array = None if labels is None else _label_array(labels, first, axis)
    grids = [a.chunks[1:] for a in arrays]
    if label_array is not None:
        grids.append(label_array.chunks)
    spatial = common_grid(grids)
    largest_block = np.prod([max(c) for c in spatial], dtype=np.int64)
    if max_block_voxels is not None and largest_block > max_block_voxels:
        spatial = _auto_chunks(arrays[0].shape[1:], limit=max_block_voxels)
    arrays = [a.rechunk(((a.shape[0],),) + spatial) for a in arrays]
    if label_array is not None:
        label_array = label_array.rechunk(spatial[-label_array.ndim:])
    return Layout(arrays, label_array, axis is not None)


def common_grid(grids: list[tuple]) -> tuple:
    """One block grid for arrays of the same spatial shape (a grid may be of
    the trailing axes only, for a label plane).

    Blocks are split, never merged: the grid is the union of every input's
    block boundaries, so each input block maps to whole blocks of the result
    (dask turns the split into slices of the read, without a copy or a
    concatenation).  When the grids are so misaligned that the union has more
    than 4 times the blocks of the finest input, the first grid is used and
    the others are rechunked to it.
    """
    first = grids[0]
    union = []
    for axis, chunks in enumerate(first):
        bounds = set(np.cumsum(chunks).tolist())
        for grid in grids[1:]:
            offset = len(first) - len(grid)
            if axis >= offset:
                bounds |= set(np.cumsum(grid[axis - offset]).tolist())
        union.append(tuple(np.diff([0] + sorted(bounds)).tolist()))
    finest = max(int(np.prod([len(c) for c in grid])) for grid in grids)
    if np.prod([len(c) for c in union]) > 4 * finest:
        return tuple(first)
    return tuple(union)


def _match_dims(source: Input, dims, what: str) -> Input:
    """Transpose a named input's spatial axes to ``dims`` (by name)."""
    if dims is None or source.dims is None or source.dims == dims:
        return source
    if set(source.dims) != set(dims):
        raise ValueError(f"{what} has dims {source.dims}, expected {dims}")
    order = [0] + [source.dims.index(d) + 1 for d in dims]
    return Input(source.data.transpose(order), dims, source.coords)


def _label_array(labels, first: Input, axis: int | None) -> da.Array:
    """The label image as a dask array in the layout's axis order: the
    spatial shape, or (with a slice axis) one plane applied to every slice."""
    if isinstance(labels, str):
        if first.coords is None or labels not in first.coords:
            raise ValueError(f"label_mask={labels!r} is not a coordinate of the input")
        labels = first.coords[labels]
    lab = as_input(labels, "label_mask")
    if lab.data.dtype.kind not in "biu":
        raise TypeError(f"label_mask has dtype {lab.data.dtype}; labels must be integer "
                        "(or bool) ids, not float")
    shape = first.spatial_shape
    plane_shape = None if axis is None else shape[:axis] + shape[axis + 1:]
    if lab.dims is not None and first.dims is not None:
        wanted = first.dims if len(lab.dims) == len(first.dims) else tuple(
            d for i, d in enumerate(first.dims) if i != axis)
        lab = _match_dims(lab, wanted, "label_mask")
    data = lab.data[0]
    if data.shape == shape:
        return data if axis is None else da.moveaxis(data, axis, 0)
    if plane_shape is not None and data.shape == plane_shape:
        return data
    expected = f"{shape}" + ("" if plane_shape is None else f" or one plane {plane_shape}")
    raise ValueError(f"label_mask shape {data.shape} does not match the image shape {expected}")
