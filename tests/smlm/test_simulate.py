"""The paper's Fig. 1c: mean CI of channel A tracks the overlap of two squares."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from streamcoloc.smlm import coloc_index, simulate

OVERLAPS = (0.0, 0.25, 0.5, 0.75, 1.0)
PAPER = (0.0067, 0.25, 0.51, 0.76, 1.00)  # Willems & MacGillavry 2022, Fig. 1c
REPEATS = 100


def fig1c(blur: bool, repeats: int = REPEATS) -> pd.Series:
    """Mean over repeats of channel A's mean CI per overlap; every repeat is
    its own ROI of one table (one call)."""
    parts = []
    for k, overlap in enumerate(OVERLAPS):
        for r in range(repeats):
            part = simulate("squares", overlap=overlap, blur=blur, seed=1000 * k + r)
            parts.append(part.assign(run=1000 * k + r))
    summary = coloc_index(pd.concat(parts, ignore_index=True), roi="run").summary
    a = summary[summary["channel"] == "A"]
    return a.groupby(a["roi"] // 1000)["mean_ci"].mean()


def test_squares_protocol():
    table = simulate("squares", overlap=0.25, seed=0)
    a, b = table[table["channel"] == "A"], table[table["channel"] == "B"]
    assert len(a) == len(b) == 1000 and (table["precision"] == 15).all()
    assert a["x"].between(0, 250).all() and b["x"].between(187.5, 437.5).all()
    with pytest.raises(ValueError, match="unknown scenario"):
        simulate("stars")


def test_fig1c_precision_only_matches_the_paper():
    means = fig1c(blur=False)
    np.testing.assert_allclose(means, PAPER, atol=0.02)
    assert np.all(np.diff(means) > 0.2)


def test_fig1c_blurred_coordinates_raise_the_75_percent_case():
    means = fig1c(blur=True, repeats=10)
    assert 0.79 < means[3] < 0.85  # the blurred edges overlap more
    assert abs(means[4] - 1) < 0.03


def test_clusters_ci_follows_the_enrichment_of_b():
    """B Gaussian around A's cluster centres (A: uniform discs of radius 100):
    B's CI is high while B stays inside A's clusters and falls as it spreads;
    A's CI is highest when B's spread matches the clusters."""
    means = {}
    for sigma in (20.0, 70.0, 400.0):
        table = simulate("clusters", n_clusters=30, enrichment=sigma, background=0.05, seed=2)
        means[sigma] = coloc_index(table).summary.set_index("channel")["mean_ci"]
    assert means[20.0]["B"] > means[70.0]["B"] > means[400.0]["B"]
    assert means[70.0]["A"] > max(means[20.0]["A"], means[400.0]["A"])
