"""Which voxels are measured, and with which value: rules shared by every kernel.

A voxel of a channel pair is **measured** when both raw values are finite and
below the channel's saturation level (when one is set); its value is then
``max(raw − background, floor)`` with floor 0 when a background is subtracted
(ImageJ's Process › Math › Subtract on unsigned images) and −∞ otherwise.
A voxel excluded in one pair stays measured in the others.

Float channels reach the histogram kernels as integers on a power-of-two grid
of at most 4096 levels per channel (:class:`Grid`, :func:`quantize`), so the
joint tables of float data stay as small as those of 12-bit data; a
non-finite value becomes :data:`EXCLUDED`, which the saturation test then
excludes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np

OFFSET, FLOOR, SATURATION = range(3)
#: Quantized value of a non-finite float voxel (excluded as "saturated").
EXCLUDED = np.iinfo(np.int32).max


@dataclass(frozen=True)
class VoxelRules:
    """Background offsets and saturation levels, one per channel (or None)."""

    background: tuple | None = None
    saturation: tuple | None = None

    @property
    def general(self) -> bool:
        """False when every raw value is measured as it is (fast loops)."""
        return self.background is not None or self.saturation is not None

    def settings(self, n_channels: int, exact_path: bool) -> np.ndarray:
        """(C, 3) offset, floor, saturation per channel in the kernel's
        accumulator type (int64 on the exact path, float64 otherwise)."""
        if exact_path:
            limits = np.iinfo(np.int64)
            settings = np.empty((n_channels, 3), np.int64)
            settings[:] = (0, limits.min, limits.max)
        else:
            settings = np.empty((n_channels, 3), np.float64)
            settings[:] = (0.0, -np.inf, np.inf)
        if self.background is not None:
            settings[:, OFFSET] = self.background
            settings[:, FLOOR] = 0
        if self.saturation is not None:
            settings[:, SATURATION] = self.saturation
        return settings


@numba.njit(inline="always")
def measured_pair(raw_a, raw_b, set_a, set_b):
    """``(keep, a, b)`` of one integer voxel pair under the rules above."""
    keep = (raw_a < set_a[SATURATION]) & (raw_b < set_b[SATURATION])
    a = max(raw_a - set_a[OFFSET], set_a[FLOOR])
    b = max(raw_b - set_b[OFFSET], set_b[FLOOR])
    return keep, a, b


@dataclass(frozen=True)
class Grid:
    """A power-of-two grid for float values: ``q = floor(x / step) − base``.

    Division by a power of two and ``floor`` are exact in floating point, so
    ``x ≥ (q_T + base)·step`` ⟺ ``q ≥ q_T``: a threshold on the grid selects
    exactly the same voxels in grid units as in data units.
    """

    step: float
    base: int

    @classmethod
    def covering(cls, low: float, high: float, levels: int = 4096) -> "Grid":
        """The finest grid with at most ``levels`` values over [low, high]
        (step 1 for a single value); never finer than the values' own
        resolution (|x|/step < 2**52 keeps grid arithmetic exact)."""
        if not high > low:
            return cls(1.0, int(np.floor(low)))
        step = 2.0 ** int(np.ceil(np.log2((high - low) / (levels - 1))))
        biggest = max(abs(low), abs(high))
        while np.floor(high / step) - np.floor(low / step) >= levels or biggest / step >= 2**52:
            step *= 2
        return cls(step, int(np.floor(low / step)))

    def to_data(self, q):
        """Grid units to data units (the lower edge of the grid cell)."""
        return (np.asarray(q, dtype=np.float64) + self.base) * self.step

    def to_grid(self, value):
        """Data units to the grid cell holding ``value``."""
        return np.floor(np.asarray(value, dtype=np.float64) / self.step) - self.base


def quantize(block: np.ndarray, grid: Grid, background: float | None) -> np.ndarray:
    """A float block as C-contiguous int32 grid values (non-finite →
    :data:`EXCLUDED`; the kernels take C order, as from
    :func:`~.dtypes.kernel_channels`), after the background subtraction,
    which must happen in data units."""
    values = np.array(block, dtype=np.float64, order="C")  # (a view's order would be kept)
    if background is not None:
        np.maximum(values - background, 0.0, out=values)
    finite = np.isfinite(values)
    q = np.floor(np.where(finite, values, 0.0) / grid.step) - grid.base
    return np.where(finite, q, EXCLUDED).astype(np.int32)
