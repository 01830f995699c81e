import numpy as np
import pytest

from streamcoloc.stats.regions import MAX_RUN, NO_SLICE, WHOLE_IMAGE_ID, ChunkRegions


def _voxel_ids(regions: ChunkRegions, shape) -> np.ndarray:
    """Label id of every voxel rebuilt from the runs (0 where no run)."""
    out = np.zeros(shape, np.int64)
    for plane in range(shape[0]):
        for r in range(regions.plane_start[plane], regions.plane_start[plane + 1]):
            out[plane, regions.start[r]:regions.stop[r]] = regions.ids[regions.region[r]]
    return out


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.int32, np.int64, np.uint64, bool])
def test_runs_round_trip(dtype):
    rng = np.random.default_rng(0)
    ids = np.array([0, 1, 9, 200] if dtype in (np.uint8, bool) else [0, 1, 9, 60000],
                   dtype=np.int64)
    if dtype == bool:
        ids = ids[:2]
    # runs of random lengths, some longer than MAX_RUN
    lengths = rng.integers(1, 3 * MAX_RUN, 40)
    flat = np.repeat(ids[rng.integers(0, ids.size, lengths.size)], lengths)
    labels = flat[: flat.size // 3 * 3].reshape(3, -1).astype(dtype)
    regions = ChunkRegions.from_labels(labels, labels.shape[1], slice_offset=None)
    assert (_voxel_ids(regions, labels.shape) == labels.astype(np.int64)).all()
    assert sorted(regions.ids) == sorted(set(ids[ids > 0]) & set(labels.ravel().astype(int)))
    assert (regions.stop - regions.start).max() <= MAX_RUN
    # maximal runs: two neighbouring runs of one plane differ in region or
    # the first is a full MAX_RUN piece
    for plane in range(3):
        runs = range(regions.plane_start[plane], regions.plane_start[plane + 1] - 1)
        for r in runs:
            if regions.stop[r] == regions.start[r + 1] and regions.region[r] == regions.region[r + 1]:
                assert regions.stop[r] - regions.start[r] == MAX_RUN


def test_whole_image_runs_cover_every_voxel():
    regions = ChunkRegions.from_labels(None, 5000, slice_offset=None)
    assert regions.start[0] == 0 and regions.stop[-1] == 5000
    assert (regions.start[1:] == regions.stop[:-1]).all()
    assert regions.ids.tolist() == [WHOLE_IMAGE_ID]


def test_large_uint64_ids_and_negative_labels():
    big = np.array([[2**63 - 1, 0]], dtype=np.uint64)
    assert ChunkRegions.from_labels(big, 2, None).ids.tolist() == [2**63 - 1]
    with pytest.raises(ValueError, match="below 2\\*\\*63"):
        ChunkRegions.from_labels(np.array([[2**63]], dtype=np.uint64), 1, None)
    with pytest.raises(ValueError, match="negative"):
        ChunkRegions.from_labels(np.array([[3, -1]], dtype=np.int32), 2, None)


def test_keys_follow_region_then_slice_order():
    regions = ChunkRegions.from_labels(np.array([[5, 7]], dtype=np.int32), 2, slice_offset=10)
    assert regions.keys(2).tolist() == [[5, 10], [5, 11], [7, 10], [7, 11]]
    whole = ChunkRegions.from_labels(None, 4, None)
    assert whole.keys(1).tolist() == [[WHOLE_IMAGE_ID, NO_SLICE]]
