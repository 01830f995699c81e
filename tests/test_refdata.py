"""Fiji Coloc 2's own test images (../shared/refdata/coloc2).

Two independent checks per number: scipy/numpy float64 on the same voxels
(tight), and the value Coloc 2's unit tests assert for the same input, with
the tolerance those tests use (PearsonsCorrelationTest,
MandersColocalizationTest in fiji/Colocalisation_Analysis).
"""

from __future__ import annotations

import pytest
import tifffile
from scipy import stats

import streamcoloc

from .reference import refdata_path

# Coloc 2 PearsonsCorrelationTest.mandersPaperImagesTest (±0.01) and
# MandersColocalizationTest.mandersPaperImagesTest (±0.0001; A-I m1 ±0.001)
MANDERS_IMAGES = {
    "A": (1.0, 1.0, 1.0), "B": (0.72, 0.75, 0.75), "C": (0.44, 0.5, 0.5),
    "D": (0.16, 0.25, 0.25), "E": (-0.12, 0.0, 0.0), "F": (0.22, 0.25, 0.3333),
    "G": (0.30, 0.25, 0.50), "H": (0.48, 0.25, 1.00), "I": (0.23, 0.083, 0.75),
}


def _read(name):
    return tifffile.imread(refdata_path("coloc2", name))


@pytest.mark.parametrize("other", sorted(MANDERS_IMAGES))
def test_manders_paper_images(other):
    a = streamcoloc.open_image(refdata_path("coloc2", "mandersA.tiff"))
    b = streamcoloc.open_image(refdata_path("coloc2", f"manders{other}.tiff"))
    pcc, m1_expected, m2_expected = MANDERS_IMAGES[other]
    r, _ = streamcoloc.pearson(a, b)
    m1, m2 = streamcoloc.manders(a, b)
    fa, fb = _read("mandersA.tiff").astype(float), _read(f"manders{other}.tiff").astype(float)
    if other == "A":
        assert r == pytest.approx(1.0, abs=1e-12)
    else:
        assert r == pytest.approx(stats.pearsonr(fa.ravel(), fb.ravel()).statistic, rel=1e-12)
    assert m1 == pytest.approx(fa[fb > 0].sum() / fa.sum(), rel=1e-12)
    assert m2 == pytest.approx(fb[fa > 0].sum() / fb.sum(), rel=1e-12)
    assert r == pytest.approx(pcc, abs=0.01)
    assert m1 == pytest.approx(m1_expected, abs=0.001 if other == "I" else 1e-4)
    assert m2 == pytest.approx(m2_expected, abs=1e-4)


def test_colocsample1b_pearson_whole_stack_and_cell_mask():
    green = refdata_path("coloc2", "colocsample1b-green.tif")
    red = refdata_path("coloc2", "colocsample1b-red.tif")
    g, r = _read(green.name).astype(float), _read(red.name).astype(float)
    mask = _read("colocsample1b-mask.tif") > 0
    whole, p = streamcoloc.pearson(streamcoloc.open_image(green), streamcoloc.open_image(red))
    assert whole == pytest.approx(stats.pearsonr(g.ravel(), r.ravel()).statistic, rel=1e-12)
    assert whole == pytest.approx(0.75, abs=0.01)  # Coloc 2 PearsonsCorrelationTest
    cell, _ = streamcoloc.pearson(streamcoloc.open_image(green), streamcoloc.open_image(red),
                                  mask=mask)
    assert cell == pytest.approx(stats.pearsonr(g[mask], r[mask]).statistic, rel=1e-12)


def test_colocsample1b_thresholded_manders_as_coloc2():
    """MandersColocalizationTest.mandersRealNoisyImagesTest: cell mask,
    thresholds ch1 = 70, ch2 = 53 → tM1 = 0.705665, tM2 = 0.724752 (±1e-6)."""
    green = streamcoloc.open_image(refdata_path("coloc2", "colocsample1b-green.tif"))
    red = streamcoloc.open_image(refdata_path("coloc2", "colocsample1b-red.tif"))
    mask = _read("colocsample1b-mask.tif") > 0
    tm1, tm2 = streamcoloc.manders(green, red, threshold_a=70, threshold_b=53, mask=mask)
    assert tm1 == pytest.approx(0.705665, abs=1e-6)
    assert tm2 == pytest.approx(0.724752, abs=1e-6)


def test_uncorrelated_noise_stacks():
    green = streamcoloc.open_image(refdata_path("coloc2", "greenZstack.tif"))
    red = streamcoloc.open_image(refdata_path("coloc2", "redZstack.tif"))
    r, _ = streamcoloc.pearson(green, red)
    assert r == pytest.approx(0.0, abs=0.05)  # Coloc 2 PearsonsCorrelationTest
    table = streamcoloc.analyse_pairwise(green, red, slice_axis="z")
    assert len(table) == green.sizes["z"]


