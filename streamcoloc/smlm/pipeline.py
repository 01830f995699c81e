"""The passes of the co-localization index over a table of any size, on dask.

    survey    one read of the input: counts and precision sums per (ROI,
              channel), bounding boxes, a sample of positions (tile layout)
    bucket    one read of the input: rows into tiles plus halo copies (Arrow files)
    nearest   per tile: each localization's nearest neighbour in its group;
              the few that may have one beyond the halo go to ``resolve_far``
    count     per tile: neighbours per channel within the radii; writes the
              per-localization rows

Each pass is one ``dask.delayed`` task per input partition or tile, computed
by ``dask.compute`` on the current scheduler: threads by default, a
``dask.distributed.Client`` when one is active (the work folder must then be
visible to the workers).  Tasks return small records that the driver merges;
a task holds one partition or one tile with its halo.  The formulas that turn
the merged records into d, LD means and CI live in :mod:`.index`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask
import numpy as np
import pandas as pd
import pyarrow as pa

from ..engine import heap
from .grid import TileStore, box_distances, read_table, runs, write_table
from .kernels import build_cell_list, count_within, local_density_sums, \
    nearest_by_sweep, nearest_other
from .rois import RoiSpec

SAMPLE_PER_PARTITION = 20_000  # positions per partition for the tile layout
POINTS_PER_CELL = 1.0  # cell-list density target; count pass: cells >= the smallest radius
FAR_QUERY_BLOCK = 4096  # queries per block when matching far queries to tiles


@dataclass(frozen=True)
class Plan:
    """What every task needs to know about the columns and the groups.

    ``channels`` and ``roi_keys`` are None in the survey (not known yet).
    Localization rows become (localization, ROI) rows with
    ``_group = roi * n_channels + channel`` (dense indices).
    """

    channel: str
    rois: RoiSpec
    precision: str | float
    has_z: bool
    channels: tuple | None = None
    roi_keys: tuple | None = None

    @property
    def n_groups(self) -> int:
        return len(self.roi_keys) * len(self.channels)

    def checked_columns(self) -> list[str]:
        columns = ["x", "y"] + (["z"] if self.has_z else []) + [self.channel]
        return columns + ([self.precision] if isinstance(self.precision, str) else [])

    def rows(self, part: pd.DataFrame, source: str, check: bool = True) -> "Rows":
        """The rows of ``part`` taking part, once per ROI they fall in, and
        their ROI (position in ``roi_keys``, or the raw value of the ROI
        column in the survey).  ``check``: raise on missing values (the
        survey checks; the bucket pass re-reads the same rows)."""
        if check:
            self.check(part, source)
        rows, roi = self.rois.expand(part)
        every = not self.rois.shapes and rows.size == len(part)
        if self.channels is not None:
            keep = part[self.channel].isin(self.channels).to_numpy()[rows]
            if not keep.all():
                rows, roi, every = rows[keep], roi[keep], False
        if self.rois.column is not None and self.roi_keys is not None:
            roi = pd.Index(self.roi_keys).get_indexer(roi)
        return Rows(rows, roi, every)

    def check(self, part: pd.DataFrame, source: str) -> None:
        """Raise on NaN or infinite values in the columns the index needs."""
        for column in self.checked_columns():
            values = part[column]
            bad = values.isna().to_numpy()
            if column != self.channel:
                bad = bad | ~np.isfinite(values.to_numpy(np.float64, na_value=np.nan))
            if bad.any():
                raise ValueError(f"{source}: column {column!r} has NaN or infinite values "
                                 f"(first at row {part.index[np.argmax(bad)]!r}, {bad.sum()} "
                                 "rows)")

    def precisions(self, part: pd.DataFrame, rows: "Rows") -> np.ndarray:
        if isinstance(self.precision, str):
            return rows.of(part[self.precision].to_numpy(np.float64))
        return np.full(rows.positions.size, float(self.precision))


@dataclass(frozen=True)
class Rows:
    """The rows of a partition taking part: their ascending ``positions``
    (a row once per ROI it falls in), their ``roi``, and ``every``: True
    when the positions are every row in order."""

    positions: np.ndarray
    roi: np.ndarray
    every: bool

    def of(self, values: np.ndarray) -> np.ndarray:
        """A column's values at the positions (the column itself, not a
        copy, when every row takes part)."""
        return values if self.every else values[self.positions]


def compute(tasks: list) -> list:
    """Compute delayed tasks on the current scheduler, freed task memory
    kept for the next task (:mod:`~streamcoloc.engine.heap`)."""
    heap.bound_heap_growth()
    return list(dask.compute(*tasks)) if tasks else []


# ---------------------------------------------------------------- survey

def survey_partition(part: pd.DataFrame, number: int, plan: Plan, source: str,
                     keep_bytes: int = 0) -> dict:
    """Counts and precision sums per (ROI, channel), bounding box per ROI and
    a uniform sample of positions (with weights) of one partition; the
    partition itself too (``part``) when it takes at most ``keep_bytes``."""
    kept = part if keep_bytes and _frame_bytes(part) <= keep_bytes else None
    rows = plan.rows(part, source)
    n = rows.positions.size
    if n == 0:  # e.g. outside every ROI
        return {"n_rows": len(part), "groups": None, "bbox": None,
                "sample": (np.empty(0),) * 3, "part": kept}
    xyz = [rows.of(part[a].to_numpy(np.float64)) for a in ("x", "y", "z") if a in part
           and (a != "z" or plan.has_z)]
    if not plan.has_z:
        xyz.append(np.zeros(n))
    if plan.rois.whole:  # every row in ROI 0: nothing to factorize
        roi_code, roi_values = rows.roi, np.zeros(1, np.int64)
    else:
        roi_code, roi_values = pd.factorize(rows.roi, sort=True)
    channel_code, channel_values = pd.factorize(rows.of(part[plan.channel].to_numpy()))
    key = roi_code * len(channel_values) + channel_code
    size = len(roi_values) * len(channel_values)
    groups = pd.DataFrame(
        {"n": np.bincount(key, minlength=size),
         "precision_sum": np.bincount(key, weights=plan.precisions(part, rows), minlength=size)},
        index=pd.MultiIndex.from_product([roi_values, channel_values], names=["roi", "channel"]))
    bbox = pd.DataFrame({f"{axis}{end}": _per_roi(reduce, values, roi_code, len(roi_values))
                         for axis, values in zip("xyz", xyz)
                         for end, reduce in (("min", np.minimum), ("max", np.maximum))},
                        index=pd.Index(roi_values, name="roi"))
    take = np.random.default_rng(number).choice(n, min(SAMPLE_PER_PARTITION, n), replace=False)
    weight = n / max(take.size, 1)
    return {"n_rows": len(part), "groups": groups[groups["n"] > 0], "bbox": bbox,
            "sample": (xyz[0][take], xyz[1][take], np.full(take.size, weight)), "part": kept}


def _frame_bytes(part: pd.DataFrame) -> int:
    """Memory of a partition: its arrays (Arrow-backed columns: their
    buffers), and ~64 B per Python object an object column points to."""
    objects = sum(len(part) for dtype in part.dtypes if dtype == object)
    return int(part.memory_usage(index=True).sum()) + 64 * objects


def _per_roi(reduce: np.ufunc, values: np.ndarray, roi_code: np.ndarray, n_rois: int):
    """``reduce`` (np.minimum or np.maximum) of ``values`` per ROI code, in
    one pass whatever the number of ROIs (every code is present)."""
    if n_rois == 1:
        return np.array([reduce.reduce(values)])
    out = np.full(n_rois, np.inf if reduce is np.minimum else -np.inf)
    reduce.at(out, roi_code, values)
    return out


def survey(partitions: list, plan: Plan, source: str, keep_bytes: int = 0) -> dict:
    """Merge the partition surveys; ``parts``: the partitions of at most
    ``keep_bytes`` each, read once for the survey and the bucket pass (None
    for the others)."""
    parts = compute([dask.delayed(survey_partition, pure=False)(p, i, plan, source, keep_bytes)
                     for i, p in enumerate(partitions)])
    seen = [p for p in parts if p["groups"] is not None]
    if not seen:
        raise ValueError(f"{source}: no localization left (check the channels and ROIs)")
    groups = pd.concat([p["groups"] for p in seen]).groupby(level=[0, 1]).sum()
    boxes = pd.concat([p["bbox"] for p in seen]).groupby(level=0)
    bbox = pd.concat([boxes[["xmin", "ymin", "zmin"]].min(),
                      boxes[["xmax", "ymax", "zmax"]].max()], axis=1)
    sample = [np.concatenate([p["sample"][k] for p in parts]) for k in range(3)]
    return {"n_rows": [p["n_rows"] for p in parts], "groups": groups, "bbox": bbox,
            "sample": sample, "parts": [p["part"] for p in parts]}


# ---------------------------------------------------------------- bucket

def bucket_partition(part: pd.DataFrame, number: int, offset: int, plan: Plan,
                     store: TileStore, source: str) -> np.ndarray:
    """Write one partition's rows (kernel columns only: the input's other
    columns are joined back by ``_loc`` at the end) into their tiles;
    returns the (tiles, groups) counts."""
    rows = plan.rows(part, source, check=False)
    if rows.positions.size == 0:
        return np.zeros((store.layout.n_tiles, plan.n_groups), np.int64)
    axes = ("x", "y", "z") if plan.has_z else ("x", "y")
    columns = {a: rows.of(part[a].to_numpy(np.float64)) for a in axes}
    channel = pd.Index(plan.channels).get_indexer(rows.of(part[plan.channel].to_numpy()))
    columns["_group"] = np.asarray(rows.roi, np.int64) * len(plan.channels) + channel
    columns["_loc"] = offset + rows.positions.astype(np.int64)
    return store.write_partition(columns, number, plan.n_groups)


def bucket(partitions: list, offsets, plan: Plan, store: TileStore, source: str) -> np.ndarray:
    counts = compute([dask.delayed(bucket_partition, pure=False)(p, i, int(o), plan, store, source)
                      for i, (p, o) in enumerate(zip(partitions, offsets))])
    return np.sum(counts, axis=0)


# ---------------------------------------------------------------- cell lists

@dataclass
class Points:
    """Kernel arrays of a tile: its core rows first, then its halo rows."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    group: np.ndarray
    loc: np.ndarray
    n_core: int

    @classmethod
    def of(cls, core: pa.Table, near: pa.Table, has_z: bool) -> "Points":
        """Core rows, then halo rows: each column copied once, from the
        Arrow chunks of both tables."""
        def column(name, dtype):
            chunks = [chunk.to_numpy() for rows in (core, near) for chunk in rows[name].chunks]
            return np.concatenate(chunks or [np.empty(0, dtype)]).astype(dtype, copy=False)

        z = column("z", np.float64) if has_z else np.zeros(len(core) + len(near))
        return cls(column("x", np.float64), column("y", np.float64), z,
                   column("_group", np.int64), column("_loc", np.int64), len(core))

    def take(self, members: np.ndarray) -> "Points":
        """The points at ascending positions ``members`` (core rows stay first)."""
        return Points(self.x[members], self.y[members], self.z[members], self.group[members],
                      self.loc[members], int(np.searchsorted(members, self.n_core)))

    def by_roi(self, n_channels: int):
        """``(roi, core_rows, points)`` per ROI having core rows: the ROI's
        points (core first) and the tile's core rows among them (None when
        the ROI has every point: the same rows).  Only points of one ROI
        interact, so each ROI gets its own cell lists."""
        for roi, members in runs(self.group // n_channels):
            if members.size == self.x.size:
                yield roi, None, self
                continue
            points = self.take(members)
            if points.n_core:
                yield roi, members[:points.n_core], points


@dataclass
class CellList:
    """Points sorted into cubic cells, one grid per label (see
    :func:`~.kernels.build_cell_list`); ``order[k]`` is the input position
    of sorted point k."""

    x: np.ndarray
    y: np.ndarray
    z: np.ndarray
    start: np.ndarray
    lower: np.ndarray
    cell: float
    dims: np.ndarray
    order: np.ndarray
    n_labels: int = 1

    @classmethod
    def of(cls, x, y, z=None, min_cell: float = 0.0, label=None, n_labels: int = 1) -> "CellList":
        """Cells of about :data:`POINTS_PER_CELL` points per grid (over the
        bounding box), at least ``min_cell`` wide, never more than ~4 cells per point
        in all grids together; ``z`` None: planar points (``CellList.z``
        empty); ``label`` (0 to ``n_labels - 1``; default all 0) gives each
        label its grid."""
        z = np.empty(0) if z is None else z
        lower = np.array([x.min(), y.min(), z.min() if z.size else 0.0])
        extent = np.array([x.max(), y.max(), z.max() if z.size else 0.0]) - lower
        active = extent > 0
        if active.any():
            per_grid = x.size / n_labels
            cell = (np.prod(extent[active]) * POINTS_PER_CELL / per_grid) ** (1 / active.sum())
        else:
            cell = 1.0
        cell = max(cell, min_cell, 1e-9 * max(1.0, extent.max()))
        while True:
            dims = (extent // cell).astype(np.int64) + 1
            if n_labels * np.prod(dims.astype(np.float64)) <= 4 * x.size + 64:
                break
            cell *= 1.5
        label = np.zeros(x.size, np.int64) if label is None else np.asarray(label, np.int64)
        if label.shape != x.shape or (x.size and not 0 <= label.min() <= label.max() < n_labels):
            raise ValueError(f"labels must be one per point in [0, {n_labels})")
        order, start, xs, ys, zs = build_cell_list(x, y, z, label, n_labels, lower, cell, dims)
        return cls(xs, ys, zs, start, lower, float(cell), dims, order, n_labels)

    @classmethod
    def of_points(cls, points: "Points", n_channels: int, has_z: bool,
                  min_cell: float = 0.0) -> "CellList":
        """One ROI's points, a grid per channel (``group % n_channels``)."""
        return cls.of(points.x, points.y, points.z if has_z else None, min_cell=min_cell,
                      label=points.group % n_channels, n_labels=n_channels)

    def positions_of_first(self, n: int) -> np.ndarray:
        """Sorted positions of the first ``n`` input points (a tile's core
        rows), ascending: in memory order."""
        return np.flatnonzero(self.order < n)

    def count(self, queries, radius) -> np.ndarray:
        """(queries, labels) counts of the points of each label within
        ``radius`` (one, or one per label; inclusive; none where < 0 or NaN)
        of the points at sorted positions ``queries`` (each counts itself),
        each label searched as many cells around the query as its radius
        needs."""
        radius = np.broadcast_to(np.asarray(radius, np.float64), (self.n_labels,))
        defined = radius >= 0
        reach = np.ceil(np.where(defined, radius, 0) / self.cell).astype(np.int64)
        radius2 = np.where(defined, radius * radius, -1.0)
        return count_within(self.x, self.y, self.z, self.start, self.lower, self.cell,
                            self.dims, queries, reach, radius2)


def _tile_rows(core_rows, positions: np.ndarray) -> np.ndarray:
    """Tile rows of positions in one ROI's points (``core_rows`` from
    :meth:`Points.by_roi`; None: the same)."""
    return positions if core_rows is None else core_rows[positions]


# ---------------------------------------------------------------- nearest neighbours

def _margins(x, y, box, halo, bbox) -> np.ndarray:
    """Distance from each core point to the nearest face of its tile's loaded
    region (box widened by ``halo``) beyond which the table has points; inf
    when there is none (the tile saw everything near it)."""
    x0, x1, y0, y1 = box
    out = np.full(x.size, np.inf)
    for beyond, distance in ((x0 - halo > bbox[0], lambda: x - (x0 - halo)),
                             (x1 + halo < bbox[1], lambda: (x1 + halo) - x),
                             (y0 - halo > bbox[2], lambda: y - (y0 - halo)),
                             (y1 + halo < bbox[3], lambda: (y1 + halo) - y)):
        if beyond:
            np.minimum(out, distance(), out=out)
    return out


@dataclass
class KeptTile:
    """A tile as the nearest pass prepared it, kept in memory for the count
    pass (small tables, see :func:`~.index.coloc_index`): its points, per
    ROI ``(roi, core_rows, points, cell list)``, and the nearest-neighbour
    distances of its core rows."""

    points: Points
    lists: list
    nnd: np.ndarray


def nearest_tile(store: TileStore, tile: int, plan: Plan, group_sizes, bbox, nnd_path,
                 keep: bool = False) -> dict:
    """Nearest same-group neighbour of the tile's localizations, saved to
    ``nnd_path`` in core-row order (``keep``: returned as ``kept``, a
    :class:`KeptTile`, instead).  Returns per-group counts and sums of
    the exact distances, and the rows (``far``) whose nearest neighbour may
    lie beyond the halo, with the best distance seen as an upper bound."""
    core, near = store.load(tile, store.halo, z=plan.has_z)
    points = Points.of(core, near, plan.has_z)
    if points.n_core == 0:
        return {"n": np.zeros(plan.n_groups), "sum": np.zeros(plan.n_groups), "far": None,
                "kept": None}
    margin = _margins(points.x[:points.n_core], points.y[:points.n_core],
                      store.layout.boxes[tile], store.halo, bbox)
    nnd = np.empty(points.n_core)
    n_ch = len(plan.channels)
    lists = []
    for roi, rows, part in points.by_roi(n_ch):  # one cell list per ROI, a grid per channel
        cells = CellList.of_points(part, n_ch, plan.has_z)
        queries = cells.positions_of_first(part.n_core)
        found = _tile_rows(rows, cells.order[queries])
        nnd[found] = nearest_other(cells.x, cells.y, cells.z, cells.start, cells.lower,
                                   cells.cell, cells.dims, queries, margin[found])
        lists.append((roi, rows, part, cells))
    group = points.group[:points.n_core]
    lonely = np.flatnonzero(group_sizes < 2)  # groups of one localization in the table
    alone = np.isin(group, lonely) if lonely.size else np.zeros(group.size, bool)
    nnd[alone] = np.nan
    exact = alone | (nnd <= margin)
    if not keep:
        np.save(nnd_path, nnd)
    found = exact & ~alone
    far = np.flatnonzero(~exact)
    counted, distances = (group, nnd) if far.size == 0 and not lonely.size else \
        (group[found], nnd[found])
    return {
        "n": np.bincount(counted, minlength=plan.n_groups).astype(np.float64),
        "sum": np.bincount(counted, weights=distances, minlength=plan.n_groups),
        "far": pd.DataFrame({"tile": tile, "position": far, "x": points.x[far],
                             "y": points.y[far], "z": points.z[far], "group": group[far],
                             "loc": points.loc[far], "bound": nnd[far]}) if far.size else None,
        "kept": KeptTile(points, lists, nnd) if keep else None,
    }


def nearest_far_in_tile(store: TileStore, tile: int, queries: pd.DataFrame, has_z: bool):
    """Nearest-neighbour distances of far ``queries`` among the core rows of
    ``tile``, capped at each query's ``bound``."""
    reach, x = queries["bound"].to_numpy(), queries["x"].to_numpy()
    core, _ = store.load(tile, 0.0, z=has_z, window=((x - reach).min(), (x + reach).max()))
    points = Points.of(core, core.slice(0, 0), has_z)
    order = np.flatnonzero(np.isin(points.group, queries["group"].to_numpy()))
    order = order[np.argsort(points.x[order], kind="stable")]
    return nearest_by_sweep(*(queries[c].to_numpy(t) for c, t in
                              (("x", np.float64), ("y", np.float64), ("z", np.float64),
                               ("group", np.int64), ("loc", np.int64), ("bound", np.float64))),
                            points.x[order], points.y[order], points.z[order],
                            points.group[order], points.loc[order])


def resolve_far(far: pd.DataFrame, store: TileStore, tile_counts: np.ndarray,
                has_z: bool) -> pd.DataFrame:
    """Exact nearest neighbours of the localizations whose neighbour may lie
    beyond their tile's halo: every tile holding a localization of the
    group closer than an upper bound (the best seen, or the farthest corner
    of the nearest such tile) is searched by brute force.  Returns ``far``
    with the column ``nnd``."""
    boxes = store.layout.boxes
    candidates = [[] for _ in range(len(boxes))]
    for lo in range(0, len(far), FAR_QUERY_BLOCK):
        block = far.iloc[lo:lo + FAR_QUERY_BLOCK]
        near, farthest = box_distances(block["x"].to_numpy(), block["y"].to_numpy(),
                                       block["z"].to_numpy(), boxes, store.layout.z_range)
        holds = tile_counts[:, block["group"].to_numpy()].T  # (queries, tiles)
        own = block["tile"].to_numpy()
        holds[np.arange(len(block)), own] -= 1  # the query itself
        holds = holds > 0
        bound = np.minimum(block["bound"].to_numpy(),
                           np.where(holds, farthest, np.inf).min(axis=1))
        far.iloc[lo:lo + FAR_QUERY_BLOCK, far.columns.get_loc("bound")] = bound
        for q, tile in zip(*np.nonzero(holds & (near <= bound[:, None]))):
            candidates[tile].append(lo + q)
    tasks, owners = [], []
    for tile, members in enumerate(candidates):
        if members:
            tasks.append(dask.delayed(nearest_far_in_tile)(store, tile, far.iloc[members], has_z))
            owners.append(np.asarray(members))
    best = np.full(len(far), np.inf)
    for members, distances in zip(owners, compute(tasks)):
        np.minimum.at(best, members, distances)
    return far.assign(nnd=best)


# ---------------------------------------------------------------- counts

def count_tile(store: TileStore, tile: int, plan: Plan, radius: np.ndarray, exclude_self: bool,
               nnd_path, patch: pd.DataFrame | None, out_dir, offsets,
               kept: KeptTile | None = None) -> dict:
    """LD and neighbours per other channel of the tile's localizations.

    ``radius[group]`` is the search radius of a group (< 0: undefined).
    For every ROI, one cell list of all its points (a grid per channel,
    cells at least the smallest radius wide) gives each core localization
    (in cell order, for the cache) its count of points of every channel o
    within o's radius;
    the own channel's count less the localization itself is LD.  Writes the results
    (``_group``, ``_loc``, ``nnd``, ``ld``, ``n_<o>``) grouped by the input
    partition they came from (``offsets``: first ``_loc`` of each; the core
    rows are in input order, so each partition's rows are one slice) to
    ``out_dir/p<partition>/t<tile>.arrow``; returns per-group sums of
    LD, and per (group, channel) sums of N and N² for the summary.
    A ``kept`` tile (:func:`nearest_tile`) serves when its halo covers the
    largest radius: its points, distances, and cell lists wide enough.
    """
    halo = max(float(radius.max()), 0.0)
    n_ch = len(plan.channels)
    if kept is not None and halo <= store.halo:
        points, lists = kept.points, kept.lists
    else:
        core, near = store.load(tile, halo, z=plan.has_z)
        if len(core) == 0:
            nothing = np.empty(0, np.int64)
            return _sums(local_density_sums(nothing, np.empty((0, n_ch), np.int64), radius,
                                            exclude_self, plan.n_groups)[1:])
        points = Points.of(core, near, plan.has_z)
        lists = [(roi, rows, part, None) for roi, rows, part in points.by_roi(n_ch)]
    counts = np.empty((points.n_core, n_ch), np.int64)
    for roi, rows, part, cells in lists:
        r = radius[roi * n_ch:(roi + 1) * n_ch]
        positive = r[r > 0]
        min_cell = positive.min() if positive.size else 0.0
        if cells is None or cells.cell < min_cell:
            cells = CellList.of_points(part, n_ch, plan.has_z, min_cell)
        queries = cells.positions_of_first(part.n_core)
        counts[_tile_rows(rows, cells.order[queries])] = cells.count(queries, r)
    group = points.group[:points.n_core]
    own = group % n_ch
    ld, *sums = local_density_sums(group, counts, radius, exclude_self, plan.n_groups)
    nnd = kept.nnd if kept is not None else np.load(nnd_path)
    if patch is not None:
        nnd[patch["position"].to_numpy()] = patch["nnd"].to_numpy()
    loc = points.loc[:points.n_core]
    columns = {"_group": group, "_loc": loc, "nnd": nnd, "ld": ld}
    for c, name in enumerate(plan.channels):
        columns[f"n_{name}"] = pa.array(counts[:, c], mask=own == c)
    table = pa.table(columns)
    if np.any(loc[1:] < loc[:-1]):  # see TileStore._read and RoiSpec.expand
        raise AssertionError(f"tile {tile}: core rows out of input order")
    bounds = np.searchsorted(loc, np.append(offsets, np.iinfo(np.int64).max))
    for number in np.flatnonzero(np.diff(bounds)):  # one slice per input partition
        folder = Path(out_dir) / f"p{number:06d}"
        folder.mkdir(exist_ok=True)
        write_table(table.slice(bounds[number], bounds[number + 1] - bounds[number]),
                    folder / f"t{tile:06d}.arrow")
    return _sums(sums)


def _sums(sums) -> dict:
    return dict(zip(("ld", "n", "n2"), sums))


def partition_results(out_dir, number: int, channels) -> pd.DataFrame:
    """The computed rows of input partition ``number``, sorted by
    (``_loc``, ``_group``); empty (typed) when it has none."""
    files = sorted((Path(out_dir) / f"p{number:06d}").glob("*.arrow"))
    if not files:
        empty = {"_group": np.int64, "_loc": np.int64, "nnd": np.float64, "ld": np.int64}
        empty.update({f"n_{c}": "Int64" for c in channels})
        return pd.DataFrame({k: pd.Series(dtype=t) for k, t in empty.items()})
    table = pa.concat_tables([read_table(f) for f in files])
    order = np.lexsort([table["_group"].to_numpy(), table["_loc"].to_numpy()])
    return table.take(order).to_pandas(types_mapper={pa.int64(): pd.Int64Dtype()}.get) \
        .astype({"_group": np.int64, "_loc": np.int64, "ld": np.int64})
