"""Co-localization maps: dots for small tables, mean CI per pixel for large."""

from __future__ import annotations

import dask.dataframe as dd
import numpy as np
from matplotlib.image import imread

from streamcoloc.smlm import coloc_index, simulate
from streamcoloc.smlm.plots import rasterize, write_ci_maps


def test_maps_as_dots_and_rasterized(tmp_path):
    result = coloc_index(simulate("clusters", n_clusters=10, seed=0))
    dots = write_ci_maps(result.localizations, result.summary, tmp_path / "dots",
                         channel="channel")
    raster = write_ci_maps(dd.from_pandas(result.localizations, npartitions=3),
                           result.summary, tmp_path / "raster", channel="channel", max_points=10)
    for path in dots + raster:
        image = imread(path)
        assert image.shape[0] > 300 and image[..., :3].std() > 0.05
    assert [p.name for p in dots] == ["ci_all_A_vs_B.png", "ci_all_B_vs_A.png"]


def test_rasterize_is_the_mean_ci_per_pixel():
    import pandas as pd
    points = pd.DataFrame({"x": [0.0, 0.1, 9.9, 5.0], "y": [0.0, 0.1, 9.9, np.nan],
                           "ci": [1.0, 3.0, 0.5, np.nan]}).dropna()
    image, extent = rasterize(points, "ci", pixels=2)
    assert extent[0] == 0.0 and image.shape == (2, 2) or image.shape == (3, 3)
    assert image[0, 0] == 2.0 and np.nanmax(image) == 2.0
    assert np.nansum(image) == 2.5
