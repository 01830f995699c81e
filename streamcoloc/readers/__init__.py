"""Readers and writers: OME-Zarr, Zarr and TIFF files as lazy xarray.DataArrays."""

from .image import open_image
from .ome_zarr import write_ome_zarr

__all__ = ["open_image", "write_ome_zarr"]
