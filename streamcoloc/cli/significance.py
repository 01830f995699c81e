"""``streamcoloc randomization``: Costes' randomization test of two channels."""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import pandas as pd

from ..readers import open_image
from ..reports import write_results
from ..significance import costes_randomization, psf_from_optics
from ..significance.plots import null_histogram
from ..significance.randomization import METHODS, OPTICS

SHOWN_COLUMNS = ["channel_a", "channel_b", "observed", "p_value", "z_score", "coloc2_p_value",
                 "null_mean", "null_sd", "n_iter", "n_voxels", "block_size", "method"]


def add_parser(commands) -> None:
    """Add the ``randomization`` subcommand to an argparse subparsers object."""
    command = commands.add_parser(
        "randomization", help="Costes' randomization test of Pearson's r",
        description="Places Pearson's r of two channels against the r of block-scrambled "
                    "pairings (Costes et al. 2004). 'tile' (default) streams any size in one "
                    "read; 'coloc2' replays Fiji Coloc 2's test in memory. Writes "
                    "results.csv/.parquet, null_distribution.csv, run.json and "
                    "plots/randomization.png.")
    command.add_argument("path", help="image: OME-Zarr, Zarr or (OME-)TIFF; with one path it "
                                      "must have a channel axis 'c'")
    command.add_argument("path_b", nargs="?", help="second single-channel image (channel B)")
    command.add_argument("--channels", help="two comma-separated channel names or indices "
                                            "(default: the first two)")
    command.add_argument("--mask", help="mask image of the same shape (nonzero = measured)")
    command.add_argument("--method", default="tile", choices=METHODS, help="tile (default) "
                         "or coloc2")
    command.add_argument("--n-iter", type=int, help="randomizations (default 200; 10 for "
                                                    "coloc2, as Coloc 2)")
    command.add_argument("--block-size", help="block edge in voxels: one value or one per axis "
                                              "(default: the PSF, rounded down)")
    command.add_argument("--psf", help="PSF size in voxels: one value or one per axis "
                                       "(default 3, Coloc 2's; coloc2 smooths with it)")
    command.add_argument("--wavelength", type=float,
                         help="emission wavelength, for the PSF from the optics as JACoP "
                              "(with --na and --pixel-size, same unit)")
    command.add_argument("--na", type=float, help="numerical aperture")
    command.add_argument("--pixel-size", type=float, help="lateral pixel size")
    command.add_argument("--z-step", type=float, help="axial step (3-D images)")
    command.add_argument("--microscope", default="widefield", choices=tuple(OPTICS),
                         help="resolution formula (JACoP): widefield or confocal")
    command.add_argument("--tile-blocks", help="tile method: blocks per tile, one value or one "
                                               "per axis (default: automatic)")
    command.add_argument("--seed", type=int, help="random seed (default: fresh; the one used "
                                                  "is written to results and run.json)")
    command.add_argument("--level", type=int, default=0, help="OME-Zarr multiscale level (0)")
    command.add_argument("--no-plots", action="store_true", help="skip the histogram PNG")
    command.add_argument("--out", required=True, help="results folder to write")
    command.set_defaults(run=run_randomization)


def _numbers(text, kind=float):
    if text is None:
        return None
    try:
        values = [kind(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"expected comma-separated numbers, got {text!r}")
    return values[0] if len(values) == 1 else tuple(values)


def _psf(args):
    optics = (args.wavelength, args.na, args.pixel_size)
    if all(v is None for v in optics):
        return _numbers(args.psf)
    if any(v is None for v in optics):
        raise ValueError("the PSF from the optics needs --wavelength, --na and --pixel-size")
    if args.psf is not None:
        raise ValueError("give either --psf or the optics (--wavelength, --na, --pixel-size)")
    return psf_from_optics(*optics, z_step=args.z_step, microscope=args.microscope)


def _channels(args):
    """(a, b, names) as single-channel DataArrays."""
    image = open_image(args.path, level=args.level)
    if args.path_b:
        image_b = open_image(args.path_b, level=args.level)
        names = _names(args.channels) or [Path(args.path).stem, Path(args.path_b).stem]
        return _single(image, args.path), _single(image_b, args.path_b), names
    if "c" not in image.dims:
        raise ValueError(f"{args.path} has no channel axis 'c' (dims {image.dims}); give two "
                         "paths")
    labels = [str(v) for v in image.coords["c"].values] if "c" in image.coords else \
        [str(i) for i in range(image.sizes["c"])]
    wanted = _names(args.channels) or labels[:2]
    if len(wanted) != 2:
        raise ValueError(f"--channels needs two channels, got {args.channels!r}")
    index = []
    for name in wanted:
        if name in labels:
            index.append(labels.index(name))
        elif name.isdigit() and int(name) < image.sizes["c"]:
            index.append(int(name))
        else:
            raise ValueError(f"unknown channel {name!r}; the image has {labels}")
    if image.sizes["c"] < 2 and index[0] == index[1]:
        raise ValueError(f"{args.path} has one channel; give two paths")
    return (image.isel(c=index[0], drop=True), image.isel(c=index[1], drop=True),
            [labels[i] for i in index])


def _names(text):
    return None if text is None else [c.strip() for c in text.split(",")]


def _single(image, path):
    if "c" in image.dims:
        if image.sizes["c"] != 1:
            raise ValueError(f"{path} has {image.sizes['c']} channels; with two paths each "
                             "must hold one channel")
        image = image.isel(c=0, drop=True)
    return image


def run_randomization(args) -> int:
    started = time.perf_counter()
    a, b, names = _channels(args)
    mask = None
    if args.mask:
        mask = open_image(args.mask, level=args.level)
        if "c" in mask.dims:
            mask = mask.isel(c=0, drop=True)
        mask = mask != 0
    psf = _psf(args)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = costes_randomization(a, b, mask=mask, n_iter=args.n_iter,
                                      block_size=_numbers(args.block_size, int), psf=psf,
                                      seed=args.seed, method=args.method,
                                      tile_blocks=_numbers(args.tile_blocks, int))
    table = result.to_frame()
    table.insert(0, "channel_b", names[1])
    table.insert(0, "channel_a", names[0])
    inputs = {"paths": [str(args.path)] + ([str(args.path_b)] if args.path_b else []),
              "mask": args.mask, "level": args.level, "dims": list(a.dims),
              "voxel_size": a.attrs.get("voxel_size")}
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    out = write_results(table, args.out, inputs=inputs, extra={
        "psf": psf, "warnings": [str(w.message) for w in caught],
        "total_seconds": time.perf_counter() - started,
        "conventions": {"p_value": "(k + 1) / (n + 1), k = #{null >= observed}",
                        "z_score": "(observed - mean) / sample sd of the null",
                        "coloc2_p_value": "normal CDF of the observed r against the null's "
                                          "mean and sample sd (Coloc 2's 'Costes P-Value')"}})
    pd.DataFrame({"iteration": range(1, result.null.size + 1), "r": result.null}).to_csv(
        out / "null_distribution.csv", index=False)
    if not args.no_plots:
        null_histogram(result, out / "plots" / "randomization.png",
                       title=f"{names[0]} vs {names[1]}: Costes randomization ({result.method})")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table[SHOWN_COLUMNS].to_string(index=False))
    print(f"\nresults written to {out}/ (results.csv, results.parquet, null_distribution.csv, "
          f"run.json{'' if args.no_plots else ', plots/'}) in "
          f"{time.perf_counter() - started:.1f} s")
    return 0
