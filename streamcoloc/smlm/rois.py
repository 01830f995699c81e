"""Regions of interest for the SMLM co-localization index.

A ROI is a rectangle ``(x0, y0, x1, y1)`` (nm, inclusive bounds), a polygon
(a sequence of at least three (x, y) vertices, nm; even-odd rule, points
exactly on an edge may fall either way) or a value of an ROI column.  ROIs
act in xy; in 3D they span all z.  Overlapping ROIs are allowed: a
localization in two ROIs gives two rows, one per ROI, and only neighbours
in the same ROI count.  Localizations outside every ROI are left out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

WHOLE = "all"  # the ROI key when no ROI is given


def _shape_of(value) -> tuple:
    """Array shape of a nested sequence of numbers; () when it is ragged."""
    try:
        return np.asarray(value, dtype=np.float64).shape
    except (ValueError, TypeError):
        return ()


def _is_rectangle(shape) -> bool:
    return _shape_of(shape) == (4,)


def _polygon(shape, key) -> np.ndarray:
    vertices = np.asarray(shape, dtype=np.float64)
    if vertices.ndim != 2 or vertices.shape[1] != 2 or len(vertices) < 3:
        raise ValueError(f"ROI {key!r} must be a rectangle (x0, y0, x1, y1) or a polygon of at "
                         f"least 3 (x, y) vertices, got an array of shape {vertices.shape}")
    return vertices


def inside_polygon(x, y, vertices) -> np.ndarray:
    """Even-odd (crossing number) test of points against a closed polygon."""
    inside = np.zeros(x.shape, bool)
    x0, y0 = vertices[-1]
    for x1, y1 in vertices:
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            at = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        inside ^= crosses & (x < at)
        x0, y0 = x1, y1
    return inside


@dataclass(frozen=True)
class RoiSpec:
    """How rows map to ROIs: ``column`` (an ROI column), ``shapes`` (key ->
    rectangle tuple or polygon array) or neither (one ROI, :data:`WHOLE`)."""

    column: str | None = None
    shapes: dict | None = None

    @classmethod
    def parse(cls, roi) -> "RoiSpec":
        """``None``, a column name, one shape, a list of shapes (keys 0, 1,
        ...) or a dict of named shapes."""
        if roi is None:
            return cls()
        if isinstance(roi, str):
            return cls(column=roi)
        if isinstance(roi, dict):
            items = roi.items()
        elif _is_rectangle(roi) or (len(_shape_of(roi)) == 2 and _shape_of(roi)[1] == 2):
            items = [(0, roi)]
        else:
            items = enumerate(roi)
        shapes = {}
        for key, shape in items:
            if _is_rectangle(shape):
                x0, y0, x1, y1 = (float(v) for v in shape)
                if x1 < x0 or y1 < y0:
                    raise ValueError(f"ROI {key!r}: rectangle needs x0 <= x1 and y0 <= y1, "
                                     f"got {tuple(shape)}")
                shapes[key] = (x0, y0, x1, y1)
            else:
                shapes[key] = _polygon(shape, key)
        if not shapes:
            raise ValueError("roi is an empty list")
        return cls(shapes=shapes)

    @property
    def whole(self) -> bool:
        """No ROI given: every row is in the one ROI :data:`WHOLE` (code 0)."""
        return self.column is None and not self.shapes

    def keys(self, seen=()) -> list:
        """ROI keys in output order: shape order, or the sorted column values."""
        if self.column is not None:
            return sorted(seen)
        return list(self.shapes) if self.shapes else [WHOLE]

    def expand(self, frame: pd.DataFrame):
        """``(rows, keys)``: for every (localization, ROI) pair, the row
        position in ``frame`` (ascending: the tiles keep the input order) and
        the ROI key (shapes: their position in :meth:`keys`)."""
        n = len(frame)
        if self.column is not None:
            values = frame[self.column]
            keep = values.notna().to_numpy()
            return np.flatnonzero(keep), values.to_numpy()[keep]
        if self.whole:
            return np.arange(n), np.zeros(n, np.int64)
        x, y = frame["x"].to_numpy(np.float64), frame["y"].to_numpy(np.float64)
        rows, keys = [], []
        for number, shape in enumerate(self.shapes.values()):
            if isinstance(shape, tuple):
                x0, y0, x1, y1 = shape
                inside = (x >= x0) & (x <= x1) & (y >= y0) & (y <= y1)
            else:
                inside = inside_polygon(x, y, shape)
            rows.append(np.flatnonzero(inside))
            keys.append(np.full(rows[-1].size, number, np.int64))
        rows, keys = np.concatenate(rows), np.concatenate(keys)
        order = np.argsort(rows, kind="stable")
        return rows[order], keys[order]
