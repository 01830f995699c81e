"""Zarr chunks read from their files: every layout read here gives what zarr
reads, for any selection; the others are left to zarr."""

from __future__ import annotations

import numcodecs
import numpy as np
import pytest
import zarr
from zarr.codecs import BloscCodec, BytesCodec, GzipCodec, TransposeCodec, ZstdCodec

from streamcoloc import open_image
from streamcoloc.readers.zarr_chunks import ChunkFiles

SHAPE, CHUNKS = (7, 45, 38), (3, 16, 10)  # edge chunks on every axis


def _data(dtype) -> np.ndarray:
    rng = np.random.default_rng(0)
    if np.dtype(dtype).kind == "b":
        return rng.random(SHAPE) < 0.5
    return (rng.random(SHAPE) * 1000).astype(dtype)


def _write(path, data, fill_value=0, drop_chunk=True, **options) -> zarr.Array:
    """``data`` written as a zarr array; one chunk is left unwritten (all
    fill value) so that its file is missing."""
    data = data.copy()
    if drop_chunk:
        data[:3, :16, :10] = fill_value
    array = zarr.create_array(str(path), shape=SHAPE, chunks=CHUNKS, dtype=data.dtype,
                              fill_value=fill_value, **options)
    array[...] = data
    return array


SELECTIONS = [
    (slice(None),) * 3,
    (slice(1, 6), slice(5, 40), slice(3, 37)),  # inside, across chunks
    (slice(3, 6), slice(16, 32), slice(10, 20)),  # exactly one whole chunk
    (2, slice(None), slice(0, 12)),  # an integer drops its axis
    (-1, -3, slice(None)),
    (Ellipsis, 5),
    (slice(None, None, 2), slice(40, 2, -3), [0, 5, 37]),  # steps and a list: numpy after
    (slice(5, None, -2), np.array([-1, 3, 3, 10]), slice(2, 30, 7)),  # from their extent
    (np.arange(7) % 2 == 0, slice(None), 4),  # a mask takes its whole axis
    (slice(4, 4), slice(None), slice(None)),  # empty
]

FAST_LAYOUTS = {
    "v3 blosc": dict(zarr_format=3, compressors=[BloscCodec(cname="zstd", clevel=3)]),
    "v3 zstd": dict(zarr_format=3, compressors=[ZstdCodec(level=1)]),
    "v3 gzip": dict(zarr_format=3, compressors=[GzipCodec(level=1)]),
    "v3 bytes only": dict(zarr_format=3, compressors=None),
    "v2 zstd": dict(zarr_format=2, compressors=numcodecs.Zstd(level=1)),
    "v2 blosc, / keys": dict(zarr_format=2, compressors=numcodecs.Blosc(),
                             chunk_key_encoding={"name": "v2", "separator": "/"}),
    "v2 uncompressed": dict(zarr_format=2, compressors=None),
}


@pytest.mark.parametrize("layout", FAST_LAYOUTS)
@pytest.mark.parametrize("dtype", ["uint16", "int32", "float64", "bool"])
def test_chunk_files_read_what_zarr_reads(tmp_path, layout, dtype):
    fill = 0 if dtype == "bool" else 7
    array = _write(tmp_path / "a.zarr", _data(dtype), fill_value=fill, **FAST_LAYOUTS[layout])
    files = ChunkFiles.of(array)
    assert files is not None
    assert not (files.folder / array.metadata.encode_chunk_key((0, 0, 0))).exists()
    everything = array[...]  # zarr's read; NumPy indexing of it is the reference
    for key in SELECTIONS:
        expected = everything[key]
        got = files[key]
        assert got.dtype == expected.dtype and got.shape == expected.shape, key
        np.testing.assert_array_equal(got, expected, err_msg=str(key))


def test_a_chunk_is_decoded_into_place_or_through_a_buffer(tmp_path, monkeypatch):
    """Whole blosc chunks contiguous in the block are decoded in place; a
    part of a chunk goes through a buffer; both give the same values."""
    import numcodecs.blosc

    array = _write(tmp_path / "a.zarr", _data("uint16"), drop_chunk=False, zarr_format=3,
                   compressors=[BloscCodec()])
    files = ChunkFiles.of(array)
    expected = array[...]  # read before the spy: zarr decodes with numcodecs too
    decompress = numcodecs.blosc.decompress
    in_place = []

    def spy(source, dest=None):
        in_place.append(dest is not None and dest.base is not None)  # a view of the block
        return decompress(source, dest)

    monkeypatch.setattr(numcodecs.blosc, "decompress", spy)
    np.testing.assert_array_equal(files[0:6, 16:32, 10:20], expected[0:6, 16:32, 10:20])
    assert in_place == [True, True]  # two whole chunks along the first axis: views of the block
    in_place.clear()
    np.testing.assert_array_equal(files[1:5, 16:32, 10:20], expected[1:5, 16:32, 10:20])
    assert in_place == [False, False]


