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


def test_without_any_halo_the_blocks_are_not_copied():
    """No axis needs a halo (one block along it): each task gets the input
    block itself, not dask's overlap copy of it (a whole block per task more
    memory, measured in bench_spatial's CCF along z)."""
    image = np.arange(6 * 8).reshape(6, 8)
    x = da.from_array(image, chunks=((6,), (4, 4)))
    out = map_with_halo(lambda block, *, origin, interior: block, [x], {0: 2},
                        out_chunks=lambda c: c, dtype=image.dtype)
    layers = out.__dask_graph__().layers
    assert not any(name.startswith("overlap") for name in layers), list(layers)
    np.testing.assert_array_equal(out.compute(scheduler="sync"), image)
    with_halo = map_with_halo(lambda block, **_: block, [x], {1: 2}, out_chunks=lambda c: c,
                              dtype=image.dtype)
    assert any(name.startswith("overlap") for name in with_halo.__dask_graph__().layers)
