"""streamcoloc.analysis against brute-force float64 references."""

from __future__ import annotations

import warnings

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import xarray as xr
import zarr
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

import streamcoloc
from streamcoloc import ColocWarning

from .reference import assert_row_matches, reference_metrics

DTYPES = ["bool", "uint8", "int8", "uint16", "int16", "int32", "uint32", "float32", "float64"]


@st.composite
def cases(draw):
    ndim = draw(st.integers(2, 3))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    if dtype == np.bool_:
        a, b = rng.random(shape) < 0.6, rng.random(shape) < 0.6
    elif dtype.kind == "f":
        a = rng.normal(50, 20, shape).astype(dtype)
        b = (0.5 * a + rng.normal(10, 10, shape)).astype(dtype)
    else:
        info = np.iinfo(dtype)
        low, high = max(info.min, -1000), min(info.max, 60000)
        a = rng.integers(max(low, 0), high, shape, endpoint=True).astype(dtype)
        b = rng.integers(max(low, 0), high, shape, endpoint=True).astype(dtype)
        b[rng.random(shape) < 0.2] = 0
    chunks = tuple(draw(st.integers(1, n)) for n in shape)
    chunks_b = tuple(draw(st.integers(1, n)) for n in shape)
    slice_axis = draw(st.sampled_from([None] + list(range(ndim))))
    label_kind = draw(st.sampled_from(["none", "mask", "sparse", "plane"]))
    labels = None
    if label_kind == "mask":
        labels = rng.random(shape) < 0.7
    elif label_kind in ("sparse", "plane"):
        plane = label_kind == "plane" and slice_axis is not None
        label_shape = shape if not plane else shape[:slice_axis] + shape[slice_axis + 1:]
        ids = np.array([0, 7, 2**40 + 3, 2**62 + 11, 123456789], dtype=np.int64)
        labels = ids[rng.integers(0, ids.size, label_shape)]
        if draw(st.booleans()):
            labels = labels.astype(np.uint64)
    thresholds = (float(draw(st.integers(0, 3))), float(draw(st.integers(0, 3)))) \
        if dtype.kind != "f" else (30.0, 20.0)
    return a, b, chunks, chunks_b, slice_axis, labels, thresholds


def expected_rows(a, b, labels, slice_axis, thresholds):
    """{(region, slice): reference metrics}, by brute force."""
    a = a.astype(np.float64)
    b = b.astype(np.float64)
    if labels is None:
        labels = np.ones(a.shape, np.int64)
    elif labels.ndim < a.ndim:
        labels = np.broadcast_to(np.expand_dims(labels, slice_axis), a.shape)
    labels = labels.astype(np.int64) if labels.dtype != np.uint64 else labels
    planes = [None] if slice_axis is None else range(a.shape[slice_axis])
    rows = {}
    for s in planes:
        sel = (slice(None),) * (slice_axis or 0) + (s,) if s is not None else ()
        la, aa, bb = labels[sel], a[sel], b[sel]
        for region in np.unique(la):
            if region == 0:
                continue
            inside = la == region
            rows[(int(region), s)] = reference_metrics(aa[inside], bb[inside], *thresholds)
    return rows


def as_chunked(x, chunks, kind):
    if kind == "dask":
        return da.from_array(x, chunks=chunks)
    if kind == "zarr":
        z = zarr.create_array(store=zarr.storage.MemoryStore(), shape=x.shape, dtype=x.dtype,
                              chunks=chunks)
        z[...] = x
        return z
    return x


MOMENT_METRICS = ("pcc", "overlap", "mcc", "regression")


@given(cases(), st.sampled_from(["numpy", "dask", "zarr"]))
def test_pairwise_matches_reference(case, kind):
    a, b, chunks, chunks_b, slice_axis, labels, thresholds = case
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocWarning)
        table = streamcoloc.analyse_pairwise(
            as_chunked(a, chunks, kind), as_chunked(b, chunks_b, kind), label_mask=labels,
            slice_axis=slice_axis, threshold_a=thresholds[0], threshold_b=thresholds[1],
            metrics=MOMENT_METRICS)
    assert list(table.columns) == list(streamcoloc.COLUMNS)
    expected = expected_rows(a, b, labels, slice_axis, thresholds)
    got = {}
    for _, row in table.iterrows():
        region = 1 if labels is None else int(row["region"])
        got[(region, None if pd.isna(row["slice"]) else int(row["slice"]))] = row
    if labels is not None and labels.dtype == np.bool_:
        expected = {(1, s): v for (_, s), v in expected.items()}
    assert got.keys() == expected.keys()
    for key, row in got.items():
        assert_row_matches(row, expected[key])
        assert row["threshold_a"] == thresholds[0] and row["threshold_b"] == thresholds[1]
        assert np.isnan(row["srcc"]) and np.isnan(row["icq"])  # not requested
        assert table.attrs["n_reads"] == 1


