"""``streamcoloc pixel``: pixel/voxel colocalization of one image, a pair of
single-channel images, or a batch of images (files or globs).

Two single-channel paths form one pair (channel A, channel B).  Otherwise
every path is an image with a channel axis 'c', analysed on its own; with
more than one, the table gets a leading ``source`` column, and each finished
source is kept in ``OUT/sources`` so that ``--resume`` skips it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..analysis import ALL_METRICS, analyse_all_to_all, analyse_pairwise
from ..measure import THRESHOLD_METHODS
from ..readers import open_image
from ..readers.rois import rois_to_labels
from ..diagnostics import DIAGNOSTICS
from ..reports.plots import plot_diagnostics
from ..stats.histograms import MAX_CELLS
from ..stats.joint import ICQ_CONVENTIONS
from . import batch, execution, inputs

SHOWN_COLUMNS = ["region", "slice", "channel_a", "channel_b", "n_pixels", "pcc", "srcc", "icq",
                 "m1", "m2", "tm1", "tm2", "threshold_a", "threshold_b"]


def add_parser(commands) -> None:
    pixel = commands.add_parser(
        "pixel", help="pixel/voxel colocalization of two or more channels",
        description="Pearson (and below/above the thresholds), Spearman, Kendall, Li's ICQ, "
                    "Manders (m1/m2, tm1/tm2), overlap/k1/k2, RWC and the orthogonal "
                    "regression per region and slice, with Costes, automatic or manual "
                    "thresholds; streamed chunk by chunk (one read for integer data).")
    pixel.add_argument("paths", nargs="+", metavar="PATH",
                       help="images (OME-Zarr, Zarr or (OME-)TIFF) or globs: two single-channel "
                            "images form a pair; otherwise each image needs a channel axis 'c' "
                            "and several images make a batch with a 'source' column")
    pixel.add_argument("--channels", help="comma-separated channel names or indices: two for "
                                          "one pair, more (or none) for every pair; with two "
                                          "paths, the names to report (default: file names)")
    pixel.add_argument("--labels", help="label image (0 = background) of the same shape, or "
                                        "of one plane with --slice-axis; in a batch '{stem}' "
                                        "is replaced by each image's file stem")
    pixel.add_argument("--rois", help="Fiji/ImageJ ROI file (.roi, or a ROI Manager .zip): "
                                      "each area ROI is a region, applied to every slice")
    pixel.add_argument("--slice-axis", help="dim name (z, t, ...) for one row per plane")
    pixel.add_argument("--thresholds", help="manual thresholds TA,TB (data units); implies "
                                            "--threshold-method manual")
    pixel.add_argument("--threshold-method", choices=THRESHOLD_METHODS, default=None,
                       help="thresholds for tm1/tm2, pcc_below/pcc_above and RWC, per region: "
                            "costes (= coloc2, the default), a Costes method by tool, a "
                            "per-channel automatic method (as scikit-image), or manual")
    pixel.add_argument("--convention", choices=("coloc2", "cellprofiler"), default="coloc2",
                       help="thresholded Manders: Coloc 2's (b > 0 and b >= T_b over the "
                            "channel's total) or CellProfiler's (>= on both channels over the "
                            "channel's total above its threshold; also overlap and RWC)")
    pixel.add_argument("--icq-convention", choices=ICQ_CONVENTIONS, default="coloc2",
                       help="Li's ICQ: coloc2 (a product of 0 is positive), jacop or napari")
    pixel.add_argument("--scale", type=float, help="CellProfiler's image scale for its Costes "
                                                   "methods (default: the dtype's maximum)")
    pixel.add_argument("--percentile", type=float, default=50.0,
                       help="for --threshold-method percentile (default 50)")
    pixel.add_argument("--percent-of-max", type=float, default=15.0,
                       help="for --threshold-method percent-of-max (default 15)")
    pixel.add_argument("--max-table-cells", type=int, default=MAX_CELLS,
                       help="memory budget of the joint histograms, in cells of 8 bytes "
                            f"(default {MAX_CELLS}); beyond it a second read")
    pixel.add_argument("--metrics", default=",".join(ALL_METRICS),
                       help=f"comma-separated subset of {','.join(ALL_METRICS)} (default: all)")
    pixel.add_argument("--background", help="per-channel background subtracted (clipped at 0) "
                                            "before measuring: one value or one per channel")
    pixel.add_argument("--exclude-saturated", action="store_true",
                       help="exclude voxels at the dtype maximum in either channel")
    pixel.add_argument("--diagnostics",
                       help="comma-separated diagnostics of a single channel pair, over the "
                            "labelled voxels, drawn into OUT/plots: "
                            + ",".join(DIAGNOSTICS))
    pixel.add_argument("--level", type=int, default=0, help="OME-Zarr multiscale level (0)")
    pixel.add_argument("--out", required=True, help="results folder to write")
    execution.add_arguments(pixel)
    pixel.set_defaults(run=run)


def run(args) -> int:
    started = time.perf_counter()
    paths = batch.expand(args.paths)
    images = [open_image(p, level=args.level) for p in paths]
    pair = len(images) == 2 and all(_channels(i) == 1 for i in images)
    options = _options(args)
    out = Path(args.out)
    inputs = {"paths": [str(p) for p in paths], "labels": args.labels, "rois": args.rois,
              "level": args.level, "voxel_size": images[0].attrs.get("voxel_size"),
              "dims": list(images[0].dims)}
    with execution.recorded(args, out) as caught:
        if pair:
            table = _pair(images, paths, args, options)
        elif len(images) == 1:
            table = _image(images[0], paths[0], args, options)
        else:
            image_of = dict(zip(paths, images))
            table = batch.each_source(paths, out, args.resume,
                                      lambda path, _: _image(image_of[path], path, args, options))
    execution.write_run(out, table, inputs, {}, caught, started)
    if "diagnostics" in table.attrs:
        plot_diagnostics(table.attrs["diagnostics"], out / "plots",
                         (table["channel_a"].iloc[0], table["channel_b"].iloc[0]))
    _print_table(table)
    print(f"\nresults written to {out}/ (results.csv, results.parquet, run.json)")
    return 0


def _options(args) -> dict:
    thresholds = inputs.numbers(args.thresholds, 2, "--thresholds")
    background = inputs.numbers(args.background, None, "--background")
    if background is not None and len(background) == 1:
        background = background[0]
    options = dict(metrics=args.metrics.split(","), slice_axis=args.slice_axis,
                   background=background, exclude_saturated=args.exclude_saturated,
                   threshold_method=args.threshold_method, convention=args.convention,
                   icq_convention=args.icq_convention, scale=args.scale,
                   percentile=args.percentile, percent_of_max=args.percent_of_max,
                   max_table_cells=args.max_table_cells)
    if thresholds is not None:
        options.update(threshold_a=thresholds[0], threshold_b=thresholds[1])
    if args.diagnostics:
        options["diagnostics"] = inputs.names(args.diagnostics)
    return options


def _channels(image) -> int:
    return image.sizes["c"] if "c" in image.dims else 1


def _labels(args, image, path: Path):
    """The region labels of one image: a label image, or Fiji ROIs rasterized
    on its (y, x) plane (broadcast over every other spatial dim)."""
    if args.labels and args.rois:
        raise ValueError("give --labels or --rois, not both")
    if args.labels:
        labels = open_image(args.labels.replace("{stem}", path.stem.split(".")[0]),
                            level=args.level)
        return labels.isel(c=0, drop=True) if "c" in labels.dims else labels
    if args.rois:
        import xarray as xr

        plane, _ = rois_to_labels(args.rois, (image.sizes["y"], image.sizes["x"]))
        spatial = [d for d in image.dims if d != "c"]
        plane = xr.DataArray(plane, dims=("y", "x"))
        return plane.broadcast_like(image.isel(c=0, drop=True) if "c" in image.dims
                                    else image).transpose(*spatial)
    return None


def _pair(images, paths, args, options):
    names = inputs.names(args.channels) or [paths[0].stem, paths[1].stem]
    a, b = (i.isel(c=0, drop=True) if "c" in i.dims else i for i in images)
    return analyse_pairwise(a, b, channel_a=names[0], channel_b=names[1],
                            label_mask=_labels(args, a, paths[0]), **options)


def _image(image, path: Path, args, options):
    if "c" not in image.dims:
        raise ValueError(f"{path} has no channel axis 'c' (dims {image.dims}); give two paths")
    channels = inputs.names(args.channels)
    if channels is not None:
        image = image.isel(c=[inputs.channel_index(image, c) for c in channels])
    names = inputs.channel_labels(image)
    labels = _labels(args, image, path)
    if image.sizes["c"] == 2:
        names = names or ["c0", "c1"]
        return analyse_pairwise(image.isel(c=0, drop=True), image.isel(c=1, drop=True),
                                channel_a=names[0], channel_b=names[1], label_mask=labels,
                                **options)
    if "diagnostics" in options:
        raise ValueError("--diagnostics is for one channel pair: give two --channels")
    return analyse_all_to_all(image, "c", channel_names=names, label_mask=labels, **options)


def _print_table(table: pd.DataFrame) -> None:
    shown = (["source"] if "source" in table.columns else []) + SHOWN_COLUMNS
    with pd.option_context("display.max_rows", 60, "display.width", 200,
                           "display.float_format", "{:.4f}".format):
        print(table[shown].to_string(index=False, max_rows=60))
