"""Costes randomization by tiles: every iteration in one streamed read.

What is permuted
----------------
* **Blocks**: a fixed grid of blocks of shape ``block`` (voxels per axis),
  anchored at voxel 0 of every axis; at the array's far edges the last block
  of an axis is cut by the edge.
* **Tiles**: ``tile_blocks[d]`` blocks along axis d, also anchored at 0, so a
  tile is ``tile_blocks[d]·block[d]`` voxels along axis d (cut at the edge).
  Tiles depend on the array shape and the block shape only, never on the
  dask chunking (:func:`default_tile_blocks`).
* **The permutation**: in every tile, channel b's blocks are shuffled among
  the blocks of the same shape (the interior blocks form one group; blocks cut
  by an array edge form one group per shape, and a group of one block stays
  in place).  Voxel q (C order within the block) of a's block j pairs with
  voxel q of b's block π(j).  Each iteration draws an independent uniform
  permutation of every group of every tile.  This is Costes et al.'s block
  scrambling (2004) restricted to tiles, without the smoothing of Coloc 2.
* **Tiles and the null**: blocks never leave their tile, so structure larger
  than a tile (cells, gradients) stays paired in every randomization and the
  null r sits higher than with a whole-image shuffle: the test is then
  conservative about such structure.  Measured on the benchmark volume
  (64x1024x1024, cells ~200 voxels across, block 3): null mean 0.051 with the
  default tiles (22, 114, 171), 0.032 with (22, 171, 171), 0.003 with one
  tile, the whole-image shuffle of Costes and Coloc 2.  Arrays of at most
  :data:`TILE_VOXELS` voxels are one tile; ``tile_blocks`` trades memory
  per task for a freer shuffle.
* **Masked and non-finite voxels** keep their place in their own channel: a
  voxel of a is measured where the mask is True and a is finite, a voxel of b
  where the mask is True and b is finite (b's flag moves with its block); a
  pair counts when both voxels are measured.  Without a mask and without
  NaN/Inf every voxel of b is paired exactly once, so n, Σa, Σb, Σa², Σb² are
  the same for every iteration and the kernel sums only Σab; otherwise all
  six sums change with the pairing and are summed per iteration.

Seeds and determinism
---------------------
Tile t (C-order number in the tile grid) draws from xoshiro256** seeded with
``SeedSequence(entropy, spawn_key=(t,)).generate_state(4, uint64)``, which is
``SeedSequence(seed).spawn(n_tiles)[t]``.  Each tile's sums are exact Python
integers (integer data: int64 sums; float data: float64 sums of values
shifted by the tile's mean, converted exactly to fixed point, see
:func:`exact_record`), merged by integer addition, so the result is
bit-identical for any chunking and any scheduler.

One read, and memory
--------------------
The channels (and the mask) are rechunked so that each dask block is one
whole tile; one task per tile runs every iteration on it and returns
(n_iter + 1) × 6 integers, so each input block is read (decoded) once.
Memory: each running task holds its tile of both channels and the mask and
the kernel's copies (both channels' rows and one validity byte per voxel
each), about ``tile voxels × (4·itemsize + 3)`` bytes.  Tiles do not line up
with the input's blocks, so an input block cut by a tile boundary stays in
memory until the tiles on both sides have run: on top of the tasks, dask
holds up to a slab of input blocks (those overlapping two consecutive rows
of tiles).  Bounding memory by the tile alone would mean decoding the
blocks on tile boundaries again, once per tile (not done: one read).
"""

from __future__ import annotations

from itertools import product
from math import prod

import dask
import dask.array as da
import numpy as np

from ..engine import runtime
from ..engine.passes import fold
from ..stats.dtypes import kernel_dtype
from . import kernels
from .kernels import SA, SAA, SAB, SB, SBB, N

#: Voxels of a default tile (:func:`default_tile_blocks`): the engine's dask
#: block size, so a task holds what the other passes' tasks hold.  Images up
#: to this size are one tile: their blocks are permuted over the whole image,
#: as in Costes' test.
TILE_VOXELS = 2**24
#: Largest tile: the kernel's int64 sums of 16-bit products stay exact.
MAX_TILE_VOXELS = 2**30
#: Largest block: kernel partial sums of 16-bit products stay below 2**53.
MAX_BLOCK_VOXELS = kernels.FLUSH_VOXELS
#: Fixed-point exponent of float records: every float64 is a multiple of 2**-1074.
FLOAT_SCALE_BITS = 1074


