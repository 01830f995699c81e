"""``streamcoloc`` command line: one subcommand per module of this folder, and ``demo``."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..readers import open_image
from . import objects, pixel, report, significance, smlm, spatial


def main(argv=None) -> int:
    """The ``streamcoloc`` command: bad input is a one-line error and exit 2."""
    try:
        return run_command(argv)
    except (ValueError, TypeError, FileNotFoundError) as error:
        print(f"streamcoloc: error: {error}", file=sys.stderr)
        return 2


def run_command(argv=None) -> int:
    """Parse ``argv`` and run the command, letting its errors propagate."""
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="streamcoloc",
        description="Out-of-core colocalization analysis of microscopy images.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")

    pixel.add_parser(commands)

    demo = commands.add_parser(
        "demo", help="generate a sample OME-Zarr volume with known colocalization and "
                     "analyse it", description="Writes DIR/sample.ome.zarr (two channels and a "
                     "label image) and DIR/results (with report.html), then prints the table.")
    demo.add_argument("--out", default="demo_out", help="folder for data and results")
    demo.add_argument("--shape", default="64,1024,1024", help="Z,Y,X of the sample volume")
    demo.set_defaults(run=_run_demo)
    smlm.add_parser(commands)
    objects.add_parser(commands)
    spatial.add_parser(commands)
    significance.add_parser(commands)
    report.add_parser(commands)
    return parser


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
    if status == 0:
        status = main(["report", str(out / "results")])
    image = open_image(sample["image"])
    measured, _ = pearson(image.isel(c=0), image.isel(c=1))
    print(f"whole volume: PCC {measured:.4f}, expected PCC {sample['expected_pcc']:.4f} "
          "(by construction)")
    return status


if __name__ == "__main__":
    sys.exit(main())
