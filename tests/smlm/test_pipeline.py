"""Pieces of the tile passes: splitting a tile by ROI and channel, margins,
and the far-neighbour fallback against brute force."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamcoloc.smlm.grid import TileLayout, TileStore
from streamcoloc.smlm.pipeline import Points, _margins, resolve_far


def test_points_split_by_roi_keeps_core_rows_first():
    group = np.array([3, 0, 2, 1, 0, 3, 2, 1])  # 2 channels: ROI = group // 2
    points = Points(np.arange(8.0), np.zeros(8), np.zeros(8), group, np.arange(8) + 100, 5)
    seen = {roi: (rows.tolist(), part.loc.tolist(), part.n_core)
            for roi, rows, part in points.by_roi(2)}
    assert seen == {0: ([1, 3, 4], [101, 103, 104, 107], 3),
                    1: ([0, 2], [100, 102, 105, 106], 2)}
    one_roi = Points(np.arange(8.0), np.zeros(8), np.zeros(8), group % 2, np.arange(8), 5)
    [(roi, rows, part)] = one_roi.by_roi(2)  # every point in ROI 0: the tile itself, no rows
    assert roi == 0 and rows is None and part is one_roi


def test_margins_count_only_faces_with_data_beyond():
    x, y = np.array([5.0, 9.0]), np.array([5.0, 1.0])
    box, halo = (0.0, 10.0, 0.0, 10.0), 2.0
    assert _margins(x, y, box, halo, (-100, 100, -100, 100)).tolist() == [7.0, 3.0]
    assert _margins(x, y, box, halo, (0, 10, 0, 10)).tolist() == [np.inf, np.inf]
    assert _margins(x, y, box, halo, (0, 100, 0, 10)).tolist() == [7.0, 3.0]


def test_resolve_far_finds_neighbours_several_tiles_away(tmp_path):
    rng = np.random.default_rng(0)
    n = 3000
    frame = pd.DataFrame({"x": rng.uniform(0, 1000, n), "y": rng.uniform(0, 1000, n),
                          "_group": rng.integers(0, 3, n), "_loc": np.arange(n)})
    frame.loc[frame["_group"] == 2, "_group"] = 1
    lonely = pd.DataFrame({"x": [5.0, 990.0], "y": [5.0, 990.0], "_group": [2, 2],
                           "_loc": [n, n + 1]})  # a group of two, far apart
    frame = pd.concat([frame, lonely], ignore_index=True)
    layout = TileLayout.from_sample(frame["x"].to_numpy(), frame["y"].to_numpy(),
                                    np.ones(len(frame)), (0, 1000, 0, 1000, 0, 0), len(frame),
                                    300)
    store = TileStore(tmp_path, layout, halo=1.0)
    counts = store.write_partition(frame, 0, 3)
    queries = frame.sample(40, random_state=1)
    queries = pd.concat([queries, frame.tail(2)])
    tiles = np.array([np.flatnonzero((layout.boxes[:, 0] <= x) & (layout.boxes[:, 1] >= x)
                                     & (layout.boxes[:, 2] <= y) & (layout.boxes[:, 3] >= y))[0]
                      for x, y in zip(queries["x"], queries["y"])])
    far = pd.DataFrame({"tile": tiles, "position": 0, "x": queries["x"].to_numpy(),
                        "y": queries["y"].to_numpy(), "z": 0.0,
                        "group": queries["_group"].to_numpy(),
                        "loc": queries["_loc"].to_numpy(), "bound": np.inf})
    got = resolve_far(far, store, counts, has_z=False)["nnd"].to_numpy()
    xy, g = frame[["x", "y"]].to_numpy(), frame["_group"].to_numpy()
    d = np.sqrt(((far[["x", "y"]].to_numpy()[:, None] - xy[None]) ** 2).sum(-1))
    d[(far["group"].to_numpy()[:, None] != g) | (far["loc"].to_numpy()[:, None] ==
                                                 frame["_loc"].to_numpy())] = np.inf
    np.testing.assert_allclose(got, d.min(axis=1), rtol=1e-12)
    assert got[-1] > 1000  # across the whole field


def test_survey_bounding_boxes_per_roi_column_value():
    """One bounding box per ROI of an ROI column (the minimum and maximum of
    each ROI's own localizations, in one pass however many ROIs)."""
    from streamcoloc.smlm.pipeline import Plan, survey_partition
    from streamcoloc.smlm.rois import RoiSpec

    rng = np.random.default_rng(3)
    n = 3000
    part = pd.DataFrame({"x": rng.uniform(0, 1000, n), "y": rng.uniform(0, 500, n),
                         "precision": 10.0, "channel": rng.choice(["A", "B"], n),
                         "cell": rng.integers(0, 40, n)})
    part.loc[part["cell"] == 7, "x"] += 5000.0  # one ROI far from the others
    plan = Plan("channel", RoiSpec.parse("cell"), "precision", False)
    found = survey_partition(part, 0, plan, "test")
    expected = part.groupby("cell")[["x", "y"]].agg(["min", "max"])
    for axis in "xy":
        for end in ("min", "max"):
            np.testing.assert_array_equal(found["bbox"][f"{axis}{end}"].to_numpy(),
                                          expected[(axis, end)].to_numpy())
    assert (found["bbox"][["zmin", "zmax"]].to_numpy() == 0).all()


def test_count_pass_cells_are_at_least_the_smallest_radius(monkeypatch):
    """The count pass sizes its cells by the smallest defined search radius
    (each channel then searches as many cells as its own radius needs)."""
    import streamcoloc.smlm.index as index
    import streamcoloc.smlm.pipeline as pipeline
    from streamcoloc.smlm import coloc_index, simulate

    seen = []
    of = pipeline.CellList.of.__func__

    def spy(cls, *args, **kwargs):
        if kwargs.get("min_cell", 0) > 0:  # the count pass (the nearest pass sizes by density)
            seen.append(kwargs["min_cell"])
        return of(cls, *args, **kwargs)

    monkeypatch.setattr(pipeline.CellList, "of", classmethod(spy))
    monkeypatch.setattr(index, "keep_tiles", lambda *args: False)  # cell lists built anew
    result = coloc_index(simulate("clusters", n_clusters=20, seed=4), radius_factor=1.5)
    radii = 1.5 * result.summary.drop_duplicates("channel")["d"].to_numpy()
    assert seen and all(m == pytest.approx(radii.min(), rel=1e-12) for m in seen)


@pytest.mark.parametrize("options", [{}, {"radius_factor": 4.0}, {"bucket_halo": 5.0},
                                     {"roi": [(0, 0, 3000, 3000), (2000, 2000, 5000, 5000)]}])
def test_tiles_kept_between_the_passes_give_the_same_results(monkeypatch, options):
    """The count pass on the tiles the nearest pass kept (their cell lists
    when wide enough, rebuilt when a radius is wider, read anew when it
    reaches beyond the stored halo) writes what it writes from the files."""
    import streamcoloc.smlm.index as index
    import streamcoloc.smlm.pipeline as pipeline
    from streamcoloc.smlm import coloc_index, simulate

    table = simulate("clusters", n_clusters=30, seed=5)
    kept = []
    count_tile = pipeline.count_tile

    def spy(*args, **kwargs):
        kept.append(args[-1] is not None)
        return count_tile(*args, **kwargs)

    monkeypatch.setattr(index, "count_tile", spy)
    runs = {}
    for keep in (True, False):
        monkeypatch.setattr(index, "keep_tiles", lambda *args, keep=keep: keep)
        runs[keep] = coloc_index(table, tile_points=2000, **options)
    assert kept and all(kept[:len(kept) // 2]) and not any(kept[len(kept) // 2:])
    pd.testing.assert_frame_equal(runs[True].localizations, runs[False].localizations)
    pd.testing.assert_frame_equal(runs[True].summary, runs[False].summary)


def test_tiles_are_kept_only_within_the_tile_tasks_memory_bound():
    from streamcoloc.engine.runtime import parallelism
    from streamcoloc.smlm import index

    bound = index.TASK_BYTES_PER_LOCALIZATION * parallelism() // index.KEPT_BYTES_PER_LOCALIZATION
    assert index.keep_tiles(1000 * bound, 1000)
    assert not index.keep_tiles(1000 * bound + 1, 1000)


def test_partitions_read_once_are_kept_for_the_bucket_pass_within_the_bound(monkeypatch, tmp_path):
    """A file-backed table: partitions within the bound are read once (the
    survey keeps them for the bucket pass), the results unchanged."""
    import dask.dataframe as dd

    import streamcoloc.smlm.index as index
    from streamcoloc.smlm import coloc_index, simulate

    simulate("clusters", n_clusters=30, seed=6).to_parquet(tmp_path / "locs.parquet")
    table = dd.read_parquet(tmp_path / "locs.parquet").repartition(npartitions=3)
    survey = index.survey
    kept = []

    def spy(*args):
        found = survey(*args)
        kept.append(sum(p is not None for p in found["parts"]))
        return found

    monkeypatch.setattr(index, "survey", spy)
    results = {}
    for budget in (10**9, 0):
        monkeypatch.setattr(index, "kept_bytes", lambda tile_points, budget=budget: budget)
        results[budget] = coloc_index(table, tile_points=2000)
    assert kept == [3, 0]
    pd.testing.assert_frame_equal(results[10**9].localizations.compute(),
                                  results[0].localizations.compute())
    pd.testing.assert_frame_equal(results[10**9].summary, results[0].summary)


def test_a_partition_counts_its_strings_in_its_bytes():
    from streamcoloc.smlm.pipeline import _frame_bytes

    numbers = pd.DataFrame({"x": np.zeros(100), "channel": np.zeros(100, np.int64)})
    objects = numbers.assign(channel=pd.Series(["A"] * 100, dtype=object))
    assert _frame_bytes(numbers) == numbers.memory_usage(index=True).sum()
    assert _frame_bytes(objects) == _frame_bytes(numbers) + 64 * 100  # pointers and strings
    arrow = numbers.assign(channel=pd.Series(["A"] * 100, dtype="string[pyarrow]"))
    assert _frame_bytes(arrow) == arrow.memory_usage(index=True).sum()  # its own buffers


def test_a_kept_tile_takes_at_most_its_bytes_per_localization(monkeypatch):
    """The memory bound of kept tiles (index.KEPT_BYTES_PER_LOCALIZATION)
    holds for what a kept tile actually holds: points, cell lists and
    distances, halo rows included, per localization of the table."""
    import streamcoloc.smlm.index as index
    import streamcoloc.smlm.pipeline as pipeline
    from streamcoloc.smlm import coloc_index, simulate

    held = []
    count_tile = pipeline.count_tile

    def spy(*args, **kwargs):
        kept = args[-1]
        arrays = [kept.nnd] + [getattr(kept.points, a) for a in ("x", "y", "z", "group", "loc")]
        for _, rows, part, cells in kept.lists:
            arrays += [cells.x, cells.y, cells.z, cells.start, cells.order]
            arrays += [] if rows is None else [rows]
            if part is not kept.points:
                arrays += [getattr(part, a) for a in ("x", "y", "z", "group", "loc")]
        held.append(sum(a.nbytes for a in arrays))
        return count_tile(*args, **kwargs)

    monkeypatch.setattr(index, "count_tile", spy)
    monkeypatch.setattr(index, "keep_tiles", lambda *args: True)
    table = simulate("clusters", n_clusters=200, field=20000.0, seed=7)
    coloc_index(table, tile_points=20_000)
    assert len(held) > 1
    assert sum(held) / len(table) <= index.KEPT_BYTES_PER_LOCALIZATION
