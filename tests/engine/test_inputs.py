"""Input handling: dask, zarr, xarray; chunk alignment; block bound."""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
import zarr

from streamcoloc.engine.inputs import as_input, as_multichannel_input, make_layout


def test_numpy_input_is_chunked_and_not_hashed():
    x = np.zeros((300, 1024, 1024), np.uint8)  # 300 MiB: more than one block
    data = as_input(x, "a").data
    assert data.npartitions > 1
    assert max(data.chunks[1]) * max(data.chunks[2]) * max(data.chunks[3]) <= 16 * 2**20


def test_zarr_input_uses_whole_stored_chunks():
    z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=(40, 100, 100), dtype="u2",
                          chunks=(8, 30, 30))
    data = as_input(z, "a").data
    for chunks, stored in zip(data.chunks[1:], z.chunks):
        assert all(c % stored == 0 for c in chunks[:-1])


def test_mismatched_chunk_grids_are_aligned():
    a = as_input(da.zeros((10, 20), chunks=(3, 7)), "a")
    b = as_input(da.zeros((10, 20), chunks=(4, 5)), "b")
    layout = make_layout([a, b], ["a", "b"], labels=np.ones((10, 20), np.int32))
    assert layout.sources[0].chunks == layout.sources[1].chunks
    assert layout.labels.chunks == layout.spatial_chunks


def test_block_voxel_bound_rechunks():
    a = as_input(da.zeros((100, 100), chunks=-1), "a")
    layout = make_layout([a, a], ["a", "b"], max_block_voxels=1000)
    assert np.prod([max(c) for c in layout.spatial_chunks]) <= 1000


def test_multichannel_axis_by_name_and_slice_first():
    x = xr.DataArray(da.zeros((5, 3, 6, 7), chunks=(1, 1, 6, 7)), dims=("z", "c", "y", "x"))
    source = as_multichannel_input(x, "c", "image")
    assert source.dims == ("z", "y", "x") and source.data.shape == (3, 5, 6, 7)
    assert source.data.numblocks[0] == 1
    layout = make_layout([source], ["p", "q", "r"], slice_axis="y")
    assert layout.sources[0].shape == (3, 6, 5, 7) and layout.has_slices
