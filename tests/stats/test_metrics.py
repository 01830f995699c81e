"""Metric formulas on closed-form cases."""

import numpy as np
import pytest

import streamcoloc


def test_perfect_and_anti_correlation():
    a = np.arange(100, dtype=np.uint16).reshape(10, 10)
    assert streamcoloc.pearson(a, a) == (1.0, 0.0)
    r, p = streamcoloc.pearson(a, 99 - a)
    assert r == -1.0 and p == 0.0


def test_regression_closed_form():
    a = np.arange(50, dtype=np.float64)
    slope, intercept = streamcoloc.costes_regression(a, 3 * a + 7)
    assert slope == pytest.approx(3.0) and intercept == pytest.approx(7.0)
    # symmetric total least squares: swapping channels inverts the slope
    inverse, _ = streamcoloc.costes_regression(3 * a + 7, a)
    assert inverse == pytest.approx(1 / 3)


def test_overlap_and_manders_closed_form():
    a = np.array([[1.0, 2.0, 3.0, 4.0]])
    assert streamcoloc.overlap(a, 2 * a) == pytest.approx((1.0, 2.0, 0.5))
    b = np.array([[0.0, 1.0, 0.0, 1.0]])
    m1, m2 = streamcoloc.manders(a, b)
    assert m1 == pytest.approx(6 / 10) and m2 == 1.0
    tm1, _ = streamcoloc.manders(a, b * np.array([[1, 1, 1, 5]]), threshold_b=2)
    assert tm1 == pytest.approx(4 / 10)  # b ≥ 2 only where b = 5