def default_tile_blocks(shape, block) -> tuple:
    """Blocks per tile along each axis: the whole array (in blocks), cut
    into 2, 3, ... equal parts along the axis whose tiles have the most
    blocks (the first on ties) until a tile holds at most
    :data:`TILE_VOXELS` voxels.  Depends on the shapes only."""
    total = [-(-n // b) for n, b in zip(shape, block)]
    parts = [1] * len(total)
    tile = list(total)
    while prod(min(t * b, n) for t, b, n in zip(tile, block, shape)) > TILE_VOXELS:
        axis = max(range(len(tile)), key=lambda i: (tile[i], -i))
        if tile[axis] == 1:
            break
        parts[axis] += 1
        tile[axis] = -(-total[axis] // parts[axis])
    return tuple(tile)


def block_groups(tile_shape, block) -> np.ndarray:
    """The kernel's group table (:data:`~.kernels.G_FIRST` ...) of a 3-D tile:
    one row per block shape (whole blocks, and blocks cut by the tile's
    edge along some axes)."""
    per_axis = []
    for length, size in zip(tile_shape, block):
        n_whole, rest = divmod(length, size)
        classes = [(0, n_whole, size)] if n_whole else []
        if rest:
            classes.append((n_whole, 1, rest))
        per_axis.append(classes)
    rows, offset, slot = [], 0, 0
    for combination in product(*per_axis):
        first, count, extent = zip(*combination)
        rows.append([*first, *count, *extent, offset, slot])
        offset += prod(count) * prod(extent)
        slot += prod(count)
    return np.array(rows, dtype=np.int64).reshape(-1, 11)


def tile_seed_state(entropy: int, tile: int) -> np.ndarray:
    """xoshiro256** state of tile number ``tile``."""
    child = np.random.SeedSequence(entropy, spawn_key=(tile,))
    state = child.generate_state(4, np.uint64)
    if not state.any():  # the one state xoshiro cannot leave
        state[0] = 1
    return state


def tile_sums(a, b, mask, block, n_iter: int, state) -> np.ndarray:
    """Exact record (:func:`exact_record`) of one tile: 3-D numpy ``a``,
    ``b`` of one canonical kernel dtype, ``mask`` a bool tile or None."""
    groups = block_groups(a.shape, block)
    block = np.asarray(block, dtype=np.int64)
    use_mask = mask is not None
    mask8 = mask.view(np.uint8) if use_mask else np.ones((1, 1, 1), np.uint8)
    rows = [np.empty(a.size, a.dtype), np.empty(b.size, b.dtype)]
    valid = [np.empty(a.size, np.uint8), np.empty(b.size, np.uint8)]
    n_invalid = sum(kernels.gather(x, mask8, use_mask, groups, block, r, v)
                    for x, r, v in zip((a, b), rows, valid))
    exact = a.dtype.kind in "iu"
    shift = np.zeros(2)
    if not exact:
        shift = np.array([_valid_mean(r, v) for r, v in zip(rows, valid)])
    out_exact = np.zeros((n_iter + 1, len(kernels.FIELDS)), np.int64)
    out_float = np.zeros((n_iter + 1, len(kernels.FIELDS)))
    kernels.permuted_sums(rows[0], rows[1], valid[0], valid[1], groups, n_iter, state, shift,
                          n_invalid > 0, exact, out_exact, out_float)
    return exact_record(out_exact if exact else out_float, None if exact else shift)


def _valid_mean(rows, valid) -> float:
    count = np.count_nonzero(valid)
    if count == 0:
        return 0.0
    return float(np.mean(rows[valid.view(bool)], dtype=np.float64))


def exact_record(sums: np.ndarray, shift) -> np.ndarray:
    """Object array of Python ints: n, Σa·s, Σb·s, Σa²·s², Σb²·s², Σab·s²
    per row, s = 1 for int64 ``sums`` (``shift`` None) and s = 2**1074 for
    float64 sums of values shifted by ``shift`` = (K, L), undone exactly:
    Σa = Sa + nK, Σa² = Saa + 2K·Sa + nK², Σab = Sab + L·Sa + K·Sb + nKL."""
    if shift is None:
        return sums.astype(object)
    fixed = np.vectorize(_fixed, otypes=[object])
    s = fixed(sums)
    k, l = _fixed(shift[0]), _fixed(shift[1])
    n = np.array([int(v) for v in sums[:, N]], dtype=object)
    one = 1 << FLOAT_SCALE_BITS
    out = np.empty(sums.shape, dtype=object)
    out[:, N] = n
    out[:, SA] = s[:, SA] + n * k
    out[:, SB] = s[:, SB] + n * l
    out[:, SAA] = s[:, SAA] * one + 2 * k * s[:, SA] + n * k * k
    out[:, SBB] = s[:, SBB] * one + 2 * l * s[:, SB] + n * l * l
    out[:, SAB] = s[:, SAB] * one + l * s[:, SA] + k * s[:, SB] + n * k * l
    return out


def _fixed(value: float) -> int:
    """``value · 2**1074`` as an exact Python int."""
    numerator, denominator = float(value).as_integer_ratio()
    return numerator * ((1 << FLOAT_SCALE_BITS) // denominator)


def pearson_from_record(record: np.ndarray) -> np.ndarray:
    """Pearson r of every row of an exact record:
    r = (nΣab − ΣaΣb) / √((nΣa² − (Σa)²)(nΣb² − (Σb)²)), formed in exact
    integers and rounded once; NaN when n < 2 or a channel is constant."""
    out = np.full(record.shape[0], np.nan)
    for k, (n, sa, sb, saa, sbb, sab) in enumerate(record):
        cov = n * sab - sa * sb
        var_a = n * saa - sa * sa
        var_b = n * sbb - sb * sb
        if n < 2 or var_a <= 0 or var_b <= 0:
            continue
        # Bring the integers below 2**500 so their floats and the product fit.
        drop = max(var_a.bit_length(), var_b.bit_length(), abs(cov).bit_length()) - 500
        if drop > 0:
            cov, var_a, var_b = cov >> drop, var_a >> drop, var_b >> drop
        out[k] = float(cov) / np.sqrt(float(var_a) * float(var_b))
    return out


def tile_pass(a: da.Array, b: da.Array, mask: da.Array | None, block, tile_blocks, n_iter: int,
              entropy: int) -> np.ndarray:
    """The merged exact record of every tile (one read of the data)."""
    shape = a.shape
    tile_shape = tuple(t * s for t, s in zip(tile_blocks, block))
    if prod(min(t, n) for t, n in zip(tile_shape, shape)) > MAX_TILE_VOXELS:
        raise ValueError(f"tile {tile_shape} holds more than {MAX_TILE_VOXELS} voxels; "
                         "give fewer tile_blocks")
    chunks = tuple(_tile_chunks(n, t) for n, t in zip(shape, tile_shape))
    grid = tuple(len(c) for c in chunks)
    dtype = kernel_dtype([a.dtype, b.dtype])
    arrays = [a.rechunk(chunks), b.rechunk(chunks)]
    if mask is not None:
        arrays.append(mask.rechunk(chunks))
    pad = (1,) * (3 - len(shape))
    block3 = pad + tuple(block)
    records = da.map_blocks(
        _tile_task, *arrays, dtype=object, chunks=tuple((1,) * g for g in grid),
        meta=np.empty((0,) * len(shape), dtype=object), kernel_dtype=dtype, block=block3,
        pad=pad, n_iter=n_iter, entropy=entropy, grid=grid)
    parts = list(records.to_delayed().ravel())
    tile_bytes = prod(min(t, n) for t, n in zip(tile_shape, shape)) * (a.dtype.itemsize
                                                                       + b.dtype.itemsize)
    with runtime.progress(parts, tile_bytes) as parts:  # the session's progress line, if any
        (merged,) = dask.compute(fold(parts, _sum_records))
    return merged


def _tile_chunks(length: int, tile: int) -> tuple:
    whole, rest = divmod(length, tile)
    return (tile,) * whole + ((rest,) if rest else ())


def _tile_task(a, b, mask=None, *, kernel_dtype, block, pad, n_iter, entropy, grid,
               block_info=None):
    tile = int(np.ravel_multi_index(block_info[0]["chunk-location"], grid))
    shape3 = pad + a.shape
    a = np.ascontiguousarray(a, dtype=kernel_dtype).reshape(shape3)
    b = np.ascontiguousarray(b, dtype=kernel_dtype).reshape(shape3)
    if mask is not None:
        mask = np.ascontiguousarray(mask, dtype=bool).reshape(shape3)
    out = np.empty((1,) * len(block_info[0]["chunk-location"]), dtype=object)
    out.flat[0] = tile_sums(a, b, mask, block, n_iter, tile_seed_state(entropy, tile))
    return out


def _sum_records(records: list):
    """Sum of exact records (integer addition: the order does not change the
    result)."""
    total = records[0].copy()
    for record in records[1:]:
        total += record
    return total
