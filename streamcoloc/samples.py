"""Synthetic two-channel volumes whose colocalization is known by construction.

Model (per voxel, in data units, ``f`` the colocalized fraction)::

    S1, S2  independent "puncta" fields: the volume is tiled by cells of
            STRUCTURE_CELL voxels, each cell is bright with probability
            PUNCTA_FRACTION, with a value ~ Uniform(PUNCTA_LOW, 1), else 0
    lam_A = background + amplitude * S1
    lam_B = background + amplitude * (f * S1 + (1 - f) * S2)
    A, B  = Poisson(lam) + Normal(0, read_noise**2), rounded and clipped to the dtype

so that, with m and v the mean and variance of a cell value,
``var_S = amplitude**2 * v`` and the noise variance
``var_N = background + amplitude * m + read_noise**2 + q`` (Poisson variance =
mean; ``q = 1/12`` from rounding to an integer dtype, 0 for floats)::

    PCC = f var_S / sqrt((var_S + var_N) * ((f**2 + (1 - f)**2) var_S + var_N))

The parameters keep values far from the dtype limits, so clipping does not
bias it.  Every dask block is generated from its own
``SeedSequence(seed, spawn_key=(0, *block_index))``: memory is bounded by a
few blocks, and the result depends on ``seed`` and ``chunks`` only.
"""

from __future__ import annotations

from math import ceil, sqrt
from pathlib import Path

import dask.array as da
import numpy as np
import zarr

from .readers import write_ome_zarr

CHANNEL_NAMES = ["GFP", "RFP"]
#: Voxels (z, y, x) per structure cell: the field is constant on each cell.
STRUCTURE_CELL = (2, 8, 8)
#: Fraction of cells holding a punctum, and the lower bound of its brightness.
PUNCTA_FRACTION, PUNCTA_LOW = 0.3, 0.5
#: Physical voxel size written to the metadata.
VOXEL_SIZE = {"z": 0.5, "y": 0.1, "x": 0.1}
#: Label ids: FIRST_LABEL + k * LABEL_STEP for region k.
FIRST_LABEL, LABEL_STEP = 1000, 37


def make_sample_volume(path, *, shape=(64, 1024, 1024), chunks=(16, 512, 512), seed=0,
                       colocalized_fraction=0.6, dtype="uint16", n_regions=50) -> dict:
    """Write a two-channel ('c', 'z', 'y', 'x') OME-Zarr sample and its label image.

    Parameters
    ----------
    path : str or Path
        OME-Zarr folder to create (replaced if present).  The label image is
        the NGFF label ``path/labels/cells`` (int32, dims ('z', 'y', 'x'), 0 =
        background), itself an OME-Zarr image that ``open_image`` reads.
    shape, chunks : tuple of 3 int
        Spatial shape and stored chunk shape (z, y, x); channels are stored
        one per chunk.
    seed : int
        Seed of every random draw.
    colocalized_fraction : float in [0, 1]
        ``f`` of the module model: the share of channel B's structure that is
        channel A's.
    dtype : str
        Unsigned integer (values up to min(max, 4095)) or float dtype.
    n_regions : int
        Number of box or ball label regions, with ids 1000, 1037, 1074, ...
        (a later region overwrites an earlier one where they overlap).

    Returns
    -------
    dict
        ``image`` and ``labels`` (Paths), ``channel_names``, ``dims``,
        ``shape``, ``label_ids`` (the ids drawn), ``expected_pcc`` (the
        population Pearson correlation of the model) and ``structure_cell``.
    """
    if not 0 <= colocalized_fraction <= 1:
        raise ValueError(f"colocalized_fraction must be in [0, 1], got {colocalized_fraction}")
    shape, chunks, dtype = tuple(shape), tuple(chunks), np.dtype(dtype)
    if len(shape) != 3 or len(chunks) != 3:
        raise ValueError(f"shape {shape} and chunks {chunks} must be (z, y, x)")
    model = _model(dtype, colocalized_fraction)
    grid = da.core.normalize_chunks(chunks, shape)
    image = da.map_blocks(_channels_block, chunks=((2,), *grid), dtype=dtype,
                          meta=np.empty((0,) * 4, dtype), seed=seed, model=model)
    path = write_ome_zarr(path, image, dims=("c", "z", "y", "x"), chunks=(1, *chunks),
                          voxel_size=VOXEL_SIZE, channel_names=CHANNEL_NAMES)
    regions = _regions(shape, n_regions, seed)
    labels_path = _write_labels(path, da.map_blocks(
        _labels_block, chunks=grid, dtype=np.int32, meta=np.empty((0,) * 3, np.int32),
        regions=regions), chunks)
    return {"image": path, "labels": labels_path, "channel_names": list(CHANNEL_NAMES),
            "dims": ("c", "z", "y", "x"), "shape": (2, *shape),
            "label_ids": [int(r[0]) for r in regions], "expected_pcc": _expected_pcc(model),
            "structure_cell": STRUCTURE_CELL}


