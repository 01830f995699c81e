"""A pixel results folder shared by the report tests."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

import streamcoloc
from streamcoloc.reports import write_results


def small_two_channel_volume(seed=0):
    """(a, b, labels): 3 planes of 32 x 32 uint16 with b correlated to a,
    and two label regions (ids 5 and 9) of one plane."""
    rng = np.random.default_rng(seed)
    a = rng.poisson(100, size=(3, 32, 32)).astype(np.uint16)
    b = (0.7 * a + rng.poisson(40, size=a.shape)).astype(np.uint16)
    labels = np.zeros((32, 32), np.int32)
    labels[2:14, 3:30] = 5
    labels[18:30, 3:30] = 9
    return a, b, labels


def save_png(path, draw) -> None:
    """A PNG drawn by ``draw(axes)`` with matplotlib's Agg canvas."""
    figure = Figure(figsize=(3, 2.5), dpi=80)
    FigureCanvasAgg(figure)
    draw(figure.add_subplot())
    figure.savefig(path, format="png")


@pytest.fixture(scope="module")
def pixel_results(tmp_path_factory):
    """A results folder of analyse_pairwise with two PNG plots."""
    a, b, labels = small_two_channel_volume()
    table = streamcoloc.analyse_pairwise(a, b, label_mask=labels, slice_axis=0,
                                         channel_a="GFP", channel_b="RFP")
    out = write_results(table, tmp_path_factory.mktemp("pixel") / "results",
                        inputs={"paths": ["generated"]})
    save_png(out / "plots" / "pcc_per_row.png", lambda ax: ax.bar(range(len(table)),
                                                                  table["pcc"]))
    save_png(out / "plots" / "scatter.png", lambda ax: ax.plot(a.ravel(), b.ravel(), ","))
    return out
