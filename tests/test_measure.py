"""The read plan: one read for integer data, the wide (per-voxel) path equal to
the joint-table path, float data on a grid, and the threshold conventions."""

from __future__ import annotations

import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest
from scipy import stats

import streamcoloc

from . import reference_costes as ref

COLUMNS = ["pcc_below", "pcc_above", "srcc", "srcc_pvalue", "icq", "tm1", "tm2", "threshold_a",
           "threshold_b", "overlap", "k1", "k2", "rwc1", "rwc2"]
METHODS = ["costes", "coloc2-bisection", "cellprofiler-accurate", "cellprofiler-fast",
           "cellprofiler-faster", "jacop", "otsu", "li", "manual"]


def _data(seed=5, shape=(4, 40, 50)):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 300, shape)
    a = (base + rng.integers(0, 80, shape)).astype(np.uint16)
    b = (base * 0.8 + rng.integers(0, 90, shape)).astype(np.uint16)
    labels = rng.integers(0, 3, shape[1:]).astype(np.int32)
    return a, b, labels


def _analyse(a, b, labels, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", streamcoloc.ColocWarning)
        return streamcoloc.analyse_pairwise(da.from_array(a, chunks=(2, 20, 25)), b,
                                            label_mask=labels, slice_axis=0, **kwargs)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("convention", ["coloc2", "cellprofiler"])
def test_wide_path_equals_joint_tables(method, convention):
    """Tables over budget: marginals, then per-voxel reads give the same numbers."""
    a, b, labels = _data()
    kwargs = dict(threshold_method=method, convention=convention)
    if method == "manual":
        kwargs.update(threshold_a=150, threshold_b=120)
    joint = _analyse(a, b, labels, **kwargs)
    wide = _analyse(a, b, labels, max_table_cells=10, **kwargs)
    assert (joint.attrs["tables"], wide.attrs["tables"]) == ("joint", "wide")
    assert joint.attrs["n_reads"] == 1 and wide.attrs["n_reads"] in (2, 3)
    if convention == "coloc2" and method in ("costes", "coloc2-bisection"):
        # PCC above comes from the above-gate table of the second read: no third
        assert wide.attrs["n_reads"] == 2
    for column in COLUMNS:
        np.testing.assert_allclose(wide[column].to_numpy(float), joint[column].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=column)
    expected_finite = {"rwc1": convention == "cellprofiler", "tm1": True, "pcc_above": True}
    for column, finite in expected_finite.items():
        assert np.isfinite(joint[column]).all() == finite, column


def test_kendall_over_budget_is_binned_and_said():
    """Non-empty joint cells over the budget: the second read bins the values
    by the smallest power of two whose tables surely fit, and says so; tau-b
    is then exactly that of the binned values."""
    a, b, labels = _data()
    exact = _analyse(a, b, labels, metrics=["kendall"])
    occupied = sum(np.unique(a[s][labels == g].astype(np.int64) * 65536 + b[s][labels == g]).size
                   for s in range(a.shape[0]) for g in (1, 2))
    with pytest.warns(streamcoloc.ColocWarning, match="kendall"):
        binned = streamcoloc.analyse_pairwise(a, b, label_mask=labels, slice_axis=0,
                                              metrics=["kendall"], max_table_cells=occupied - 1)
    assert binned.attrs["tables"] == "wide" and binned.attrs["notes"]
    assert f"exceed the budget of {occupied - 1} cells" in binned.attrs["notes"][0]
    factor = int(binned.attrs["notes"][0].split("binned by ")[1].split()[0])
    assert factor > 1 and factor & (factor - 1) == 0
    shift = factor.bit_length() - 1
    s, region = 1, 2
    inside = labels == region
    row = exact[(exact["slice"] == s) & (exact["region"] == region)].iloc[0]
    assert row["kendall"] == pytest.approx(
        stats.kendalltau(a[s][inside], b[s][inside], method="asymptotic").statistic, abs=1e-12)
    row = binned[(binned["slice"] == s) & (binned["region"] == region)].iloc[0]
    assert row["kendall"] == pytest.approx(stats.kendalltau(
        a[s][inside] >> shift, b[s][inside] >> shift, method="asymptotic").statistic, abs=1e-12)


def test_thresholded_conventions_against_the_tools():
    a, b, _ = _data(7, shape=(1, 60, 60))
    table = streamcoloc.analyse_pairwise(a, b, threshold_method="manual", threshold_a=150,
                                         threshold_b=120)
    expected = ref.coloc2_thresholded(a.ravel(), b.ravel(), 150, 120)
    for column in ("tm1", "tm2", "pcc_below", "pcc_above"):
        assert table[column][0] == pytest.approx(expected[column], rel=1e-12), column
    cp = streamcoloc.analyse_pairwise(a, b, threshold_method="manual", threshold_a=150,
                                      threshold_b=120, convention="cellprofiler")
    fa, fb = a.ravel().astype(float), b.ravel().astype(float)
    both = (fa >= 150) & (fb >= 120)
    assert cp["tm1"][0] == pytest.approx(fa[both].sum() / fa[fa >= 150].sum(), rel=1e-12)
    assert cp["overlap"][0] == pytest.approx(
        (fa[both] * fb[both]).sum() / np.sqrt((fa[both] ** 2).sum() * (fb[both] ** 2).sum()))
    rwc = ref.cellprofiler_rwc(fa, fb, 150, 120, operator=">=")
    assert (cp["rwc1"][0], cp["rwc2"][0]) == pytest.approx(rwc, rel=1e-12)


@pytest.mark.parametrize("convention, reference", [("coloc2", ref.coloc2_icq),
                                                    ("jacop", ref.jacop_icq)])
def test_icq_conventions(convention, reference):
    a, b, _ = _data(8, shape=(1, 50, 50))
    a[0, :10] = a.mean().round()  # values equal to the mean: products of 0
    assert streamcoloc.li_icq(a, b, convention=convention) == pytest.approx(
        reference(a.ravel(), b.ravel()), abs=1e-12)


def test_float_data_take_two_reads_and_ranks_within_the_grid_bound():
    rng = np.random.default_rng(9)
    a = rng.gamma(2.0, 1.0, (30, 40)).astype(np.float32)
    b = (a + rng.normal(0, 0.7, a.shape)).astype(np.float32)
    table = streamcoloc.analyse_pairwise(a, b, metrics=["srcc", "pcc"])
    assert table.attrs["n_reads"] == 2
    expected = stats.spearmanr(a.ravel(), b.ravel()).statistic
    # the grid's ties move rho by at most arcsin(ε_a) + arcsin(ε_b)
    bound = 0.0
    for x in (a.ravel(), b.ravel()):
        grid = streamcoloc.stats.voxels.Grid.covering(float(x.min()), float(x.max()))
        _, counts = np.unique(grid.to_grid(x), return_counts=True)
        ranks = stats.rankdata(x)
        eps = np.sqrt((counts * (counts**2 - 1) / 12.0).sum() / ((ranks - ranks.mean()) ** 2).sum())
        bound += np.arcsin(eps)
    assert 0 < bound < 0.01
    assert abs(table["srcc"][0] - expected) <= bound


@pytest.mark.parametrize("method", ["costes", "coloc2-bisection", "cellprofiler-accurate"])
def test_float_wide_path_equals_joint_tables(method):
    """Float data on a grid (whose strictly-above gate is the ≥ gate): the
    per-voxel read gives the joint tables' numbers; Coloc 2's Pearson above
    comes from its second read (three reads in all: range, marginals, pairs)."""
    rng = np.random.default_rng(21)
    a = rng.gamma(3.0, 40.0, (2, 30, 40)).astype(np.float32)
    b = (0.7 * a + rng.gamma(2.0, 15.0, a.shape)).astype(np.float32)
    labels = rng.integers(0, 3, (30, 40)).astype(np.int32)
    joint = _analyse(a, b, labels, threshold_method=method)
    wide = _analyse(a, b, labels, threshold_method=method, max_table_cells=10)
    assert (joint.attrs["tables"], wide.attrs["tables"]) == ("joint", "wide")
    # range, marginals, pairs; CellProfiler's sums at its thresholds take a fourth
    coloc2 = method in ("costes", "coloc2-bisection")
    assert wide.attrs["n_reads"] == joint.attrs["n_reads"] + (1 if coloc2 else 2) == \
        (3 if coloc2 else 4)
    for column in COLUMNS:
        np.testing.assert_allclose(wide[column].to_numpy(float), joint[column].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=column)
    assert np.isfinite(joint["pcc_above"]).all()


@pytest.mark.parametrize("offset", [0, 1000])
def test_wide_integers_on_a_grid_keep_integer_thresholds(offset):
    """uint32 data take the grid path (wider than 16 bits) but are integers:
    voxels equal to a threshold are not "above" it, so every column equals
    the uint16 analysis of the same values (grid step 1 whatever the base)."""
    a, b, labels = _data(11)
    a, b = a + offset, b + offset
    a[0, 0, 0] = b[0, 0, 0] = offset
    narrow = _analyse(a, b, labels, threshold_method="costes")
    wide = _analyse(a.astype(np.uint32), b.astype(np.uint32), labels,
                    threshold_method="costes")
    assert narrow.attrs["n_reads"] < wide.attrs["n_reads"]  # the grid path: a range read first
    for column in COLUMNS:
        np.testing.assert_allclose(wide[column].to_numpy(float), narrow[column].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=column)
    # and against Coloc 2's own formulas over the voxels (independent reference)
    row = wide.iloc[-1]
    inside = labels == row["region"]
    s = int(row["slice"])
    expected = ref.coloc2_thresholded(a[s][inside].astype(float), b[s][inside].astype(float),
                                      row["threshold_a"], row["threshold_b"])
    for column in ("pcc_below", "pcc_above", "tm1", "tm2"):
        assert row[column] == pytest.approx(expected[column], rel=1e-12), column


@pytest.mark.parametrize("method", ["costes", "cellprofiler-accurate", "otsu"])
def test_rows_derived_on_threads_equal_serial_rows(method, monkeypatch):
    """Every row on the threads (a threshold of 0 cells) or none: identical
    tables, Costes walks included."""
    from streamcoloc import measure

    a, b, labels = _data(7)
    monkeypatch.setattr(measure, "THREADED_ROW_CELLS", 0)
    with dask.config.set(num_workers=2):
        threaded = _analyse(a, b, labels, threshold_method=method)
    monkeypatch.setattr(measure, "THREADED_ROW_CELLS", 2**62)
    serial = _analyse(a, b, labels, threshold_method=method)
    assert len(serial) == 4 * 2  # regions 1 and 2 (0 is background) on 4 slices
    pd.testing.assert_frame_equal(threaded, serial, check_exact=True)


def test_rows_on_threads_are_chosen_on_their_summed_cells(monkeypatch):
    """The rows derived on threads are those of at least THREADED_ROW_CELLS
    cells once summed: on many small chunks the parts that the last merge
    leaves hold more cells than their sum (here above the threshold while
    the sums are below), and the choice is still the one chunk's."""
    from streamcoloc import measure

    rng = np.random.default_rng(9)
    a = rng.integers(0, 100, (4, 64, 64)).astype(np.uint16)
    b = rng.integers(0, 100, a.shape).astype(np.uint16)
    labels = np.ones(a.shape, np.int32)
    labels[:, :, 32:] = 2  # two regions of 8,192 voxels: about 5,600 of 10,000 cells each
    cells = [np.unique(a[labels == r].astype(np.int64) * 100 + b[labels == r]).size
             for r in (1, 2)]
    assert max(cells) < 6_000
    summed, derived = [], []

    def spy(func, items):
        items = list(items)
        if getattr(func, "__name__", "") == "_from_joint_row":
            derived.append(sorted(row.index for row in items))
        else:
            summed.append(sorted(items))
        return [func(item) for item in items]

    monkeypatch.setattr(measure, "map_local", spy)
    monkeypatch.setattr(measure, "THREADED_ROW_CELLS", 6_000)
    tables = []
    for chunks in [(4, 64, 64), (1, 16, 16)]:  # one chunk; 64 chunks, merged 8 at a time
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", streamcoloc.ColocWarning)
            tables.append(streamcoloc.analyse_pairwise(da.from_array(a, chunks=chunks), b,
                                                       label_mask=labels))
    assert summed == [[], [0, 1]]  # the 64 chunks' parts exceed the threshold...
    assert derived == [[], []]  # ...their sums do not: derived one after the other either way
    pd.testing.assert_frame_equal(*tables, check_exact=True)


@pytest.mark.parametrize("kind", ["uint16", "float32"])
def test_rwc_is_exact_whatever_the_chunking_and_the_path(kind):
    """RWC's numerators are exact integer sums (Σ x·W, Σ W) divided once:
    rwc1/rwc2 are bit-identical for one chunk and for ragged chunks on the
    per-voxel path, and equal to the joint tables' (floats on their grid)."""
    if kind == "uint16":
        a, b, labels = _data(seed=8)
    else:
        rng = np.random.default_rng(8)
        a = rng.gamma(3.0, 40.0, (4, 40, 50)).astype(np.float32)
        b = (0.7 * a + rng.gamma(2.0, 15.0, a.shape)).astype(np.float32)
        labels = rng.integers(0, 3, (40, 50)).astype(np.int32)
    rwc = ["rwc1", "rwc2"]

    def run(chunks, **kwargs):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", streamcoloc.ColocWarning)
            return streamcoloc.analyse_pairwise(
                da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks),
                label_mask=labels, slice_axis=0, convention="cellprofiler",
                threshold_method="costes", metrics=["pcc", "mcc", "rwc"], **kwargs)[rwc]

    one = run(-1, max_table_cells=10)
    ragged = run((3, 7, 9), max_table_cells=10)
    joint = run((3, 7, 9))
    assert np.isfinite(one.to_numpy()).all()
    pd.testing.assert_frame_equal(one, ragged, check_exact=True)
    pd.testing.assert_frame_equal(one, joint, check_exact=True)


