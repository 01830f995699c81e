"""Joint and marginal histograms: chunk kernels, merging on extents, budget."""

from __future__ import annotations

import dask.array as da
import numpy as np
import pytest

from streamcoloc.engine.inputs import as_input, make_layout
from streamcoloc.engine.passes import run_pass
from streamcoloc.stats import histograms, moments
from streamcoloc.stats.voxels import Grid, VoxelRules


def _histograms(a, b, labels, chunks, max_cells=histograms.MAX_CELLS, rules=VoxelRules(),
                grids=None, shifts=None):
    layout = make_layout([as_input(da.from_array(a, chunks=chunks), "a"), as_input(b, "b")],
                         ["a", "b"], labels, 0)
    options = histograms.HistogramOptions(np.array([[0, 1]]), rules, grids, max_cells, shifts)
    (record,) = run_pass([histograms.statistic(options)], layout)
    for i in range(len(record.tables) if record.joint else 0):
        record.table(i)  # the rows the last merge left as parts, summed
    return record


def _data(seed=0):
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 50, (6, 30, 40)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 20, a.shape)).astype(np.uint16)
    labels = rng.choice(np.array([0, 3, 2**40]), (30, 40)).astype(np.int64)
    return a, b, labels


@pytest.mark.parametrize("chunks", [(6, 30, 40), (2, 13, 17), (1, 7, 40)])
def test_joint_tables_equal_numpy_on_any_chunking(chunks):
    a, b, labels = _data()
    record = _histograms(a, b, labels, chunks)
    assert record.joint and len(record.keys) == 2 * 6
    for (region, s, _), extent, cells in zip(record.keys, record.extents, record.tables):
        table = cells.dense()
        assert (cells.counts > 0).all() and (np.diff(cells.cells) > 0).all()
        inside = labels == region
        av, bv = a[s][inside].astype(int), b[s][inside].astype(int)
        expected = np.zeros((av.max() - av.min() + 1, bv.max() - bv.min() + 1), np.int64)
        np.add.at(expected, (av - av.min(), bv - bv.min()), 1)
        assert (table == expected).all()
        assert tuple(extent[:5]) == (av.size, av.min(), av.max(), bv.min(), bv.max())
        assert extent[histograms.N_ZERO] == np.sum((av == 0) & (bv == 0))


def test_over_budget_keeps_marginals_whatever_the_chunking():
    a, b, labels = _data(1)
    for chunks in [(6, 30, 40), (1, 7, 9)]:
        record = _histograms(a, b, labels, chunks, max_cells=100)
        assert not record.joint
        for (region, s, _), (hist_a, hist_b) in zip(record.keys, record.tables):
            inside = labels == region
            assert (np.bincount(a[s][inside] - a[s][inside].min()) == hist_a).all()
            assert (np.bincount(b[s][inside] - b[s][inside].min()) == hist_b).all()


def test_background_saturation_and_binning_shifts():
    a = np.array([[0, 5, 10, 255, 30]], np.uint8)
    b = np.array([[3, 3, 255, 9, 40]], np.uint8)
    record = _histograms(a, b, None, (1, 5), rules=VoxelRules((4, 2), (255, 255)))
    table = record.tables[0].dense()
    extent = record.extents[0]
    # measured: (0, 1) and (1, 1) and (26, 38); the saturated voxels are out
    assert extent[histograms.N] == 3 and table.sum() == 3
    assert table[0, 0] == 1 and table[1, 0] == 1 and table[26, 37] == 1
    coarse = _histograms(a, b, None, (1, 5), shifts=(3, 3))  # bins of 8 values
    assert coarse.extents[0][histograms.LO_A] == 0 and coarse.extents[0][histograms.HI_A] == 31
    assert coarse.extents[0][histograms.LO_B] == 0 and coarse.extents[0][histograms.HI_B] == 31
    coarse_table = coarse.tables[0].dense()
    np.testing.assert_array_equal(np.nonzero(coarse_table), ([0, 1, 3, 31], [0, 31, 5, 1]))
    assert coarse_table[0, 0] == 2


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.int32])
@pytest.mark.parametrize("shift", [0, 3])
@pytest.mark.parametrize("low", [0, 7])  # zero inside both ranges, or outside
def test_extents_of_plain_data_in_every_dtype_and_shift(dtype, shift, low):
    """The extremes found in the channels' dtypes, shifted after, and the
    voxels at zero, as numpy finds them on the shifted values."""
    rng = np.random.default_rng(shift + low)
    signed = np.dtype(dtype).kind == "i"
    a = rng.integers(-40 if signed and low == 0 else low, 120, (3, 20, 30)).astype(dtype)
    b = rng.integers(low, 90, a.shape).astype(dtype)
    if low == 0:  # voxels with both values at zero
        a.flat[::17], b.flat[::17] = 0, 0
    labels = rng.integers(0, 3, a.shape[1:]).astype(np.int32)
    record = _histograms(a, b, labels, (2, 7, 30), shifts=(shift, shift))
    for (region, s, _), extent in zip(record.keys, record.extents):
        inside = labels == region
        x, y = a[s][inside].astype(np.int64) >> shift, b[s][inside].astype(np.int64) >> shift
        assert tuple(extent) == (x.size, x.min(), x.max(), y.min(), y.max(),
                                 np.sum((x == 0) & (y == 0)))


