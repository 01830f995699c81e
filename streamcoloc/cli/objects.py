"""``streamcoloc objects``: object-based colocalization of two channels."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..objects import label_objects, object_table
from ..stats.thresholds import AUTO_METHODS
from . import execution, inputs

SHOWN_COLUMNS = ["channel", "other", "n_objects", "fraction_centroid_in_other",
                 "fraction_containing_other_centroid", "fraction_overlapping",
                 "overlap_voxel_fraction", "mean_nearest_distance"]


def add_parser(commands) -> None:
    """Add the ``objects`` subcommand to an argparse subparsers object."""
    objects = commands.add_parser(
        "objects", help="object-based colocalization (JACoP / napari-colocalization style)",
        description="Threshold both channels, label their connected objects across blocks "
                    "(or read label images), and measure every object: size, centroid, "
                    "intensity-weighted centre, centre-in-other-object coincidence, overlap "
                    "and nearest other-channel object.  Writes the per-channel summary "
                    "(results.csv/.parquet), the per-object table (objects.csv/.parquet) "
                    "and run.json.")
    inputs.add_pair_arguments(objects)
    objects.add_argument("--labels", help="two comma-separated label images (0 = background) "
                                          "used as the objects instead of thresholding")
    objects.add_argument("--threshold-method", choices=AUTO_METHODS, default="otsu",
                         help="automatic threshold per channel, as scikit-image (otsu)")
    objects.add_argument("--thresholds", help="manual thresholds TA,TB (objects: value > T)")
    objects.add_argument("--mask", help="mask image (nonzero = inside) of the same shape")
    objects.add_argument("--min-size", type=int, default=0,
                         help="remove objects of fewer voxels (0)")
    objects.add_argument("--connectivity", type=int,
                         help="1 = faces only ... ndim = faces, edges and corners (default)")
    objects.add_argument("--voxel-size", help="physical voxel size: one value or one per axis "
                                              "(default: from the file's metadata)")
    objects.add_argument("--centre-rounding", choices=("nearest", "floor"), default="nearest",
                         help="voxel holding a centre: nearest, or floor as JACoP (nearest)")
    objects.add_argument("--save-labels", action="store_true",
                         help="write the label images to DIR/labels_<channel>.zarr")
    objects.add_argument("--out", required=True, help="results folder to write")
    execution.add_arguments(objects, resume=False)
    objects.set_defaults(run=run_objects)


def run_objects(args) -> int:
    started = time.perf_counter()
    out = Path(args.out)
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    with execution.recorded(args, out) as caught:
        labels, labelling = _objects(args, [a, b], names, mask, out)
        table = object_table(labels[0], labels[1], a, b, _voxel_size(args.voxel_size, a),
                             channel_a=names[0], channel_b=names[1],
                             centre_rounding=args.centre_rounding)
    execution.write_run(out, table.summary, {**given, "labels": args.labels},
                        {"channels": names, "labelling": labelling, "min_size": args.min_size},
                        caught, started)
    table.objects.to_csv(out / "objects.csv", index=False)
    table.objects.to_parquet(out / "objects.parquet", index=False)
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        print(table.summary[SHOWN_COLUMNS].to_string(index=False))
    print(f"\nresults written to {out}/ (results.csv, results.parquet, objects.csv, "
          f"objects.parquet, run.json) in {time.perf_counter() - started:.1f} s")
    return 0


def _objects(args, images, names, mask, out: Path):
    """The two label images (read, or thresholded within ``mask`` and
    labelled) and, when labelled here, the threshold and object count of
    each channel."""
    if args.labels:
        paths = [p.strip() for p in args.labels.split(",")]
        if len(paths) != 2:
            raise ValueError(f"--labels needs two comma-separated paths, got {args.labels!r}")
        return [inputs.open_single(p, args.level) for p in paths], {}
    thresholds = inputs.numbers(args.thresholds, 2, "--thresholds") or [None, None]
    labels, labelling = [], {}
    for image, name, threshold in zip(images, names, thresholds):
        result = label_objects(image, args.threshold_method, mask=mask, min_size=args.min_size,
                               threshold=threshold, connectivity=args.connectivity,
                               out=out / f"labels_{name}.zarr" if args.save_labels else None,
                               overwrite=True)
        labelling[name] = {"threshold": result.threshold, "method": result.method,
                           "n_objects": result.n_objects, "connectivity": result.connectivity}
        labels.append(result.labels)
    return labels, labelling


def _voxel_size(text, image):
    """--voxel-size, else the file's voxel size when known for every axis."""
    if text is not None:
        values = inputs.numbers(text, None, "--voxel-size")
        return values[0] if len(values) == 1 else values
    known = image.attrs.get("voxel_size", {})
    if all(d in known for d in image.dims):
        return [float(known[d]) for d in image.dims]
    return None