@pytest.mark.parametrize("layout", ["v3 blosc", "v3 zstd", "v2 zstd", "v3 bytes only"])
def test_a_chunk_of_the_wrong_size_is_an_error_naming_its_file(tmp_path, layout):
    """A chunk file holding fewer values than a chunk (written by another
    array) raises, as zarr does, instead of leaving memory unset."""
    options = FAST_LAYOUTS[layout]
    array = _write(tmp_path / "a.zarr", _data("uint16"), drop_chunk=False, **options)
    small = zarr.create_array(str(tmp_path / "small.zarr"), shape=(2, 16, 10),
                              chunks=(2, 16, 10), dtype="uint16", **options)
    small[...] = 1
    key = array.metadata.encode_chunk_key((1, 1, 1))
    (tmp_path / "a.zarr" / key).write_bytes(
        (tmp_path / "small.zarr" / small.metadata.encode_chunk_key((0, 0, 0))).read_bytes())
    with pytest.raises(ValueError, match=rf"{key}: the chunk decodes to 640 bytes, not the 960"):
        ChunkFiles.of(array)[3:6, 16:32, 10:20]


def test_one_array_with_two_block_shapes_is_two_dask_arrays(tmp_path):
    from streamcoloc.readers.zarr_chunks import dask_array

    array = _write(tmp_path / "a.zarr", _data("uint16"), drop_chunk=False, zarr_format=3)
    small, large = dask_array(array, CHUNKS), dask_array(array, (6, 32, 20))
    assert small.name != large.name
    assert int((small - large).sum().compute()) == 0  # one graph, both read right


def test_indices_numpy_refuses_are_refused(tmp_path):
    array = _write(tmp_path / "a.zarr", _data("uint16"), drop_chunk=False, zarr_format=3)
    files = ChunkFiles.of(array)
    with pytest.raises(IndexError, match="(?i)too many indices"):
        files[0, 0, 0, 0]
    with pytest.raises((IndexError, TypeError)):  # NumPy: IndexError; dask: TypeError
        files[..., 0, ...]
    with pytest.raises(IndexError, match="out of bounds"):
        files[7]
    with pytest.raises(TypeError, match="no new axes"):
        files[None, 0]
    scalar = zarr.create_array(str(tmp_path / "s.zarr"), shape=(), dtype="float64")
    assert ChunkFiles.of(scalar) is None  # 0-d arrays are left to zarr


FALLBACK_LAYOUTS = {
    "v3 sharded": dict(zarr_format=3, shards=(6, 32, 20)),
    "v3 transposed": dict(zarr_format=3, filters=[TransposeCodec(order=(2, 1, 0))]),
    "v3 big-endian": dict(zarr_format=3, serializer=BytesCodec(endian="big")),
    "v2 Fortran order": dict(zarr_format=2, order="F"),
    "v2 with a filter": dict(zarr_format=2, filters=[numcodecs.Delta(dtype="<u2")]),
}


@pytest.mark.parametrize("layout", FALLBACK_LAYOUTS)
def test_other_layouts_are_left_to_zarr(tmp_path, layout):
    data = _data("uint16")
    array = _write(tmp_path / "a.zarr", data, drop_chunk=False, **FALLBACK_LAYOUTS[layout])
    assert ChunkFiles.of(array) is None
    image = open_image(tmp_path / "a.zarr", dims=("z", "y", "x"))
    assert not image.data.name.startswith("zarr-files-")
    np.testing.assert_array_equal(image.values, data)


def test_open_image_reads_common_layouts_from_the_chunk_files(tmp_path):
    data = _data("uint16")
    _write(tmp_path / "a.zarr", data, drop_chunk=False, zarr_format=3)
    image = open_image(tmp_path / "a.zarr", dims=("z", "y", "x"))
    assert image.data.name.startswith("zarr-files-")
    np.testing.assert_array_equal(image.values, data)
    np.testing.assert_array_equal(image.isel(z=2, y=slice(3, 30)).values, data[2, 3:30])