def test_float_values_on_a_power_of_two_grid():
    rng = np.random.default_rng(3)
    a = rng.uniform(-2.0, 7.0, (2, 20, 20))
    b = a + rng.normal(0, 0.5, a.shape)
    a[0, 0, 0] = np.nan
    grids = (Grid.covering(np.nanmin(a), np.nanmax(a)), Grid.covering(b.min(), b.max()))
    record = _histograms(a, b, None, (1, 10, 20), grids=grids)
    units = [np.floor(x / g.step) - g.base for x, g in zip((a, b), grids)]
    finite = np.isfinite(a)
    for (_, s, _), extent, cells in zip(record.keys, record.extents, record.tables):
        table = cells.dense()
        keep = finite[s]
        ua, ub = units[0][s][keep].astype(int), units[1][s][keep].astype(int)
        assert table.sum() == keep.sum() and extent[histograms.LO_A] == ua.min()
        expected = np.zeros_like(table)
        np.add.at(expected, (ua - ua.min(), ub - ub.min()), 1)
        assert (table == expected).all()


def test_grid_levels_and_exact_thresholds():
    grid = Grid.covering(0.0, 1.0)
    assert grid.step == 2.0**-11 and grid.to_grid(1.0) - grid.to_grid(0.0) < 4096  # 2**-12: 4097
    assert Grid.covering(5.0, 5.0).step == 1.0
    wide = Grid.covering(-1e6, 3e6)
    assert (wide.to_grid(3e6) - wide.to_grid(-1e6)) < 4096
    # a threshold on the grid selects the same voxels in grid units
    x = np.random.default_rng(0).uniform(0, 1, 1000)
    t = 37 * grid.step
    assert ((x >= t) == (grid.to_grid(x) >= grid.to_grid(t))).all()


def test_a_row_wider_than_the_scratch_is_counted_by_sorting():
    """A row whose joint extent exceeds MAX_ROW_CELLS, crowded (more voxels
    than 1/SPARSE_ROW of its extent in a chunk), is counted by sorting its
    voxels' cells: joint tables equal to numpy's on every chunking, and
    the metrics are scipy's exactly, in one read (they took a second read
    with marginals, and Kendall's tau binned by 2, before)."""
    from scipy import stats

    import streamcoloc

    rng = np.random.default_rng(12)
    a = rng.integers(0, 50, (3, 8, 8)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 9, a.shape)).astype(np.uint16)
    a[2, 0, 0], b[2, 0, 0], a[2, 0, 1], b[2, 0, 1] = 5000, 5000, 4000, 0
    side = 5001  # the extent of a and b in slice 2: side² cells > MAX_ROW_CELLS
    assert side * side > histograms.MAX_ROW_CELLS
    labels = np.ones((8, 8), np.int64)
    for chunks in [(3, 8, 8), (1, 8, 8), (1, 4, 8)]:
        record = _histograms(a, b, labels, chunks, max_cells=2**26)
        assert record.joint and len(record.tables) == 3  # one row per plane (slice axis 0)
        for (_, s, _), cells in zip(record.keys, record.tables):
            av, bv = a[s].ravel().astype(int), b[s].ravel().astype(int)
            expected = np.unique((av - av.min()) * (bv.max() - bv.min() + 1) + bv - bv.min(),
                                 return_counts=True)
            np.testing.assert_array_equal(cells.cells, expected[0])
            np.testing.assert_array_equal(cells.counts, expected[1])
        table = streamcoloc.analyse_pairwise(
            da.from_array(a, chunks=chunks), b, metrics=("srcc", "kendall"),
            threshold_method="manual", max_table_cells=2**26)
        assert table.attrs["tables"] == "joint" and table.attrs["n_reads"] == 1
        assert not table.attrs["notes"]
        assert table["srcc"].iloc[0] == pytest.approx(stats.spearmanr(a.ravel(), b.ravel())[0],
                                                      abs=1e-12)
        assert table["kendall"].iloc[0] == pytest.approx(
            stats.kendalltau(a.ravel(), b.ravel())[0], abs=1e-12)