# ---------------------------------------------------------------- ranks, ICQ, Costes

def _stack(name):
    return streamcoloc.open_image(refdata_path("coloc2", name))


def test_colocsample1b_costes_bisection_as_coloc2_tests():
    """MandersColocalizationTest.mandersRealNoisyImagesTest uses the
    bisection auto-threshold of the cell: thresholds 70 and 53."""
    mask = _read("colocsample1b-mask.tif") > 0
    green, red = _stack("colocsample1b-green.tif"), _stack("colocsample1b-red.tif")
    result = streamcoloc.costes_threshold(green, red, mask=mask, method="coloc2-bisection")
    assert (result.threshold_a, result.threshold_b) == (70, 53)
    table = streamcoloc.analyse_pairwise(green, red, label_mask=mask,
                                         threshold_method="coloc2-bisection")
    assert table["tm1"][0] == pytest.approx(0.705665, abs=1e-6)
    assert table["tm2"][0] == pytest.approx(0.724752, abs=1e-6)


@pytest.mark.parametrize("method", ["coloc2", "coloc2-bisection", "cellprofiler-accurate",
                                    "cellprofiler-fast", "cellprofiler-faster", "jacop"])
def test_colocsample1b_every_costes_method_equals_its_replay(method):
    from . import reference_costes as ref

    mask = _read("colocsample1b-mask.tif") > 0
    g, r = _read("colocsample1b-green.tif")[mask], _read("colocsample1b-red.tif")[mask]
    if method.startswith("coloc2"):
        expected = ref.coloc2_costes(g, r, "costes" if method == "coloc2" else "bisection",
                                     regression_skips_first_voxel=False)
    elif method == "jacop":
        expected = ref.jacop_costes(g, r)
    else:
        expected = ref.cellprofiler_costes(g, r, method.split("-")[1], scale=255)
    got = streamcoloc.costes_threshold(_stack("colocsample1b-green.tif"),
                                       _stack("colocsample1b-red.tif"), mask=mask, method=method)
    assert got.threshold_a == pytest.approx(expected["threshold_a"], rel=1e-12)
    assert got.threshold_b == pytest.approx(expected["threshold_b"], rel=1e-9)
    assert got.n_evaluated == expected["n_evaluated"]
    if method.startswith("coloc2"):
        # Coloc 2's regression skips the mask's first voxel (a cursor quirk):
        # the slope moves in the 6th digit, the thresholds not at all.
        quirk = ref.coloc2_costes(g, r, "costes" if method == "coloc2" else "bisection")
        assert (quirk["threshold_a"], quirk["threshold_b"]) == (got.threshold_a,
                                                               got.threshold_b)


def test_colocsample1b_ranks_and_icq():
    g = _read("colocsample1b-green.tif").astype(float).ravel()
    r = _read("colocsample1b-red.tif").astype(float).ravel()
    green, red = _stack("colocsample1b-green.tif"), _stack("colocsample1b-red.tif")
    rho, p = streamcoloc.spearman(green, red)
    assert rho == pytest.approx(stats.spearmanr(g, r).statistic, abs=1e-12)
    tau, _ = streamcoloc.kendall(green, red)
    assert tau == pytest.approx(stats.kendalltau(g, r, method="asymptotic").statistic, abs=1e-12)
    icq = streamcoloc.li_icq(green, red)
    assert 0.34 < icq < 0.35  # Coloc 2 LiICQTest.liPositiveCorrTest


def test_uncorrelated_stacks_and_synthetic_negatives():
    assert abs(streamcoloc.li_icq(_stack("greenZstack.tif"), _stack("redZstack.tif"))) < 0.01
    a, b = _stack("syntheticNegCh1.tif"), _stack("syntheticNegCh2.tif")
    fa, fb = (_read(f"syntheticNegCh{i}.tif").ravel().astype(float) for i in (1, 2))
    r, _ = streamcoloc.pearson(a, b)
    assert r == pytest.approx(stats.pearsonr(fa, fb).statistic, rel=1e-9)
    rho, _ = streamcoloc.spearman(a, b)
    assert rho == pytest.approx(stats.spearmanr(fa, fb).statistic, abs=1e-12)  # 15 distinct
    # Coloc 2 CommutativityTest: swapping the channels swaps the thresholds
    for method in ("coloc2", "coloc2-bisection"):
        ab = streamcoloc.costes_threshold(a, b, method=method)
        ba = streamcoloc.costes_threshold(b, a, method=method)
        assert (ab.threshold_a, ab.threshold_b) == pytest.approx(
            (ba.threshold_b, ba.threshold_a), nan_ok=True)
