"""``open_image``: any supported file as a lazily read, dask-backed xarray.DataArray.

Conventions: dims are named from the file's metadata (OME-Zarr axes, zarr
``dimension_names`` / ``_ARRAY_DIMENSIONS``, TIFF series axes) and kept in
stored order; ``attrs['voxel_size']`` maps space dims to physical sizes (empty
when unknown), ``attrs['units']`` their units when stated, ``attrs['source']``
is the path; channel names, when known, are the ``'c'`` coordinate.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import dask.array as da
import xarray as xr
import zarr
from dask.base import tokenize

from .chunking import block_chunks
from .ome_zarr import Multiscale, ome_metadata, read_multiscale
from .tiff import TiffArray, tiff_metadata
from .zarr_chunks import dask_array

SUPPORTED = ("OME-Zarr (NGFF 0.4 on zarr v2, 0.5 on zarr v3) folder",
             "Zarr v2/v3 array folder, or a group folder holding one array",
             "TIFF / OME-TIFF / ImageJ hyperstack (.tif, .tiff)")
TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
ZARR_MARKERS = ("zarr.json", ".zgroup", ".zarray")
#: Dims of a plain array without dimension names, by number of axes.
DEFAULT_DIMS = {2: ("y", "x"), 3: ("z", "y", "x"), 4: ("c", "z", "y", "x"),
                5: ("t", "c", "z", "y", "x")}


def open_image(path, *, level: int = 0, dims=None, chunks=None) -> xr.DataArray:
    """Open an image file lazily as a dask-backed DataArray; nothing is read yet.

    Parameters
    ----------
    path : str or Path
        OME-Zarr or Zarr folder, or TIFF file (see ``SUPPORTED``).
    level : int
        Multiscale level (OME-Zarr) or pyramid level (TIFF); 0 is full size.
    dims : sequence of str, optional
        Dim names overriding those of the file (required for a plain array of
        other than 2-5 axes without stored names; default by number of axes:
        ``DEFAULT_DIMS``).
    chunks : optional
        Dask chunks (anything ``dask.array`` accepts, or a dict keyed by dim
        name); by default blocks of about 16 Mi voxels made of whole stored chunks
        (shards when sharded), with the channel axis not grown beyond its
        stored chunk.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist.
    ValueError
        Unknown format, empty file or array, level out of range, or dims that
        do not fit the array.
    """
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such image file or folder: {path}")
    if path.is_dir() and any((path / m).exists() for m in ZARR_MARKERS):
        image = _open_zarr(path, level)
        array, stored = image.array, image.array.shards or image.array.chunks
    elif path.is_file() and path.suffix.lower() in TIFF_SUFFIXES:
        if path.stat().st_size == 0:
            raise ValueError(f"{path} is empty (0 bytes)")
        info = tiff_metadata(path, level)
        array = TiffArray(path, level)
        stored = array.chunks
        image = Multiscale(array, info["dims"], info["voxel_size"], info["units"],
                           info["channel_names"])
    else:
        raise ValueError(f"{path}: unknown image format; supported: " + "; ".join(SUPPORTED))
    if 0 in array.shape:
        raise ValueError(f"{path} is empty (shape {array.shape})")
    names = _check_dims(tuple(dims) if dims is not None else image.dims, array.shape, path)
    chunks = _dask_chunks(chunks, block_chunks(array.shape, stored, names),
                          names)
    if isinstance(array, TiffArray):
        stat = path.stat()
        data = da.from_array(array, chunks=chunks, lock=False, asarray=True,
                             name="tiff-" + tokenize(str(path), level, stat.st_mtime_ns,
                                                     stat.st_size))
    else:
        data = dask_array(array, chunks)
    coords = {}
    if image.channel_names and "c" in names and len(image.channel_names) == data.shape[
            names.index("c")]:
        coords["c"] = list(image.channel_names)
    attrs = {"voxel_size": {d: image.voxel_size[d] for d in names if d in image.voxel_size},
             "source": str(path)}
    units = {d: image.units[d] for d in names if d in image.units}
    if units:
        attrs["units"] = units
    return xr.DataArray(data, dims=names, coords=coords, attrs=attrs, name=path.name)


def _open_zarr(path: Path, level: int) -> Multiscale:
    node = zarr.open(str(path), mode="r")
    if isinstance(node, zarr.Group):
        ome = ome_metadata(node)
        if ome is not None:
            return read_multiscale(node, ome, level, path)
        arrays = [name for name, _ in node.arrays()]
        if len(arrays) != 1:
            raise ValueError(f"{path} is a zarr group without OME-Zarr metadata holding "
                             f"arrays {arrays}; open one of them as {path}/<name>")
        node = node[arrays[0]]
    if level != 0:
        raise ValueError(f"{path} is a single zarr array: it has no level {level}")
    return Multiscale(node, _stored_dims(node))


def _dask_chunks(chunks, auto, names):
    """``chunks`` as given, or ``auto`` updated by a dict keyed by dim name."""
    if chunks is None:
        return auto
    if isinstance(chunks, Mapping) and all(isinstance(k, str) for k in chunks):
        unknown = set(chunks) - set(names)
        if unknown:
            raise ValueError(f"chunks name unknown dims {sorted(unknown)}; dims are {names}")
        return tuple(chunks.get(d, c) for d, c in zip(names, auto))
    return chunks


def _stored_dims(array: zarr.Array):
    """Dim names stored with a plain array (zarr v3 ``dimension_names`` or the
    xarray convention ``_ARRAY_DIMENSIONS``), else the default by ndim."""
    names = getattr(array.metadata, "dimension_names", None)
    names = names or array.attrs.get("_ARRAY_DIMENSIONS")
    if names and all(isinstance(n, str) for n in names):
        return tuple(names)
    return DEFAULT_DIMS.get(array.ndim)


def _check_dims(names, shape, path) -> tuple[str, ...]:
    if names is None:
        raise ValueError(f"{path} has {len(shape)} axes and no dim names; pass dims=")
    if len(names) != len(shape) or len(set(names)) != len(names):
        raise ValueError(f"dims {names} do not fit {path} with shape {shape}: one distinct "
                         "name per axis is needed; pass dims=")
    return tuple(str(n) for n in names)