def test_many_wide_regions_keep_joint_tables_of_their_occupied_cells():
    """Regions whose dense extents together far exceed the voxels and the
    budget, but whose occupied cells fit it (correlated channels): the joint
    tables are kept, equal to numpy's on every chunking; a budget below the
    occupied cells gives marginals, whatever the chunking."""
    rng = np.random.default_rng(5)
    a = rng.integers(0, 4000, (2, 40, 60)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 30, a.shape)).astype(np.uint16)
    labels = rng.integers(1, 40, (40, 60)) * 2**33
    dense_cells = 0
    occupied = 0
    for region in np.unique(labels):
        for s in range(2):
            av, bv = a[s][labels == region], b[s][labels == region]
            dense_cells += int(np.ptp(av) + 1) * int(np.ptp(bv) + 1)
            occupied += np.unique(av.astype(np.int64) * 65536 + bv).size
    assert dense_cells > 100 * a.size and occupied < a.size
    for chunks in [(2, 40, 60), (1, 9, 13)]:
        record = _histograms(a, b, labels, chunks, max_cells=occupied)
        assert record.joint
        assert sum(t.cells.size for t in record.tables) == occupied
        for (region, s, _), extent, cells in zip(record.keys, record.extents, record.tables):
            inside = labels == region
            av, bv = a[s][inside].astype(int), b[s][inside].astype(int)
            expected = np.zeros((av.max() - av.min() + 1, bv.max() - bv.min() + 1), np.int64)
            np.add.at(expected, (av - av.min(), bv - bv.min()), 1)
            np.testing.assert_array_equal(cells.dense(), expected)
            np.testing.assert_array_equal(cells.marginals()[0], expected.sum(axis=1))
            np.testing.assert_array_equal(cells.marginals()[1], expected.sum(axis=0))
        over = _histograms(a, b, labels, chunks, max_cells=occupied - 1)
        assert not over.joint


def test_sparse_and_dense_rows_of_one_chunk():
    """A chunk's row with far fewer voxels than cells of its extent finds
    its cells by sorting those it touched, a crowded row by scanning: both
    give numpy's table, cells ascending, and leave the scratch clean for the
    next row (one chunk holds both kinds)."""
    rng = np.random.default_rng(8)
    a = rng.integers(0, 20, (3, 30, 30)).astype(np.uint16)
    b = rng.integers(0, 20, a.shape).astype(np.uint16)
    labels = np.ones((30, 30), np.int64)
    labels[:4, :4], labels[-4:, -4:] = 2, 5  # small regions around the crowded one
    for region in (2, 5):
        inside = np.broadcast_to(labels == region, a.shape)
        a[inside] = rng.integers(0, 4000, inside.sum())
        b[inside] = rng.integers(0, 4000, inside.sum())
    record = _histograms(a, b, labels, (3, 30, 30))
    assert record.joint
    sizes = {}
    for (region, s, _), extent, cells in zip(record.keys, record.extents, record.tables):
        inside = labels == region
        av, bv = a[s][inside].astype(int), b[s][inside].astype(int)
        expected = np.zeros((np.ptp(av) + 1, np.ptp(bv) + 1), np.int64)
        np.add.at(expected, (av - av.min(), bv - bv.min()), 1)
        assert (np.diff(cells.cells) > 0).all()
        np.testing.assert_array_equal(cells.dense(), expected)
        sizes[region] = (extent[histograms.N], expected.size)
    n, cells = sizes[2]
    assert n * histograms.SPARSE_ROW < cells  # sorted touched cells
    n, cells = sizes[1]
    assert n * histograms.SPARSE_ROW >= cells  # scanned extent