@given(cases(), st.sampled_from(["costes", "coloc2-bisection", "otsu", "jacop"]))
def test_rank_and_threshold_metrics_match_references(case, method):
    """Every table metric per region and slice, in one read for integer data:
    scipy's Spearman and Kendall, Coloc 2's ICQ, each tool's Costes replay and
    scikit-image's thresholds, then the thresholded coefficients at them."""
    from skimage import filters

    from . import reference_costes as ref

    a, b, chunks, chunks_b, slice_axis, labels, _ = case
    if a.dtype.kind == "f" or a.dtype.itemsize > 2:
        return
    if a.dtype != np.bool_:  # small ranges: joint tables
        a, b = ((x.astype(np.int64) % 100).astype(a.dtype) for x in (a, b))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ColocWarning)
        table = streamcoloc.analyse_pairwise(
            da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks_b),
            label_mask=labels, slice_axis=slice_axis, threshold_method=method)
    assert table.attrs["n_reads"] == 1 and table.attrs["tables"] == "joint"
    selections = region_selections(a, labels, slice_axis)
    got = {(1 if labels is None else int(r["region"]),
            None if pd.isna(r["slice"]) else int(r["slice"])): r for _, r in table.iterrows()}
    assert got.keys() == {k for k, v in selections.items() if v.any()}
    for key, row in got.items():
        sel = selections[key]
        x, y = a[sel].astype(np.int64), b[sel].astype(np.int64)
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            assert row["srcc"] == pytest.approx(stats.spearmanr(x, y).statistic, abs=1e-12)
            if x.size > 2:  # scipy divides by n − 2
                assert row["kendall"] == pytest.approx(
                    stats.kendalltau(x, y, method="asymptotic").statistic, abs=1e-12)
            assert row["icq"] == pytest.approx(ref.coloc2_icq(x, y), abs=1e-12)
        else:
            assert np.isnan(row["srcc"]) and np.isnan(row["kendall"])
        if method == "otsu":
            expected = (filters.threshold_otsu(x), filters.threshold_otsu(y))
        elif method == "jacop":
            walk = ref.jacop_costes(x, y)
            expected = (walk["threshold_a"], walk["threshold_b"]) if np.isfinite(
                walk["slope"]) and walk["slope"] > 0 else (np.nan, np.nan)
        else:
            walk = ref.coloc2_costes(a[sel], b[sel], "costes" if method == "costes"
                                     else "bisection", regression_skips_first_voxel=False)
            expected = (walk["threshold_a"], walk["threshold_b"]) if walk["slope"] > 0 \
                else (np.nan, np.nan)
        if not (np.ptp(x) > 0 and np.ptp(y) > 0):
            continue
        assert (row["threshold_a"], row["threshold_b"]) == pytest.approx(expected, nan_ok=True)
        if np.isfinite(row["threshold_a"]):
            thresholded = ref.coloc2_thresholded(x, y, row["threshold_a"], row["threshold_b"])
            for column in ("tm1", "tm2", "pcc_below", "pcc_above"):
                assert row[column] == pytest.approx(thresholded[column], rel=1e-9, abs=1e-12,
                                                    nan_ok=True), column


def region_selections(a, labels, slice_axis) -> dict:
    """{(region, slice): boolean selection of a's voxels}."""
    full = np.ones(a.shape, np.int64) if labels is None else labels.astype(np.int64) \
        if labels.dtype != np.uint64 else labels
    if full.ndim < a.ndim:
        full = np.broadcast_to(np.expand_dims(full, slice_axis), a.shape)
    if labels is not None and labels.dtype == np.bool_:
        full = full.astype(np.int64)
    out = {}
    planes = [None] if slice_axis is None else range(a.shape[slice_axis])
    for s in planes:
        plane = np.ones(a.shape, bool)
        if s is not None:
            plane = np.zeros(a.shape, bool)
            index = [slice(None)] * a.ndim
            index[slice_axis] = s
            plane[tuple(index)] = True
        for region in np.unique(full):
            if region != 0:
                out[(int(region), s)] = plane & (full == region)
    return out


