"""make_sample_volume: layout, reproducibility, labels, and the expected Pearson."""

from __future__ import annotations

from math import ceil, prod, sqrt

import numpy as np
import pytest
import zarr

from streamcoloc.readers import open_image
from streamcoloc.samples import FIRST_LABEL, LABEL_STEP, make_sample_volume

SHAPE, CHUNKS = (16, 128, 128), (8, 64, 64)


def _make(path, **options):
    return make_sample_volume(path, shape=SHAPE, chunks=CHUNKS, **options)


def test_layout_and_metadata(tmp_path):
    sample = _make(tmp_path / "s.ome.zarr")
    image = open_image(sample["image"])
    assert image.dims == ("c", "z", "y", "x") == sample["dims"]
    assert image.shape == (2, *SHAPE) == sample["shape"]
    assert image.dtype == np.uint16
    assert list(image.coords["c"].values) == ["GFP", "RFP"] == sample["channel_names"]
    assert zarr.open_array(str(sample["image"] / "0")).chunks == (1, *CHUNKS)
    labels = open_image(sample["labels"])
    assert labels.dims == ("z", "y", "x") and labels.shape == SHAPE
    assert labels.dtype == np.int32
    assert sample["labels"] == sample["image"] / "labels" / "cells"
    ome = zarr.open_group(str(sample["image"] / "labels")).attrs["ome"]
    assert ome["labels"] == ["cells"]
    assert "image-label" in zarr.open_group(str(sample["labels"])).attrs["ome"]


def test_reproducible_from_seed(tmp_path):
    first = open_image(_make(tmp_path / "a.zarr", seed=3)["image"]).values
    again = open_image(_make(tmp_path / "b.zarr", seed=3)["image"]).values
    other = open_image(_make(tmp_path / "c.zarr", seed=4)["image"]).values
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_labels_have_the_requested_sparse_ids(tmp_path):
    sample = _make(tmp_path / "s.zarr", n_regions=50)
    ids = np.unique(open_image(sample["labels"]).values)
    ids = ids[ids != 0]
    assert set(ids) <= set(sample["label_ids"])
    assert np.all((ids - FIRST_LABEL) % LABEL_STEP == 0)
    assert 45 <= len(ids) <= 50  # a few may be covered by later regions


@pytest.mark.parametrize("fraction, dtype, seed", [
    (0.6, "uint16", 0), (0.2, "uint16", 1), (1.0, "uint8", 2), (0.0, "float32", 3)])
def test_pearson_matches_the_construction(tmp_path, fraction, dtype, seed):
    sample = _make(tmp_path / "s.zarr", colocalized_fraction=fraction, dtype=dtype,
                   seed=seed)
    a, b = open_image(sample["image"]).values.astype(np.float64).reshape(2, -1)
    rho = sample["expected_pcc"]
    # The structure is constant on cells, so the independent units are the cells;
    # Pearson's standard error with n of them is ~(1 - rho^2) / sqrt(n).
    n_cells = prod(ceil(s / c) for s, c in zip(SHAPE, sample["structure_cell"]))
    assert np.corrcoef(a, b)[0, 1] == pytest.approx(
        rho, abs=5 * (1 - rho**2) / sqrt(n_cells))


def test_rejects_bad_fraction(tmp_path):
    with pytest.raises(ValueError, match="colocalized_fraction"):
        _make(tmp_path / "s.zarr", colocalized_fraction=1.5)
