"""``streamcoloc smlm``: the SMLM co-localization index of localization files."""

from __future__ import annotations

import contextlib
import sys
import time
from pathlib import Path

import pandas as pd

from ..smlm import coloc_index, read_localizations
from ..smlm.readers import FORMATS
from . import batch, execution, inputs

#: seconds before dask's progress bar appears (short runs stay quiet)
PROGRESS_AFTER = 2.0
SHOWN_COLUMNS = ["roi", "channel", "other", "n", "mnnd", "precision", "d", "mean_ld", "mean_ci",
                 "sem_ci"]


def add_parser(commands) -> None:
    """Add the ``smlm`` subcommand to an argparse subparsers object."""
    smlm = commands.add_parser(
        "smlm", help="co-localization index of SMLM localization tables",
        description="Co-localization index (Willems & MacGillavry 2022) of every localization "
                    "against every other channel, per ROI, computed tile by tile (tables of "
                    "any size). Writes the summary (results.csv/.parquet), the per-"
                    "localization table (localizations.parquet), run.json and CI maps "
                    "(plots/).")
    smlm.add_argument("locs", nargs="+", help="localization file(s) or globs: ThunderSTORM/ONI/"
                                              "plain CSV, Parquet, Picasso or DECODE HDF5; "
                                              "the channels of one dataset (one file per "
                                              "channel, or one with a channel column)")
    smlm.add_argument("--batch", action="store_true",
                      help="each file is a dataset of its own (with a channel column): one "
                           "summary table with a 'source' column, each dataset's full results "
                           "in OUT/sources/NNNNN/; --resume skips finished datasets")
    smlm.add_argument("--format", default="auto", choices=FORMATS, help="file format (auto)")
    smlm.add_argument("--channel-col", default="channel",
                      help="channel column after reading (default: the standard 'channel'; "
                           "any column of the file works)")
    smlm.add_argument("--channels", help="comma-separated channels to analyse (default: all)")
    smlm.add_argument("--channel-names", help="comma-separated channel of each file without a "
                                              "channel column (default: file names)")
    smlm.add_argument("--pixel-size", type=float, help="nm per camera pixel (Picasso, DECODE)")
    smlm.add_argument("--precision", type=float,
                      help="localization precision (nm) for files without precision column")
    smlm.add_argument("--roi", action="append", metavar="SHAPE",
                      help="rectangle 'x0,y0,x1,y1' or polygon 'x,y;x,y;x,y;...' in nm; "
                           "repeat for several ROIs")
    smlm.add_argument("--roi-col", help="column holding an ROI id per localization")
    smlm.add_argument("--radius-factor", type=float, default=1.0,
                      help="search radius = factor x effective resolution d (1)")
    smlm.add_argument("--include-self", action="store_true",
                      help="count each localization in its own LD (default: excluded)")
    smlm.add_argument("--tile-points", type=int, default=1_000_000,
                      help="localizations per tile (memory per task)")
    smlm.add_argument("--workdir", help="folder for the bucketed table (default: temp)")
    smlm.add_argument("--no-plots", action="store_true", help="skip the PNG maps")
    smlm.add_argument("--out", required=True, help="results folder to write")
    execution.add_arguments(smlm)
    smlm.set_defaults(run=run_smlm)


def parse_roi(text: str):
    """'x0,y0,x1,y1' -> rectangle tuple; 'x,y;x,y;...' -> list of vertices."""
    try:
        if ";" in text:
            return [tuple(float(v) for v in point.split(",")) for point in text.split(";")]
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise ValueError(f"--roi {text!r}: expected numbers 'x0,y0,x1,y1' or 'x,y;x,y;x,y'")
    if len(values) != 4:
        raise ValueError(f"--roi {text!r}: a rectangle needs 4 numbers x0,y0,x1,y1")
    return values


def run_smlm(args) -> int:
    started = time.perf_counter()
    if args.roi and args.roi_col:
        raise ValueError("give either --roi or --roi-col, not both")
    paths = batch.expand(args.locs)
    out = Path(args.out)
    with execution.recorded(args, out) as caught, _progress(args):
        if args.batch:
            summary = batch.each_source(paths, out, args.resume,
                                        lambda path, folder: _analyse([path], args, folder))
            execution.write_run(out, summary, _inputs(args, paths), {}, caught, started)
        else:
            summary = _analyse(paths, args, out, caught)
    with pd.option_context("display.width", 200, "display.float_format", "{:.4f}".format):
        shown = (["source"] if args.batch else []) + SHOWN_COLUMNS
        print(summary[shown].to_string(index=False, max_rows=60))
    print(f"\nresults written to {out}/ (results.csv, results.parquet, "
          f"{'sources/' if args.batch else 'localizations.parquet'}, run.json, plots/) in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


def _analyse(paths, args, out: Path, caught=()) -> pd.DataFrame:
    """The CI of one dataset (the files of its channels), written to ``out``;
    returns the summary table."""
    locs = read_localizations([str(p) for p in paths], args.format,
                              channel=inputs.names(args.channel_names), pixel_size=args.pixel_size,
                              precision=args.precision)
    roi = args.roi_col or ([parse_roi(r) for r in args.roi] if args.roi else None)
    channels = inputs.names(args.channels)
    if channels is not None:  # compare as the column's values: numbers stay numbers
        column = locs[args.channel_col]
        if column.dtype.kind in "iuf":
            channels = [column.dtype.type(c) for c in channels]
    result = coloc_index(locs, channel=args.channel_col, channels=channels, roi=roi,
                         radius_factor=args.radius_factor, exclude_self=not args.include_self,
                         tile_points=args.tile_points, workdir=args.workdir)
    result.attrs["warnings"] = [str(w.message) for w in caught]
    result.write(out, inputs=_inputs(args, paths), plots=not args.no_plots)
    return result.summary


def _inputs(args, paths) -> dict:
    return {"paths": [str(p) for p in paths], "format": args.format}


@contextlib.contextmanager
def _progress(args):
    """dask's task progress bar on stderr for the local schedulers (the
    dashboard shows a cluster's), unless --quiet."""
    if args.quiet or args.scheduler or args.workers:
        yield
        return
    from dask.diagnostics import ProgressBar

    with ProgressBar(out=sys.stderr, minimum=PROGRESS_AFTER):
        yield
