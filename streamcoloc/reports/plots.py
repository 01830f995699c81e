"""PNG figures of the diagnostics (cytofluorogram, CCF, ICA, maps, randomization).

Each function draws one result of :mod:`streamcoloc.spatial` or
:mod:`streamcoloc.significance` into a PNG file
and returns its path.  Histograms are drawn with log-scaled counts (empty
bins left blank), since voxel counts span orders of magnitude.  Matplotlib
is used through its object API with the Agg canvas (no pyplot, no global
backend), so plotting is safe in scripts, threads and headless servers.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

COLORMAP = "viridis"
DPI = 120


def plot_cytofluorogram(result, path, names=("A", "B")) -> Path:
    """The joint histogram of a :class:`~streamcoloc.spatial.Cytofluorogram`
    with its regression line (red) and thresholds (dashed white)."""
    figure = Figure(figsize=(6, 5), layout="constrained")
    ax = figure.add_subplot()
    mesh = _log_histogram(ax, result.edges_a, result.edges_b, result.counts.T)
    x = np.array([result.edges_a[0], result.edges_a[-1]])
    if np.isfinite(result.slope):
        ax.plot(x, result.slope * x + result.intercept, color="red", lw=1.2,
                label=f"b = {result.slope:.4g}·a + {result.intercept:.4g}")
    if np.isfinite(result.threshold_a):
        ax.axvline(result.threshold_a, color="white", ls="--", lw=1,
                   label=f"thresholds {result.threshold_a:.4g}, {result.threshold_b:.4g}")
    if np.isfinite(result.threshold_b):
        ax.axhline(result.threshold_b, color="white", ls="--", lw=1)
    ax.set_xlim(result.edges_a[0], result.edges_a[-1])
    ax.set_ylim(result.edges_b[0], result.edges_b[-1])
    ax.set_xlabel(f"{names[0]} intensity")
    ax.set_ylabel(f"{names[1]} intensity")
    ax.set_title(f"Cytofluorogram (r = {result.pearson:.4f}, n = {result.n:,})")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize="small", framealpha=0.6)
    figure.colorbar(mesh, ax=ax, label="voxels")
    return _save(figure, path)


def plot_ccf(result, path) -> Path:
    """A :class:`~streamcoloc.spatial.CCFResult`: the CCF (dots), its
    Gaussian fit (blue) and the zero shift (red), as JACoP draws it."""
    figure = Figure(figsize=(6, 4), layout="constrained")
    ax = figure.add_subplot()
    ax.axvline(0, color="red", lw=1)
    ax.plot(result.shifts, result.ccf, "o", color="black", ms=4, label="CCF")
    if np.all(np.isfinite(result.fit)):
        fine = np.linspace(result.shifts[0], result.shifts[-1], 400)
        ax.plot(fine, result.fitted(fine), color="tab:blue",
                label=f"Gaussian fit: centre {result.centre:.2f}, FWHM {result.fwhm:.2f}")
    ax.set_xlabel(f"shift of b along axis {result.axis} (voxels)")
    ax.set_ylabel("Pearson's r")
    ax.set_title("Van Steensel's cross-correlation function")
    ax.legend(fontsize="small")
    return _save(figure, path)


def plot_ica(result, path, names=("A", "B")) -> Path:
    """The two panels of an :class:`~streamcoloc.spatial.ICAResult`:
    intensity against (a − ā)(b − b̄), with the zero line (red)."""
    figure = Figure(figsize=(11, 4.5), layout="constrained")
    axes = figure.subplots(1, 2)
    unit = " (normalized)" if result.normalize else ""
    for ax, counts, edges, name in ((axes[0], result.counts_a, result.edges_a, names[0]),
                                    (axes[1], result.counts_b, result.edges_b, names[1])):
        mesh = _log_histogram(ax, result.edges_product, edges, counts)
        ax.axvline(0, color="red", lw=1)
        ax.set_xlabel(f"({names[0]} − mean)({names[1]} − mean){unit}")
        ax.set_ylabel(f"{name} intensity{unit}")
        ax.set_title(f"ICA {name}")
        figure.colorbar(mesh, ax=ax, label="voxels")
    figure.suptitle(f"Li's ICA: ICQ = {result.icq:.4f} ({result.icq_convention}), "
                    f"n = {result.n:,}")
    return _save(figure, path)


def plot_map(result, path, max_pixels: int = 2048) -> Path:
    """The middle plane of a :class:`~streamcoloc.spatial.ColocMap` (the whole
    image when 2-D), shown on [−1, 1] with a diverging colour map, NaN blank.
    Only that plane is read, subsampled to at most ``max_pixels`` a side."""
    data = result.data
    plane = data[data.shape[0] // 2] if data.ndim == 3 else data
    step = max(1, -(-max(plane.shape) // max_pixels))
    values = np.asarray(plane[::step, ::step])
    figure = Figure(figsize=(6, 5), layout="constrained")
    ax = figure.add_subplot()
    image = ax.imshow(values, cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
    where = f"plane {data.shape[0] // 2} of {data.shape[0]}" if data.ndim == 3 else "image"
    window = "" if result.window is None else f", window {'x'.join(map(str, result.window))}"
    ax.set_title(f"{result.kind}{window} ({where}" + (f", every {step}th pixel)" if step > 1
                                                      else ")"))
    figure.colorbar(image, ax=ax, label=result.kind)
    return _save(figure, path)


def plot_randomization(result, path, title: str | None = None) -> Path:
    """Histogram of ``result.null`` (a
    :class:`~streamcoloc.significance.RandomizationResult`) with the observed
    r as a vertical line and the p-values in the title."""
    null = result.null[np.isfinite(result.null)]
    figure = Figure(figsize=(6, 4))
    ax = figure.add_subplot()
    if null.size:
        ax.hist(null, bins=min(50, max(10, null.size // 5)), color="0.6",
                label=f"randomized r ({null.size})")
    if np.isfinite(result.observed):
        ax.axvline(result.observed, color="crimson", label=f"observed r = {result.observed:.4f}")
    ax.set_xlabel("Pearson's r")
    ax.set_ylabel("randomizations")
    ax.legend(loc="best", fontsize=8)
    heading = title or f"Costes randomization ({result.method}, block {result.block_size})"
    ax.set_title(f"{heading}\np = {result.p_value:.4g}, z = {result.z_score:.3g}, "
                 f"Coloc 2 P-value = {result.coloc2_p_value:.4g}", fontsize=9)
    figure.tight_layout()
    return _save(figure, path)


def plot_diagnostics(diagnostics: dict, folder, names=("A", "B")) -> list[Path]:
    """Each result of ``analyse_pairwise(..., diagnostics=...)`` (the table's
    ``attrs["diagnostics"]``) as ``folder/<name>.png``."""
    draw = {"cytofluorogram": lambda r, p: plot_cytofluorogram(r, p, names),
            "ccf": plot_ccf, "ica": lambda r, p: plot_ica(r, p, names),
            "randomization": plot_randomization}
    return [draw[name](result, Path(folder) / f"{name}.png")
            for name, result in diagnostics.items()]


def _log_histogram(ax, edges_x, edges_y, counts):
    """Counts (rows along y, columns along x) on a log colour scale."""
    shown = np.ma.masked_less_equal(counts, 0)
    top = max(int(counts.max()), 2)
    return ax.pcolormesh(edges_x, edges_y, shown, cmap=COLORMAP, norm=LogNorm(vmin=1, vmax=top))


def _save(figure: Figure, path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    FigureCanvasAgg(figure)
    figure.savefig(path, dpi=DPI)
    return path
