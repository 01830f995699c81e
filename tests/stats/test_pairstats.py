"""The per-voxel read's Costes tables (:mod:`streamcoloc.stats.pairstats`):
thin rows (far fewer voxels than cut-off indices in a chunk) listed and
summed, dense rows counted in place -- the same numbers either way, and a
chunk's memory bounded by its voxels rather than by the rows' value ranges."""

from __future__ import annotations

import tracemalloc
import warnings

import dask
import dask.array as da
import numpy as np
import pandas as pd
import pytest

import streamcoloc
from streamcoloc.stats import exact, pairstats


def _wide(a, b, labels, chunks, **kwargs):
    """Every metric on the per-voxel path (joint tables over their budget)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", streamcoloc.ColocWarning)
        table = streamcoloc.analyse_pairwise(
            da.from_array(a, chunks=chunks), da.from_array(b, chunks=chunks), label_mask=labels,
            slice_axis=0, max_table_cells=10, **kwargs)
    assert table.attrs["tables"] == "wide"
    return table


@pytest.mark.parametrize("method, kind", [("costes", "uint16"), ("jacop", "uint16"),
                                          ("cellprofiler-accurate", "uint16"),
                                          ("costes", "float32")])
def test_thin_and_dense_rows_give_identical_results(method, kind, monkeypatch):
    """One large region (dense in every chunk) and small ones (thin): the
    results equal those with every row thin (THIN_ROW 0) and every row
    dense, bit for bit (float data: on their grid, where the large region
    is thin too)."""
    rng = np.random.default_rng(4)
    a = rng.integers(0, 400, (4, 30, 30)).astype(np.uint16)
    b = (a // 2 + rng.integers(0, 200, a.shape)).astype(np.uint16)
    if kind == "float32":
        a, b = (x.astype(np.float32) * np.float32(0.37) for x in (a, b))
    labels = np.ones((30, 30), np.int32)
    labels[:6, :6] = rng.integers(2, 6, (6, 6))
    convention = "coloc2" if method != "cellprofiler-accurate" else "cellprofiler"
    kinds = []
    thin_tables = pairstats._thin_tables

    def spy(rows, count, *args):
        kinds.append((int((count[rows] > 0).sum()), int((count > 0).sum())))
        return thin_tables(rows, count, *args)

    monkeypatch.setattr(pairstats, "_thin_tables", spy)
    run = lambda: _wide(a, b, labels, (2, 15, 15), threshold_method=method,  # noqa: E731
                        convention=convention)
    mixed = run()
    if kind == "uint16":
        assert any(0 < thin < rows for thin, rows in kinds)  # thin and dense rows in a chunk
    for thin_row in (0, 2**40):  # every row thin; every row dense
        monkeypatch.setattr(pairstats, "THIN_ROW", thin_row)
        kinds.clear()
        other = run()
        assert all(thin == (rows if thin_row == 0 else 0) for thin, rows in kinds)
        pd.testing.assert_frame_equal(mixed, other, check_exact=True)
    assert mixed[["tm1", "threshold_a"]].notna().all().all() and mixed["pcc_below"].notna().any()


@pytest.mark.parametrize("thin_row", [pairstats.THIN_ROW, 2**40])
def test_a_chunk_takes_memory_per_voxel_not_per_value_of_its_rows(thin_row, monkeypatch):
    """Full-range 16-bit data, 66 rows of ~50 voxels a chunk: each chunk
    allocates a few hundred bytes a voxel; with every row dense (2**40)
    it allocated ~300 KB a voxel (14 words per value of each row's span)."""
    rng = np.random.default_rng(1)
    a = rng.integers(0, 65536, (6, 24, 24)).astype(np.uint16)
    b = rng.integers(0, 65536, a.shape).astype(np.uint16)
    labels = rng.integers(0, 12, a.shape[1:]).astype(np.int32)
    peaks, chunk = [], pairstats.chunk

    def measured(channels, regions, plan, options):
        tracemalloc.start()
        try:
            record = chunk(channels, regions, plan, options)
            peaks.append(tracemalloc.get_traced_memory()[1] / channels[0].size)
        finally:
            tracemalloc.stop()
        return record

    monkeypatch.setattr(pairstats, "chunk", measured)
    monkeypatch.setattr(pairstats, "THIN_ROW", thin_row)
    with dask.config.set(scheduler="synchronous"):
        table = _wide(a, b, labels, (3, 12, 12))
    assert len(peaks) == 8 and table["pcc_below"].notna().any()
    if thin_row == 2**40:
        assert min(peaks) > 50_000
    else:
        assert max(peaks) < 4096


@pytest.mark.parametrize("kinds", ["dense", "sparse", "mixed"])
def test_cut_tables_add_exactly_on_the_union_of_their_indices(kinds):
    """:func:`pairstats.added` of dense runs and sparse tables at different
    offsets against Python integers; the sum is sparse only when a sparse
    table took part and few cells hold sums."""
    rng = np.random.default_rng(0)
    dense = np.zeros((3, 400, 6), np.int64)
    tables = []
    for k, offset in enumerate((0, 130, 250)):
        if kinds == "dense" or (kinds == "mixed" and k == 1):
            dense[k, offset:offset + 100] = rng.integers(0, 2**62, (100, 6))
            tables.append(pairstats.CutTable(offset, *exact.split(dense[k, offset:offset + 100])))
        else:
            index = np.sort(rng.choice(np.arange(offset, offset + 150), 5, replace=False))
            dense[k, index] = rng.integers(1, 2**62, (5, 6))
            tables.append(pairstats.CutTable(int(index[0]), *exact.split(dense[k, index]), index))
    total = pairstats.added(tables)
    expected = dense.astype(object).sum(axis=0)
    assert (total.index is not None) == (kinds == "sparse")
    held = np.zeros(400, bool)
    held[total.at(0)] = True
    assert (exact.to_int(total.hi, total.lo) == expected[held]).all()
    assert (expected[~held] == 0).all() and held[dense.any(axis=(0, 2))].all()


def test_dense_tables_far_apart_add_to_a_sparse_table():
    """Dense parts of a row whose values move between chunks leave gaps in
    their union: the sum keeps only the occupied cells (at most THIN_ROW
    cells per occupied one), as Python integers say."""
    rng = np.random.default_rng(1)
    parts = [pairstats.CutTable(first, *exact.split(rng.integers(1, 2**62, (10, 6))))
             for first in (0, 5_000, 9_990)]
    total = pairstats.added(parts)
    assert total.index is not None and list(total.index) == [
        first + k for first in (0, 5_000, 9_990) for k in range(10)]
    expected = np.concatenate([exact.to_int(p.hi, p.lo) for p in parts])
    assert (exact.to_int(total.hi, total.lo) == expected).all()
