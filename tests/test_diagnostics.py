"""analyse_pairwise(..., diagnostics=...): the diagnostics of the pair, over the labelled voxels."""

from __future__ import annotations

import numpy as np
import pytest

import streamcoloc


@pytest.fixture(scope="module")
def pair():
    rng = np.random.default_rng(3)
    a = rng.integers(0, 900, (6, 40, 48)).astype(np.uint16)
    b = (np.roll(a, 1, axis=2) // 2 + rng.integers(0, 300, a.shape)).astype(np.uint16)
    labels = np.zeros(a.shape, np.int32)
    labels[:, 5:30, 8:40] = 4
    labels[:, 32:38, 2:20] = 9
    return a, b, labels


def test_each_diagnostic_equals_its_function_over_the_labelled_voxels(pair):
    a, b, labels = pair
    table = streamcoloc.analyse_pairwise(a, b, label_mask=labels, metrics=["pcc"],
                                         diagnostics=["cytofluorogram", "ccf", "ica",
                                                      "randomization"])
    found = table.attrs["diagnostics"]
    assert list(found) == ["cytofluorogram", "ccf", "ica", "randomization"]
    cyto = streamcoloc.cytofluorogram(a, b, mask=labels)
    np.testing.assert_array_equal(found["cytofluorogram"].counts, cyto.counts)
    assert found["cytofluorogram"].n == np.count_nonzero(labels)
    np.testing.assert_array_equal(found["ccf"].ccf,
                                  streamcoloc.van_steensel_ccf(a, b, mask=labels).ccf)
    assert found["ica"].icq == streamcoloc.li_ica(a, b, mask=labels).icq
    again = streamcoloc.costes_randomization(a, b, mask=labels, seed=0)
    np.testing.assert_array_equal(found["randomization"].null, again.null)
    assert found["ccf"].peak_shift == 1  # b is a shifted by one voxel along x


def test_no_diagnostics_by_default_and_unknown_names_refused(pair):
    a, b, _ = pair
    assert "diagnostics" not in streamcoloc.analyse_pairwise(a, b, metrics=["pcc"]).attrs
    with pytest.raises(ValueError, match="unknown diagnostics"):
        streamcoloc.analyse_pairwise(a, b, metrics=["pcc"], diagnostics=["fret"])