@given(cases())
def test_integer_results_do_not_depend_on_chunking(case):
    a, b, chunks, chunks_b, slice_axis, labels, thresholds = case
    if a.dtype.kind == "f" or a.dtype.itemsize > 2:
        return
    small = [(x.astype(np.int64) % 100).astype(a.dtype) if a.dtype != np.bool_ else x
             for x in (a, b)]
    for (x, y), kwargs in (((a, b), dict(threshold_a=thresholds[0], threshold_b=thresholds[1],
                                         metrics=MOMENT_METRICS)),
                           (small, dict(metrics=streamcoloc.ALL_METRICS))):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ColocWarning)
            one = streamcoloc.analyse_pairwise(da.from_array(x, chunks=-1),
                                               da.from_array(y, chunks=-1), label_mask=labels,
                                               slice_axis=slice_axis, **kwargs)
            many = streamcoloc.analyse_pairwise(da.from_array(x, chunks=chunks),
                                                da.from_array(y, chunks=chunks_b),
                                                label_mask=labels, slice_axis=slice_axis, **kwargs)
        pd.testing.assert_frame_equal(one, many, check_exact=True)


def test_single_metric_functions_match_scipy():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 4096, (7, 40, 33)).astype(np.uint16)
    b = (a // 3 + rng.integers(0, 1000, a.shape)).astype(np.uint16)
    mask = rng.random(a.shape) < 0.5
    ref = reference_metrics(a[mask], b[mask], 300, 500)
    r, p = streamcoloc.pearson(a, b, mask=mask)
    assert r == pytest.approx(ref["pcc"], rel=1e-12)
    assert p == pytest.approx(stats.pearsonr(a[mask].astype(float), b[mask].astype(float)).pvalue,
                              rel=1e-6, abs=1e-300)
    assert streamcoloc.overlap(a, b, mask) == pytest.approx(
        (ref["overlap"], ref["k1"], ref["k2"]), rel=1e-12)
    assert streamcoloc.manders(a, b, 300, 500, mask=mask) == pytest.approx(
        (ref["tm1"], ref["tm2"]), rel=1e-12)
    assert streamcoloc.manders(a, b, mask=mask) == pytest.approx((ref["m1"], ref["m2"]), rel=1e-12)
    assert streamcoloc.costes_regression(a, b, mask) == pytest.approx(
        (ref["slope"], ref["intercept"]), rel=1e-9)


def test_bright_low_variance_data_is_exact():
    """uint16 60000 ± 2: the one-pass float formula loses every digit; the
    exact sums give r as exact rational arithmetic does."""
    from fractions import Fraction
    from decimal import Decimal, getcontext

    rng = np.random.default_rng(7)
    a = (60000 + rng.integers(-2, 3, (8, 300, 300))).astype(np.uint16)
    b = (a.astype(np.int64) + rng.integers(-1, 2, a.shape)).clip(0, 65535).astype(np.uint16)
    ai, bi = a.ravel().astype(object), b.ravel().astype(object)
    n = len(ai)
    sa, sb = int(a.sum(dtype=np.int64)), int(b.sum(dtype=np.int64))
    saa = int((a.astype(np.int64) ** 2).sum())
    sbb = int((b.astype(np.int64) ** 2).sum())
    sab = int((a.astype(np.int64) * b.astype(np.int64)).sum())
    getcontext().prec = 50
    exact = (Decimal(n * sab - sa * sb)
             / (Decimal(n * saa - sa * sa) * Decimal(n * sbb - sb * sb)).sqrt())
    naive_a = a.astype(np.float32)
    r, _ = streamcoloc.pearson(da.from_array(a, chunks=(3, 77, 91)), da.from_array(b, chunks=(5, 300, 64)))
    assert abs(Decimal(r) - exact) < Decimal(1e-14)
    # the same data through the float path stays accurate thanks to centering
    rf, _ = streamcoloc.pearson(a.astype(np.float64), b.astype(np.float64))
    assert abs(Decimal(rf) - exact) < Decimal(1e-10)
    del ai, bi, naive_a, Fraction


def test_all_to_all_one_read_and_pairwise_nan_exclusion():
    rng = np.random.default_rng(3)
    image = rng.normal(100, 10, (3, 6, 20, 21))
    image[2, 0, 0, :5] = np.nan
    names = ["GFP", "RFP", "DAPI"]
    xa = xr.DataArray(da.from_array(image, chunks=(1, 3, 7, 8)), dims=("c", "z", "y", "x"),
                      coords={"c": names})
    table = streamcoloc.analyse_all_to_all(xa, "c")
    assert [tuple(p) for p in table[["channel_a", "channel_b"]].values] == [
        ("GFP", "RFP"), ("GFP", "DAPI"), ("RFP", "DAPI")]
    assert list(table["n_excluded"]) == [0, 5, 5]
    assert list(table["n_pixels"]) == [image[0].size, image[0].size - 5, image[0].size - 5]
    for _, row in table.iterrows():
        i, j = names.index(row["channel_a"]), names.index(row["channel_b"])
        keep = np.isfinite(image[i]) & np.isfinite(image[j])
        assert row["pcc"] == pytest.approx(
            stats.pearsonr(image[i][keep], image[j][keep]).statistic, rel=1e-10)


def test_all_to_all_reads_the_data_once(monkeypatch):
    """Every block of the image is fetched once, all channels together, for
    all six pairs (a zarr chunk holding every channel is decoded once)."""
    reads = []

    class Counting(np.ndarray):
        def __getitem__(self, index):
            reads.append(index)
            return np.asarray(super().__getitem__(index))

    image = np.random.default_rng(0).integers(0, 100, (4, 8, 16)).astype(np.uint8).view(Counting)
    array = da.from_array(image, chunks=(4, 4, 8), asarray=False)
    table = streamcoloc.analyse_all_to_all(array, 0)
    assert len(table) == 6
    reads = [r for r in reads if all(not isinstance(i, slice) or i.stop > i.start for i in r)]
    assert len(reads) == array.npartitions
    assert all(r[0] == slice(0, 4) for r in reads)


def test_xarray_slice_axis_by_name_and_t_dim():
    rng = np.random.default_rng(4)
    a = rng.integers(0, 200, (3, 4, 10, 11)).astype(np.uint8)
    b = rng.integers(0, 200, a.shape).astype(np.uint8)
    xa = xr.DataArray(a, dims=("t", "z", "y", "x"))
    xb = xr.DataArray(b.transpose(3, 2, 1, 0), dims=("x", "y", "z", "t"))  # order by name
    table = streamcoloc.analyse_pairwise(xa, xb)
    assert list(table["slice"]) == [0, 1, 2]
    for t in range(3):
        assert table["pcc"][t] == pytest.approx(
            stats.pearsonr(a[t].ravel().astype(float), b[t].ravel().astype(float)).statistic)
    by_z = streamcoloc.analyse_pairwise(xa.isel(t=0), xb.isel(t=0), slice_axis="z")
    assert len(by_z) == 4


def test_label_mask_as_xarray_coordinate():
    a = xr.DataArray(np.arange(24.0).reshape(4, 6), dims=("y", "x"))
    b = a ** 2
    a = a.assign_coords(cells=(("y", "x"), np.repeat([1, 2], 12).reshape(4, 6)))
    table = streamcoloc.analyse_pairwise(a, b, label_mask="cells")
    assert list(table["region"]) == [1, 2]


def test_empty_region_and_constant_channel_warn():
    a = np.ones((5, 5), np.uint8)
    b = np.arange(25, dtype=np.uint8).reshape(5, 5)
    with pytest.warns(ColocWarning, match="constant"):
        r, p = streamcoloc.pearson(a, b)
    assert np.isnan(r) and np.isnan(p)
    with pytest.warns(ColocWarning, match="empty"):
        r, _ = streamcoloc.pearson(a, b, mask=np.zeros((5, 5), bool))
    assert np.isnan(r)
    f = np.full((4, 4), np.nan)
    with pytest.warns(ColocWarning, match="no measurable voxel"):
        table = streamcoloc.analyse_pairwise(f, f)
    assert table["n_pixels"][0] == 0 and table["n_excluded"][0] == 16


def test_negative_values_give_nan_manders_but_pearson():
    rng = np.random.default_rng(5)
    a = rng.normal(0, 1, (20, 20))
    b = a + rng.normal(0, 1, a.shape)
    with pytest.warns(ColocWarning, match="negative"):
        table = streamcoloc.analyse_pairwise(a, b)
    row = table.iloc[0]
    assert np.isnan(row["overlap"]) and np.isnan(row["m1"]) and np.isnan(row["tm2"])
    assert row["pcc"] == pytest.approx(stats.pearsonr(a.ravel(), b.ravel()).statistic)


def test_background_and_saturation():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 256, (30, 30)).astype(np.uint8)
    b = rng.integers(0, 256, (30, 30)).astype(np.uint8)
    table = streamcoloc.analyse_pairwise(a, b, background=(10, 20), exclude_saturated=True)
    keep = (a < 255) & (b < 255)
    aa = np.clip(a[keep].astype(float) - 10, 0, None)
    bb = np.clip(b[keep].astype(float) - 20, 0, None)
    assert_row_matches(table.iloc[0], reference_metrics(aa, bb))
    assert table["n_excluded"][0] == (~keep).sum()
    assert table.attrs["excluded"]["saturated"] == (~keep).sum()
    with pytest.raises(ValueError, match="integer"):
        streamcoloc.analyse_pairwise(a, b, background=1.5)
    with pytest.raises(ValueError, match="saturation"):
        streamcoloc.analyse_pairwise(a.astype(float), b, exclude_saturated=True)


