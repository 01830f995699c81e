"""Tile layout and the bucketed Parquet store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamcoloc.smlm import simulate
from streamcoloc.smlm.grid import TileLayout, TileStore, box_distances, runs, weighted_quantiles


def test_weighted_quantiles_split_equal_weight():
    values = np.arange(10.0)
    assert weighted_quantiles(values, np.ones(10), 2).tolist() == [4.0]
    assert weighted_quantiles(values, np.r_[np.full(5, 3.0), np.ones(5)], 2).tolist() == [3.0]


@pytest.mark.parametrize("scenario", ["uniform", "clusters"])
def test_layout_tiles_hold_similar_counts_and_cover_the_box(scenario):
    if scenario == "uniform":
        rng = np.random.default_rng(0)
        x, y = rng.uniform(0, 1000, 40000), rng.uniform(0, 3000, 40000)
    else:
        table = simulate("clusters", n_clusters=200, field=20000, seed=1)
        x, y = table["x"].to_numpy(), table["y"].to_numpy()
    bbox = (x.min(), x.max(), y.min(), y.max(), 0.0, 0.0)
    layout = TileLayout.from_sample(x[::3], y[::3], np.full(x[::3].size, 3.0), bbox, x.size,
                                    x.size // 9)
    assert 7 <= layout.n_tiles <= 12
    boxes = layout.boxes
    area = ((boxes[:, 1] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 2])).sum()
    assert area == pytest.approx((bbox[1] - bbox[0]) * (bbox[3] - bbox[2]))
    _, _, counts = layout.assign(x, y, 0.0)
    assert counts.sum() == x.size and counts.max() < 1.6 * x.size / layout.n_tiles


def test_box_distances():
    boxes = np.array([[0.0, 10.0, 0.0, 10.0]])
    near, far = box_distances(np.array([13.0, 5.0]), np.array([14.0, 5.0]), np.zeros(2), boxes,
                              (0.0, 0.0))
    assert near[:, 0].tolist() == [5.0, 0.0]
    assert far[:, 0] == pytest.approx([np.hypot(13, 14), np.hypot(5, 5)])


def test_store_halo_copies_equal_neighbour_reads(tmp_path):
    rng = np.random.default_rng(2)
    n = 5000
    frame = pd.DataFrame({"x": rng.uniform(0, 1000, n), "y": rng.uniform(0, 1000, n),
                          "_group": rng.integers(0, 2, n), "_loc": np.arange(n)})
    layout = TileLayout.from_sample(frame["x"].to_numpy(), frame["y"].to_numpy(), np.ones(n),
                                    (0, 1000, 0, 1000, 0, 0), n, 600)
    store = TileStore(tmp_path, layout, halo=40.0)
    counts = sum(store.write_partition(part, i, 2)
                 for i, part in enumerate([frame.iloc[:1700], frame.iloc[1700:]]))
    assert counts.sum() == n and layout.n_tiles >= 6
    for tile in range(layout.n_tiles):
        core, near = store.load(tile, 25.0)
        wide = TileStore(tmp_path, layout, halo=10.0)  # same files, reads the neighbours
        core2, near2 = wide.load(tile, 25.0)
        assert sorted(near["_loc"].to_pylist()) == sorted(near2["_loc"].to_pylist())
        assert core["_loc"].to_pylist() == core2["_loc"].to_pylist()
        x0, x1, y0, y1 = layout.boxes[tile]
        inside = frame["x"].between(x0 - 25, x1 + 25) & frame["y"].between(y0 - 25, y1 + 25)
        assert set(core["_loc"].to_pylist()) | set(near["_loc"].to_pylist()) == \
            set(frame["_loc"][inside])
        assert counts[tile].sum() == len(core)


def test_runs_give_each_value_its_ascending_positions():
    key = np.array([3, 0, 2, 0, 3, 3])
    assert [(v, m.tolist()) for v, m in runs(key)] == [(0, [1, 3]), (2, [2]), (3, [0, 4, 5])]
    assert [(v, m.tolist()) for v, m in runs(np.zeros(4, int))] == [(0, [0, 1, 2, 3])]
    assert list(runs(np.zeros(0, int))) == []
