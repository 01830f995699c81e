"""Lazy TIFF / OME-TIFF / ImageJ-hyperstack reading through tifffile's zarr store.

Conventions: the first series of the file is read; tifffile's axis letters map
to dims as Z→z, C→c, S (samples, e.g. RGB)→c, T→t, Y→y, X→x, I and Q
(an unnamed image stack)→z, any other letter to its lower case.  Voxel sizes
come from OME ``PhysicalSize*`` or, for ImageJ files that state a unit, from
the resolution tags and ``spacing``.
"""

from __future__ import annotations

import os
import weakref

import numpy as np
import tifffile
import zarr

AXIS_DIMS = {"Z": "z", "C": "c", "S": "c", "T": "t", "Y": "y", "X": "x", "I": "z", "Q": "z"}


class TiffArray:
    """Array-like over one level of a TIFF's first series, for ``da.from_array``.

    Slicing reads only the strips/tiles concerned (``tifffile.imread(...,
    aszarr=True)`` opened with zarr 3).  tifffile's store holds a file handle
    and a lock and cannot be pickled, so this wrapper reopens it lazily in
    each process: the dask graph stays picklable for dask.distributed.  The
    file is closed when the wrapper is garbage collected.
    """

    def __init__(self, path, level: int = 0):
        self.path = os.fspath(path)
        self.level = level
        self._array = None
        array = self._open()
        self.shape, self.dtype, self.chunks = array.shape, array.dtype, array.chunks
        self.ndim = len(self.shape)

    def _open(self) -> zarr.Array:
        if self._array is None:
            store = tifffile.imread(self.path, aszarr=True, series=0, level=self.level)
            weakref.finalize(self, store.close)
            self._array = zarr.open_array(store, mode="r")
        return self._array

    def __getitem__(self, key) -> np.ndarray:
        return self._open()[key]

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_array": None}


def tiff_metadata(path, level: int) -> dict:
    """Dims, voxel size, units and channel names of the first series.

    Raises ValueError when ``level`` is not a level of the series.  Two axis
    letters may map to the same dim (e.g. 'CYXS'); ``open_image`` rejects that.
    """
    with tifffile.TiffFile(path) as tif:
        series = tif.series[0]
        if not 0 <= level < len(series.levels):
            raise ValueError(f"{path} has pyramid levels 0..{len(series.levels) - 1}, "
                             f"not {level}")
        axes = series.levels[level].axes
        dims = tuple(AXIS_DIMS.get(a, a.lower()) for a in axes)
        info = {"dims": dims, "voxel_size": {}, "units": {}, "channel_names": None}
        if tif.is_ome:
            _ome_info(tif, info)
        elif tif.is_imagej and tif.imagej_metadata.get("unit"):
            _imagej_info(tif, info)
    return info


def _ome_info(tif, info) -> None:
    image = tifffile.xml2dict(tif.ome_metadata)["OME"]["Image"]
    pixels = (image[0] if isinstance(image, list) else image)["Pixels"]
    for dim in "zyx":
        size = pixels.get(f"PhysicalSize{dim.upper()}")
        if size is not None:
            info["voxel_size"][dim] = float(size)
            info["units"][dim] = pixels.get(f"PhysicalSize{dim.upper()}Unit", "µm")
    channels = pixels.get("Channel", [])
    channels = channels if isinstance(channels, list) else [channels]
    if channels and all("Name" in ch for ch in channels):
        info["channel_names"] = [str(ch["Name"]) for ch in channels]


def _imagej_info(tif, info) -> None:
    metadata = tif.imagej_metadata
    x_res, y_res = tif.pages.first.resolution
    info["voxel_size"].update(x=1 / x_res, y=1 / y_res)
    if "spacing" in metadata:
        info["voxel_size"]["z"] = float(metadata["spacing"])
    info["units"] = dict.fromkeys(info["voxel_size"], metadata["unit"])
