"""The co-localization index with scipy's cKDTree, in memory: a reference.

The same definitions as :mod:`.index` (LD without the localization itself,
N within the other channel's d, distances <= radius), written directly on
whole channels with ``scipy.spatial.cKDTree`` and sharing no code with the
tiled pipeline.  For checks on small tables and for the benchmark; memory
grows with the table.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree


def coloc_index_kdtree(table: pd.DataFrame, *, channel: str = "channel", roi: str | None = None,
                       radius_factor: float = 1.0, exclude_self: bool = True,
                       precision: str | float = "precision", workers: int = 1):
    """``(per_row, summary)``: per-row ``nnd``, ``ld``, ``n_<o>``, ``ci_<o>``
    (index of ``table``; one ROI per row, from the column ``roi``) and the
    per (roi, channel, other) means, as in :func:`.coloc_index`."""
    axes = ["x", "y", "z"] if "z" in table.columns else ["x", "y"]
    channels = sorted(table[channel].unique())
    rois = [None] if roi is None else sorted(table[roi].unique())
    columns = ["nnd", "ld"] + [f"{p}_{c}" for p in ("n", "ci") for c in channels]
    per_row = pd.DataFrame(np.nan, index=table.index, columns=columns)
    summary = []
    for key in rois:
        part = table if key is None else table[table[roi] == key]
        sets = {}
        for c in channels:
            rows = part[part[channel] == c]
            points = rows[axes].to_numpy(np.float64)
            tree = cKDTree(points)
            nnd = tree.query(points, k=2, workers=workers)[0][:, 1] if len(points) > 1 \
                else np.full(len(points), np.nan)
            eps = rows[precision].mean() if isinstance(precision, str) else float(precision)
            d = np.sqrt(np.mean(nnd) ** 2 + eps ** 2) if len(points) > 1 else np.nan
            ld = tree.query_ball_point(points, radius_factor * d, return_length=True,
                                       workers=workers) - (1 if exclude_self else 0) \
                if np.isfinite(d) else np.zeros(len(points), np.int64)
            sets[c] = dict(rows=rows, points=points, tree=tree, nnd=nnd, eps=eps, d=d, ld=ld)
            per_row.loc[rows.index, "nnd"] = nnd
            per_row.loc[rows.index, "ld"] = ld
        for c in channels:
            mine = sets[c]
            for o in channels:
                if o == c or not len(mine["points"]):
                    continue
                other = sets[o]
                if np.isfinite(other["d"]) and len(other["points"]):
                    n = other["tree"].query_ball_point(mine["points"], radius_factor * other["d"],
                                                       return_length=True, workers=workers)
                else:
                    n = np.zeros(len(mine["points"]), np.int64)
                mean_ld = other["ld"].mean() if len(other["ld"]) else np.nan
                ci = n / mean_ld if mean_ld > 0 else np.full(len(n), np.nan)
                per_row.loc[mine["rows"].index, f"n_{o}"] = n
                per_row.loc[mine["rows"].index, f"ci_{o}"] = ci
                summary.append({"roi": key, "channel": c, "other": o, "n": len(n),
                                "mnnd": np.mean(mine["nnd"]), "precision": mine["eps"],
                                "d": mine["d"], "mean_ld": np.mean(mine["ld"]),
                                "mean_ci": ci.mean(),
                                "sem_ci": ci.std(ddof=1) / np.sqrt(len(ci))})
    return per_row, pd.DataFrame(summary)
