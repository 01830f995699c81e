"""Manders' coefficients on a region of the scattergram (CoLocalizer's ROI).

The colocalized voxels are those whose intensity pair (a, b) lies in a region
of the scattergram: a rectangle ``a_lo ≤ a ≤ a_hi and b_lo ≤ b ≤ b_hi``
(closed), or a polygon (even–odd rule: a horizontal ray from the point
crosses its edges an odd number of times; a vertex counts for the edge above
it, the half-open rule of most point-in-polygon tests).  Then

    M1 = Σ a over voxels in the region / Σ a,   M2 = Σ b in the region / Σ b

over the measured voxels of each key (Zinchuk & Grossenbacher, CoLocalizer
Pro).  One read; sums in float64 per run.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numba
import numpy as np

from .base import Statistic
from .dtypes import kernel_channels
from .regions import ChunkRegions
from .voxels import VoxelRules, measured_pair

IN_A, IN_B, TOTAL_A, TOTAL_B, N_IN = range(5)


@numba.njit(inline="always")
def _inside(x, y, polygon, rectangle):
    if rectangle:
        return (polygon[0, 0] <= x) & (x <= polygon[1, 0]) & (polygon[0, 1] <= y) & \
            (y <= polygon[1, 1])
    inside = False
    j = polygon.shape[0] - 1
    for i in range(polygon.shape[0]):
        xi, yi, xj, yj = polygon[i, 0], polygon[i, 1], polygon[j, 0], polygon[j, 1]
        if (yi > y) != (yj > y):
            if x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
        j = i
    return inside


@numba.njit(nogil=True, cache=True)
def _accumulate(channels, pairs, plane_start, run_start, run_stop, run_region, settings,
                polygon, rectangle, out):
    """``out[region, slice, pair]`` += (Σa in, Σb in, Σa, Σb, voxels in)."""
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia, ib = pairs[k, 0], pairs[k, 1]
        for s in range(channels[0].shape[0]):
            plane = s if n_label_planes > 1 else 0
            for r in range(plane_start[plane], plane_start[plane + 1]):
                a = channels[ia][s][run_start[r]:run_stop[r]]
                b = channels[ib][s][run_start[r]:run_stop[r]]
                acc = out[run_region[r], s, k]
                for q in range(a.size):
                    keep, x, y = measured_pair(np.float64(a[q]), np.float64(b[q]),
                                               settings[ia], settings[ib])
                    if not (keep and x - x == 0 and y - y == 0):  # NaN or ±Inf: out
                        continue
                    acc[TOTAL_A] += x
                    acc[TOTAL_B] += y
                    if _inside(x, y, polygon, rectangle):
                        acc[IN_A] += x
                        acc[IN_B] += y
                        acc[N_IN] += 1


@dataclass(frozen=True)
class RoiOptions:
    """pairs : (K, 2) channel indices; rules : background and saturation;
    roi : ((a_lo, a_hi), (b_lo, b_hi)) or a (V, 2) polygon of (a, b) vertices."""

    pairs: np.ndarray
    rules: VoxelRules
    roi: object

    @property
    def shape(self):
        """(vertices as float64 (V, 2), is_rectangle), validated."""
        roi = np.asarray(self.roi, dtype=np.float64)
        if roi.shape == (2, 2):  # ((a_lo, a_hi), (b_lo, b_hi)) -> corners
            if roi[0, 0] > roi[0, 1] or roi[1, 0] > roi[1, 1]:
                raise ValueError(f"rectangle bounds must be (low, high) pairs, got {self.roi}")
            return roi.T.copy(), True
        if roi.ndim != 2 or roi.shape[1] != 2 or roi.shape[0] < 3 or not np.isfinite(roi).all():
            raise ValueError("roi must be ((a_lo, a_hi), (b_lo, b_hi)) or a polygon of at "
                             f"least 3 finite (a, b) vertices, got shape {roi.shape}")
        return roi, False


def chunk(channels: list[np.ndarray], regions: ChunkRegions, options: RoiOptions):
    """(keys, sums) of one chunk: sums[key, pair] = (Σa in, Σb in, Σa, Σb, n in)."""
    blocks = kernel_channels(channels)
    # Float comparisons: values after background subtraction as float64.
    settings = options.rules.settings(len(blocks), exact_path=False)
    polygon, rectangle = options.shape
    n_slices = blocks[0].shape[0]
    out = np.zeros((regions.ids.size, n_slices, len(options.pairs), 5))
    _accumulate(blocks, options.pairs, regions.plane_start, regions.start, regions.stop,
                regions.region, settings, polygon, rectangle, out)
    keys = regions.keys(n_slices)
    return keys, out.reshape(len(keys), len(options.pairs), 5)


def combine(records):
    keys = np.concatenate([k for k, _ in records])
    sums = np.concatenate([s for _, s in records])
    unique, group = np.unique(keys, axis=0, return_inverse=True)
    merged = np.zeros((len(unique),) + sums.shape[1:])
    np.add.at(merged, group.ravel(), sums)
    return unique, merged


def finalize(record):
    """keys and (M1, M2) arrays of shape (keys, pairs)."""
    keys, sums = record
    with np.errstate(invalid="ignore", divide="ignore"):
        m1 = np.where(sums[..., TOTAL_A] > 0, sums[..., IN_A] / sums[..., TOTAL_A], np.nan)
        m2 = np.where(sums[..., TOTAL_B] > 0, sums[..., IN_B] / sums[..., TOTAL_B], np.nan)
    return keys, m1, m2


def statistic(options: RoiOptions) -> Statistic:
    options.shape  # validate before reading any data
    return Statistic("scattergram", partial(chunk, options=options), combine, finalize)
