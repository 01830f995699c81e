"""Global ids from block scans and face pairs."""

from __future__ import annotations

import numpy as np

from streamcoloc.objects.numbering import lookup_table, number_objects, scan_block


def test_objects_across_blocks_are_numbered_by_first_block():
    # block 0: labels 1 (interior, 5 voxels), 2 (face, 3 voxels);
    # block 1: labels 1 (face, 4 voxels, joins block 0's 2), 2 (interior, 1 voxel)
    sizes = [np.array([0, 5, 3]), np.array([0, 4, 1])]
    faces = [np.array([2]), np.array([1])]
    pairs = [(0, 1, np.array([[2, 1]]))]
    for min_size, expected_tables, n in [
            (0, [[0, 1, 2], [0, 2, 3]], 3),
            (2, [[0, 1, 2], [0, 2, 0]], 2),  # block 1's interior label is too small
            (6, [[0, 0, 1], [0, 1, 0]], 1),  # only the joined object (7 voxels) stays
            (8, [[0, 0, 0], [0, 0, 0]], 0)]:
        scans = [scan_block(s, f, min_size) for s, f in zip(sizes, faces)]
        numberings, n_objects = number_objects(scans, pairs, min_size)
        assert n_objects == n
        tables = [lookup_table(s, b, min_size, np.int32).tolist()
                  for s, b in zip(sizes, numberings)]
        assert tables == expected_tables


def test_no_face_labels():
    scans = [scan_block(np.array([0, 2, 2]), np.zeros(0, np.int64), 0)]
    numberings, n = number_objects(scans, [], 0)
    assert n == 2
    assert lookup_table(np.array([0, 2, 2]), numberings[0], 0, np.int64).tolist() == [0, 1, 2]
