"""``streamcoloc`` command line: ``pixel`` and ``demo``."""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from . import smlm
from ..analysis import ALL_METRICS, analyse_all_to_all, analyse_pairwise
from ..measure import THRESHOLD_METHODS
from ..stats.histograms import MAX_CELLS
from ..stats.joint import ICQ_CONVENTIONS
from ..readers import open_image
from ..reports import write_results

SHOWN_COLUMNS = ["region", "slice", "channel_a", "channel_b", "n_pixels", "pcc", "srcc", "icq",
                 "m1", "m2", "tm1", "tm2", "threshold_a", "threshold_b"]


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"streamcoloc: error: {error}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamcoloc",
        description="Out-of-core colocalization analysis of microscopy images.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    pixel = commands.add_parser(
        "pixel", help="pixel/voxel colocalization of two or more channels",
        description="Pearson (and below/above the thresholds), Spearman, Kendall, Li's ICQ, "
                    "Manders (m1/m2, tm1/tm2), overlap/k1/k2, RWC and the orthogonal "
                    "regression per region and slice, with Costes, automatic or manual "
                    "thresholds; streamed chunk by chunk (one read for integer data).")
    pixel.add_argument("path", help="image: OME-Zarr, Zarr or (OME-)TIFF; with one path it "
                                    "must have a channel axis 'c'")
    pixel.add_argument("path_b", nargs="?", help="second single-channel image (channel B)")
    pixel.add_argument("--channels", help="comma-separated channel names or indices: two for "
                                          "one pair, more (or none) for every pair; with two "
                                          "paths, the names to report (default: file names)")
    pixel.add_argument("--labels", help="label image (0 = background) of the same shape, or "
                                        "of one plane with --slice-axis")
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
    pixel.add_argument("--level", type=int, default=0, help="OME-Zarr multiscale level (0)")
    pixel.add_argument("--out", required=True, help="results folder to write")
    pixel.set_defaults(run=_run_pixel)

    demo = commands.add_parser(
        "demo", help="generate a sample OME-Zarr volume with known colocalization and "
                     "analyse it", description="Writes DIR/sample.ome.zarr (two channels and a "
                     "label image) and DIR/results, then prints the table.")
    demo.add_argument("--out", default="demo_out", help="folder for data and results")
    demo.add_argument("--shape", default="64,1024,1024", help="Z,Y,X of the sample volume")
    demo.set_defaults(run=_run_demo)
    smlm.add_parser(commands)
    return parser


def _floats(text, n=None, what="values"):
    if text is None:
        return None
    values = [float(v) for v in text.split(",")]
    if n is not None and len(values) != n:
        raise ValueError(f"{what} needs {n} comma-separated numbers, got {text!r}")
    return values


def _run_pixel(args) -> int:
    started = time.perf_counter()
    channels = None if args.channels is None else [c.strip() for c in args.channels.split(",")]
    thresholds = _floats(args.thresholds, 2, "--thresholds")
    background = _floats(args.background, None, "--background")
    if background is not None and len(background) == 1:
        background = background[0]
    labels = None
    if args.labels:
        labels = open_image(args.labels, level=args.level)
        if "c" in labels.dims:
            labels = labels.isel(c=0, drop=True)
    options = dict(label_mask=labels, metrics=args.metrics.split(","),
                   slice_axis=args.slice_axis, background=background,
                   exclude_saturated=args.exclude_saturated,
                   threshold_method=args.threshold_method, convention=args.convention,
                   icq_convention=args.icq_convention, scale=args.scale,
                   percentile=args.percentile, percent_of_max=args.percent_of_max,
                   max_table_cells=args.max_table_cells)
    if thresholds is not None:
        options.update(threshold_a=thresholds[0], threshold_b=thresholds[1])
    image = open_image(args.path, level=args.level)
    inputs = {"paths": [str(args.path)] + ([str(args.path_b)] if args.path_b else []),
              "labels": args.labels, "level": args.level,
              "voxel_size": image.attrs.get("voxel_size"), "dims": list(image.dims)}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if args.path_b:
            image_b = open_image(args.path_b, level=args.level)
            names = channels or [Path(args.path).stem, Path(args.path_b).stem]
            table = analyse_pairwise(_single_channel(image, args.path),
                                     _single_channel(image_b, args.path_b),
                                     channel_a=names[0], channel_b=names[1], **options)
        else:
            table = _analyse_channels(image, channels, args.path, options)
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    out = write_results(table, args.out, inputs=inputs, extra={
        "warnings": [str(w.message) for w in caught],
        "total_seconds": time.perf_counter() - started})
    _print_table(table)
    print(f"\nresults written to {out}/ (results.csv, results.parquet, run.json)")
    return 0


def _single_channel(image, path):
    if "c" in image.dims:
        if image.sizes["c"] != 1:
            raise ValueError(f"{path} has {image.sizes['c']} channels; with two paths each "
                             "must hold one channel")
        image = image.isel(c=0, drop=True)
    return image


def _analyse_channels(image, channels, path, options):
    if "c" not in image.dims:
        raise ValueError(f"{path} has no channel axis 'c' (dims {image.dims}); give two paths")
    if channels is not None:
        image = image.isel(c=[_channel_index(image, c) for c in channels])
    names = [str(v) for v in image.coords["c"].values] if "c" in image.coords else None
    if image.sizes["c"] == 2:
        names = names or ["c0", "c1"]
        return analyse_pairwise(image.isel(c=0, drop=True), image.isel(c=1, drop=True),
                                channel_a=names[0], channel_b=names[1], **options)
    return analyse_all_to_all(image, "c", channel_names=names, **options)


def _channel_index(image, channel: str) -> int:
    if "c" in image.coords:
        labels = [str(v) for v in image.coords["c"].values]
        if channel in labels:
            return labels.index(channel)
    if channel.isdigit() and int(channel) < image.sizes["c"]:
        return int(channel)
    known = list(image.coords["c"].values) if "c" in image.coords else list(range(image.sizes["c"]))
    raise ValueError(f"unknown channel {channel!r}; the image has {known}")


def _print_table(table: pd.DataFrame) -> None:
    with pd.option_context("display.max_rows", 60, "display.width", 200,
                           "display.float_format", "{:.4f}".format):
        print(table[SHOWN_COLUMNS].to_string(index=False, max_rows=60))


def _run_demo(args) -> int:
    from ..analysis import pearson
    from ..samples import make_sample_volume

    out = Path(args.out)
    shape = tuple(int(v) for v in args.shape.split(","))
    started = time.perf_counter()
    sample = make_sample_volume(out / "sample.ome.zarr", shape=shape)
    print(f"wrote sample volume {shape} to {out / 'sample.ome.zarr'} "
          f"in {time.perf_counter() - started:.1f} s")
    status = main(["pixel", str(sample["image"]), "--labels", str(sample["labels"]),
                   "--out", str(out / "results")])
    image = open_image(sample["image"])
    measured, _ = pearson(image.isel(c=0), image.isel(c=1))
    print(f"whole volume: PCC {measured:.4f}, expected PCC {sample['expected_pcc']:.4f} "
          "(by construction)")
    return status


if __name__ == "__main__":
    sys.exit(main())
