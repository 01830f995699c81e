#!/usr/bin/env python
"""Two revisions of streamcoloc side by side on bench_pixel's or bench_smlm's data.

Speed-ups of a change are ratios measured in one run (the machine is noisy):
this script checks out each revision in a temporary git worktree and runs,
in a fresh process per measurement (peak RSS from VmHWM):

* pixel (default): the raw read+decode of bench_pixel's 64x1024x1024 uint16
  pair and its 50 cells' labels (min of 3 runs per process: the reader), and
  ``analyse_pairwise`` with every metric and Costes (Coloc 2) thresholds on
  the pair with its 50 cells and with the cells cut into ~3,000 regions (min
  of 2 runs per process);
* ``--smlm``: ``coloc_index`` on bench_smlm's Parquet table of 10^6
  localizations per channel.

Either way the two revisions run in turn for ``--pairs`` pairs of fresh
processes (default 3 for pixel, 8 for smlm): medians, and the median of the
pairs' ratios.

The data are written by this tree's bench_pixel or bench_smlm.

    .venv/bin/python benchmarks/bench_revisions.py 8fa057d HEAD
    .venv/bin/python benchmarks/bench_revisions.py 0956489 HEAD --smlm
"""

from __future__ import annotations

import argparse
import shutil
import statistics
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

CASES = ("raw", "labels", "cells")


