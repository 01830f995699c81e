#!/usr/bin/env python
"""Two revisions of streamcoloc side by side on bench_pixel's or bench_smlm's data.

Speed-ups of a change are ratios measured in one run (the machine is noisy):
this script checks out each revision in a temporary git worktree and runs,
in a fresh process per measurement (peak RSS from VmHWM):

* pixel (default): ``analyse_pairwise`` with every metric and Costes (Coloc 2)
  thresholds on bench_pixel's 64x1024x1024 uint16 pair with its 50 cells and
  with the cells cut into ~3,000 regions (min of 2 runs per process);
* ``--smlm``: ``coloc_index`` on bench_smlm's Parquet table of 10^6
  localizations per channel, the two revisions in turn for ``--pairs``
  pairs of fresh processes: medians, and the median of the pairs' ratios.

The data are written by this tree's bench_pixel or bench_smlm.

    .venv/bin/python benchmarks/bench_revisions.py 8fa057d HEAD
    .venv/bin/python benchmarks/bench_revisions.py 0956489 HEAD --smlm
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
    """Every metric on one label image with the streamcoloc of ``args['tree']``
    (or, ``kind`` 'smlm', :func:`smlm_worker`)."""
    if kind == "smlm":
        return smlm_worker(args)
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


def smlm_worker(args: dict) -> dict:
    """``coloc_index`` on the Parquet table with the streamcoloc of ``args['tree']``
    (timed as bench_smlm times it, after the same warm-up)."""
    sys.path.insert(0, args["tree"])
    import streamcoloc

    assert Path(streamcoloc.__file__).is_relative_to(args["tree"]), streamcoloc.__file__
    import bench_smlm  # after streamcoloc: its sys.path entry must not pick this checkout's
    work = tempfile.mkdtemp(dir=args["workdir"])
    try:
        result, seconds, faults, _ = bench_smlm.timed_coloc_index(args["data"], work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {"seconds": seconds, "faults": faults, "maxrss": harness.peak_rss(),
            "mean_ci": result.summary["mean_ci"].tolist()}


def compare_smlm(trees: dict, folder: Path, pairs: int) -> None:
    import statistics

    import bench_smlm

    data = bench_smlm.write_dataset(folder / "smlm", 10**6)
    runs = {revision: [] for revision in trees}
    for _ in range(pairs):
        for revision, tree in trees.items():
            runs[revision].append(harness.spawn(__file__, "smlm", {
                "tree": str(tree), "data": str(data), "workdir": str(folder)}))
    old, new = trees
    print(f"coloc_index, 10^6 localizations per channel (Parquet), {pairs} pairs of fresh "
          f"processes in turn: {old} vs {new}")
    for revision, measured in runs.items():
        seconds = [r["seconds"] for r in measured]
        print(f"  {revision:<12} median {statistics.median(seconds):.3f} s (runs "
              f"{', '.join(f'{v:.2f}' for v in seconds)}), page faults "
              f"{statistics.median(r['faults'] for r in measured):,.0f}, peak RSS "
              f"{fmt_bytes(statistics.median(r['maxrss'] for r in measured))}")
    ratios = [a["seconds"] / b["seconds"] for a, b in zip(runs[old], runs[new])]
    same = max(abs(x - y) for a, b in zip(runs[old], runs[new])
               for x, y in zip(a["mean_ci"], b["mean_ci"]))
    print(f"  speed-up {statistics.median(ratios):.2f}x (median of the pairs' ratios; "
          f"range {min(ratios):.2f}-{max(ratios):.2f}); mean CIs differ by at most {same:.1e}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="the revision to compare against (e.g. 8fa057d)")
    parser.add_argument("new", nargs="?", default="HEAD", help="the new revision (HEAD)")
    parser.add_argument("--workdir", type=Path, default=Path.cwd() / "bench_data")
    parser.add_argument("--smlm", action="store_true", help="the SMLM CI instead (bench_smlm)")
    parser.add_argument("--pairs", type=int, default=8, help="--smlm: pairs of runs")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return
    if args.old is None:
        parser.error("give the revision to compare against")
    args.workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_revisions_", dir=args.workdir))
    trees = {}
    try:
        for revision in (args.old, args.new):
            trees[revision] = folder / f"tree-{len(trees)}"
            subprocess.run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach",
                            str(trees[revision]), revision], check=True, capture_output=True)
        if args.smlm:
            compare_smlm(trees, folder, args.pairs)
        else:
            compare_pixel(trees, folder)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                            str(tree)], check=True)
        shutil.rmtree(folder, ignore_errors=True)


def compare_pixel(trees: dict, folder: Path) -> None:
    import bench_pixel

    paths = bench_pixel.write_dataset(folder / "data", bench_pixel.FULL["shape"],
                                      bench_pixel.FULL["chunks"], cut_cells=True)
    runs = {revision: {kind: harness.spawn(__file__, kind, {"tree": str(tree), "paths": paths})
                       for kind in CASES}
            for revision, tree in trees.items()}
    old_revision, new_revision = trees
    print(f"every metric + Costes, 64x1024x1024 uint16 (min of 2, fresh process each): "
          f"{old_revision} vs {new_revision}")
    for kind in CASES:
        old, new = runs[old_revision][kind], runs[new_revision][kind]
        for revision, run in ((old_revision, old), (new_revision, new)):
            print(f"  {kind:<7} {revision:<12} {run['rows']:>5} regions {run['seconds']:7.2f} s"
                  f"  {run['reads']} read(s), {run['tables']} tables, peak RSS "
                  f"{fmt_bytes(run['maxrss'])}")
        print(f"  {kind:<7} speed-up {old['seconds'] / new['seconds']:.2f}x")


if __name__ == "__main__":
    main()
