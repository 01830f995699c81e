"""Chunk shapes: dask blocks aligned on stored chunks, and default stored chunks.

Conventions: shapes and chunks are tuples in array-axis order; ``dims`` names
the axes.  The channel axis ``'c'`` is never grown beyond its stored chunk
(so a dask block holds one channel when channels are stored one per chunk),
and the caller rechunks it as needed.
"""

from __future__ import annotations

from math import ceil, prod

#: Dask block size aimed at when reading, in voxels, whatever the dtype, so
#: channels and a label image stored on one chunk grid get one block grid
#: (no rechunking between them).  16 Mi voxels is 32 MiB of uint16: a task
#: over two channels handles ~64 MiB (design notes §7), and zarr's decode
#: buffers (about one block more per array being read) stay small.
TARGET_BLOCK_VOXELS = 16 * 2**20
#: Stored (zarr) chunk size aimed at when writing (16 MiB; design notes §7).
TARGET_CHUNK_BYTES = 16 * 2**20


def block_chunks(shape, stored, dims, target: int = TARGET_BLOCK_VOXELS):
    """Dask block shape: whole multiples of ``stored`` of about ``target`` voxels.

    Starting from the stored chunk (or shard) shape, the non-channel axis with
    the smallest block extent (the outermost on ties) is doubled while the
    block stays within ``target`` voxels, so blocks stay roughly isotropic.
    A block covering a whole axis is clipped to its length, so every block
    boundary falls on a stored-chunk boundary.
    """
    block = [min(c, s) for c, s in zip(stored, shape)]
    growable = [i for i, d in enumerate(dims) if d != "c"]
    while True:
        open_axes = [i for i in growable if block[i] < shape[i]]
        if not open_axes or target // prod(block) < 2:
            return tuple(block)
        axis = min(open_axes, key=lambda i: block[i])
        block[axis] = min(2 * block[axis], shape[axis])


def default_stored_chunks(shape, itemsize: int, dims, target: int = TARGET_CHUNK_BYTES):
    """Stored chunk shape for writing: one channel per chunk, and the other
    axes whole until the longest is halved to keep within ``target`` bytes."""
    chunks = [1 if d == "c" else max(s, 1) for d, s in zip(dims, shape)]
    others = [i for i, d in enumerate(dims) if d != "c"]
    while others and prod(chunks) * itemsize > target:
        axis = max(others, key=lambda i: chunks[i])
        if chunks[axis] == 1:
            break
        chunks[axis] = ceil(chunks[axis] / 2)
    return tuple(chunks)


def is_aligned(chunks, stored) -> bool:
    """True when every dask block boundary (``chunks`` as dask's tuple of
    tuples) falls on a multiple of the stored chunk shape."""
    return all(all(n % c == 0 for n in axis[:-1]) for axis, c in zip(chunks, stored))
