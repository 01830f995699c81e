"""OME-Zarr (NGFF) metadata: read NGFF 0.4 (zarr v2) and 0.5 (zarr v3), write 0.5.

Conventions: NGFF 0.5 keeps its metadata under ``attrs['ome']``, 0.4 at the
top level of the group attributes.  The first multiscale image is used; the
array of a level is found through ``datasets[level]['path']`` (``'0'``,
``'s0'``, ...) and axes are taken by name.  Voxel sizes are the products of
the ``scale`` transformations of the level and of the whole multiscale, for
axes of type ``'space'``.  Files written here hold one level at path ``'0'``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import dask.array as da
import numpy as np
import zarr
from zarr.codecs import BloscCodec

from .chunking import block_chunks, default_stored_chunks, is_aligned

#: NGFF axis types of the dim names written here, in the order NGFF requires.
AXIS_TYPES = {"t": "time", "c": "channel", "z": "space", "y": "space", "x": "space"}


@dataclass
class Multiscale:
    """One level of an OME-Zarr image and the metadata needed to label it."""

    array: zarr.Array
    dims: tuple[str, ...]
    voxel_size: dict = field(default_factory=dict)
    units: dict = field(default_factory=dict)
    channel_names: list | None = None


def ome_metadata(group: zarr.Group) -> dict | None:
    """The NGFF metadata dict of ``group`` (0.5 or 0.4), or None if it has none."""
    attrs = group.attrs.asdict()
    ome = attrs.get("ome", attrs)
    return ome if "multiscales" in ome else None


def read_multiscale(group: zarr.Group, ome: dict, level: int, path) -> Multiscale:
    """The ``level`` array of the first multiscale image in ``group``."""
    multiscale = ome["multiscales"][0]
    datasets = multiscale["datasets"]
    if not 0 <= level < len(datasets):
        raise ValueError(f"{path} has multiscale levels 0..{len(datasets) - 1}, not {level}")
    array = group[datasets[level]["path"]]
    axes = multiscale["axes"]
    dims = tuple(axis["name"] for axis in axes)
    scale = np.ones(len(axes))
    for transforms in (datasets[level].get("coordinateTransformations", []),
                       multiscale.get("coordinateTransformations", [])):
        for transform in transforms:
            if transform["type"] == "scale":
                scale *= transform["scale"]
    voxel_size = {d: float(s) for d, s, axis in zip(dims, scale, axes)
                  if axis.get("type") == "space"}
    units = {axis["name"]: axis["unit"] for axis in axes if "unit" in axis}
    channels = ome.get("omero", {}).get("channels")
    names = [str(ch.get("label", i)) for i, ch in enumerate(channels)] if channels else None
    return Multiscale(array, dims, voxel_size, units, names)


def write_ome_zarr(path, data, *, dims, chunks=None, voxel_size=None, channel_names=None,
                   compressor="zstd") -> Path:
    """Write ``data`` as a single-level NGFF 0.5 OME-Zarr (zarr v3), chunk by chunk.

    Parameters
    ----------
    path : str or Path
        Folder to create (an existing one is replaced).
    data : numpy.ndarray or dask.array.Array
        Image; a dask array is streamed block by block (``da.store``), after
        rechunking to blocks aligned on the stored chunks when needed.
    dims : sequence of str
        Axis names, a subsequence of ``('t', 'c', 'z', 'y', 'x')`` in that
        order (NGFF: time, channel, then space), with at least ``'y', 'x'``.
    chunks : tuple of int, optional
        Stored chunk shape; default one channel per chunk and ~16 MiB chunks.
    voxel_size : dict or sequence of float, optional
        Physical size per space axis, as ``{dim: size}`` or in the order of
        the space dims; unit-less (no ``unit`` is written).
    channel_names : sequence of str, optional
        Channel labels, written as ``omero.channels[].label``.
    compressor : str or None
        Blosc ``cname`` (``'zstd'``, ``'lz4'``, ``'lz4hc'``, ``'zlib'``,
        ``'blosclz'``) with byte shuffle, or None for no compression.

    Returns
    -------
    Path
        ``path``; the image array is at ``path/0``.
    """
    dims = _check_dims(dims, data.ndim)
    itemsize = np.dtype(data.dtype).itemsize
    chunks = tuple(chunks) if chunks is not None else default_stored_chunks(
        data.shape, itemsize, dims)
    if len(chunks) != data.ndim:
        raise ValueError(f"chunks {chunks} do not match dims {dims}")
    root = zarr.create_group(str(path), overwrite=True, zarr_format=3, attributes={
        "ome": _ngff(dims, _scale(dims, voxel_size), channel_names, data.shape)})
    array = root.create_array(
        "0", shape=data.shape, dtype=data.dtype, chunks=chunks, dimension_names=dims,
        compressors=None if compressor is None else BloscCodec(cname=compressor,
                                                               shuffle="shuffle"),
        fill_value=0)
    if isinstance(data, da.Array):
        if not is_aligned(data.chunks, array.chunks):
            data = data.rechunk(block_chunks(data.shape, array.chunks, dims))
        da.store(data, array, lock=False)
    else:
        array[...] = np.asarray(data)
    return Path(path)


def _check_dims(dims, ndim: int) -> tuple[str, ...]:
    dims = tuple(dims)
    order = list(AXIS_TYPES)
    if (len(dims) != ndim or len(set(dims)) != ndim or not set(dims) <= set(order)
            or list(dims) != sorted(dims, key=order.index) or dims[-2:] != ("y", "x")):
        raise ValueError(f"dims {dims} must name the {ndim} axes as a subsequence of "
                         f"{tuple(order)} ending with ('y', 'x')")
    return dims


def _scale(dims, voxel_size) -> list[float]:
    space = [d for d in dims if AXIS_TYPES[d] == "space"]
    if voxel_size is None:
        sizes = {}
    elif isinstance(voxel_size, Mapping):
        sizes = dict(voxel_size)
    else:
        sizes = dict(zip(space, voxel_size, strict=True))
    if not set(sizes) <= set(space):
        raise ValueError(f"voxel_size names {sorted(sizes)}, but the space dims are {space}")
    return [float(sizes.get(d, 1.0)) for d in dims]


def _ngff(dims, scale, channel_names, shape) -> dict:
    multiscale = {
        "axes": [{"name": d, "type": AXIS_TYPES[d]} for d in dims],
        "datasets": [{"path": "0", "coordinateTransformations": [
            {"type": "scale", "scale": scale}]}],
    }
    ome = {"version": "0.5", "multiscales": [multiscale]}
    if channel_names is not None:
        if "c" not in dims or len(channel_names) != shape[dims.index("c")]:
            raise ValueError(f"{len(channel_names)} channel names for shape {shape}, "
                             f"dims {dims}")
        ome["omero"] = {"channels": [{"label": str(n), "active": True}
                                     for n in channel_names]}
    return ome
