"""coloc_index against the in-memory cKDTree reference, count by count."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest

from streamcoloc import ColocWarning
from streamcoloc.smlm import SUMMARY_COLUMNS, coloc_index, simulate
from streamcoloc.smlm.reference import coloc_index_kdtree


def uniform(n_per_channel, side=4000.0, channels=("A", "B"), seed=0, z=None):
    rng = np.random.default_rng(seed)
    parts = []
    for c in channels:
        part = pd.DataFrame({"x": rng.uniform(0, side, n_per_channel),
                             "y": rng.uniform(0, side, n_per_channel),
                             "precision": rng.uniform(5, 25, n_per_channel), "channel": c})
        if z is not None:
            part["z"] = rng.uniform(0, z, n_per_channel)
        parts.append(part)
    return pd.concat(parts, ignore_index=True)


def assert_matches(table, result, roi=None, **options):
    """Every per-localization count and CI and every summary value equals
    the cKDTree reference's (rows aligned by the table's index)."""
    expected, summary = coloc_index_kdtree(table, roi=roi, **options)
    got = result.localizations
    assert len(got) == len(table)
    got = got.loc[expected.index]
    np.testing.assert_allclose(got["nnd"], expected["nnd"], rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(got["ld"], expected["ld"])
    for c in sorted(table["channel"].unique()):
        own = (table.loc[expected.index, "channel"] == c).to_numpy()
        assert got[f"n_{c}"][own].isna().all()
        np.testing.assert_array_equal(got[f"n_{c}"][~own].to_numpy(np.int64),
                                      expected[f"n_{c}"][~own].to_numpy(np.int64))
        np.testing.assert_allclose(got[f"ci_{c}"][~own], expected[f"ci_{c}"][~own], rtol=1e-12)
    assert list(result.summary.columns) == SUMMARY_COLUMNS
    mine = result.summary.drop(columns="roi").reset_index(drop=True)
    theirs = summary.drop(columns="roi").reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, theirs[mine.columns], check_dtype=False, rtol=1e-10)


@pytest.mark.parametrize("tile_points, bucket_halo", [(10**6, None), (400, None), (400, 5.0),
                                                      (150, 0.0)])
def test_uniform_2d_across_tiles_and_halos(tile_points, bucket_halo):
    table = uniform(1500, side=3000.0, seed=1)
    result = coloc_index(table, tile_points=tile_points, bucket_halo=bucket_halo)
    assert_matches(table, result)
    if tile_points < 1000:
        assert result.attrs["n_tiles"] > 4
    if bucket_halo is not None:  # the count pass reads the neighbouring tiles
        assert result.attrs["max_radius_nm"] > bucket_halo
        assert result.attrs["far_nearest_neighbours"] > 0


def test_clusters_medium_many_tiles():
    table = simulate("clusters", n_clusters=150, field=20000, emitters=40, seed=3)
    table = table.sample(frac=1, random_state=0)  # a shuffled, non-range index
    result = coloc_index(table, tile_points=3000, partition_rows=7000)
    assert result.attrs["n_tiles"] >= 9
    assert_matches(table, result)


def test_3d():
    table = uniform(1200, side=2000.0, z=800.0, seed=2)
    result = coloc_index(table, tile_points=500)
    assert result.attrs["distance"] == "3D"
    assert_matches(table, result)


def test_duplicates_and_isolated_points():
    table = uniform(600, side=1500.0, seed=4)
    duplicates = table.iloc[:40].copy()  # exact copies: neighbours at distance 0
    cross = table.iloc[600:620].assign(channel="A")  # an A on top of a B
    far = pd.DataFrame({"x": [1e5, -3e4, 2e5, 2e5 + 1], "y": [5e4, -2e4, -1e5, -1e5],
                        "precision": 10.0, "channel": ["A", "B", "B", "A"]})
    table = pd.concat([table, duplicates, cross, far], ignore_index=True)
    result = coloc_index(table, tile_points=200)
    assert result.attrs["far_nearest_neighbours"] >= 4
    assert_matches(table, result)
    assert (result.localizations.loc[:39, "nnd"] == 0).all()


def test_roi_column_and_options():
    table = uniform(1000, side=3000.0, channels=("A", "B", "C"), seed=5)
    table["cell"] = np.where(table["x"] < 1200, 7, 9)
    for options in ({"radius_factor": 2.0}, {"exclude_self": False}):
        result = coloc_index(table, roi="cell", tile_points=600, **options)
        assert_matches(table, result, roi="cell", **options)
    assert set(result.summary["roi"]) == {7, 9} and len(result.summary) == 2 * 3 * 2


def test_overlapping_shape_rois_give_one_row_per_roi():
    table = uniform(1500, side=3000.0, seed=6)
    rect = (500.0, 500.0, 2000.0, 2500.0)
    triangle = [(1000.0, 0.0), (3000.0, 0.0), (3000.0, 3000.0)]
    result = coloc_index(table, roi={"rect": rect, "tri": triangle}, tile_points=500)
    from matplotlib.path import Path as MplPath
    inside = {"rect": table["x"].between(rect[0], rect[2]) & table["y"].between(rect[1], rect[3]),
              "tri": MplPath(triangle).contains_points(table[["x", "y"]].to_numpy())}
    for key, mask in inside.items():
        subset = table[mask]
        rows = result.localizations[result.localizations["roi"] == key]
        assert len(rows) == len(subset)
        expected, summary = coloc_index_kdtree(subset)
        np.testing.assert_array_equal(rows.loc[expected.index, "ld"], expected["ld"])
        np.testing.assert_allclose(rows.loc[expected.index, "ci_B"].dropna(),
                                   expected["ci_B"].dropna(), rtol=1e-12)
        mine = result.summary[result.summary["roi"] == key]
        np.testing.assert_allclose(mine["mean_ci"], summary["mean_ci"], rtol=1e-10)
    both = (inside["rect"] & inside["tri"]).sum()
    assert len(result.localizations) == inside["rect"].sum() + inside["tri"].sum()
    assert result.localizations.index.duplicated().sum() == both > 0


def test_partitions_without_any_selected_row():
    table = uniform(600, side=2000.0, seed=13).sort_values("x")
    frame = dd.from_pandas(table, npartitions=6, sort=False)
    result = coloc_index(frame, roi=(0.0, 0.0, 500.0, 2000.0))
    got = result.localizations.compute()
    inside = table[table["x"] <= 500]
    assert len(got) == len(inside) and set(got["roi"]) == {0}
    expected, _ = coloc_index_kdtree(inside)
    np.testing.assert_array_equal(got.sort_values(["x", "y"])["ld"],
                                  expected.loc[inside.sort_values(["x", "y"]).index, "ld"])
    no_b_on_the_left = table[(table["channel"] == "A") | (table["x"] > 400)]
    with pytest.warns(ColocWarning, match="'B' in ROI 'left' has no localization"):
        result = coloc_index(no_b_on_the_left,
                             roi={"left": (0, 0, 300, 2000), "all": (0, 0, 2000, 2000)})
    summary = result.summary.set_index(["roi", "channel"])
    assert np.isnan(summary.loc[("left", "A"), "mean_ci"])
    assert summary.loc[("all", "A"), "mean_ci"] > 0
    with pytest.raises(ValueError, match="no localization left"):
        coloc_index(table, roi=(1e5, 1e5, 2e5, 2e5))


def test_channel_subset_and_constant_precision():
    table = uniform(500, channels=(1, 2, 3), seed=7)
    result = coloc_index(table, channels=[3, 1], precision=12.0)
    assert set(result.localizations["channel"]) == {1, 3}
    assert list(result.summary[["channel", "other"]].itertuples(index=False)) == [(3, 1), (1, 3)]
    subset = table[table["channel"] != 2]
    expected, _ = coloc_index_kdtree(subset, precision=12.0)
    np.testing.assert_array_equal(result.localizations.loc[expected.index, "ld"], expected["ld"])


def test_dask_input_gives_parquet_backed_table():
    table = uniform(800, seed=8)
    frame = dd.from_pandas(table, npartitions=3)
    result = coloc_index(frame, tile_points=300)
    assert isinstance(result.localizations, dd.DataFrame)
    got = result.localizations.compute()
    pandas = coloc_index(table, tile_points=300).localizations
    merged = got.merge(pandas, on=["x", "y", "channel"], suffixes=("", "_p"))
    assert len(merged) == len(table)
    np.testing.assert_array_equal(merged["ld"], merged["ld_p"])
    np.testing.assert_allclose(merged["ci_B"], merged["ci_B_p"], equal_nan=True)


def test_distributed_cluster_gives_the_same_numbers(tmp_path):
    distributed = pytest.importorskip("distributed")
    table = uniform(700, seed=9)
    expected = coloc_index(table, tile_points=300)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster):
        from streamcoloc.engine.runtime import parallelism
        assert parallelism() == 2  # the cluster's threads, not this machine's cores
        result = coloc_index(table, tile_points=300, workdir=tmp_path)
    pd.testing.assert_frame_equal(result.localizations, expected.localizations)
    pd.testing.assert_frame_equal(result.summary, expected.summary)


def test_single_localization_and_zero_mean_ld_give_nan_with_warning():
    table = uniform(300, side=1000.0, seed=10)
    lonely = pd.DataFrame({"x": [500.0], "y": [500.0], "precision": [10.0], "channel": ["C"]})
    with pytest.warns(ColocWarning, match="'C'.*1 localization"):
        result = coloc_index(pd.concat([table, lonely], ignore_index=True))
    assert result.localizations["ci_C"].isna().all()
    sparse = pd.DataFrame({"x": [0.0, 1000.0, 5000.0, 0.0, 10.0], "y": 0.0, "precision": 0.0,
                           "channel": ["A", "A", "A", "B", "B"]})
    # B: nnd 10, d = 10, radius 5: no B has a B neighbour; A: radius 1000 reaches
    with pytest.warns(ColocWarning, match="'B'.*mean LD is 0"):
        result = coloc_index(sparse, radius_factor=0.5)
    assert result.localizations["ci_B"].isna().sum() == 5  # 3 A rows and the 2 own rows
    assert result.localizations["ci_A"].notna().sum() == 2
    summary = result.summary.set_index("channel")
    assert np.isnan(summary.loc["A", "mean_ci"]) and summary.loc["B", "mean_ci"] > 0


def test_inclusive_radius_and_self_exclusion_conventions():
    # A: 3-4-5 triangle legs: nnd 3, 4, 3 -> MNND 10/3; precision 0 and a factor
    # that makes the radius exactly 5 (within rounding, so use a lattice).
    table = pd.DataFrame({"x": [0.0, 3.0, 3.0, 0.0], "y": [0.0, 0.0, 4.0, 0.0],
                          "precision": 0.0, "channel": ["A", "A", "A", "B"]})
    mnnd = (3 + 4 + 3) / 3
    with pytest.warns(ColocWarning, match="'B'.*1 localization"):
        result = coloc_index(table, radius_factor=5.0 / mnnd * (1 + 1e-12))
    ld = result.localizations.loc[:2, "ld"].tolist()
    assert ld == [2, 2, 2]  # the 5 nm diagonal counts (<=), the point itself does not
    with pytest.warns(ColocWarning):
        result = coloc_index(table, radius_factor=5.0 / mnnd * (1 - 1e-9), exclude_self=False)
    assert result.localizations.loc[:2, "ld"].tolist() == [2, 3, 2]


def test_bad_input_errors_name_the_problem():
    table = uniform(50, seed=11)
    with pytest.raises(ValueError, match="missing column.*'precision'"):
        coloc_index(table.drop(columns="precision"))
    with pytest.raises(ValueError, match="missing column.*'cell'"):
        coloc_index(table, roi="cell")  # an ROI column that is not there
    broken = table.copy()
    broken.loc[7, "y"] = np.nan
    with pytest.raises(ValueError, match="column 'y' has NaN.*row 7"):
        coloc_index(broken)
    with pytest.raises(ValueError, match="at least two channels"):
        coloc_index(table[table["channel"] == "A"])
    with pytest.raises(ValueError, match=r"channel\(s\) \['Z'\] not found"):
        coloc_index(table, channels=["A", "Z"])
    with pytest.raises(ValueError, match="empty"):
        coloc_index(table.iloc[:0])
    with pytest.raises(ValueError, match="polygon"):
        coloc_index(table, roi=[[(0, 0), (1, 1)]])
    with pytest.raises(TypeError, match="pandas or dask"):
        coloc_index(np.zeros((3, 3)))


def test_write_results_folder(tmp_path):
    table = uniform(400, seed=12)
    result = coloc_index(table)
    out = result.write(tmp_path / "res", inputs={"paths": ["mem"]})
    summary = pd.read_csv(out / "results.csv")
    np.testing.assert_allclose(summary["mean_ci"], result.summary["mean_ci"])
    table_back = pd.read_parquet(out / "localizations.parquet")
    assert len(table_back) == len(table) and "ci_B" in table_back
    assert sorted(p.name for p in (out / "plots").glob("*.png")) == [
        "ci_all_A_vs_B.png", "ci_all_B_vs_A.png"]
    import json
    run = json.loads((out / "run.json").read_text())
    assert run["radius_factor"] == 1.0 and run["exclude_self"] is True
    assert run["channels"] == ["A", "B"] and "seconds" in run


def test_tiles_are_cut_for_load_balance_but_never_below_the_minimum(monkeypatch):
    import streamcoloc.smlm.index as index

    monkeypatch.setattr(index, "parallelism", lambda: 2)
    # 2e6 localizations on 2 threads: 4 tiles of 5e5, under the 1e6 cap
    assert index.balanced_tile_points(2_000_000, 1_000_000) == 500_000
    # the cap still holds for big tables; small tables keep >= MIN_TILE_POINTS
    assert index.balanced_tile_points(10**8, 1_000_000) == 1_000_000
    assert index.balanced_tile_points(150_000, 1_000_000) == index.MIN_TILE_POINTS
    assert index.balanced_tile_points(150_000, 20_000) == 20_000  # an explicit small cap
