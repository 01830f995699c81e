"""The moment kernel, merge and finalize, against numpy sums."""

import numpy as np
import pytest

from streamcoloc.stats import moments
from streamcoloc.stats.regions import ChunkRegions
from streamcoloc.stats.voxels import VoxelRules


def _options(thresholds=(np.nan, np.nan), background=None, saturation=None):
    return moments.MomentOptions(np.array([[0, 1]]), VoxelRules(background, saturation),
                                 np.array([thresholds], dtype=float))


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int16, np.float32, np.float64])
def test_chunk_sums_match_numpy(dtype):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 200, (3, 2000)).astype(dtype)
    b = rng.integers(0, 200, (3, 2000)).astype(dtype)
    record = moments.chunk([a, b], ChunkRegions.from_labels(None, a.shape[1], None),
                           _options(thresholds=(50, 60)))
    m = moments.finalize(moments.combine([record]))
    fa, fb = a.astype(float).ravel(), b.astype(float).ravel()
    assert m.n[0, 0] == fa.size
    np.testing.assert_allclose(
        [m.sa[0, 0], m.sab[0, 0], m.sa_bpos[0, 0], m.sa_bthr[0, 0], m.sb_athr[0, 0]],
        [fa.sum(), (fa * fb).sum(), fa[fb > 0].sum(), fa[(fb > 0) & (fb >= 60)].sum(),
         fb[(fa > 0) & (fa >= 50)].sum()], rtol=1e-14)
    np.testing.assert_allclose(m.cab[0, 0], ((fa - fa.mean()) * (fb - fb.mean())).sum(),
                               rtol=1e-12)
    assert record.exact == (np.dtype(dtype).kind in "iu")


def test_merge_is_associative_for_floats_to_rounding_and_exact_for_ints():
    rng = np.random.default_rng(1)
    parts = [rng.normal(1e4, 1, (1, 500)) for _ in range(6)]
    regions = ChunkRegions.from_labels(None, 500, None)
    records = [moments.chunk([p, p * 2 + 1], regions, _options()) for p in parts]
    left = moments.combine([moments.combine(records[:3]), moments.combine(records[3:])])
    flat = moments.combine(records)
    all_a = np.concatenate(parts, axis=1).ravel()
    for rec in (left, flat):
        m = moments.finalize(rec)
        assert m.caa[0, 0] == pytest.approx(((all_a - all_a.mean()) ** 2).sum(), rel=1e-12)


def test_background_is_subtracted_and_clipped_and_saturation_excluded():
    a = np.array([[0, 5, 10, 255]], np.uint8)
    b = np.array([[3, 3, 255, 9]], np.uint8)
    record = moments.chunk([a, b], ChunkRegions.from_labels(None, a.shape[1], None),
                           _options(background=(4, 2), saturation=(255, 255)))
    m = moments.finalize(moments.combine([record]))
    assert m.n[0, 0] == 2 and m.n_saturated[0, 0] == 2
    assert m.sa[0, 0] == 0 + 1 and m.sb[0, 0] == 1 + 1


def test_nonfinite_values_are_excluded_per_pair():
    a = np.array([[1.0, np.nan, 3.0, 4.0]])
    b = np.array([[1.0, 2.0, np.inf, 4.0]])
    c = np.array([[1.0, 2.0, 3.0, 5.0]])
    options = moments.MomentOptions(np.array([[0, 1], [0, 2], [1, 2]]), VoxelRules(),
                                    np.full((3, 2), np.nan))
    record = moments.chunk([a, b, c], ChunkRegions.from_labels(None, a.shape[1], None), options)
    m = moments.finalize(moments.combine([record]))
    assert m.n[0].tolist() == [2, 3, 3] and m.n_nonfinite[0].tolist() == [2, 1, 1]
