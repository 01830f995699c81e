"""The SMLM co-localization index (CI) of Willems & MacGillavry (2022).

Definitions, within one ROI (only localizations of that ROI count), for a
channel c and another channel o:

    nnd_i      distance from localization i of c to the nearest *other*
               localization of c (a duplicate at the same place gives 0)
    MNND_c     mean of nnd_i over the localizations of c
    ε_c        mean localization precision of c (the ``precision`` column:
               σ, or ε = sqrt((σx² + σy²)/2) for separate x/y precisions and
               sqrt((σx² + σy² + σz²)/3) in 3D, see :mod:`.readers`)
    d_c        = sqrt(MNND_c² + ε_c²), the effective resolution
    r_c        = radius_factor · d_c, the search radius (factor 1 in the paper)
    LD_i       number of localizations j ≠ i of c with |p_i − p_j| ≤ r_c
               (inclusive; ``exclude_self=False`` counts i itself too)
    N_i^o      number of localizations of o with |p_i − p_j| ≤ r_o (the
               *other* channel's radius)
    CI_i^o     = N_i^o / mean(LD of o), the column ``ci_<o>``

CI ≈ 1 when both channels follow one spatial distribution, 0 when they are
apart, > 1 when c sits where o is denser than on average.  A mean LD of 0
(or a channel with fewer than two localizations in a ROI, whose d is
undefined) gives NaN CI against it, with a :class:`~streamcoloc.ColocWarning`.
Distances are 2D, or 3D when the table has a ``z`` column.

Reference: Willems J, MacGillavry HD (2022) A coordinate-based
co-localization index to quantify and visualize spatial associations in
single-molecule localization microscopy. Sci Rep 12:4676.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
import warnings
import weakref
from dataclasses import dataclass, field, replace
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

from ..analysis import ColocWarning
from ..engine.runtime import parallelism, runs_locally
from .grid import TileLayout, TileStore
from .pipeline import Plan, bucket, compute, count_tile, nearest_tile, \
    partition_results, resolve_far, survey
from .rois import RoiSpec

SUMMARY_COLUMNS = ["roi", "channel", "other", "n", "mnnd", "precision", "d", "mean_ld",
                   "mean_ci", "sem_ci"]
#: Mean nearest-neighbour distance of a Poisson process of density ρ:
#: Γ(1 + 1/k) / (ρ V_k)^(1/k) with V_k the unit-ball volume: 0.5 ρ^-1/2 (2D),
#: 0.554 ρ^-1/3 (3D).  Only used to size the bucketing halo.
POISSON_MNND = {2: 0.5, 3: 0.554}
HALO_SAFETY = 1.5  # bucketing halo = 1.5 x the estimated largest search radius ...
HALO_MNNDS = 10.0  # ... and at least 10 estimated MNNDs (for the nearest-neighbour pass)
TILES_PER_WORKER = 2  # tiles per worker thread, for load balance (see balanced_tile_points)
MIN_TILE_POINTS = 100_000
#: memory per localization of a tile task (what ``tile_points`` bounds) and of
#: a tile kept from the nearest pass for the count pass (points, cell lists,
#: distances, halo rows included: 89 B per localization on bench_smlm's 10^6
#: per channel, 91 B on the simulated table of
#: tests/smlm/test_pipeline.py, which checks the bound); tiles are kept when
#: they all fit in what the tasks may hold at once (see keep_tiles)
TASK_BYTES_PER_LOCALIZATION = 300
KEPT_BYTES_PER_LOCALIZATION = 100


def effective_resolution(mnnd, precision):
    """d = sqrt(MNND² + ε²) (Willems & MacGillavry 2022, eq. 1)."""
    return np.sqrt(np.square(mnnd) + np.square(precision))


def mean_ci_and_sem(n_sum, n2_sum, count, mean_ld_other):
    """Mean and standard error of CI_i = N_i / mean_ld_other over ``count``
    localizations from the exact sums ΣN and ΣN² (sample variance, n − 1).
    NaN when the mean LD is 0 or undefined (or, for the SEM, count < 2)."""
    if count == 0 or not mean_ld_other > 0:
        return np.nan, np.nan
    mean = n_sum / count / mean_ld_other
    if count < 2:
        return mean, np.nan
    squares = count * n2_sum - n_sum * n_sum  # Python ints: exact
    return mean, np.sqrt(squares / (count * (count - 1)) / count) / mean_ld_other


@dataclass
class CIResult:
    """Per-localization CI (``localizations``), one summary row per ROI,
    channel and other channel (``summary``) and the run's provenance
    (``attrs``).  ``localizations`` is pandas for a pandas input; for a dask
    or file input it is a lazy dask DataFrame that re-reads each input
    partition and joins it, by position, with that partition's results
    stored as Arrow files in the work folder (kept while the result lives)."""

    localizations: pd.DataFrame | dd.DataFrame
    summary: pd.DataFrame
    attrs: dict = field(default_factory=dict)

    def write(self, out_dir, *, inputs: dict | None = None, plots: bool = True) -> Path:
        """Write the results folder (see :mod:`streamcoloc.reports.results`):
        ``results.csv``/``results.parquet`` (the summary), ``run.json``,
        ``localizations.parquet`` (a file, or a folder of parts for a dask
        table) and ``plots/ci_<roi>_<channel>_vs_<other>.png``."""
        from ..reports import write_results
        from .plots import write_ci_maps

        out = write_results(self.summary, out_dir, inputs=inputs or {}, extra=self.attrs)
        target = out / "localizations.parquet"
        if target.is_dir():
            shutil.rmtree(target)
        roi_column = ("roi" if self.attrs.get("roi_mode") == "shapes" else
                      self.attrs.get("roi_column"))
        channel = self.attrs["channel_column"]
        mapped = self.localizations
        if isinstance(mapped, pd.DataFrame):
            mapped.to_parquet(target)
        else:
            mapped.to_parquet(target, write_index=False)
            # The maps read back the columns they show from the file just
            # written, rather than recomputing the lazy table once per map.
            shown = ["x", "y", channel] + ([roi_column] if roi_column else []) + [
                c for c in mapped.columns if c.startswith("ci_")]
            mapped = dd.read_parquet(target, columns=list(dict.fromkeys(shown)))
        if plots:
            write_ci_maps(mapped, self.summary, out / "plots", roi_column=roi_column,
                          channel=channel)
        return out


def coloc_index(locs, *, channel: str = "channel", channels=None, roi=None,
                radius_factor: float = 1.0, exclude_self: bool = True,
                precision: str | float = "precision", tile_points: int = 1_000_000,
                partition_rows: int = 500_000, workdir=None,
                bucket_halo: float | None = None) -> CIResult:
    """Co-localization index of every localization against every other channel.

    Parameters
    ----------
    locs : pandas or dask DataFrame in the standard schema (``x``, ``y``, and
        ``z`` for 3D, in nm; see :func:`.read_localizations`), or a path.
    channel : name of the channel column.
    channels : channel values to analyse (default: all, sorted); at least two.
    roi : None (the whole table), the name of an ROI column, a rectangle
        ``(x0, y0, x1, y1)``, a polygon ``[(x, y), ...]``, or a list or dict of
        them (see :mod:`.rois`); d is computed per ROI.
    radius_factor : search radius = factor × d (1 in the paper).
    exclude_self : LD excludes the localization itself (the paper's
        definition); False counts it (LD + 1).
    precision : precision column (nm) or one precision for every localization.
    tile_points : at most about this many localizations per tile: with the
        halo, a task's memory (~300 B per localization) is bounded by it.
        Fewer when that gives each worker thread :data:`TILES_PER_WORKER`
        tiles of at least :data:`MIN_TILE_POINTS` (:func:`balanced_tile_points`).
    partition_rows : rows per partition when ``locs`` is a pandas DataFrame.
    workdir : folder for the bucketed table and results (a new subfolder is
        made in it; default: the system temp folder).  With dask.distributed
        it must be visible to the workers.
    bucket_halo : halo (nm) stored with each tile; default from a density
        estimate.  A search radius beyond it reads the neighbouring tiles.

    Returns
    -------
    CIResult whose ``localizations`` has the input columns plus ``roi`` (with
    shape ROIs), ``nnd``, ``ld``, and ``n_<o>``, ``ci_<o>`` per channel o
    (missing for the localization's own channel), and whose ``summary`` has
    the columns :data:`SUMMARY_COLUMNS` (``mean_ci``, ``sem_ci``: mean and
    standard error of ``ci_<other>`` over the channel's localizations).
    """
    started = time.perf_counter()
    frame, source = _frame(locs)
    names = list(frame.columns)
    plan = Plan(channel, RoiSpec.parse(roi), precision, "z" in names)
    has_z = plan.has_z
    needed = list(dict.fromkeys(
        plan.checked_columns() + ([plan.rois.column] if plan.rois.column else [])))
    _check_columns(names, needed, source)
    whole = _partitions(frame, partition_rows)  # every column: for the output rows
    partitions = whole  # pandas slices are views: a projection would only copy
    if not isinstance(frame, pd.DataFrame):  # dask: the projection reaches the reader
        partitions = _partitions(frame[needed], partition_rows)
        if len(partitions) != len(whole):  # a reader that regrouped: keep one partitioning
            partitions = whole
    seconds = {}

    # a table read from files: partitions small enough are kept for the bucket pass
    keep_bytes = 0 if isinstance(frame, pd.DataFrame) else \
        kept_bytes(tile_points) // max(len(partitions), 1)
    found = survey(partitions, plan, source, keep_bytes)
    plan = replace(plan, channels=_channels(found["groups"], channels, source),
                   roi_keys=tuple(plan.rois.keys(found["bbox"].index)))
    if plan.rois.column is not None:  # the survey saw raw ROI values
        found["groups"].index = found["groups"].index.set_levels(
            pd.Index(plan.roi_keys).get_indexer(found["groups"].index.levels[0]), level=0)
        found["bbox"].index = pd.Index(plan.roi_keys).get_indexer(found["bbox"].index)
    count, precision_mean = _group_table(found["groups"], plan)
    seconds["survey"] = time.perf_counter() - started

    bbox = found["bbox"]
    extent = (bbox["xmin"].min(), bbox["xmax"].max(), bbox["ymin"].min(), bbox["ymax"].max(),
              bbox["zmin"].min(), bbox["zmax"].max())
    total = int(count.sum())
    per_tile = balanced_tile_points(total, tile_points)
    layout = TileLayout.from_sample(*found["sample"], extent, total, per_tile)
    halo = bucket_halo if bucket_halo is not None else _bucket_halo(
        count, precision_mean, bbox, plan, radius_factor, layout)
    work = Path(tempfile.mkdtemp(prefix="streamcoloc-smlm-", dir=workdir))
    store = TileStore(work / "tiles", layout, halo)
    offsets = np.concatenate([[0], np.cumsum(found["n_rows"])[:-1]])
    partitions = [p if kept is None else kept for p, kept in zip(partitions, found.pop("parts"))]
    tile_counts = bucket(partitions, offsets, plan, store, source)
    del partitions  # the kept ones
    seconds["bucket"] = time.perf_counter() - started - sum(seconds.values())

    tiles = [t for t in range(layout.n_tiles) if tile_counts[t].any()]
    (work / "nnd").mkdir()
    keep = keep_tiles(total, tile_points)
    records = compute([dask.delayed(nearest_tile)(store, t, plan, count, extent,
                                                  work / "nnd" / f"t{t:06d}.npy", keep)
                       for t in tiles])
    found_n = np.sum([r["n"] for r in records], axis=0)
    found_sum = np.sum([r["sum"] for r in records], axis=0)
    far = [r["far"] for r in records if r["far"] is not None]
    far = resolve_far(pd.concat(far, ignore_index=True), store, tile_counts, has_z) \
        if far else None
    if far is not None:
        found_n += np.bincount(far["group"], minlength=plan.n_groups)
        found_sum += np.bincount(far["group"], weights=far["nnd"], minlength=plan.n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        mnnd = np.where(count >= 2, found_sum / found_n, np.nan)
    d = effective_resolution(mnnd, precision_mean)
    radius = np.where(np.isfinite(d), radius_factor * d, -1.0)
    seconds["nearest"] = time.perf_counter() - started - sum(seconds.values())

    (work / "out").mkdir()
    patches = dict(tuple(far.groupby("tile"))) if far is not None else {}
    sums = compute([dask.delayed(count_tile)(store, t, plan, radius, exclude_self,
                                             work / "nnd" / f"t{t:06d}.npy", patches.get(t),
                                             work / "out", offsets, r["kept"])
                    for t, r in zip(tiles, records)])
    del records  # the kept tiles
    ld_sum = _exact(np.sum([s["ld"] for s in sums], axis=0))
    n_sum = _exact(np.sum([s["n"] for s in sums], axis=0))
    n2_sum = _exact(np.sum([s["n2"] for s in sums], axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_ld = np.array([s / n if n else np.nan for s, n in zip(ld_sum, count)])
    seconds["count"] = time.perf_counter() - started - sum(seconds.values())

    _warn_undefined(plan, count, mean_ld)
    summary = _summary(plan, count, mnnd, precision_mean, d, mean_ld, n_sum, n2_sum)
    with_roi = plan.rois.shapes is not None
    join = (work / "out", offsets, plan.channels, plan.roi_keys, mean_ld, with_roi)
    in_memory = isinstance(frame, pd.DataFrame)
    if in_memory:
        localizations = pd.concat([localization_rows(p, i, *join) for i, p in enumerate(whole)])
        if workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    else:
        localizations = dd.from_delayed(
            [dask.delayed(localization_rows)(p, i, *join) for i, p in enumerate(whole)],
            meta=localization_rows(frame._meta, -1, *join), verify_meta=False)
    seconds["total"] = time.perf_counter() - started
    attrs = {
        "method": "co-localization index, Willems & MacGillavry 2022 (Sci Rep 12:4676)",
        "source": source, "channel_column": channel, "channels": _plain(plan.channels),
        "roi_mode": "column" if plan.rois.column else ("shapes" if with_roi else "none"),
        "roi_column": plan.rois.column, "rois": _plain(plan.roi_keys),
        "radius_factor": radius_factor, "exclude_self": exclude_self,
        "distance": "3D" if has_z else "2D", "neighbour_rule": "distance <= radius",
        "precision": precision if not isinstance(precision, str) else f"column {precision!r}",
        "n_tiles": layout.n_tiles, "tile_points": tile_points,
        "tile_points_used": per_tile, "bucket_halo_nm": halo,
        "max_radius_nm": float(radius.max()), "far_nearest_neighbours": 0 if far is None
        else len(far), "workdir": None if in_memory and workdir is None else str(work),
        "seconds": seconds,
    }
    result = CIResult(localizations, summary, attrs)
    if not in_memory and workdir is None:
        weakref.finalize(result, shutil.rmtree, work, True)
    return result


def localization_rows(part: pd.DataFrame, number: int, out_dir, offsets, channels, roi_keys,
                      mean_ld, with_roi: bool) -> pd.DataFrame:
    """The output rows of input partition ``number`` (first row ``_loc`` =
    ``offsets[number]``): its rows that took part (once per ROI), with
    ``roi`` (shape ROIs), ``nnd``, ``ld``, ``n_<o>`` and ``ci_<o> = n_<o> /
    mean LD of o`` in the row's ROI (NaN when that mean is 0 or undefined).
    A join by position, partition by partition: no shuffle."""
    computed = partition_results(out_dir, number, channels)
    positions = computed["_loc"].to_numpy() - (offsets[number] if number >= 0 else 0)
    out = part.iloc[positions].copy()
    n_ch = len(channels)
    roi = computed["_group"].to_numpy() // n_ch
    if with_roi:
        out["roi"] = pd.Index(list(roi_keys)).take(roi).to_numpy()
    out["nnd"] = computed["nnd"].to_numpy()
    out["ld"] = computed["ld"].to_numpy()
    for name in channels:
        out[f"n_{name}"] = computed[f"n_{name}"].array
    for c, name in enumerate(channels):
        denominator = np.asarray(mean_ld)[roi * n_ch + c]
        counts = computed[f"n_{name}"].to_numpy(np.float64, na_value=np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[f"ci_{name}"] = np.where(denominator > 0, counts / denominator, np.nan)
    return out


# ---------------------------------------------------------------- helpers

def balanced_tile_points(total: int, tile_points: int) -> int:
    """Localizations per tile: ``tile_points`` at most, fewer so that every
    worker thread gets :data:`TILES_PER_WORKER` tiles while tiles keep at
    least :data:`MIN_TILE_POINTS` (tiny tiles cost more halo than they
    balance).  ``benchmarks/bench_smlm.py`` prints the ratio against one tile
    per thread at 10^6 localizations per channel."""
    balanced = -(-total // (TILES_PER_WORKER * parallelism()))
    return int(min(tile_points, max(MIN_TILE_POINTS, balanced)))


def kept_bytes(tile_points: int) -> int:
    """Memory that what one pass keeps for the next may take: what the tile
    tasks may hold at once (``tile_points`` x
    :data:`TASK_BYTES_PER_LOCALIZATION` x worker threads), so memory stays
    bounded by the tile size whatever the table; 0 (keep nothing) under
    dask.distributed, whose tasks run elsewhere."""
    return tile_points * TASK_BYTES_PER_LOCALIZATION * parallelism() if runs_locally() else 0


def keep_tiles(total: int, tile_points: int) -> bool:
    """Keep the tiles in memory from the nearest pass to the count pass
    (no second read, no second cell lists) when they fit in
    :func:`kept_bytes` (``total`` x :data:`KEPT_BYTES_PER_LOCALIZATION`)."""
    return total * KEPT_BYTES_PER_LOCALIZATION <= kept_bytes(tile_points)


def _frame(locs):
    """(pandas or dask DataFrame, description for messages)."""
    from .readers import read_localizations

    if isinstance(locs, (str, os.PathLike)) or (isinstance(locs, (list, tuple)) and locs
                                                and isinstance(locs[0], (str, os.PathLike))):
        return read_localizations(locs), str(locs)
    if isinstance(locs, pd.DataFrame):
        if locs.empty:
            raise ValueError("the localization table is empty")
        return locs, "DataFrame"
    if isinstance(locs, dd.DataFrame):
        return locs, "dask DataFrame"
    raise TypeError(f"locs must be a pandas or dask DataFrame or a path, not "
                    f"{type(locs).__name__}")


def _partitions(frame, partition_rows: int) -> list:
    """Pandas slices of ``partition_rows`` rows, or the dask partitions (as
    delayed objects; a column selection is pushed down to the reader)."""
    if isinstance(frame, pd.DataFrame):
        return [frame.iloc[lo:lo + partition_rows] for lo in range(0, len(frame), partition_rows)]
    return frame.to_delayed()


def _check_columns(names, needed, source) -> None:
    missing = [c for c in needed if c not in names]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; the table has "
                         f"{names} (read files with read_localizations, or "
                         "rename columns to the standard schema x, y, z, precision)")


def _channels(groups: pd.DataFrame, wanted, source) -> tuple:
    seen = sorted({_plain(v) for v in groups.index.get_level_values(1)})
    if wanted is not None:
        unknown = [_plain(c) for c in wanted if _plain(c) not in seen]
        if unknown:
            raise ValueError(f"{source}: channel(s) {unknown} not found; the table has {seen}")
        seen = [_plain(c) for c in wanted]
    if len(seen) < 2:
        raise ValueError(f"{source}: the CI needs at least two channels, found {seen}")
    return tuple(seen)


def _group_table(groups: pd.DataFrame, plan: Plan):
    """Localizations and mean precision per group (dense group order)."""
    count = np.zeros(plan.n_groups, np.int64)
    total = np.zeros(plan.n_groups)
    channel_index = pd.Index(plan.channels)
    for (roi, ch), row in groups.iterrows():
        if _plain(ch) not in channel_index:
            continue  # a channel left out
        g = int(roi) * len(plan.channels) + channel_index.get_loc(_plain(ch))
        count[g] += int(row["n"])
        total[g] += row["precision_sum"]
    with np.errstate(invalid="ignore", divide="ignore"):
        return count, np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _bucket_halo(count, precision_mean, bbox, plan, radius_factor, layout) -> float:
    """Bucketing halo from a Poisson estimate of each group's MNND (its
    ROI's bounding box): 1.5 x the largest estimated search radius, at least
    10 estimated MNNDs, at most half the narrowest tile (beyond, tiles read
    their neighbours)."""
    n_ch = len(plan.channels)
    estimates = []
    for g in np.flatnonzero(count >= 2):
        box = bbox.loc[g // n_ch]
        sides = np.array([box.xmax - box.xmin, box.ymax - box.ymin, box.zmax - box.zmin])
        sides = sides[sides > 0]
        if sides.size < 2:
            continue
        density = count[g] / np.prod(sides)
        mnnd = POISSON_MNND[sides.size] * density ** (-1 / sides.size)
        radius = radius_factor * effective_resolution(mnnd, precision_mean[g])
        estimates.append(max(HALO_SAFETY * radius, HALO_MNNDS * mnnd))
    boxes = layout.boxes
    narrowest = np.min(np.minimum(boxes[:, 1] - boxes[:, 0], boxes[:, 3] - boxes[:, 2]))
    halo = max(estimates, default=0.0)
    if layout.n_tiles > 1 and narrowest > 0:
        halo = min(halo, narrowest / 2)
    return float(halo)


def _exact(values) -> list:
    """int64 sums as Python ints (nested lists)."""
    return np.asarray(values, np.int64).tolist()


def _plain(value):
    """numpy scalars as Python values (for names and JSON)."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value.item() if isinstance(value, np.generic) else value


def _warn_undefined(plan: Plan, count, mean_ld) -> None:
    n_ch = len(plan.channels)
    for g in range(plan.n_groups):
        roi, ch = plan.roi_keys[g // n_ch], plan.channels[g % n_ch]
        where = f"channel {ch!r} in ROI {roi!r}"
        if count[g] == 0 and count[g - g % n_ch:g - g % n_ch + n_ch].any():
            warnings.warn(f"{where} has no localization: CI against it is NaN", ColocWarning,
                          stacklevel=3)
        elif count[g] == 1:
            warnings.warn(f"{where} has 1 localization: its MNND and d are undefined (NaN) and "
                          "CI against it is NaN", ColocWarning, stacklevel=3)
        elif count[g] >= 2 and not mean_ld[g] > 0:
            warnings.warn(f"{where}: mean LD is 0 (no localization has a neighbour of its "
                          "channel within d), so CI against it is NaN", ColocWarning,
                          stacklevel=3)


def _summary(plan, count, mnnd, precision_mean, d, mean_ld, n_sum, n2_sum) -> pd.DataFrame:
    n_ch = len(plan.channels)
    rows = []
    for r, roi in enumerate(plan.roi_keys):
        for c, channel in enumerate(plan.channels):
            g = r * n_ch + c
            if count[g] == 0:
                continue
            for o, other in enumerate(plan.channels):
                if o == c:
                    continue
                mean, sem = mean_ci_and_sem(n_sum[g][o], n2_sum[g][o], int(count[g]),
                                            mean_ld[r * n_ch + o])
                rows.append({"roi": _plain(roi), "channel": channel, "other": other,
                             "n": int(count[g]), "mnnd": mnnd[g],
                             "precision": precision_mean[g], "d": d[g], "mean_ld": mean_ld[g],
                             "mean_ci": mean, "sem_ci": sem})
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
