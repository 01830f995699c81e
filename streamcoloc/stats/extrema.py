"""Range of each channel's finite values (after background subtraction).

It fixes the power-of-two grid on which float data are histogrammed
(:class:`~.voxels.Grid`).  Over every voxel of the channel, not per region:
one grid per channel keeps every region's histogram on the same cells.
"""

from __future__ import annotations

from functools import partial

import numpy as np

from .base import Statistic
from .regions import ChunkRegions
from .voxels import VoxelRules


def chunk(channels: list[np.ndarray], regions: ChunkRegions, rules: VoxelRules) -> np.ndarray:
    """(C, 2) min and max of the finite values of each channel (±inf when a
    channel has none in this chunk).  Background voxels outside every
    region are included: they do not change the grid's validity."""
    out = np.empty((len(channels), 2))
    for i, block in enumerate(channels):
        values = block.astype(np.float64, copy=False)
        if rules.background is not None:
            values = np.maximum(values - rules.background[i], 0.0)
        finite = values[np.isfinite(values)]
        out[i] = (finite.min(), finite.max()) if finite.size else (np.inf, -np.inf)
    return out


def combine(records: list[np.ndarray]) -> np.ndarray:
    stacked = np.stack(records)
    return np.stack([stacked[..., 0].min(axis=0), stacked[..., 1].max(axis=0)], axis=-1)


def finalize(record: np.ndarray) -> list[tuple[float, float]]:
    """[(low, high)] per channel; (0, 0) for a channel without finite values."""
    return [(float(lo), float(hi)) if lo <= hi else (0.0, 0.0) for lo, hi in record]


def extrema_statistic(rules: VoxelRules) -> Statistic:
    return Statistic("extrema", partial(chunk, rules=rules), combine, finalize)
