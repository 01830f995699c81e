"""The PNG figures of streamcoloc.reports.plots are written and not blank."""

from __future__ import annotations

import matplotlib.image
import numpy as np
import pytest

from streamcoloc import ColocWarning, costes_randomization
from streamcoloc.reports import plots
from streamcoloc.spatial import coloc_map, cytofluorogram, li_ica, van_steensel_ccf


@pytest.fixture(scope="module")
def images():
    rng = np.random.default_rng(6)
    a = rng.integers(0, 300, (4, 24, 30)).astype(np.uint16)
    b = (np.roll(a, 2, axis=2) // 2 + rng.integers(0, 60, a.shape)).astype(np.uint16)
    return a, b


def assert_png(path, shape):
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == shape and image.shape[2] in (3, 4)
    assert np.ptp(image[..., :3]) > 0  # something is drawn


def test_every_figure(images, tmp_path):
    a, b = images
    cyto = cytofluorogram(a, b, bins=32, threshold=(120, 80))
    assert_png(plots.plot_cytofluorogram(cyto, tmp_path / "cyto.png", ("A", "B")), (600, 720))
    ccf = van_steensel_ccf(a, b, max_shift=8)
    assert_png(plots.plot_ccf(ccf, tmp_path / "sub" / "ccf.png"), (480, 720))
    ica = li_ica(a, b, bins=32)
    assert_png(plots.plot_ica(ica, tmp_path / "ica.png"), (540, 1320))
    local = coloc_map(a, b, kind="local_pearson", window=(1, 3, 3))
    assert_png(plots.plot_map(local, tmp_path / "map.png"), (600, 720))


def test_figures_without_fit_or_thresholds(tmp_path):
    flat = np.zeros((6, 6), np.uint16)
    flat[0, 0] = 1
    other = flat.T.copy()
    with pytest.warns(ColocWarning, match="Gaussian fit"):
        ccf = van_steensel_ccf(flat, other, max_shift=2)
    assert np.isnan(ccf.fit).all()
    assert_png(plots.plot_ccf(ccf, tmp_path / "ccf.png"), (480, 720))
    cyto = cytofluorogram(flat, other, threshold=None)
    assert_png(plots.plot_cytofluorogram(cyto, tmp_path / "cyto.png"), (600, 720))


def test_randomization_histogram(tmp_path):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 100, (4, 12, 12)).astype(np.uint16)
    result = costes_randomization(a, a // 2 + rng.integers(0, 50, a.shape).astype(np.uint16),
                                  n_iter=20, seed=0)
    assert_png(plots.plot_randomization(result, tmp_path / "null.png"), (480, 720))