@pytest.mark.parametrize("bad, message", [
    (dict(b=np.zeros((4, 5))), "different shapes"),
    (dict(b=np.array([["x"] * 4] * 4)), "numeric"),
    (dict(label_mask=np.zeros((4, 4), np.float32)), "float"),
    (dict(label_mask=np.zeros((3, 4), np.int32)), "label_mask shape"),
    (dict(label_mask=-np.ones((4, 4), np.int32)), "negative"),
    (dict(a=np.zeros((0, 4))), "empty"),
    (dict(metrics=["pcc", "nope"]), "unknown metrics"),
    (dict(threshold_method="bogus"), "threshold_method"),
    (dict(convention="fiji"), "convention"),
    (dict(icq_convention="other"), "icq_convention"),
    (dict(percentile=120), "percentile"),
    (dict(scale=0), "scale"),
    (dict(threshold_a=3), "both"),
    (dict(slice_axis="z"), "dim name"),
])
def test_bad_input_is_named(bad, message):
    args = dict(a=np.ones((4, 4)), b=np.ones((4, 4)))
    args.update(bad)
    a, b = args.pop("a"), args.pop("b")
    with pytest.raises((ValueError, TypeError), match=message):
        streamcoloc.analyse_pairwise(a, b, **args)


def test_metric_subset_leaves_other_columns_nan():
    a = np.arange(16.0).reshape(4, 4)
    table = streamcoloc.analyse_pairwise(a, a + 1, metrics=["overlap"])
    assert np.isnan(table["pcc"][0]) and np.isnan(table["m1"][0]) and np.isnan(table["slope"][0])
    assert table["overlap"][0] > 0.9


