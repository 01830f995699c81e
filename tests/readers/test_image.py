"""open_image / write_ome_zarr: OME-Zarr 0.4 and 0.5, plain zarr, TIFF, errors."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr

from streamcoloc.readers import open_image, write_ome_zarr
from streamcoloc.readers.chunking import block_chunks

REFDATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "refdata"
MiB = 2**20


def _assert_multiples(chunks, stored):
    """Every dask block boundary falls on a stored-chunk boundary."""
    for axis, size in zip(chunks, stored):
        assert all(n % size == 0 for n in axis[:-1]), (chunks, stored)


@pytest.fixture
def volume():
    return np.random.default_rng(1).integers(0, 4000, (2, 6, 40, 50), dtype=np.uint16)


def test_ome_zarr_round_trip_numpy(tmp_path, volume):
    path = write_ome_zarr(tmp_path / "a.ome.zarr", volume, dims=("c", "z", "y", "x"),
                          chunks=(1, 3, 16, 32), voxel_size={"z": 0.5, "y": 0.1, "x": 0.1},
                          channel_names=["GFP", "RFP"])
    image = open_image(path)
    assert image.dims == ("c", "z", "y", "x")
    assert isinstance(image.data, da.Array)
    np.testing.assert_array_equal(image.values, volume)
    assert image.attrs["voxel_size"] == {"z": 0.5, "y": 0.1, "x": 0.1}
    assert image.attrs["source"] == str(path)
    assert list(image.coords["c"].values) == ["GFP", "RFP"]
    assert image.data.chunksize[0] == 1
    _assert_multiples(image.data.chunks, (1, 3, 16, 32))
    meta = json.loads((path / "zarr.json").read_text())["attributes"]["ome"]
    assert meta["version"] == "0.5"
    dataset = meta["multiscales"][0]["datasets"][0]
    assert zarr.open_array(str(path / dataset["path"])).chunks == (1, 3, 16, 32)


def test_ome_zarr_round_trip_dask_unaligned_blocks(tmp_path, volume):
    data = da.from_array(volume, chunks=(2, 5, 17, 23))
    path = write_ome_zarr(tmp_path / "b.ome.zarr", data, dims="czyx", chunks=(1, 2, 16, 16),
                          voxel_size=[2.0, 0.3, 0.3], compressor="lz4")
    image = open_image(path)
    np.testing.assert_array_equal(image.values, volume)
    assert image.attrs["voxel_size"] == {"z": 2.0, "y": 0.3, "x": 0.3}
    assert "c" not in image.coords


def test_write_ome_zarr_rejects_bad_dims_and_names(tmp_path, volume):
    with pytest.raises(ValueError, match="dims"):
        write_ome_zarr(tmp_path / "x.zarr", volume, dims=("z", "c", "y", "x"))
    with pytest.raises(ValueError, match="channel names"):
        write_ome_zarr(tmp_path / "x.zarr", volume, dims="czyx", channel_names=["one"])


def test_default_blocks_are_about_16_mi_voxels_multiples_of_chunks():
    assert block_chunks((2, 64, 1024, 1024), (1, 16, 512, 512), "czyx") == (1, 64, 512, 512)
    assert block_chunks((33, 152, 172), (1, 152, 172), "zyx") == (33, 152, 172)


def test_large_unwritten_array_opens_lazily_in_aligned_blocks(tmp_path):
    # 2 x 64 x 2048 x 2048 uint16 = 1 GiB of fill value: nothing is written or read.
    zarr.create_array(str(tmp_path / "big.zarr"), shape=(2, 64, 2048, 2048), dtype="uint16",
                      chunks=(1, 16, 512, 512), dimension_names=("c", "z", "y", "x"))
    image = open_image(tmp_path / "big.zarr")
    assert image.dims == ("c", "z", "y", "x")
    assert image.data.chunksize[0] == 1
    assert 8 * MiB <= image.data.size / image.data.npartitions <= 16 * MiB  # voxels
    _assert_multiples(image.data.chunks, (1, 16, 512, 512))
    custom = open_image(tmp_path / "big.zarr", chunks={"z": 16, "x": 2048})
    assert custom.data.chunksize == (1, 16, 512, 2048)


def test_sharded_array_blocks_are_multiples_of_shards(tmp_path):
    zarr.create_array(str(tmp_path / "sharded.zarr"), shape=(96, 2048, 2048), dtype="uint16",
                      chunks=(8, 256, 256), shards=(16, 512, 512))
    image = open_image(tmp_path / "sharded.zarr")
    _assert_multiples(image.data.chunks, (16, 512, 512))
    assert image.data.chunksize[0] % 16 == 0


def _ngff_04(path, levels):
    root = zarr.create_group(str(path), zarr_format=2)
    for i, level in enumerate(levels):
        root.create_array(f"s{i}", data=level, chunks=(1, 2, 8, 8),
                          chunk_key_encoding={"name": "v2", "separator": "/"})
    root.attrs.update({
        "multiscales": [{
            "version": "0.4",
            "axes": [{"name": "c", "type": "channel"},
                     {"name": "z", "type": "space", "unit": "micrometer"},
                     {"name": "y", "type": "space", "unit": "micrometer"},
                     {"name": "x", "type": "space", "unit": "micrometer"}],
            "datasets": [{"path": f"s{i}", "coordinateTransformations": [
                {"type": "scale", "scale": [1, 1, 2**i, 2**i]}]} for i in range(len(levels))],
            "coordinateTransformations": [{"type": "scale", "scale": [1, 0.5, 0.1, 0.1]}],
        }],
        "omero": {"channels": [{"label": "DAPI"}, {"label": "GFP"}]},
    })


def test_ngff_04_on_zarr_v2_levels_by_metadata_path(tmp_path, volume):
    _ngff_04(tmp_path / "v04.zarr", [volume, volume[:, :, ::2, ::2]])
    full = open_image(tmp_path / "v04.zarr")
    np.testing.assert_array_equal(full.values, volume)
    assert full.attrs["voxel_size"] == {"z": 0.5, "y": 0.1, "x": 0.1}
    assert full.attrs["units"]["z"] == "micrometer"
    assert list(full.coords["c"].values) == ["DAPI", "GFP"]
    half = open_image(tmp_path / "v04.zarr", level=1)
    np.testing.assert_array_equal(half.values, volume[:, :, ::2, ::2])
    assert half.attrs["voxel_size"] == {"z": 0.5, "y": 0.2, "x": 0.2}
    with pytest.raises(ValueError, match="levels 0..1"):
        open_image(tmp_path / "v04.zarr", level=2)


def test_plain_zarr_v3_dims(tmp_path, volume):
    named = zarr.create_array(str(tmp_path / "named.zarr"), data=volume[0],
                              dimension_names=("t", "y", "x"))
    assert open_image(tmp_path / "named.zarr").dims == ("t", "y", "x")
    np.testing.assert_array_equal(open_image(tmp_path / "named.zarr").values, named[...])
    zarr.create_array(str(tmp_path / "plain.zarr"), data=volume)
    plain = open_image(tmp_path / "plain.zarr")
    assert plain.dims == ("c", "z", "y", "x") and plain.attrs["voxel_size"] == {}
    assert open_image(tmp_path / "plain.zarr", dims="tzyx").dims == ("t", "z", "y", "x")
    group = zarr.create_group(str(tmp_path / "group.zarr"))
    group.create_array("only", data=volume[0, 0])
    assert open_image(tmp_path / "group.zarr").dims == ("y", "x")
    v2 = zarr.create_array(str(tmp_path / "v2.zarr"), data=volume[0], zarr_format=2)
    v2.attrs["_ARRAY_DIMENSIONS"] = ["z", "y", "x"]
    assert open_image(tmp_path / "v2.zarr").dims == ("z", "y", "x")
    zarr.create_array(str(tmp_path / "six.zarr"), shape=(1,) * 6, dtype="uint8")
    with pytest.raises(ValueError, match="pass dims="):
        open_image(tmp_path / "six.zarr")


def test_imagej_hyperstack_tiff(tmp_path, volume):
    stack = np.ascontiguousarray(volume.transpose(1, 0, 2, 3))  # z, c, y, x
    tifffile.imwrite(tmp_path / "hyper.tif", stack, imagej=True,
                     metadata={"axes": "ZCYX", "spacing": 0.5, "unit": "um"},
                     resolution=(1 / 0.2, 1 / 0.2))
    image = open_image(tmp_path / "hyper.tif")
    assert image.dims == ("z", "c", "y", "x")
    assert isinstance(image.data, da.Array)
    np.testing.assert_array_equal(image.values, stack)
    assert image.attrs["voxel_size"] == pytest.approx({"z": 0.5, "y": 0.2, "x": 0.2})
    assert image.attrs["units"]["x"] == "um"
    graph = pickle.loads(pickle.dumps(image.data))  # picklable for dask.distributed
    np.testing.assert_array_equal(graph.compute(), stack)


def test_plain_2d_tiff(tmp_path, volume):
    tifffile.imwrite(tmp_path / "plane.tiff", volume[0, 0])
    image = open_image(tmp_path / "plane.tiff")
    assert image.dims == ("y", "x") and image.attrs["voxel_size"] == {}
    np.testing.assert_array_equal(image.values, volume[0, 0])


def test_ome_tiff(tmp_path, volume):
    tifffile.imwrite(tmp_path / "img.ome.tif", volume, ome=True, metadata={
        "axes": "CZYX", "PhysicalSizeX": 0.1, "PhysicalSizeY": 0.1, "PhysicalSizeZ": 0.5,
        "Channel": {"Name": ["GFP", "RFP"]}})
    image = open_image(tmp_path / "img.ome.tif", chunks={"z": 1})
    assert image.dims == ("c", "z", "y", "x")
    assert image.data.chunksize == (1, 1, 40, 50)
    np.testing.assert_array_equal(image.values, volume)
    assert list(image.coords["c"].values) == ["GFP", "RFP"]
    assert image.attrs["voxel_size"] == {"z": 0.5, "y": 0.1, "x": 0.1}


def test_errors_name_the_path(tmp_path):
    missing = tmp_path / "missing.zarr"
    with pytest.raises(FileNotFoundError, match="missing.zarr"):
        open_image(missing)
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    with pytest.raises(ValueError, match=r"image\.png.*supported.*TIFF"):
        open_image(tmp_path / "image.png")
    (tmp_path / "folder").mkdir()
    with pytest.raises(ValueError, match="unknown image format"):
        open_image(tmp_path / "folder")
    zarr.create_array(str(tmp_path / "empty.zarr"), shape=(0, 5), dtype="uint8")
    with pytest.raises(ValueError, match="empty.zarr is empty"):
        open_image(tmp_path / "empty.zarr")
    (tmp_path / "empty.tif").write_bytes(b"")
    with pytest.raises(ValueError, match="empty.tif is empty"):
        open_image(tmp_path / "empty.tif")


def test_coloc2_lzw_tiff_opens_lazily():
    path = REFDATA / "coloc2" / "colocsample1b-green.tif"
    if not path.exists():
        pytest.skip(f"reference data not found at {path}")
    image = open_image(path)
    assert image.dims == ("z", "y", "x")
    assert image.shape == (33, 152, 172)
    assert isinstance(image.data, da.Array)
    np.testing.assert_array_equal(image.values, tifffile.imread(path))