def test_full_range_16_bit_rows_take_one_read_and_exact_kendall():
    """Full-range 16-bit values (a row's extent 65536**2 cells, beyond any
    dense table) whose occupied cells fit the budget: joint tables in one
    read, every metric equal to the per-voxel path's and Kendall's tau to
    scipy's exactly (the per-voxel path bins the values for Kendall)."""
    rng = np.random.default_rng(2)
    a = rng.integers(0, 65536, (2, 30, 30)).astype(np.uint16)
    b = (a // 3 + rng.integers(0, 40000, a.shape)).astype(np.uint16)
    labels = rng.integers(1, 4, (30, 30)).astype(np.int32)
    joint = _analyse(a, b, labels, threshold_method="costes")
    wide = _analyse(a, b, labels, threshold_method="costes", max_table_cells=10)
    assert (joint.attrs["tables"], joint.attrs["n_reads"]) == ("joint", 1)
    assert wide.attrs["tables"] == "wide" and "binned" in wide.attrs["notes"][0]
    for column in COLUMNS:
        np.testing.assert_allclose(wide[column].to_numpy(float), joint[column].to_numpy(float),
                                   rtol=1e-12, equal_nan=True, err_msg=column)
    for _, row in joint.iterrows():
        inside = labels == row["region"]
        x, y = a[int(row["slice"])][inside], b[int(row["slice"])][inside]
        assert row["kendall"] == pytest.approx(stats.kendalltau(x, y).statistic, abs=1e-12)


def test_kendall_with_more_rows_than_the_budget_is_nan_and_said():
    """More rows than ``max_table_cells``: no binning fits (each row needs
    at least one cell), so tau-b is NaN with a note; the binning stops at
    the values' bit length instead of shifting by 64 bits (undefined in the
    kernel: it wrote out of bounds, 3-D labels with slices)."""
    a, b, _ = _data()
    labels = np.broadcast_to(np.arange(40 * 50).reshape(40, 50) % 3, a.shape).astype(np.int32)
    with pytest.warns(streamcoloc.ColocWarning, match="however coarse"):
        table = streamcoloc.analyse_pairwise(
            da.from_array(a, chunks=(2, 20, 25)), da.from_array(b, chunks=(2, 20, 25)),
            label_mask=labels, slice_axis=0, metrics=["kendall", "pcc"], max_table_cells=5)
    assert len(table) == 8 and table.attrs["tables"] == "wide"
    assert table["kendall"].isna().all() and table["pcc"].notna().all()


def test_histogram_bin_shifts_beyond_62_bits_are_refused():
    from streamcoloc.stats import histograms
    from streamcoloc.stats.regions import ChunkRegions
    from streamcoloc.stats.voxels import VoxelRules

    block = np.arange(6, dtype=np.uint16).reshape(1, 6)
    options = histograms.HistogramOptions(np.array([[0, 1]]), VoxelRules(), None,
                                          histograms.MAX_CELLS, (64, 64))
    with pytest.raises(ValueError, match="shifts must lie in"):
        histograms.chunk([block, block], ChunkRegions.from_labels(None, 6, None), options)


def test_kendall_binning_says_which_rows_it_leaves_undefined():
    """A budget that forces bins wider than a row's range of values in a
    channel: that row's binned tau-b is NaN (one bin), and the note says how
    many rows are so."""
    rng = np.random.default_rng(3)
    a = rng.integers(0, 4000, (1, 40, 40)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 500, a.shape)).astype(np.uint16)
    labels = np.ones((40, 40), np.int32)
    labels[:, 20:] = 2
    a[0][labels == 2] = 1000 + a[0][labels == 2] % 4  # region 2: a takes 4 values
    with pytest.warns(streamcoloc.ColocWarning,
                      match="1 of them have a channel's values in one bin"):
        table = streamcoloc.analyse_pairwise(a, b, label_mask=labels, slice_axis=0,
                                             metrics=["kendall"], max_table_cells=40)
    assert np.isfinite(table["kendall"][0]) and np.isnan(table["kendall"][1])


