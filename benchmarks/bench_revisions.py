#!/usr/bin/env python
"""Two revisions of streamcoloc side by side on bench_pixel's data.

Speed-ups of a change are ratios measured in one run (the machine is noisy):
this script checks out each revision in a temporary git worktree and runs,
in a fresh process per measurement (min of 2 runs, peak RSS from VmHWM),
``analyse_pairwise`` with every metric and Costes (Coloc 2) thresholds on
bench_pixel's 64x1024x1024 uint16 pair with its 50 cells and with the cells
cut into ~3,000 regions.  The data are written by this tree's bench_pixel.

    .venv/bin/python benchmarks/bench_revisions.py 8fa057d HEAD
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402
from harness import fmt_bytes  # noqa: E402

CASES = ("labels", "cells")


def worker(kind: str, args: dict) -> dict:
    """Every metric on one label image with the streamcoloc of ``args['tree']``."""
    sys.path.insert(0, args["tree"])
    import numpy as np
    import streamcoloc

    assert Path(streamcoloc.__file__).is_relative_to(args["tree"]), streamcoloc.__file__
    image = streamcoloc.open_image(args["paths"]["channels"])
    labels = streamcoloc.open_image(args["paths"][kind])
    small = np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32)
    seconds = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamcoloc.analyse_pairwise(small, small[::-1], label_mask=(small > 99).astype(np.int32))
        for _ in range(2):
            start = time.perf_counter()
            table = streamcoloc.analyse_pairwise(image.isel(c=0), image.isel(c=1),
                                                 label_mask=labels,
                                                 metrics=streamcoloc.ALL_METRICS,
                                                 threshold_method="costes")
            seconds.append(time.perf_counter() - start)
    return {"seconds": min(seconds), "rows": len(table), "reads": table.attrs["n_reads"],
            "tables": table.attrs.get("tables"), "maxrss": harness.peak_rss()}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="the revision to compare against (e.g. 8fa057d)")
    parser.add_argument("new", nargs="?", default="HEAD", help="the new revision (HEAD)")
    parser.add_argument("--workdir", type=Path, default=Path.cwd() / "bench_data")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return
    if args.old is None:
        parser.error("give the revision to compare against")
    import bench_pixel

    args.workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_revisions_", dir=args.workdir))
    try:
        paths = bench_pixel.write_dataset(folder / "data", bench_pixel.FULL["shape"],
                                          bench_pixel.FULL["chunks"], cut_cells=True)
        runs = {}
        for revision in (args.old, args.new):
            tree = folder / f"tree-{len(runs)}"
            subprocess.run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach",
                            str(tree), revision], check=True, capture_output=True)
            try:
                runs[revision] = {kind: harness.spawn(__file__, kind,
                                                      {"tree": str(tree), "paths": paths})
                                  for kind in CASES}
            finally:
                subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                                str(tree)], check=True)
        print(f"every metric + Costes, 64x1024x1024 uint16 (min of 2, fresh process each): "
              f"{args.old} vs {args.new}")
        for kind in CASES:
            old, new = runs[args.old][kind], runs[args.new][kind]
            for revision, run in ((args.old, old), (args.new, new)):
                print(f"  {kind:<7} {revision:<12} {run['rows']:>5} regions {run['seconds']:7.2f} s"
                      f"  {run['reads']} read(s), {run['tables']} tables, peak RSS "
                      f"{fmt_bytes(run['maxrss'])}")
            print(f"  {kind:<7} speed-up {old['seconds'] / new['seconds']:.2f}x")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
