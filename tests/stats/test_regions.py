import numpy as np
import pytest

from streamcoloc.stats.regions import NO_SLICE, WHOLE_IMAGE_ID, ChunkRegions


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.uint64, bool])
def test_dense_ids_round_trip(dtype):
    rng = np.random.default_rng(0)
    ids = np.array([0, 1, 9, 200] if dtype in (np.uint8, bool) else [0, 1, 9, 60000],
                   dtype=np.int64)
    if dtype == bool:
        ids = ids[:2]
    labels = ids[rng.integers(0, ids.size, (3, 50))].astype(dtype)
    regions = ChunkRegions.from_labels(labels, slice_offset=None)
    restored = np.where(regions.local >= 0, regions.ids[regions.local], 0)
    assert (restored == labels.astype(np.int64)).all()
    assert sorted(regions.ids) == sorted(set(ids[ids > 0]) & set(labels.ravel().astype(int)))


def test_large_uint64_ids_and_negative_labels():
    big = np.array([[2**63 - 1, 0]], dtype=np.uint64)
    assert ChunkRegions.from_labels(big, None).ids.tolist() == [2**63 - 1]
    with pytest.raises(ValueError, match="below 2\\*\\*63"):
        ChunkRegions.from_labels(np.array([[2**63]], dtype=np.uint64), None)
    with pytest.raises(ValueError, match="negative"):
        ChunkRegions.from_labels(np.array([[3, -1]], dtype=np.int32), None)


def test_keys_follow_region_then_slice_order():
    regions = ChunkRegions.from_labels(np.array([[5, 7]], dtype=np.int32), slice_offset=10)
    assert regions.keys(2).tolist() == [[5, 10], [5, 11], [7, 10], [7, 11]]
    whole = ChunkRegions.from_labels(None, None)
    assert whole.keys(1).tolist() == [[WHOLE_IMAGE_ID, NO_SLICE]]
