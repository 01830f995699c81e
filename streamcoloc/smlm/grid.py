"""Spatial bucketing of localizations into tiles, stored as Arrow IPC files.

The xy plane is cut into *tiles* of about the same number of localizations:
columns at quantiles of x, each cut into rows at quantiles of y within it
(both from a weighted sample, so the layout is known before the table is
read in full).  3D data are tiled in xy only: a tile spans the whole z range.

Each input partition writes, per tile, one file holding the kernel
columns (x, y, z, ``_group``, ``_loc``) of the localizations of the tile
(*core* rows, first; their number in the schema metadata ``n_core``) and
copies of those within the bucketing halo ``H_b`` outside its box, so a tile
task reads one folder to see everything within ``H_b`` of its box.  A task
that needs a wider halo reads the core rows of the neighbouring tiles
instead (:meth:`TileStore.load`).  Memory per task is one tile plus its halo,
whatever the size of the table.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.feather as feather

from .kernels import assign_tiles

N_CORE = b"n_core"  # schema metadata: the file's first n_core rows are core rows
KERNEL_COLUMNS = ["x", "y", "z", "_group", "_loc"]


def write_table(table: pa.Table, path) -> None:
    """Write an intermediate table (bucketed tiles, per-tile results) as an
    uncompressed Arrow IPC file (Feather v2): the columns are written as they
    are in memory.  Measured once, best of 5, on a 500 000-row table of the
    bucket columns: write 5.8 ms vs 24 ms and read 3.1 ms vs 9.2 ms for
    uncompressed Parquet, whose encoding buys nothing on float coordinates
    read once; in ``benchmarks/bench_smlm.py`` the whole run at 10^6 per
    channel went from 2.14 s to 1.62 s with this and the other changes of
    the same commit (not this alone).  Results for users are Parquet."""
    feather.write_feather(table, path, compression="uncompressed")


def read_table(path, columns=None) -> pa.Table:
    """A table written by :func:`write_table` (``columns``: a selection)."""
    return feather.read_table(path, columns=columns, memory_map=False)


def weighted_quantiles(values, weights, n_parts: int) -> np.ndarray:
    """The ``n_parts - 1`` inner cut points that split ``values`` into parts
    of equal total ``weights``."""
    order = np.argsort(values)  # ties: equal values, whichever comes first
    values, cumulative = values[order], np.cumsum(weights[order])
    targets = cumulative[-1] * np.arange(1, n_parts) / n_parts
    return values[np.minimum(np.searchsorted(cumulative, targets), values.size - 1)]


def _edges(lower, upper, inner) -> np.ndarray:
    """Strictly increasing edges from ``lower`` to ``upper`` through ``inner``."""
    inner = np.unique(inner[(inner > lower) & (inner < upper)])
    return np.concatenate([[lower], inner, [max(upper, lower)]]).astype(np.float64)


def runs(key: np.ndarray):
    """``(value, positions)`` per distinct value of ``key``, values ascending,
    positions ascending (one stable sort, not one scan per value)."""
    if key.size == 0:
        return
    if key.min() == key.max():
        yield int(key[0]), np.arange(key.size)
        return
    order = np.argsort(key, kind="stable")
    bounds = np.flatnonzero(np.diff(key[order])) + 1
    for lo, hi in zip(np.r_[0, bounds], np.r_[bounds, order.size]):
        yield int(key[order[lo]]), order[lo:hi]


@dataclass(frozen=True)
class TileLayout:
    """Tiles as columns of rows: column c spans ``x_edges[c:c + 2]`` and its
    rows the consecutive pairs of ``y_edges[col_start[c]:col_start[c + 1]]``.
    ``z_range`` is the (min, max) z of the table (0, 0 in 2D)."""

    x_edges: np.ndarray
    y_edges: np.ndarray
    col_start: np.ndarray
    z_range: tuple[float, float]

    @classmethod
    def from_sample(cls, x, y, weights, bbox, total: int, tile_points: int) -> "TileLayout":
        """Layout for ``total`` localizations (a sample ``x, y`` with
        ``weights``) in ``bbox`` = (xmin, xmax, ymin, ymax, zmin, zmax), with
        about ``tile_points`` localizations per tile."""
        xmin, xmax, ymin, ymax, zmin, zmax = bbox
        n_cols = max(1, int(round(np.sqrt(total / tile_points))))
        x_edges = _edges(xmin, xmax, weighted_quantiles(x, weights, n_cols))
        column = np.clip(np.searchsorted(x_edges, x, side="right") - 1, 0, x_edges.size - 2)
        y_edges, col_start = [], [0]
        for c in range(x_edges.size - 1):
            inside = column == c
            share = weights[inside].sum() / weights.sum() * total
            n_rows = max(1, int(round(share / tile_points)))
            inner = weighted_quantiles(y[inside], weights[inside], n_rows) if inside.any() \
                else np.empty(0)
            y_edges.append(_edges(ymin, ymax, inner))
            col_start.append(col_start[-1] + y_edges[-1].size)
        return cls(x_edges, np.concatenate(y_edges), np.asarray(col_start, np.int64),
                   (float(zmin), float(zmax)))

    @property
    def n_tiles(self) -> int:
        return int(self.col_start[-1]) - (self.x_edges.size - 1)

    @cached_property
    def boxes(self) -> np.ndarray:
        """(n_tiles, 4) array of tile boxes (x0, x1, y0, y1), built once."""
        out = []
        for c in range(self.x_edges.size - 1):
            column = self.y_edges[self.col_start[c]:self.col_start[c + 1]]
            for r in range(column.size - 1):
                out.append((self.x_edges[c], self.x_edges[c + 1], column[r], column[r + 1]))
        return np.asarray(out, np.float64).reshape(-1, 4)

    def assign(self, x, y, halo: float):
        """``(rows, start, n_core)`` of :func:`~.kernels.assign_tiles`."""
        return assign_tiles(np.ascontiguousarray(x, np.float64),
                            np.ascontiguousarray(y, np.float64),
                            self.x_edges, self.y_edges, self.col_start, float(halo))

    def near(self, tile: int, halo: float) -> np.ndarray:
        """Tiles other than ``tile`` whose box meets the box of ``tile``
        widened by ``halo``."""
        boxes = self.boxes
        x0, x1, y0, y1 = boxes[tile]
        meets = ((boxes[:, 0] <= x1 + halo) & (boxes[:, 1] >= x0 - halo)
                 & (boxes[:, 2] <= y1 + halo) & (boxes[:, 3] >= y0 - halo))
        meets[tile] = False
        return np.flatnonzero(meets)


def box_distances(px, py, pz, boxes, z_range):
    """(points, tiles) smallest and largest distances from points to tile
    boxes (each box spanning ``z_range`` in z)."""
    def axis(p, lo, hi):
        p = p[:, None]
        return np.maximum(np.maximum(lo - p, p - hi), 0), np.maximum(np.abs(p - lo),
                                                                     np.abs(p - hi))
    near_x, far_x = axis(px, boxes[:, 0], boxes[:, 1])
    near_y, far_y = axis(py, boxes[:, 2], boxes[:, 3])
    near_z, far_z = axis(pz, np.array([z_range[0]]), np.array([z_range[1]]))
    return (np.sqrt(near_x ** 2 + near_y ** 2 + near_z ** 2),
            np.sqrt(far_x ** 2 + far_y ** 2 + far_z ** 2))


class TileStore:
    """The bucketed table: ``root/t<tile>/p<partition>.arrow`` with the
    columns x, y (z), ``_group``, ``_loc``: core rows first (metadata
    ``n_core``), then halo copies."""

    def __init__(self, root, layout: TileLayout, halo: float):
        self.root = Path(root)
        self.layout = layout
        self.halo = float(halo)

    def folder(self, tile: int) -> Path:
        return self.root / f"t{tile:06d}"

    def write_partition(self, columns, number: int, n_groups: int) -> np.ndarray:
        """Bucket one partition (``columns``: a DataFrame or a dict of arrays,
        ``x``, ``y`` (``z``), ``_group``, ``_loc``) into its tiles and halo
        copies; returns the (tiles, groups) core counts."""
        columns = {name: np.asarray(values) for name, values in columns.items()}
        rows, start, n_core = self.layout.assign(columns["x"], columns["y"], self.halo)
        table = pa.table({name: values[rows] for name, values in columns.items()})
        for tile in np.flatnonzero(np.diff(start)):
            part = table.slice(start[tile], start[tile + 1] - start[tile])
            self.folder(tile).mkdir(parents=True, exist_ok=True)
            write_table(part.replace_schema_metadata({N_CORE: str(n_core[tile])}),
                        self.folder(tile) / f"p{number:06d}.arrow")
        group = columns["_group"]
        counts = np.zeros((self.layout.n_tiles, n_groups), np.int64)
        for tile in np.flatnonzero(n_core):  # a tile's core rows lead its rows
            core = rows[start[tile]:start[tile] + n_core[tile]]
            counts[tile] = np.bincount(group[core], minlength=n_groups)
        return counts

    def _read(self, tile: int, columns):
        """``(core, halo)`` rows of the tile's files, or None without files."""
        # in partition order: the core rows are then in input order (count_tile)
        files = sorted(self.folder(tile).glob("p*.arrow"), key=lambda f: int(f.stem[1:]))
        if not files:
            return None
        cores, halos = [], []
        for f in files:
            table = read_table(f, columns=columns)
            n_core = int(table.schema.metadata[N_CORE])
            cores.append(table.slice(0, n_core))
            halos.append(table.slice(n_core))
        return (pa.concat_tables(cores, promote_options="permissive"),
                pa.concat_tables(halos, promote_options="permissive"))

    def load(self, tile: int, halo: float, z=False, window=None):
        """``(core, halo_rows)`` of a tile as Arrow tables of the kernel
        columns: its core rows, and every localization of another tile within
        ``halo`` of its box (Chebyshev, so a superset of the disc).  Within
        the bucketing halo the tile's own halo copies serve; beyond it the
        core rows of the neighbouring tiles are read.  ``window`` = (xmin,
        xmax) keeps only core rows in that x range.  Rows are filtered in
        Arrow before conversion."""
        kernel = KERNEL_COLUMNS if z else KERNEL_COLUMNS[:2] + KERNEL_COLUMNS[3:]
        own = self._read(tile, kernel)
        if own is None:
            empty = pa.table({c: pa.array([], pa.float64()) for c in kernel})
            return empty, empty
        core, near = own
        if window is not None:
            core = core.filter(pc.and_(pc.greater_equal(core["x"], window[0]),
                                       pc.less_equal(core["x"], window[1])))
        if halo > self.halo:
            parts = [found[0] for found in (self._read(t, kernel)
                                            for t in self.layout.near(tile, halo))
                     if found is not None]
            near = pa.concat_tables(parts, promote_options="permissive") if parts \
                else near.slice(0, 0)
        elif halo == self.halo:
            return core, near
        x0, x1, y0, y1 = self.layout.boxes[tile]
        keep = pc.and_(pc.and_(pc.greater_equal(near["x"], x0 - halo),
                               pc.less_equal(near["x"], x1 + halo)),
                       pc.and_(pc.greater_equal(near["y"], y0 - halo),
                               pc.less_equal(near["y"], y1 + halo)))
        return core, near.filter(keep)
