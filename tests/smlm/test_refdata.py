"""The real dual-colour microtubule data: CI falls as channel 2 is rotated."""

from __future__ import annotations

import numpy as np

from streamcoloc.smlm import coloc_index
from streamcoloc.smlm.reference import coloc_index_kdtree
from tests.reference import refdata_path

ANGLES = (0, 2, 10, 45, 90, 180)


def test_mean_ci_falls_with_rotation_angle():
    means = {}
    for angle in ANGLES:
        path = refdata_path("smlm_microtubules", f"microtubules_rot{angle}deg.csv")
        result = coloc_index(path, tile_points=8000)
        summary = result.summary.set_index("channel")
        assert summary["n"].tolist() == [17580, 17574]
        means[angle] = summary.loc[1, "mean_ci"]
        if angle == 10:  # every count as the cKDTree reference, real data, many tiles
            table = result.localizations.compute().reset_index(drop=True)
            expected, _ = coloc_index_kdtree(table)
            np.testing.assert_array_equal(table["ld"], expected["ld"])
            np.testing.assert_allclose(table["ci_2"], expected["ci_2"], rtol=1e-12)
    assert means[0] > 0.98  # the same localizations in both channels
    assert means[0] > means[2] > means[10] > means[45]
    assert max(means[90], means[180]) < means[10] < 0.5
