import numpy as np
import pytest

from streamcoloc.stats.regions import (MAX_RUN, NO_SLICE, WHOLE_IMAGE_ID, ChunkRegions,
                                       _label_runs)


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


@pytest.mark.parametrize("length", [0, 1, 63, 64, 65, 128, 129, 1000])
def test_short_runs_against_numpy(length):
    """Runs of 1 to 70 voxels, so labels change at every bit of the 64-voxel
    masks the scan compares (the first and last of a mask, across masks, in
    the tail after the last whole mask), on planes of every length around
    64: the runs are the maximal stretches of one non-zero label, ids in
    order of first appearance, and negative voxels are counted."""
    rng = np.random.default_rng(length)
    values = np.array([0, 0, -2, 3, 5, 2**40], np.int64)
    planes = []
    for _ in range(4):
        lengths = rng.integers(1, 71, length + 1)
        planes.append(np.repeat(rng.choice(values, lengths.size), lengths)[:length])
    labels = np.array(planes).reshape(4, length)
    plane_start, start, stop, region, ids, n_negative = _label_runs(labels, 50)
    assert n_negative == (labels < 0).sum()
    expected, seen = [], {}
    for p, plane in enumerate(labels):
        q = 0
        while q < length:
            end = q + 1
            while end < length and plane[end] == plane[q]:
                end += 1
            if plane[q] > 0:
                index = seen.setdefault(int(plane[q]), len(seen))
                expected += [(p, k, min(k + 50, end), index) for k in range(q, end, 50)]
            q = end
    found = [(p, start[r], stop[r], region[r]) for p in range(4)
             for r in range(plane_start[p], plane_start[p + 1])]
    assert found == expected
    assert ids.tolist() == list(seen)


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


@pytest.mark.parametrize("n_parts", [1, 2, 3, 7])
def test_split_deals_whole_regions_into_parts_of_about_equal_voxels(n_parts):
    """Every run lands in exactly one part, with its region; a part keeps its
    runs' plane order and its regions' order of first appearance; the
    largest part exceeds the mean by at most one region (greedy dealing,
    largest first); parts beyond the regions are empty."""
    rng = np.random.default_rng(3)
    lengths = rng.integers(1, 3 * MAX_RUN, 60)
    flat = np.repeat(rng.integers(0, 6, lengths.size) * 11, lengths)  # ids 0 (background)..55
    labels = flat[: flat.size // 4 * 4].reshape(4, -1).astype(np.int32)
    regions = ChunkRegions.from_labels(labels, labels.shape[1], slice_offset=3)
    parts = regions.split(n_parts)
    assert len(parts) == n_parts
    rebuilt = sum(_voxel_ids(part, labels.shape) for part in parts)
    assert (rebuilt == labels).all()  # the runs of every part together, each voxel once
    assert sorted(np.concatenate([p.ids for p in parts]).tolist()) == sorted(regions.ids.tolist())
    first_seen = {int(i): k for k, i in enumerate(regions.ids)}
    for part in parts:
        assert [first_seen[int(i)] for i in part.ids] == sorted(first_seen[int(i)]
                                                                for i in part.ids)
        assert part.slice_offset == 3 and part.plane_start.size == labels.shape[0] + 1
        assert part.region.dtype == regions.region.dtype
        for plane in range(labels.shape[0]):  # runs of a plane stay in it, in order
            starts = part.start[part.plane_start[plane]:part.plane_start[plane + 1]]
            assert (np.diff(starts) > 0).all()
            assert (labels[plane, starts] == part.ids[
                part.region[part.plane_start[plane]:part.plane_start[plane + 1]]]).all()
    voxels = [int((part.stop - part.start).sum()) for part in parts]
    sizes = np.bincount(regions.region, weights=regions.stop - regions.start)
    assert max(voxels) <= sum(voxels) / n_parts + sizes.max()
    assert sum(part.ids.size == 0 for part in parts) >= n_parts - regions.ids.size


def test_split_of_a_chunk_without_regions():
    regions = ChunkRegions.from_labels(np.zeros((2, 8), np.int32), 8, slice_offset=None)
    empty, also_empty = regions.split(2)
    assert empty.ids.size == also_empty.ids.size == 0
    assert empty.plane_start.tolist() == [0, 0, 0]


def test_none_keeps_the_planes_and_slice_offset_without_runs():
    labels = np.array([[0, 4, 4, 9], [9, 9, 0, 4]], np.int32)
    none = ChunkRegions.from_labels(labels, 4, slice_offset=5).none()
    assert none.ids.size == none.start.size == none.stop.size == none.region.size == 0
    assert none.plane_start.tolist() == [0, 0, 0] and none.slice_offset == 5
    assert none.region.dtype == np.int32 and none.keys(2).shape == (0, 2)


def test_voxels_of_each_region_in_each_slice():
    """A region's voxels per slice: from its own label plane, or the one
    plane's in every slice; runs longer than MAX_RUN counted whole."""
    labels = np.zeros((2, 3 * MAX_RUN), np.int64)
    labels[0, :MAX_RUN + 5], labels[0, -3:], labels[1, 10:20] = 4, 6, 6
    planes = ChunkRegions.from_labels(labels, labels.shape[1], slice_offset=0)
    assert planes.ids.tolist() == [4, 6]
    assert planes.voxels(2).tolist() == [[MAX_RUN + 5, 0], [3, 10]]
    one = ChunkRegions.from_labels(labels[:1], labels.shape[1], slice_offset=0)
    assert one.voxels(3).tolist() == [[MAX_RUN + 5] * 3, [3] * 3]
    with pytest.raises(ValueError, match="2 label planes for 3 slices"):
        planes.voxels(3)
