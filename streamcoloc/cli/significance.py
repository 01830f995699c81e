"""``streamcoloc randomization``: Costes' randomization test of two channels."""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from ..reports.plots import plot_randomization
from ..significance import costes_randomization, psf_from_optics
from ..significance.randomization import METHODS, OPTICS
from . import execution, inputs

SHOWN_COLUMNS = ["channel_a", "channel_b", "observed", "p_value", "z_score", "coloc2_p_value",
                 "null_mean", "null_sd", "n_iter", "n_voxels", "block_size", "method"]
CONVENTIONS = {
    "p_value": "(k + 1) / (n + 1), k = #{randomized r >= observed r}, n finite randomized r",
    "z_score": "(observed - mean) / sample sd (n - 1) of the randomized r",
    "coloc2_p_value": "normal CDF of the observed r against the randomized r's mean and "
                      "sample sd: Coloc 2's 'Costes P-Value' (near 1 for colocalization)",
}


def add_parser(commands) -> None:
    """Add the ``randomization`` subcommand to an argparse subparsers object."""
    command = commands.add_parser(
        "randomization", help="Costes' randomization test of Pearson's r",
        description="Places Pearson's r of two channels against the r of block-scrambled "
                    "pairings (Costes et al. 2004). 'tile' (default) streams any size in one "
                    "read; 'coloc2' replays Fiji Coloc 2's test in memory. Writes "
                    "results.csv/.parquet, null_distribution.csv, run.json and "
                    "plots/randomization.png.")
    inputs.add_pair_arguments(command)
    command.add_argument("--mask", help="mask image of the same shape (nonzero = measured)")
    command.add_argument("--method", default="tile", choices=METHODS,
                         help="tile (default) or coloc2")
    command.add_argument("--n-iter", type=int, help="randomizations (default 200; 10 for "
                                                    "coloc2, as Coloc 2)")
    command.add_argument("--block-size", help="block edge in voxels: one value or one per axis "
                                              "(default: the PSF, rounded down)")
    command.add_argument("--psf", help="PSF size in voxels: one value or one per axis "
                                       "(default 3, Coloc 2's; coloc2 smooths with it)")
    command.add_argument("--wavelength", type=float,
                         help="emission wavelength, for the PSF from the optics as JACoP "
                              "(with --na and --pixel-size, same length unit)")
    command.add_argument("--na", type=float, help="numerical aperture")
    command.add_argument("--pixel-size", type=float, help="lateral pixel size")
    command.add_argument("--z-step", type=float, help="axial step (3-D images)")
    command.add_argument("--microscope", default="widefield", choices=tuple(OPTICS),
                         help="resolution formula (JACoP): widefield or confocal")
    command.add_argument("--tile-blocks", help="tile method: blocks per tile, one value or one "
                                               "per axis (default: automatic)")
    command.add_argument("--seed", type=int, help="random seed (default: fresh; the one used "
                                                  "is written to the results)")
    execution.add_arguments(command, resume=False)
    command.add_argument("--no-plots", action="store_true", help="skip the histogram PNG")
    command.add_argument("--out", required=True, help="results folder to write")
    command.set_defaults(run=run_randomization)


def _per_axis(text, what, kind=float):
    """One number, or a tuple of one per axis; None stays None."""
    values = inputs.numbers(text, None, what, kind)
    if values is None or len(values) > 1:
        return None if values is None else tuple(values)
    return values[0]


def _psf(args):
    optics = (args.wavelength, args.na, args.pixel_size)
    if all(v is None for v in optics):
        return _per_axis(args.psf, "--psf")
    if any(v is None for v in optics):
        raise ValueError("the PSF from the optics needs --wavelength, --na and --pixel-size")
    if args.psf is not None:
        raise ValueError("give either --psf or the optics (--wavelength, --na, --pixel-size)")
    return psf_from_optics(*optics, z_step=args.z_step, microscope=args.microscope)


def run_randomization(args) -> int:
    started = time.perf_counter()
    a, b, names, mask, given = inputs.open_pair_and_mask(args)
    psf = _psf(args)
    out = Path(args.out)
    with execution.recorded(args, out) as caught:
        result = costes_randomization(
            a, b, mask=mask, n_iter=args.n_iter, psf=psf, seed=args.seed, method=args.method,
            block_size=_per_axis(args.block_size, "--block-size", int),
            tile_blocks=_per_axis(args.tile_blocks, "--tile-blocks", int))
    table = result.to_frame()
    table.insert(0, "channel_b", names[1])
    table.insert(0, "channel_a", names[0])
    execution.write_run(out, table, given, {
        "diagnostic": "randomization", "psf": psf, "conventions": CONVENTIONS,
        "null_distribution": "null_distribution.csv"}, caught, started)
    pd.DataFrame({"iteration": range(1, result.null.size + 1), "r": result.null}).to_csv(
        out / "null_distribution.csv", index=False)
    if not args.no_plots:
        plot_randomization(result, out / "plots" / "randomization.png",
                       title=f"{names[0]} vs {names[1]}: Costes randomization ({result.method})")
    with pd.option_context("display.width", 200, "display.float_format", "{:.4g}".format):
        print(table[SHOWN_COLUMNS].to_string(index=False))
    return execution.done(out, started)
