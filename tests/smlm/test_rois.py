"""ROI shapes and row expansion."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.path import Path as MplPath

from streamcoloc.smlm.rois import WHOLE, RoiSpec, inside_polygon


def test_inside_polygon_matches_matplotlib_on_a_concave_polygon():
    vertices = np.array([(0, 0), (10, 0), (10, 10), (5, 3), (0, 10)], float)
    rng = np.random.default_rng(0)
    xy = rng.uniform(-1, 11, (5000, 2))
    got = inside_polygon(xy[:, 0], xy[:, 1], vertices)
    np.testing.assert_array_equal(got, MplPath(vertices).contains_points(xy))
    assert 0 < got.sum() < len(xy)


def test_parse_and_expand():
    frame = pd.DataFrame({"x": [1.0, 5.0, 9.0], "y": [1.0, 5.5, 7.0], "cell": [3, None, 4]})
    assert RoiSpec.parse(None).keys() == [WHOLE]
    rows, keys = RoiSpec.parse(None).expand(frame)
    assert rows.tolist() == [0, 1, 2] and keys.tolist() == [0, 0, 0]
    spec = RoiSpec.parse("cell")
    rows, keys = spec.expand(frame)
    assert rows.tolist() == [0, 2] and keys.tolist() == [3, 4]
    spec = RoiSpec.parse([(0, 0, 6, 6), [(4, 4), (10, 4), (10, 10)]])
    rows, keys = spec.expand(frame)
    assert list(zip(rows.tolist(), keys.tolist())) == [(0, 0), (1, 0), (2, 1)]
    assert spec.keys() == [0, 1]
    assert RoiSpec.parse({"a": (0, 0, 1, 1)}).keys() == ["a"]
    assert RoiSpec.parse((0, 0, 1, 1)).keys() == [0]


@pytest.mark.parametrize("roi, message", [([(0, 0, -1, 5)], "x0 <= x1"),
                                         ([[(0, 0), (1, 1)]], "polygon"), ([], "empty")])
def test_bad_rois(roi, message):
    with pytest.raises(ValueError, match=message):
        RoiSpec.parse(roi)