def test_wide_rows_are_read_in_batches_within_the_memory_budget(monkeypatch):
    """Rows whose per-voxel plans and tables exceed WIDE_READ_BYTES go to
    further reads, each plan within the budget (a row alone may exceed it):
    the same numbers, more reads, and a note that says so."""
    from streamcoloc import measure
    from streamcoloc.stats import pairstats

    a, b, labels = _data()
    kwargs = dict(metrics=["pcc", "srcc", "icq", "mcc", "pcc_threshold"], max_table_cells=10)
    one = _analyse(a, b, labels, **kwargs)
    plans, statistic = [], pairstats.statistic

    def spy(plan, options):
        plans.append((len(plan.rows), 8 * (plan.ranks.size + plan.cuts.size)))
        return statistic(plan, options)

    monkeypatch.setattr(pairstats, "statistic", spy)
    _analyse(a, b, labels, **kwargs)
    ((rows, lookup_bytes),) = plans
    budget = lookup_bytes // 3
    monkeypatch.setattr(measure, "WIDE_READ_BYTES", budget)
    plans.clear()
    with pytest.warns(streamcoloc.ColocWarning, match="exceed the memory budget"):
        batched = streamcoloc.analyse_pairwise(
            da.from_array(a, chunks=(2, 20, 25)), b, label_mask=labels, slice_axis=0, **kwargs)
    assert len(plans) >= 3 and sum(n for n, _ in plans) == rows == len(one)
    assert all(size <= budget for n, size in plans if n > 1)
    assert batched.attrs["n_reads"] == one.attrs["n_reads"] + len(plans) - 1
    pd.testing.assert_frame_equal(batched[one.columns], one, check_exact=True)


def test_float_data_sliced_along_any_axis_take_the_joint_path():
    """Float planes of a slice axis other than the first are views the
    quantizer kept in their order; the joint count needs them C-contiguous
    (it failed to compile on them).  Slicing along axis 1 gives what
    slicing the same planes moved to axis 0 gives."""
    rng = np.random.default_rng(4)
    columns = ["srcc", "kendall", "icq", "threshold_a", "threshold_b", "tm1"]
    for shape in [(20, 30), (5, 6, 7)]:
        a = rng.normal(size=shape).astype(np.float32)
        b = (a + rng.normal(size=a.shape)).astype(np.float32)
        sliced = streamcoloc.analyse_pairwise(a, b, slice_axis=1, threshold_method="costes")
        moved = streamcoloc.analyse_pairwise(np.moveaxis(a, 1, 0), np.moveaxis(b, 1, 0),
                                             slice_axis=0, threshold_method="costes")
        assert len(sliced) == shape[1] and sliced["srcc"].notna().all()
        pd.testing.assert_frame_equal(sliced[columns], moved[columns], check_exact=True)