def _model(dtype: np.dtype, fraction: float) -> dict:
    peak = min(np.iinfo(dtype).max, 4095) if dtype.kind in "ui" else 4095
    return {"dtype": dtype, "f": fraction, "background": 0.1 * peak,
            "amplitude": 0.5 * peak, "read_noise": 0.01 * peak}


def _expected_pcc(model: dict) -> float:
    low, p, f, amp = PUNCTA_LOW, PUNCTA_FRACTION, model["f"], model["amplitude"]
    mean = p * (1 + low) / 2
    var_s = amp**2 * (p * (1 + low + low**2) / 3 - mean**2)
    quantization = 1 / 12 if model["dtype"].kind in "ui" else 0.0
    var_n = model["background"] + amp * mean + model["read_noise"] ** 2 + quantization
    return f * var_s / sqrt((var_s + var_n) * ((f**2 + (1 - f) ** 2) * var_s + var_n))


def _channels_block(seed, model, block_info=None) -> np.ndarray:
    info = block_info[None]
    rng = np.random.default_rng(np.random.SeedSequence(
        seed, spawn_key=(0, *info["chunk-location"][1:])))
    shape = info["chunk-shape"][1:]
    cells = tuple(ceil(n / c) for n, c in zip(shape, STRUCTURE_CELL))
    s1, s2 = _puncta(rng, cells), _puncta(rng, cells)
    f, dtype = model["f"], model["dtype"]
    out = np.empty((2, *shape), dtype)
    for channel, structure in enumerate((s1, f * s1 + (1 - f) * s2)):
        lam = _upsample(model["background"] + model["amplitude"] * structure, shape)
        values = rng.poisson(lam).astype(np.float64)
        values += rng.normal(0.0, model["read_noise"], shape)
        if dtype.kind in "ui":
            limits = np.iinfo(dtype)
            np.clip(np.rint(values, out=values), limits.min, limits.max, out=values)
        out[channel] = values
    return out


def _puncta(rng, cells) -> np.ndarray:
    bright = rng.random(cells) < PUNCTA_FRACTION
    return np.where(bright, rng.uniform(PUNCTA_LOW, 1.0, cells), 0.0)


def _upsample(cells: np.ndarray, shape) -> np.ndarray:
    for axis, factor in enumerate(STRUCTURE_CELL):
        cells = np.repeat(cells, factor, axis=axis)
    return cells[tuple(slice(n) for n in shape)]


def _regions(shape, n_regions: int, seed: int) -> np.ndarray:
    """Rows (id, is_ball, centre z, y, x, half-size z, y, x)."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(1,)))
    extent = np.array(shape, float)
    centres = rng.uniform(0, extent, (n_regions, 3))
    half = np.maximum(rng.uniform(0.04, 0.10, (n_regions, 3)) * extent, 1.0)
    ids = FIRST_LABEL + LABEL_STEP * np.arange(n_regions)
    return np.column_stack([ids, rng.random(n_regions) < 0.5, centres, half])


def _labels_block(regions, block_info=None) -> np.ndarray:
    location = block_info[None]["array-location"]
    start = np.array([lo for lo, _ in location])
    stop = np.array([hi for _, hi in location])
    out = np.zeros(stop - start, np.int32)
    for label, is_ball, *geometry in regions:
        centre, half = np.array(geometry[:3]), np.array(geometry[3:])
        lo = np.maximum(np.floor(centre - half).astype(int), start)
        hi = np.minimum(np.ceil(centre + half).astype(int) + 1, stop)
        if np.any(lo >= hi):
            continue
        grid = np.ogrid[tuple(slice(a, b) for a, b in zip(lo, hi))]
        offsets = [(g - c) / h for g, c, h in zip(grid, centre, half)]
        if is_ball:
            inside = offsets[0] ** 2 + offsets[1] ** 2 + offsets[2] ** 2 <= 1
        else:
            inside = (np.abs(offsets[0]) <= 1) & (np.abs(offsets[1]) <= 1) & (
                np.abs(offsets[2]) <= 1)
        target = out[tuple(slice(a - s, b - s) for a, b, s in zip(lo, hi, start))]
        target[np.broadcast_to(inside, target.shape)] = int(label)
    return out


def _write_labels(image_path: Path, labels: da.Array, chunks) -> Path:
    """Write ``labels`` as the NGFF label image ``image_path/labels/cells``."""
    zarr.create_group(str(image_path / "labels"), zarr_format=3, overwrite=True,
                      attributes={"ome": {"version": "0.5", "labels": ["cells"]}})
    path = write_ome_zarr(image_path / "labels" / "cells", labels, dims=("z", "y", "x"),
                          chunks=chunks, voxel_size=VOXEL_SIZE)
    group = zarr.open_group(str(path), mode="r+")
    ome = group.attrs["ome"]
    group.attrs["ome"] = {**ome, "image-label": {"source": {"image": "../../"}}}
    return path