def test_threshold_function_equals_scikit_image():
    from skimage import filters

    image = np.random.default_rng(0).gamma(2, 100, (50, 60)).astype(np.uint16)
    mask = np.zeros(image.shape, bool)
    mask[5:40] = True
    for method in ("otsu", "li", "triangle", "yen", "isodata", "mean"):
        expected = getattr(filters, f"threshold_{method}")(image[mask])
        assert streamcoloc.threshold(image, method, mask=mask) == pytest.approx(expected)
    assert streamcoloc.threshold(image, "percentile", percentile=90) == pytest.approx(
        np.percentile(image, 90))


@pytest.mark.parametrize("method", ["otsu", "li", "percentile"])
def test_single_channel_threshold_is_one_read_of_marginals(monkeypatch, method):
    """streamcoloc.threshold needs one channel's histogram only: one read,
    even for 16-bit data too wide for a joint table (it took two: a per-voxel
    read for thresholded Manders nobody asked for)."""
    from skimage import filters

    import streamcoloc.analysis as analysis

    reads = []
    run = analysis._run

    def counting(*args, **kwargs):
        measurement, layout = run(*args, **kwargs)
        reads.append(measurement.n_reads)
        return measurement, layout

    monkeypatch.setattr(analysis, "_run", counting)
    image = np.random.default_rng(8).integers(0, 60000, (4, 64, 64)).astype(np.uint16)
    got = streamcoloc.threshold(image, method)
    assert reads == [1]
    if method == "percentile":
        assert got == pytest.approx(np.percentile(image, 50.0))
    else:
        assert got == pytest.approx(getattr(filters, f"threshold_{method}")(image), rel=1e-12)
