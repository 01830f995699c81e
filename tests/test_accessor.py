"""The ``.coloc`` xarray accessor: names, not positions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import streamcoloc
import streamcoloc.accessor  # noqa: F401  (registers .coloc)
from streamcoloc.accessor import KEY

NAMES = ["GFP", "RFP", "DAPI", "Cy5"]


@pytest.fixture(scope="module")
def volume():
    """(image (c, z, y, x) uint16, labels (z, y, x)) with correlated
    channels; region 9 lies in planes 1 and 2 only, so some (region, slice)
    have no row."""
    rng = np.random.default_rng(3)
    base = rng.poisson(80, size=(3, 12, 14))
    image = np.stack([base + rng.poisson(20 * (k + 1), size=base.shape) for k in range(4)])
    labels = np.zeros((3, 12, 14), np.int32)
    labels[:, :6, 2:12] = 4
    labels[1:, 7:11, 1:13] = 9
    return image.astype(np.uint16), labels


def named(volume, order=("c", "z", "y", "x"), label_order=("z", "y", "x")):
    image, labels = volume
    da = xr.DataArray(image, dims=("c", "z", "y", "x"), coords={"c": NAMES})
    cells = xr.DataArray(labels, dims=("z", "y", "x"))
    return da.transpose(*order), cells.transpose(*label_order)


def plain_pairwise(volume, a="GFP", b="RFP", **options):
    image, labels = volume
    return streamcoloc.analyse_pairwise(image[NAMES.index(a)], image[NAMES.index(b)],
                                        label_mask=labels, channel_a=a, channel_b=b, **options)


def assert_same(indexed: pd.DataFrame, plain: pd.DataFrame):
    assert indexed.index.names == KEY
    pd.testing.assert_frame_equal(indexed.reset_index(), plain, check_exact=True)


@pytest.mark.parametrize("order, label_order", [
    (("c", "z", "y", "x"), ("z", "y", "x")),
    (("x", "c", "y", "z"), ("y", "x", "z")),
    (("y", "x", "z", "c"), ("x", "z", "y"))])
def test_pairwise_on_dims_in_any_order_equals_the_function(volume, order, label_order):
    da, cells = named(volume, order, label_order)
    plain = plain_pairwise(volume, slice_axis=0)
    assert_same(da.coloc.pairwise("GFP", "RFP", label_mask=cells, slice_axis="z"), plain)


def test_float_data_in_another_order_agrees_to_rounding(volume):
    image, labels = volume
    da, cells = named((image.astype(np.float32) / 7, labels), ("x", "z", "c", "y"))
    plain = streamcoloc.analyse_pairwise(image[0].astype(np.float32) / 7,
                                         image[1].astype(np.float32) / 7, label_mask=labels,
                                         channel_a="GFP", channel_b="RFP",
                                         metrics=("pcc", "overlap", "mcc", "regression"))
    result = da.coloc.pairwise("GFP", "RFP", label_mask=cells,
                               metrics=("pcc", "overlap", "mcc", "regression"))
    pd.testing.assert_frame_equal(result.reset_index(), plain, rtol=1e-12)


def test_label_plane_and_coordinate_name(volume):
    image, labels = volume
    plane = labels[1]
    plain = streamcoloc.analyse_pairwise(image[1], image[3], label_mask=plane, slice_axis=0,
                                         channel_a="RFP", channel_b="Cy5", metrics=("pcc",))
    da, _ = named(volume, ("x", "y", "z", "c"))
    cells = xr.DataArray(plane, dims=("y", "x")).T
    assert_same(da.coloc.pairwise("RFP", "Cy5", label_mask=cells, slice_axis="z",
                                  metrics=("pcc",)), plain)
    with_coord = da.assign_coords(cells=(("y", "x"), plane))
    assert_same(with_coord.coloc.pairwise("RFP", "Cy5", label_mask="cells", slice_axis="z",
                                          metrics=("pcc",)), plain)


def test_all_pairs_equals_the_function_in_any_order(volume):
    image, labels = volume
    plain = streamcoloc.analyse_all_to_all(image, 0, label_mask=labels, channel_names=NAMES,
                                           slice_axis=0)
    assert len(plain) > 0 and set(zip(plain["channel_a"], plain["channel_b"])) == {
        (a, b) for i, a in enumerate(NAMES) for b in NAMES[i + 1:]}
    for order, label_order in ((("c", "z", "y", "x"), ("z", "y", "x")),
                               (("y", "z", "x", "c"), ("x", "y", "z"))):
        da, cells = named(volume, order, label_order)
        assert_same(da.coloc.all_pairs("c", label_mask=cells, slice_axis="z"), plain)


def test_all_pairs_of_named_channels_in_the_order_given(volume):
    image, labels = volume
    plain = streamcoloc.analyse_all_to_all(image[[3, 0, 1]], 0, label_mask=labels,
                                           channel_names=["Cy5", "GFP", "RFP"],
                                           metrics=("pcc", "overlap"))
    da, cells = named(volume, ("z", "c", "x", "y"))
    assert_same(da.coloc.all_pairs(channels=["Cy5", "GFP", "RFP"], label_mask=cells,
                                   metrics=("pcc", "overlap")), plain)


def test_dataset_variables_are_channels(volume):
    image, labels = volume
    ds = xr.Dataset({"GFP": (("z", "y", "x"), image[0]),
                     "RFP": (("x", "z", "y"), image[1].transpose(2, 0, 1)),
                     "DAPI": (("y", "x", "z"), image[2].transpose(1, 2, 0)),
                     "cells": (("x", "y", "z"), labels.transpose(2, 1, 0))})
    assert_same(ds.coloc.pairwise("GFP", "RFP", label_mask="cells", slice_axis="z"),
                plain_pairwise(volume, slice_axis=0))
    plain = streamcoloc.analyse_all_to_all(image[:3], 0, label_mask=labels,
                                           channel_names=NAMES[:3])
    assert_same(ds.coloc.all_pairs(label_mask="cells"), plain)  # 'cells' is not a channel
    cells = ds["cells"]
    assert_same(ds.drop_vars("cells").coloc.all_pairs(label_mask=cells), plain)


def test_as_xarray_has_region_slice_pair_dims(volume):
    da, cells = named(volume)
    table = da.coloc.all_pairs(label_mask=cells, slice_axis="z", channels=["GFP", "RFP", "DAPI"])
    ds = da.coloc.all_pairs(label_mask=cells, slice_axis="z", channels=["GFP", "RFP", "DAPI"],
                            as_xarray=True)
    assert dict(ds.sizes) == {"region": 2, "slice": 3, "pair": 3}
    assert list(ds["region"].values) == [4, 9] and list(ds["slice"].values) == [0, 1, 2]
    assert list(ds["pair"].values) == ["GFP|RFP", "GFP|DAPI", "RFP|DAPI"]
    assert list(ds["channel_b"].values) == ["RFP", "DAPI", "DAPI"]
    assert set(ds.data_vars) == set(table.columns)
    assert ds.attrs["threshold_method"] == table.attrs["threshold_method"]
    for (region, slice_, a, b), row in table.iterrows():
        cell = ds.sel(region=region, slice=slice_, pair=f"{a}|{b}")
        assert cell["pcc"].item() == row["pcc"] and cell["n_pixels"].item() == row["n_pixels"]
    absent = ds.sel(region=9, slice=0)  # region 9 has no voxel in plane 0
    assert (absent["n_pixels"] == 0).all() and absent["pcc"].isnull().all()
    assert len(table) == 3 * (2 * 3 - 1)


def test_as_xarray_without_labels_or_slices(volume):
    da, _ = named(volume)
    ds = da.coloc.pairwise("GFP", "DAPI", metrics=("pcc",), as_xarray=True)
    assert dict(ds.sizes) == {"region": 1, "slice": 1, "pair": 1}
    assert ds["region"].item() is None and ds["slice"].item() is None
    r, _ = streamcoloc.pearson(volume[0][0], volume[0][2])
    assert ds["pcc"].item() == r


def test_warnings_point_at_the_caller(volume):
    da, _ = named(volume)
    flat = da.where(da["c"] != "GFP", 7).astype(np.uint16)
    with pytest.warns(streamcoloc.ColocWarning, match="constant") as record:
        flat.coloc.pairwise("GFP", "RFP", metrics=("pcc",))
    assert {w.filename for w in record} == {__file__}


def test_bad_names_give_clear_errors(volume):
    da, cells = named(volume)
    with pytest.raises(ValueError, match=r"unknown channel 'YFP'.*\['GFP', 'RFP', 'DAPI', "
                                         r"'Cy5'\]"):
        da.coloc.pairwise("GFP", "YFP")
    with pytest.raises(ValueError, match="unknown channel 'YFP'"):
        da.coloc.all_pairs(channels=["GFP", "YFP"])
    with pytest.raises(ValueError, match="both 'GFP'"):
        da.coloc.pairwise("GFP", "GFP")
    with pytest.raises(ValueError, match=r"no channel dim 'ch'.*\('c', 'z', 'y', 'x'\)"):
        da.coloc.pairwise("GFP", "RFP", channel_axis="ch")
    with pytest.raises(ValueError, match="has no coordinate.*assign_coords"):
        da.drop_vars("c").coloc.pairwise("GFP", "RFP")
    with pytest.raises(ValueError, match="slice_axis 't' is not a dim"):
        da.coloc.pairwise("GFP", "RFP", slice_axis="t")
    with pytest.raises(TypeError, match="slice_axis must be a dim name"):
        da.coloc.pairwise("GFP", "RFP", slice_axis=0)
    with pytest.raises(ValueError, match=r"label_mask has dims \('y', 'q'\)"):
        da.coloc.pairwise("GFP", "RFP", label_mask=xr.DataArray(volume[1][0], dims=("y", "q")),
                          slice_axis="z")
    with pytest.raises(ValueError, match="label_mask 'nuclei' is not a coordinate"):
        da.coloc.pairwise("GFP", "RFP", label_mask="nuclei")
    ds = da.to_dataset("c")
    with pytest.raises(ValueError, match=r"unknown channel variable\(s\) \['YFP'\].*'GFP'"):
        ds.coloc.pairwise("GFP", "YFP")
    with pytest.raises(ValueError, match="at least 2 channel variables"):
        ds.coloc.all_pairs(channels=["GFP"])
