"""The cKDTree reference against O(n²) numpy distances on tiny tables."""

from __future__ import annotations

import numpy as np
import pandas as pd

from streamcoloc.smlm.reference import coloc_index_kdtree


def test_reference_matches_pairwise_distances():
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"x": rng.uniform(0, 200, 120), "y": rng.uniform(0, 200, 120),
                          "precision": rng.uniform(5, 15, 120),
                          "channel": np.repeat(["A", "B"], 60)})
    table.loc[5, ["x", "y"]] = table.loc[6, ["x", "y"]].to_numpy()  # a duplicate
    per_row, summary = coloc_index_kdtree(table)
    xy = table[["x", "y"]].to_numpy()
    dist = np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1))
    channel = table["channel"].to_numpy()
    d = {}
    for c in "AB":
        mine = channel == c
        block = dist[np.ix_(mine, mine)] + np.diag(np.full(mine.sum(), np.inf))
        np.testing.assert_allclose(per_row["nnd"][mine], block.min(axis=1))
        d[c] = np.hypot(block.min(axis=1).mean(), table["precision"][mine].mean())
        np.testing.assert_array_equal(per_row["ld"][mine], (block <= d[c]).sum(axis=1))
    for c, o in (("A", "B"), ("B", "A")):
        n = (dist[np.ix_(channel == c, channel == o)] <= d[o]).sum(axis=1)
        np.testing.assert_array_equal(per_row[f"n_{o}"][channel == c], n)
        mean_ld = per_row["ld"][channel == o].mean()
        row = summary[summary["channel"] == c].iloc[0]
        assert row["mean_ci"] == np.mean(n / mean_ld)
    assert per_row.loc[5, "nnd"] == 0
