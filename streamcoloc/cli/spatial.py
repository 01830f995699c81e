"""``streamcoloc ccf | cytofluorogram | ica | map``: the spatial diagnostics.

Each subcommand reads two channels (one image with a channel axis 'c', or two
single-channel images) and an optional mask, and writes a results folder
(:func:`streamcoloc.reports.write_results`: results.csv/.parquet, run.json)
with its figure in plots/; histograms go to an .npz next to them.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..reports import plots
from ..spatial import coloc_map, cytofluorogram, li_ica, van_steensel_ccf
from ..spatial.maps import KINDS
from ..stats.joint import ICQ_CONVENTIONS
from . import execution, inputs


def add_parser(commands) -> None:
    """Add the ``ccf``, ``cytofluorogram``, ``ica`` and ``map`` subcommands to
    an argparse subparsers object."""
    ccf = _command(commands, "ccf", "Van Steensel's cross-correlation function",
                   "Pearson's r of a against b shifted by -S..S voxels along one axis (no "
                   "wrap-around, as JACoP), with a Gaussian fit (centre, FWHM); one read.")
    ccf.add_argument("--max-shift", type=int, default=20, help="largest shift S (20)")
    ccf.add_argument("--axis", default="x",
                     help="shift axis: dim name or number (default x, the last axis)")
    ccf.set_defaults(run=run_ccf)

    cyto = _command(commands, "cytofluorogram", "joint histogram of the two channels",
                    "Joint histogram of b against a with the orthogonal regression line and "
                    "Costes' thresholds (log-scaled counts).")
    cyto.add_argument("--bins", type=int, default=256, help="bins per channel (256)")
    cyto.add_argument("--thresholds", help="manual thresholds TA,TB instead of Costes'")
    cyto.add_argument("--no-thresholds", action="store_true", help="draw no thresholds")
    cyto.add_argument("--costes-method", default="coloc2", help="Costes method (coloc2)")
    cyto.set_defaults(run=run_cytofluorogram)

    ica = _command(commands, "ica", "Li's intensity correlation analysis",
                   "Histograms of each channel's intensity against (a-mean)(b-mean), and "
                   "the ICQ; two reads.")
    ica.add_argument("--bins", type=int, default=256, help="bins per axis (256)")
    ica.add_argument("--normalize", choices=("jacop", "none"), default="jacop",
                     help="JACoP's normalized intensities (default) or data units")
    ica.add_argument("--icq-convention", choices=ICQ_CONVENTIONS, default="coloc2",
                     help="ICQ convention (coloc2)")
    ica.set_defaults(run=run_ica)

    cmap = _command(commands, "map", "per-voxel colocalization map written to Zarr",
                    "nMDP (Jaskolski et al. 2005) or local Pearson in a sliding box window, "
                    "written block by block to a Zarr array chunked like the input.")
    cmap.add_argument("--kind", choices=KINDS, default="nmdp", help="map kind (nmdp)")
    cmap.add_argument("--window", help="local_pearson box: one odd side or one per axis, "
                                       "e.g. 5 or 1,7,7 (default 5)")
    cmap.add_argument("--map-out", help="Zarr array to write (default OUT/<kind>.zarr)")
    cmap.add_argument("--overwrite", action="store_true", help="replace an existing map")
    cmap.set_defaults(run=run_map)


def _command(commands, name, summary, description):
    parser = commands.add_parser(name, help=summary, description=description)
    inputs.add_pair_arguments(parser)
    parser.add_argument("--mask", help="mask image of the same shape (nonzero = inside)")
    execution.add_arguments(parser, resume=False)
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG figure")
    parser.add_argument("--out", required=True, help="results folder to write")
    return parser


# ---------------------------------------------------------------- commands

def run_ccf(args) -> int:
    started = time.perf_counter()
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    axis = int(args.axis) if args.axis.lstrip("-").isdigit() else args.axis
    with execution.recorded(args, Path(args.out)) as caught:
        result = van_steensel_ccf(a, b, mask=mask, max_shift=args.max_shift, axis=axis)
    table = result.table()
    fit = dict(zip(("a", "b", "c", "d"), map(float, result.fit)))
    extra = {"channels": names, "axis": result.axis, "axis_name": _dim_name(a, result.axis),
             "max_shift": args.max_shift, "peak_shift": result.peak_shift,
             "fit": fit, "fit_centre": result.centre, "fit_fwhm": result.fwhm,
             "convention": "CCF(l) = r(a[i], b[i+l]) over i with i+l inside; mask: both "
                           "voxels inside"}
    out = execution.write_run(args.out, table, given, {"diagnostic": "ccf", **extra},
                              caught, started)
    if not args.no_plots:
        plots.plot_ccf(result, out / "plots" / "ccf.png")
    print(f"CCF peak at shift {result.peak_shift} (r = {np.nanmax(result.ccf):.4f}); "
          f"Gaussian fit centre {result.centre:.3f}, FWHM {result.fwhm:.3f} voxels")
    return execution.done(out, started)


def run_cytofluorogram(args) -> int:
    started = time.perf_counter()
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    threshold = "costes"
    if args.no_thresholds:
        threshold = None
    elif args.thresholds:
        threshold = inputs.numbers(args.thresholds, 2, "--thresholds")
    with execution.recorded(args, Path(args.out)) as caught:
        result = cytofluorogram(a, b, mask=mask, bins=args.bins,
                                threshold=threshold, costes_method=args.costes_method)
    table = pd.DataFrame([{
        "channel_a": names[0], "channel_b": names[1], "n_pixels": result.n,
        "pcc": result.pearson, "slope": result.slope, "intercept": result.intercept,
        "threshold_a": result.threshold_a, "threshold_b": result.threshold_b}])
    extra = {"bins": args.bins, "threshold": "none" if threshold is None else
             ("manual" if args.thresholds else f"costes ({args.costes_method})"),
             "histogram": "cytofluorogram.npz (counts[i, j]: a in bin i, b in bin j)"}
    out = execution.write_run(args.out, table, given, {"diagnostic": "cytofluorogram", **extra},
                              caught, started)
    np.savez_compressed(out / "cytofluorogram.npz", counts=result.counts,
                        edges_a=result.edges_a, edges_b=result.edges_b)
    if not args.no_plots:
        plots.plot_cytofluorogram(result, out / "plots" / "cytofluorogram.png", names)
    print(table.to_string(index=False))
    return execution.done(out, started)


def run_ica(args) -> int:
    started = time.perf_counter()
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    normalize = None if args.normalize == "none" else args.normalize
    with execution.recorded(args, Path(args.out)) as caught:
        result = li_ica(a, b, mask=mask, bins=args.bins, normalize=normalize,
                        icq_convention=args.icq_convention)
    table = pd.DataFrame([{
        "channel_a": names[0], "channel_b": names[1], "n_pixels": result.n,
        "icq": result.icq, "n_positive": result.n_positive, "n_zero": result.n_zero,
        "mean_a": result.mean_a, "mean_b": result.mean_b}])
    extra = {"bins": args.bins, "normalize": args.normalize,
             "icq_convention": args.icq_convention,
             "histograms": "ica.npz (counts_a/counts_b[i, j]: intensity bin i, product bin j)"}
    out = execution.write_run(args.out, table, given, {"diagnostic": "ica", **extra},
                              caught, started)
    np.savez_compressed(out / "ica.npz", counts_a=result.counts_a, counts_b=result.counts_b,
                        edges_a=result.edges_a, edges_b=result.edges_b,
                        edges_product=result.edges_product)
    if not args.no_plots:
        plots.plot_ica(result, out / "plots" / "ica.png", names)
    print(table.to_string(index=False))
    return execution.done(out, started)


def run_map(args) -> int:
    started = time.perf_counter()
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    window = None
    if args.window:
        sides = inputs.numbers(args.window, None, "--window", int)
        window = sides[0] if len(sides) == 1 else tuple(sides)
    target = Path(args.map_out) if args.map_out else Path(args.out) / f"{args.kind}.zarr"
    with execution.recorded(args, Path(args.out)) as caught:
        result = coloc_map(a, b, kind=args.kind, window=window, out=target, mask=mask,
                           overwrite=args.overwrite)
    table = pd.DataFrame([{"channel_a": names[0], "channel_b": names[1], "kind": result.kind,
                           "window": None if result.window is None else
                           "x".join(map(str, result.window)), "path": str(result.path)}])
    extra = {"map": {"path": str(result.path), "shape": list(result.data.shape),
                     "chunks": [c[0] for c in result.data.chunks], "dtype": "float32",
                     "nan": "voxel not measured (outside the mask, NaN/Inf, or constant "
                            "window)"}}
    out = execution.write_run(args.out, table, given, {"diagnostic": "map", **extra},
                              caught, started)
    if not args.no_plots:
        plots.plot_map(result, out / "plots" / f"{result.kind}.png")
    print(f"{result.kind} map {result.data.shape} written to {result.path}")
    return execution.done(out, started)


# ---------------------------------------------------------------- helpers

def _dim_name(image, axis: int):
    return str(image.dims[axis]) if hasattr(image, "dims") else None