def worker(kind: str, args: dict) -> dict:
    """Every metric on one label image with the streamcoloc of ``args['tree']``
    (or, ``kind`` 'raw', its raw read; 'smlm', :func:`smlm_worker`)."""
    if kind == "smlm":
        return smlm_worker(args)
    sys.path.insert(0, args["tree"])
    import numpy as np
    import streamcoloc

    assert Path(streamcoloc.__file__).is_relative_to(args["tree"]), streamcoloc.__file__
    if kind == "raw":
        import bench_pixel  # its raw read imports the streamcoloc found first: the tree's

        runs = [_timed(bench_pixel.raw_read, args["paths"], with_labels=True) for _ in range(3)]
        return {"seconds": min(r[0] for r in runs), "cpu": min(r[1] for r in runs),
                "maxrss": harness.peak_rss()}
    image = streamcoloc.open_image(args["paths"]["channels"])
    labels = streamcoloc.open_image(args["paths"][kind])
    small = np.arange(4 * 32 * 32, dtype=np.uint16).reshape(4, 32, 32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        streamcoloc.analyse_pairwise(small, small[::-1], label_mask=(small > 99).astype(np.int32))
        runs = [_timed(streamcoloc.analyse_pairwise, image.isel(c=0), image.isel(c=1),
                       label_mask=labels, metrics=streamcoloc.ALL_METRICS,
                       threshold_method="costes") for _ in range(2)]
    table = runs[-1][2]
    return {"seconds": min(r[0] for r in runs), "cpu": min(r[1] for r in runs),
            "rows": len(table), "reads": table.attrs["n_reads"],
            "tables": table.attrs.get("tables"), "maxrss": harness.peak_rss()}


def _timed(func, *args, **kwargs) -> tuple:
    """(wall seconds, CPU seconds of the process, result) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    result = func(*args, **kwargs)
    return time.perf_counter() - wall, time.process_time() - cpu, result


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


def alternate(trees: dict, pairs: int, kind: str, args: dict) -> dict:
    """``{revision: [worker results]}``: a fresh process per run, the
    revisions in turn, ``pairs`` times (so drifts of the machine hit both)."""
    runs = {revision: [] for revision in trees}
    for _ in range(pairs):
        for revision, tree in trees.items():
            runs[revision].append(harness.spawn(__file__, kind, {"tree": str(tree), **args}))
    return runs


def speed_up(runs: dict) -> str:
    """The median of the pairs' time ratios old/new, and their range (and
    of their CPU times, when measured: less sensitive to how the threads
    happened to be scheduled, still to the machine's drifts)."""
    old, new = runs.values()
    text = []
    for key, name in (("seconds", "speed-up"), ("cpu", "CPU time")):
        if key in old[0]:
            ratios = [a[key] / b[key] for a, b in zip(old, new)]
            text.append(f"{name} {statistics.median(ratios):.2f}x (median of the pairs' ratios; "
                        f"range {min(ratios):.2f}-{max(ratios):.2f})")
    return "; ".join(text)


def compare_smlm(trees: dict, folder: Path, pairs: int) -> None:
    import bench_smlm

    data = bench_smlm.write_dataset(folder / "smlm", 10**6)
    runs = alternate(trees, pairs, "smlm", {"data": str(data), "workdir": str(folder)})
    old, new = trees
    print(f"coloc_index, 10^6 localizations per channel (Parquet), {pairs} pairs of fresh "
          f"processes in turn: {old} vs {new}")
    for revision, measured in runs.items():
        seconds = [r["seconds"] for r in measured]
        print(f"  {revision:<12} median {statistics.median(seconds):.3f} s (runs "
              f"{', '.join(f'{v:.2f}' for v in seconds)}), page faults "
              f"{statistics.median(r['faults'] for r in measured):,.0f}, peak RSS "
              f"{fmt_bytes(statistics.median(r['maxrss'] for r in measured))}")
    same = max(abs(x - y) for a, b in zip(runs[old], runs[new])
               for x, y in zip(a["mean_ci"], b["mean_ci"]))
    print(f"  {speed_up(runs)}; mean CIs differ by at most {same:.1e}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("old", nargs="?", help="the revision to compare against (e.g. 8fa057d)")
    parser.add_argument("new", nargs="?", default="HEAD", help="the new revision (HEAD)")
    parser.add_argument("--workdir", type=Path, default=Path.cwd() / "bench_data")
    parser.add_argument("--smlm", action="store_true", help="the SMLM CI instead (bench_smlm)")
    parser.add_argument("--pairs", type=int, help="pairs of fresh processes (default 3; 8 with "
                        "--smlm)")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return
    if args.old is None:
        parser.error("give the revision to compare against")
    if args.old == args.new:
        parser.error("give two different revisions (results are keyed by revision)")
    if args.pairs is not None and args.pairs < 1:
        parser.error("--pairs must be at least 1")
    args.workdir.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_revisions_", dir=args.workdir))
    trees = {}
    try:
        for revision in (args.old, args.new):
            tree = folder / f"tree-{len(trees)}"
            subprocess.run(["git", "-C", str(HERE.parent), "worktree", "add", "--detach",
                            str(tree), revision], check=True, capture_output=True)
            trees[revision] = tree  # only trees that exist are removed below
        if args.smlm:
            compare_smlm(trees, folder, args.pairs or 8)
        else:
            compare_pixel(trees, folder, args.pairs or 3)
    finally:
        for tree in trees.values():
            subprocess.run(["git", "-C", str(HERE.parent), "worktree", "remove", "--force",
                            str(tree)], check=True)
        shutil.rmtree(folder, ignore_errors=True)


def compare_pixel(trees: dict, folder: Path, pairs: int) -> None:
    import bench_pixel

    paths = bench_pixel.write_dataset(folder / "data", bench_pixel.FULL["shape"],
                                      bench_pixel.FULL["chunks"], cut_cells=True)
    print(f"raw read, then every metric + Costes, 64x1024x1024 uint16 (min of 3 and of 2 runs "
          f"per process, {pairs} pairs of fresh processes in turn): {' vs '.join(trees)}")
    for kind in CASES:
        runs = alternate(trees, pairs, kind, {"paths": paths})
        for revision, measured in runs.items():
            seconds = [r["seconds"] for r in measured]
            run = measured[0]
            what = "2 channels + the 50 cells' labels" if kind == "raw" else \
                f"{run['rows']} regions, {run['reads']} read(s), {run['tables']} tables"
            print(f"  {kind:<7} {revision:<12} median {statistics.median(seconds):6.3f} s (runs "
                  f"{', '.join(f'{v:.3f}' for v in seconds)}), CPU "
                  f"{statistics.median(r['cpu'] for r in measured):.3f} s  {what}, peak RSS "
                  f"{fmt_bytes(statistics.median(r['maxrss'] for r in measured))}")
        print(f"  {kind:<7} {speed_up(runs)}")


if __name__ == "__main__":
    main()
