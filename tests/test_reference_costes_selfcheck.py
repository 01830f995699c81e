"""Sanity checks of tests/reference_costes.py on hand-computed cases, plus
the expected values found in Coloc 2's own unit tests (skipped when the
reference images are absent)."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import reference_costes as rc  # noqa: E402

COLOC2_DATA = Path(__file__).resolve().parents[2] / "shared" / "refdata" / "coloc2"


def _tif(name):
    path = COLOC2_DATA / name
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    tifffile = pytest.importorskip("tifffile")
    return tifffile.imread(path)


# ---------------------------------------------------------------- Java helpers

def test_java_math_round():
    assert rc.java_math_round(0.5) == 1.0
    assert rc.java_math_round(-0.5) == 0.0
    assert rc.java_math_round(-2.5) == -2.0
    assert rc.java_math_round(2.4999999999999996) == 2.0
    assert rc.java_math_round(0.49999999999999994) == 0.0
    assert rc.java_math_round(float("nan")) == 0.0
    assert rc.java_math_round(float("inf")) == 2.0 ** 63
    assert rc.java_math_round(-float("inf")) == -(2.0 ** 63)


def test_java_d2i_and_int_overflow():
    assert rc.java_d2i(-2.7) == -2
    assert rc.java_d2i(2.7) == 2
    assert rc.java_d2i(float("nan")) == 0
    assert rc.java_d2i(1e12) == 2147483647
    wrapped = rc._java_int_mul(np.array([50000]), np.array([50000]))
    assert wrapped[0] == 2500000000 - 2 ** 32


# ---------------------------------------------------------------- Coloc 2 steppers

def test_simple_stepper_rules():
    s = rc._SimpleStepper(5.0)
    s.update(0.9)                      # first: compared with lastValue = 1.0
    assert not s.is_finished() and s.get_value() == 4.0
    s.update(0.95)                     # increase -> stop
    assert s.is_finished()

    s = rc._SimpleStepper(10.0)
    s.update(0.5)
    s.update(float("nan"))             # Double.NaN == value is false: no stop
    assert not s.is_finished()
    s.update(0.99)                     # 0.99 > NaN is false: no stop either
    assert not s.is_finished()
    s.update(0.00009)                  # below 0.0001 -> stop
    assert s.is_finished()

    s = rc._SimpleStepper(1.5)
    s.update(0.5)                      # threshold 0.5 < 1 -> stop
    assert s.is_finished()


def test_bisection_stepper_rules():
    s = rc._BisectionStepper(50.0, 100.0)
    s.update(0.3)                      # r > 0: down by half the distance
    assert s.get_value() == 25.0 and not s.is_finished()
    s.update(-0.1)                     # r < 0: up by half
    assert s.get_value() == 37.5
    s.update(float("nan"))             # NaN: unchanged, thrDiff 0 -> finished
    assert s.get_value() == 37.5 and s.is_finished()
    s = rc._BisectionStepper(50.0, 100.0)
    s.update(0.0)                      # exactly 0: same as NaN
    assert s.is_finished()


# ---------------------------------------------------------------- Coloc 2 regression

def test_coloc2_perfect_correlation_costes_and_bisection():
    a = np.arange(11, dtype=np.uint8)
    res = rc.coloc2_costes(a, a, "costes")
    # m == 1 exactly -> channel 2 is stepped; candidates 10, 9, ..., 1;
    # t = 1 leaves one voxel -> NaN, and threshold 0 < 1 ends the walk.
    assert res["slope"] == 1.0 and res["intercept"] == 0.0
    assert res["stepped_channel"] == 2
    assert (res["threshold_a"], res["threshold_b"]) == (1.0, 1.0)
    assert res["n_evaluated"] == 10
    assert math.isnan(res["r_below"])
    assert [t[3] for t in res["trace"][:-1]] == [1.0] * 9

    res = rc.coloc2_costes(a, a, "bisection")
    # start |10 + 0| / 2 = 5 -> 2.5 (round 3) -> 1.25 (round 1): NaN stops.
    assert [t[1] for t in res["trace"]] == [5.0, 3.0, 1.0]
    assert (res["threshold_a"], res["threshold_b"]) == (1.0, 1.0)
    assert res["n_evaluated"] == 3


def test_coloc2_bisection_finished_before_any_candidate():
    # max - |max + min| / 2 < 1: no candidate; thresholds = unrounded maxima
    a = np.array([0.0, 0.5, 1.5])
    res = rc.coloc2_costes(a, a, "bisection")
    assert res["n_evaluated"] == 0 and math.isnan(res["r_below"])
    assert (res["threshold_a"], res["threshold_b"]) == (1.5, 1.5)


def test_coloc2_threshold_clamped_to_type_range():
    a = np.array([0, 1, 2, 3, 4, 5, 6, 7], dtype=np.uint8)
    b = np.array([7, 6, 5, 4, 3, 2, 1, 0], dtype=np.uint8)
    res = rc.coloc2_costes(a, b, "costes")
    assert res["slope"] == pytest.approx(-1.0)
    # m = -1 is not in (-1, 1): channel 2 stepped from 7; ch1 = (7 - 7)/-1
    assert res["stepped_channel"] == 2
    assert res["n_evaluated"] == 1 and res["r_below"] == pytest.approx(-1.0)
    res = rc.coloc2_costes(a, b, "costes", type_min=1, type_max=6)
    assert (res["threshold_a"], res["threshold_b"]) == (1.0, 6.0)


def test_coloc2_thresholded_hand_case_and_nan_paths():
    a = np.array([0, 5, 10, 20], dtype=np.uint8)
    b = np.array([0, 0, 8, 30], dtype=np.uint8)
    out = rc.coloc2_thresholded(a, b, 10, 8)
    assert out["tm1"] == pytest.approx(30 / 35)
    assert out["tm2"] == 1.0
    assert math.isnan(out["pcc_below"])    # {(0,0), (5,0)}: b constant
    assert math.isnan(out["pcc_above"])    # one voxel
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, 500)
    y = (x // 2 + rng.integers(0, 60, 500))
    out = rc.coloc2_thresholded(x, y, 10 ** 6, 10 ** 6)
    assert out["pcc_below"] == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)


def test_icq_zero_product_conventions():
    # voxel 2 sits exactly on both means: Coloc 2 counts the 0 product as
    # positive, JACoP counts only strictly positive products.
    assert rc.coloc2_icq([1, 2, 3], [1, 2, 3]) == 0.5
    assert rc.jacop_icq([1, 2, 3], [1, 2, 3]) == pytest.approx(2 / 3 - 0.5)
    assert rc.coloc2_icq([1, 2, 3, 4], [4, 3, 2, 1]) == -0.5


# ---------------------------------------------------------------- CellProfiler

def test_cellprofiler_linear_hand_case():
    # scale 4: i_step = 0.25 exactly.  fi = si = 0, .25, .5, .75, 1
    a = np.array([0, 1, 2, 3, 4], dtype=np.uint8)
    res = rc.cellprofiler_costes(a, a, "accurate", scale=4)
    # start 1.25 (skipped: above both maxima) -> 1.0, .75, .5 (r = 1 each,
    # 4, 3, 2 voxels) -> i = .25 ends the walk (i > i_step is false)
    assert res["slope"] == 1.0 and res["intercept"] == 0.0
    assert res["threshold_a_scaled"] == 0.5 and res["threshold_b_scaled"] == 0.5
    assert res["threshold_a"] == 2.0
    assert res["n_evaluated"] == 3 and res["r_below"] == pytest.approx(1.0)


def test_cellprofiler_linear_negative_r_breaks_immediately():
    a = np.array([0, 1, 2, 3, 4], dtype=np.uint8)
    res = rc.cellprofiler_costes(a, a[::-1], "fast", scale=4)
    # slope -1, intercept 1 (scaled): start i = 1.25 is not skipped since
    # a*i + b = -0.25 is not above si_max; r(all 5 voxels) = -1 -> break
    assert res["slope"] == pytest.approx(-1.0)
    assert res["threshold_a_scaled"] == 1.25
    assert res["threshold_b_scaled"] == pytest.approx(-0.25)
    assert res["n_evaluated"] == 1 and res["r_below"] == pytest.approx(-1.0)


def test_cellprofiler_pearsonr_only_recomputed_when_count_changes():
    # 10x step size; values are multiples of 4/255 so consecutive candidates
    # often select the same set
    a = (np.arange(0, 64) * 4).astype(np.uint8)
    res = rc.cellprofiler_costes(a, a, "accurate")
    assert res["n_candidates"] > res["n_evaluated"] > 0


def test_cellprofiler_bisection_hand_case():
    a = np.array([0, 1, 2, 3, 4], dtype=np.uint8)
    res = rc.cellprofiler_costes(a, a, "faster", scale=4)
    # mid = 3//1.2 + 1 = 3 -> 3 voxels, r = 1: right = 4, valid = 3
    # mid = 3//2 + 1 = 2 -> 2 voxels (<= 2): left = 1; mid = 2 again -> stop
    assert res["threshold_a_scaled"] == 0.5       # (valid - 1) / 4
    assert res["n_evaluated"] == 1 and res["n_candidates"] == 2


def test_cellprofiler_too_few_voxels_raises_like_cellprofiler():
    with pytest.raises(ValueError):
        rc.cellprofiler_costes(np.array([3]), np.array([4]), "accurate")


# ---------------------------------------------------------------- JACoP

def test_jacop_perfect_correlation_last_minimum_wins():
    a = np.arange(11)
    res = rc.jacop_costes(a, a)
    assert res["slope"] == 1.0 and res["intercept"] == 0.0
    assert (res["loop_min"], res["loop_max"]) == (0, 10)
    # r = 1 for i = 10..2 (i = 10 not selectable); '<=' keeps the last, i = 2
    assert (res["threshold_a"], res["threshold_b"]) == (2, 2)
    assert res["r_below"] == 1.0
    assert res["n_evaluated"] == 11
    assert math.isnan(res["r_last"])              # i = 0: empty below set


def test_jacop_nan_at_first_candidate():
    a = np.array([0, 10])
    res = rc.jacop_costes(a, a)                   # every candidate is NaN
    assert (res["threshold_a"], res["threshold_b"]) == (10, 10)
    assert math.isnan(res["r_below"])
    with pytest.raises(IndexError):
        rc.jacop_costes(a, a, java_exceptions="raise")


def test_jacop_single_candidate_division_by_zero():
    a = np.array([5, 5, 5])                     # slope 0/0 = NaN: LoopMin = LoopMax = 0
    b = np.array([1, 2, 3])
    res = rc.jacop_costes(a, b)
    assert (res["loop_min"], res["loop_max"]) == (0, 0) and res["n_evaluated"] == 1
    assert (res["threshold_a"], res["threshold_b"]) == (5, 3)
    with pytest.raises(ZeroDivisionError):
        rc.jacop_costes(a, b, java_exceptions="raise")


# ---------------------------------------------------------------- RWC

def test_rwc_weights_and_operator():
    a = np.array([1.0, 2.0, 3.0])
    b = np.array([3.0, 2.0, 1.0])
    # ranks 0,1,2 vs 2,1,0; R = 3; weights 1/3, 1, 1/3
    r1, r2 = rc.cellprofiler_rwc(a, b, 0, 0, ">")
    assert r1 == pytest.approx((1 / 3 + 2 + 1) / 6)
    assert r2 == pytest.approx((1 + 2 + 1 / 3) / 6)
    assert rc.cellprofiler_rwc(a, b, 2, 2, ">") == (0.0, 0.0)          # 0 / 3
    assert rc.cellprofiler_rwc(a, b, 2, 2, ">=") == pytest.approx((0.4, 0.4))
    assert rc.cellprofiler_rwc(a, b, 5, 5, ">=") == (0.0, 0.0)         # object-mode zeros
    # dense ranks with ties
    r1, _ = rc.cellprofiler_rwc([5.0, 5.0, 7.0], [1.0, 2.0, 3.0], 0, 0, ">")
    assert r1 == pytest.approx((5 * 1 + 5 * 2 / 3 + 7 * 2 / 3) / 17)


# ---------------------------------------------------------------- Coloc 2's own tests

def test_coloc2_unit_test_values_colocsample1b():
    green = _tif("colocsample1b-green.tif")
    red = _tif("colocsample1b-red.tif")
    mask = _tif("colocsample1b-mask.tif") != 0
    a, b = green[mask], red[mask]
    # MandersColocalizationTest.mandersRealNoisyImagesTest: "results from a
    # Costes Autothreshold using bisection" = 70 / 53, tM1/tM2 to 1e-6
    res = rc.coloc2_costes(a, b, "bisection")
    assert (res["threshold_a"], res["threshold_b"]) == (70.0, 53.0)
    out = rc.coloc2_thresholded(a, b, 70, 53)
    assert out["tm1"] == pytest.approx(0.705665, abs=1e-6)
    assert out["tm2"] == pytest.approx(0.724752, abs=1e-6)
    # LiICQTest.liPositiveCorrTest / PearsonsCorrelationTest (no mask)
    assert 0.34 < rc.coloc2_icq(green, red) < 0.35
    assert rc.coloc2_pearson(green, red) == pytest.approx(0.75, abs=0.01)


def test_coloc2_unit_test_values_zero_correlation_and_commutativity():
    g, r = _tif("greenZstack.tif"), _tif("redZstack.tif")
    assert abs(rc.coloc2_icq(g, r)) < 0.01
    assert rc.coloc2_pearson(g, r) == pytest.approx(0.0, abs=0.05)
    c1, c2 = _tif("syntheticNegCh1.tif"), _tif("syntheticNegCh2.tif")
    for impl in ("costes", "bisection"):
        r12 = rc.coloc2_costes(c1, c2, impl, type_min=0, type_max=255)
        r21 = rc.coloc2_costes(c2, c1, impl, type_min=0, type_max=255)
        assert (r12["threshold_a"], r12["threshold_b"]) == (r21["threshold_b"], r21["threshold_a"])


def test_coloc2_unit_test_values_manders_paper_images():
    A = _tif("mandersA.tiff")
    expected = {"A": (1.0, 1.0), "B": (0.75, 0.75), "C": (0.5, 0.5),
                "D": (0.25, 0.25), "E": (0.0, 0.0), "F": (0.25, 0.3333),
                "G": (0.25, 0.5), "H": (0.25, 1.0), "I": (0.083, 0.75)}
    pearson = {"A": 1.0, "B": 0.72, "C": 0.44, "D": 0.16, "E": -0.12,
               "F": 0.22, "G": 0.30, "H": 0.48, "I": 0.23}
    for name, (m1, m2) in expected.items():
        X = _tif(f"manders{name}.tiff")
        out = rc.coloc2_thresholded(A, X, 0, 0)    # t = 0: plain M1 / M2
        assert out["tm1"] == pytest.approx(m1, abs=0.001)
        assert out["tm2"] == pytest.approx(m2, abs=0.0001)
        assert rc.coloc2_pearson(A, X) == pytest.approx(pearson[name], abs=0.01)