def test_counts_of_256_and_more_in_the_byte_scratch():
    """The dense rows count in a byte per cell and list a cell each time its
    count reaches a multiple of 256.  Without labels, counts 255, 256, 257,
    512, 768 and 1000 come out exact, in one chunk and in several, among
    them multiples of 256 alone in their 8-cell word (512; 768 in the last
    cell of the extent) and in the first cell (256).  With two regions (two
    rows counted one after the other in one scratch, the second after the
    first left it clean) both tables equal numpy's."""
    wanted = {(0, 0): 256, (0, 1): 1, (1, 3): 255, (2, 5): 257, (4, 4): 512, (5, 2): 1000,
              (7, 7): 768, (3, 6): 2}
    a = np.repeat([x for x, _ in wanted], list(wanted.values())).astype(np.uint16)
    b = np.repeat([y for _, y in wanted], list(wanted.values())).astype(np.uint16)
    order = np.random.default_rng(3).permutation(a.size)
    a, b = a[order][None], b[order][None]  # one slice
    labels = np.ones(a.size, np.int64)
    labels[: a.size // 3] = 2  # a second dense row counted after the first
    for chunks in ((1, a.size), (1, a.size // 2 + 1)):
        record = _histograms(a, b, labels, chunks)
        assert record.joint and len(record.tables) == 2
        for (region, _, _), cells in zip(record.keys, record.tables):
            inside = labels == region
            av, bv = a[0, inside].astype(int), b[0, inside].astype(int)
            expected = np.zeros((np.ptp(av) + 1, np.ptp(bv) + 1), np.int64)
            np.add.at(expected, (av - av.min(), bv - bv.min()), 1)
            np.testing.assert_array_equal(cells.dense(), expected)
            assert expected.max() >= 256
        whole = _histograms(a, b, None, chunks).tables[0].dense()
        assert {(x, y): whole[x, y] for x, y in wanted} == wanted


@pytest.mark.parametrize("seed", range(6))
def test_scan_of_the_byte_scratch_against_numpy(seed):
    """The scan that turns a row's byte scratch into its cells: on extents
    of empty cache lines (skipped 8 words at a time), lines with a single
    non-empty cell, counts that are multiples of 256 (byte 0, only listed)
    alone in an otherwise empty line and at the extent's end, it gives
    numpy's non-empty cells and counts from ``n`` on, resets the scratch,
    and writes no further than :data:`~.histograms.SCAN_SLACK` cell past
    the last it keeps."""
    rng = np.random.default_rng(seed)
    size = int(rng.integers(1, 3000))
    counts = np.zeros(size, np.int64)
    occupied = rng.random(size) < rng.choice([0.002, 0.05, 0.5])
    counts[occupied] = rng.integers(1, 600, occupied.sum())
    for cell in rng.integers(0, size, 3).tolist() + [size - 1]:
        counts[cell] = 256 * int(rng.integers(1, 4))  # byte 0, listed only
    scratch = np.zeros(-(-size // 8) * 8, np.uint8)
    scratch[:size] = counts % 256
    listed = np.repeat(np.arange(size), counts // 256).astype(np.int64)
    start, poison = 5, -7
    kept = np.flatnonzero(counts)
    cells = np.full(start + kept.size + histograms.SCAN_SLACK + 16, poison, np.int64)
    out = cells.copy()
    n = histograms._scan_cells(scratch, scratch.view(np.uint64), size, listed, cells, out, start)
    assert n == start + kept.size
    np.testing.assert_array_equal(cells[start:n], kept)
    np.testing.assert_array_equal(out[start:n], counts[kept])
    assert (cells[:start] == poison).all() and (out[:start] == poison).all()
    assert (cells[n + histograms.SCAN_SLACK:] == poison).all()
    assert (out[n + histograms.SCAN_SLACK:] == poison).all()
    assert not scratch.any()


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16])
@pytest.mark.parametrize("rules", [VoxelRules(), VoxelRules((3, 250), None),
                                   VoxelRules(None, (70, 900)), VoxelRules((2, 1), (60, 2000))])
@pytest.mark.parametrize("slice_axis, planes", [(0, 1), (0, 4), (None, 4)])
def test_moments_from_the_cells_equal_the_voxel_kernels(dtype, rules, slice_axis, planes):
    """The rows' moments that the histograms sum from their joint cells
    (``moment_thresholds``) equal, exactly, the moment kernel's over the
    voxels in the same pass: every field of every key (region, slice) and
    pair (both orders of the channels: their own gates), with negative
    values, background subtraction, saturation (a region whose voxels are
    all saturated in a pair: n 0, still present), manual thresholds, per
    slice (one label plane for all, or one each) and not, over several
    chunks, with joint tables and with only marginals kept (over the
    budget)."""
    rng = np.random.default_rng(int(np.dtype(dtype).itemsize) + len(str(rules)))
    low = -40 if dtype == np.int16 else 0
    a = rng.integers(low, 120, (4, 30, 40)).astype(dtype)
    b = (a // 2 + rng.integers(0, 60, a.shape)).astype(dtype)
    labels = rng.choice(np.array([0, 3, 7, 2**40]), (planes, 30, 40)).astype(np.int64)
    labels[:, :5, :5] = 9
    if rules.saturation is not None:
        a[:, :5, :5] = rules.saturation[0]  # region 9: every voxel saturated
    pairs = np.array([[0, 1], [1, 0]])
    thresholds = np.array([[30.0, np.nan], [10.5, 55.0]])
    layout = make_layout([as_input(da.from_array(a, chunks=(2, 17, 40)), "a"),
                          as_input(b, "b")], ["a", "b"], labels[0] if planes == 1 else labels,
                         slice_axis)
    for max_cells in (histograms.MAX_CELLS, 50):
        voxels, record = run_pass(
            [moments.statistic(moments.MomentOptions(pairs, rules, thresholds)),
             histograms.statistic(histograms.HistogramOptions(
                 pairs, rules, None, max_cells, moment_thresholds=thresholds))], layout)
        assert record.joint == (max_cells == histograms.MAX_CELLS)
        cells = moments.finalize(record.moments)
        np.testing.assert_array_equal(cells.keys, voxels.keys)
        assert set(cells.fields) == set(voxels.fields)
        for name, values in voxels.fields.items():
            np.testing.assert_array_equal(cells.fields[name], values, err_msg=name)
        if rules.saturation is not None:
            nine = cells.keys[:, 0] == 9
            assert (cells.n[nine] == 0).all() and (cells.n_saturated[nine] > 0).all()
        if dtype == np.int16 and rules.background is None:
            assert cells.n_negative.sum() > 0


def test_merged_joint_cells_are_the_sum_of_their_placed_parts():
    """Parts of other shapes placed at offsets, overlapping cells added:
    equal to adding the dense tables, ascending and distinct cells."""
    rng = np.random.default_rng(11)
    shape = (9, 13)
    expected = np.zeros(shape, np.int64)
    parts = []
    for rows, columns, da_, db in ((9, 13, 0, 0), (4, 6, 2, 5), (1, 13, 8, 0), (5, 1, 3, 12)):
        dense = rng.integers(0, 3, (rows, columns)) * (rng.random((rows, columns)) < 0.5)
        expected[da_:da_ + rows, db:db + columns] += dense
        parts.append((histograms.JointCells.from_dense(dense), da_, db))
    merged = histograms.JointCells.merged(parts, shape)
    np.testing.assert_array_equal(merged.dense(), expected)
    assert (np.diff(merged.cells) > 0).all() and (merged.counts > 0).all()
    assert merged.counts.dtype == np.int64


def test_merged_rows_are_summed_on_first_use():
    """combine leaves each joint row as its placed parts (the sums then run
    on the threads that derive the rows); ``table(i)`` sums row i once and
    keeps it, ``cell_bound`` counts the parts' cells without summing, and
    the marginals sum what is left.  A record whose parts exceed the budget
    while their sums fit is summed in the merge and stays joint."""
    rng = np.random.default_rng(12)
    a = rng.integers(0, 30, (2, 20, 20)).astype(np.uint16)
    b = (a + rng.integers(0, 5, a.shape)).astype(np.uint16)
    labels = rng.choice(np.array([1, 7]), (20, 20)).astype(np.int64)
    halves = [_histograms(a[s:s + 1], b[s:s + 1], labels, (1, 20, 20)) for s in (0, 1)]
    record = histograms.combine(halves)  # both halves are slice 0: their voxels add up
    assert record.joint and [k[0] for k in record.keys] == [1, 7]
    assert all(isinstance(t, histograms.JointParts) for t in record.tables)
    bounds = [record.cell_bound(i) for i in range(2)]
    assert bounds == [sum(h.table(i).cells.size for h in halves) for i in range(2)]
    first = record.table(0)
    assert isinstance(first, histograms.JointCells) and record.table(0) is first
    assert isinstance(record.tables[1], histograms.JointParts)
    expected = []
    for i, region in enumerate((1, 7)):
        inside = np.broadcast_to(labels == region, a.shape)
        av, bv = a[inside].astype(int), b[inside].astype(int)
        table = np.zeros((np.ptp(av) + 1, np.ptp(bv) + 1), np.int64)
        np.add.at(table, (av - av.min(), bv - bv.min()), 1)
        expected.append(table)
    for (hist_a, hist_b), table in zip(record.marginals(), expected):
        np.testing.assert_array_equal(hist_a, table.sum(axis=1))
        np.testing.assert_array_equal(hist_b, table.sum(axis=0))
    for i, table in enumerate(expected):
        np.testing.assert_array_equal(record.table(i).dense(), table)
        assert record.cell_bound(i) == np.count_nonzero(table) < bounds[i]
    exact = sum(np.count_nonzero(table) for table in expected)
    tight = histograms.combine(halves, max_cells=exact)
    assert tight.joint and all(isinstance(t, histograms.JointCells) for t in tight.tables)
    assert not histograms.combine(halves, max_cells=exact - 1).joint


def test_prefetching_changes_no_table(monkeypatch):
    """The prefetch hint of the joint-cell kernel (runs of interleaved regions
    visited region by region, so runs jump) leaves every table as it is."""
    a, b, labels = _data(3)
    chunks = (6, 13, 17)
    with_prefetch = _histograms(a, b, labels, chunks)
    monkeypatch.setattr(histograms, "PREFETCH_RUNS", 0)
    without = _histograms(a, b, labels, chunks)
    assert with_prefetch.joint and len(with_prefetch.tables) == len(without.tables)
    for x, y in zip(with_prefetch.tables, without.tables):
        np.testing.assert_array_equal(x.cells, y.cells)
        np.testing.assert_array_equal(x.counts, y.counts)


def test_joint_cells_refuse_buffers_below_their_bound(monkeypatch):
    """The kernel writes a chunk's cells to buffers of the chunk's bound and
    checks each row against their length (Numba does not check indices):
    buffers cut short raise rather than write past their end."""
    a, b, labels = _data(4)
    kernel = histograms._joint_cells

    def short(*args):
        args = list(args)
        args[13], args[14] = args[13][:1], args[14][:1]  # cells, counts
        return kernel(*args)

    monkeypatch.setattr(histograms, "_joint_cells", short)
    with pytest.raises(ValueError, match="beyond the buffers"):
        _histograms(a, b, labels, (6, 13, 17))


@pytest.mark.parametrize("sizes", [(0, 0), (0, 5), (7, 0), (1, 1), (300, 200), (5000, 4000)])
def test_merge_of_sorted_cells_adds_equal_cells(sizes):
    """The merge against numpy: the union of two ascending,
    distinct sequences (sharing some cells), counts of equal cells added."""
    rng = np.random.default_rng(sum(sizes))
    shared = rng.choice(10**6, min(sizes) // 2, replace=False)
    a, b = (np.unique(np.concatenate([shared[:n // 2], rng.choice(10**6, n - n // 2)]))
            for n in sizes)
    counts_a, counts_b = rng.integers(1, 2**40, a.size), rng.integers(1, 2**40, b.size)
    cells, counts = histograms._merge_sorted(a, counts_a, b, counts_b)
    expected, where = np.unique(np.concatenate([a, b]), return_inverse=True)
    total = np.zeros(expected.size, np.int64)
    np.add.at(total, where, np.concatenate([counts_a, counts_b]))
    np.testing.assert_array_equal(cells, expected)
    np.testing.assert_array_equal(counts, total)
    assert cells.flags.owndata and counts.flags.owndata
