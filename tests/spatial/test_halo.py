"""Blocks with a halo: each task sees its neighbours' voxels and its interior."""

from __future__ import annotations

import dask.array as da
import numpy as np

from streamcoloc.spatial.halo import map_with_halo


def test_each_block_gets_its_halo_and_interior():
    image = np.arange(7 * 10).reshape(7, 10)
    seen = []

    def record(block, *, origin, interior):
        seen.append((block.copy(), origin, interior))
        return block[tuple(slice(o, o + n) for o, n in zip(origin, interior))]

    # Blocks of 1 along axis 0 are narrower than the halo of 2: they are merged.
    x = da.from_array(image, chunks=((1, 1, 5), (3, 3, 4)))
    out = map_with_halo(record, [x], {0: 2, 1: 1}, out_chunks=lambda c: c, dtype=image.dtype)
    np.testing.assert_array_equal(out.compute(scheduler="sync"), image)
    assert all(min(c) >= 2 for c in out.chunks[:1])
    for block, origin, interior in seen:
        start = [int(block.flat[0]) // 10, int(block.flat[0]) % 10]
        # The halo reaches min(halo, distance to the border) beyond the interior.
        for axis, width in ((0, 2), (1, 1)):
            first = start[axis] + origin[axis]
            assert origin[axis] == min(width, first)
            stop = first + interior[axis]
            assert block.shape[axis] - origin[axis] - interior[axis] == min(
                width, image.shape[axis] - stop)


def test_single_block_axis_and_short_axis_need_no_halo():
    image = np.arange(12).reshape(3, 4)
    x = da.from_array(image, chunks=((3,), (2, 2)))

    def interior_only(block, *, origin, interior):
        assert origin[0] == 0 and block.shape[0] == 3
        return block[:, origin[1]:origin[1] + interior[1]]

    out = map_with_halo(interior_only, [x], {0: 5, 1: 9}, out_chunks=lambda c: c,
                        dtype=image.dtype)
    np.testing.assert_array_equal(out.compute(scheduler="sync"), image)
    assert out.chunks[1] == (4,)  # an axis not longer than the halo becomes one block
