"""Independent float64 references: brute force on the selected voxels.

They share no code with streamcoloc: numpy/scipy on the flattened voxels,
the regression from the principal eigenvector of the covariance matrix.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import stats

REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata"


def refdata_path(*parts) -> Path:
    """A file of ../shared/refdata, or skip the test when it is absent."""
    path = REFDATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data not available: {path}")
    return path


def reference_metrics(a, b, threshold_a=np.nan, threshold_b=np.nan) -> dict:
    """All moment metrics of two 1-D float64 voxel arrays (finite values)."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    out = {"n_pixels": a.size}
    if a.size >= 2 and np.ptp(a) > 0 and np.ptp(b) > 0:
        result = stats.pearsonr(a, b)
        out["pcc"] = result.statistic
        if a.size >= 3:  # scipy says p = 1 for n = 2; we say NaN (no degree of freedom)
            out["pcc_pvalue"] = result.pvalue
        cov = np.cov(a, b)
        values, vectors = np.linalg.eigh(cov)
        major = vectors[:, np.argmax(values)]
        if abs(cov[0, 1]) > 1e-12 * np.sqrt(cov[0, 0] * cov[1, 1]):
            out["slope"] = major[1] / major[0]
            out["intercept"] = b.mean() - out["slope"] * a.mean()
    if a.size and a.min() >= 0 and b.min() >= 0:
        saa, sbb, sab = (a * a).sum(), (b * b).sum(), (a * b).sum()
        if saa > 0 and sbb > 0:
            out["overlap"] = sab / np.sqrt(saa * sbb)
        if saa > 0:
            out["k1"] = sab / saa
        if sbb > 0:
            out["k2"] = sab / sbb
        if a.sum() > 0:
            out["m1"] = a[b > 0].sum() / a.sum()
            if np.isfinite(threshold_b):
                out["tm1"] = a[(b > 0) & (b >= threshold_b)].sum() / a.sum()
        if b.sum() > 0:
            out["m2"] = b[a > 0].sum() / b.sum()
            if np.isfinite(threshold_a):
                out["tm2"] = b[(a > 0) & (a >= threshold_a)].sum() / b.sum()
    return out


def assert_row_matches(row, expected: dict, rtol=1e-9, atol=1e-12):
    """Every metric of ``expected`` equals the row's; the others are NaN."""
    for column in ("pcc", "pcc_pvalue", "overlap", "k1", "k2", "m1", "m2", "tm1", "tm2",
                   "slope", "intercept"):
        if column in expected:
            # p-values: scipy evaluates the beta function, we the t distribution
            tolerance = 1e-6 if column == "pcc_pvalue" else rtol
            np.testing.assert_allclose(row[column], expected[column], rtol=tolerance,
                                       atol=atol, err_msg=column)
        elif column != "pcc_pvalue" and column not in ("slope", "intercept"):
            assert np.isnan(row[column]), (column, row[column])
    assert row["n_pixels"] == expected["n_pixels"]
