"""Co-localization maps as PNG, like the paper's figures.

One map per (ROI, channel, other channel): the channel's localizations
coloured by ``ci_<other>`` (colour map CMRmap, 0 to 2, as in the paper's
figures) on a dark background.  Up to ``max_points`` localizations are drawn
as dots; beyond, the map is rasterized: the mean CI of the localizations in
each pixel, accumulated partition by partition (memory: one image).
Matplotlib is used through its object API with the Agg canvas (no pyplot,
no global backend).
"""

from __future__ import annotations

import re
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

MAX_POINTS = 200_000
RASTER_PIXELS = 1024  # pixels along the longer side of a rasterized map
CI_RANGE = (0.0, 2.0)
COLORMAP = "CMRmap"


def _selection(frame, channel_column, channel, roi_column, roi):
    keep = frame[channel_column] == channel
    if roi_column is not None:
        keep &= frame[roi_column] == roi
    return frame[keep]


def _histograms(frame: pd.DataFrame, column, edges):
    ci = frame[column].to_numpy(np.float64)
    finite = np.isfinite(ci)
    x, y = frame["x"].to_numpy()[finite], frame["y"].to_numpy()[finite]
    total, _, _ = np.histogram2d(y, x, bins=edges[::-1], weights=ci[finite])
    count, _, _ = np.histogram2d(y, x, bins=edges[::-1])
    return total, count


def rasterize(points, column: str, pixels: int = RASTER_PIXELS):
    """(mean CI image, extent) of a pandas or dask table with ``x``, ``y``."""
    bounds = dask.compute(points["x"].min(), points["x"].max(), points["y"].min(),
                          points["y"].max())
    x0, x1, y0, y1 = (float(v) for v in bounds)
    step = max(x1 - x0, y1 - y0, 1e-9) / pixels
    edges = (np.arange(x0, x1 + step, step), np.arange(y0, y1 + step, step))
    if isinstance(points, dd.DataFrame):
        parts = dask.compute(*[dask.delayed(_histograms)(p, column, edges)
                               for p in points.to_delayed()])
        total = sum(p[0] for p in parts)
        count = sum(p[1] for p in parts)
    else:
        total, count = _histograms(points, column, edges)
    with np.errstate(invalid="ignore", divide="ignore"):
        image = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return image, (edges[0][0], edges[0][-1], edges[1][0], edges[1][-1])


def ci_map(points, column: str, title: str, path, max_points: int = MAX_POINTS,
           n_points: int | None = None) -> Path:
    """Write one map of ``points`` (pandas or dask) coloured by ``column``."""
    from matplotlib import colormaps
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6, 5.4), dpi=150, facecolor="black")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot(facecolor="black")
    norm = Normalize(*CI_RANGE)
    cmap = colormaps[COLORMAP].with_extremes(bad="dimgray")
    n_points = len(points) if n_points is None else n_points
    if n_points <= max_points:
        if isinstance(points, dd.DataFrame):
            points = points[["x", "y", column]].compute()
        size = float(np.clip(2e4 / max(n_points, 1), 0.2, 6))
        axes.scatter(points["x"], points["y"], s=size, c=points[column], cmap=cmap, norm=norm,
                     linewidths=0, plotnonfinite=True)
        how = f"{n_points:,} localizations"
    else:
        image, extent = rasterize(points, column)
        axes.imshow(image, extent=extent, origin="lower", cmap=cmap, norm=norm,
                    interpolation="nearest")
        how = f"{n_points:,} localizations, mean CI per pixel"
    axes.set_aspect("equal")
    axes.set_xlabel("x (nm)", color="white")
    axes.set_ylabel("y (nm)", color="white")
    axes.tick_params(colors="white")
    axes.set_title(f"{title}\n{how}", color="white", fontsize=9)
    bar = figure.colorbar(ScalarMappable(norm, cmap), ax=axes)
    bar.set_label("co-localization index", color="white")
    bar.ax.tick_params(colors="white")
    figure.savefig(path, facecolor="black")
    return Path(path)


def write_ci_maps(localizations, summary: pd.DataFrame, folder, *, channel: str,
                  roi_column: str | None = None, max_points: int = MAX_POINTS) -> list[Path]:
    """One map per summary row into ``folder``: ``ci_<roi>_<channel>_vs_<other>.png``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for row in summary.itertuples(index=False):
        points = _selection(localizations, channel, row.channel, roi_column, row.roi)
        name = re.sub(r"[^\w.-]+", "_", f"ci_{row.roi}_{row.channel}_vs_{row.other}")
        title = (f"CI of {row.channel} vs {row.other}"
                 + (f", ROI {row.roi}" if roi_column else "") + f" (mean {row.mean_ci:.3f})")
        written.append(ci_map(points, f"ci_{row.other}", title, folder / f"{name}.png",
                              max_points, n_points=int(row.n)))
    return written
