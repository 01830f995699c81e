#!/usr/bin/env python
"""Scaling benchmark: the same analysis on 1, 2, 4 and 8 GiB volumes, and on 1 vs 2 workers.

One run prints one table (the machine is noisy: compare only numbers of the
same run).  For every size a two-channel uint16 OME-Zarr volume with an int32
label image (bench_pixel's synthetic cells) is written to local disk, after
checking the free space; then, each in a fresh subprocess:

  * the raw read+decode of the two channels (dask, threads) for reference;
  * ``streamcoloc.analyse_pairwise`` per cell with every metric and Costes
    thresholds (the CLI's default job), timed, with the process's peak RSS.

Time should grow linearly with the volume (seconds per GB constant) and peak
memory stay flat (bounded by block bytes x threads, independent of the size).
Then the largest volume runs on a LocalCluster of 1 and of 2 worker processes
(one thread each): time, speed-up and the sum of the workers' peak RSS.

    .venv/bin/python benchmarks/bench_scale.py                  # 1, 2, 4, 8 GiB (~25 GiB disk, ~25 min)
    .venv/bin/python benchmarks/bench_scale.py --sizes 0.25 0.5 # smoke run
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_pixel as bp  # noqa: E402  (data generator, raw read)
import harness  # noqa: E402

YX = bp.BIG_YX
CHUNKS = (16, 512, 512)
#: linear time: seconds per GB of the largest volume within this factor of the smallest's
LINEAR_TOLERANCE = 1.25
#: flat memory: peak RSS of the largest volume within this factor of the smallest's
FLAT_TOLERANCE = 1.15


def shape_for(gib: float) -> tuple:
    """(z, y, x) of a two-channel uint16 volume of about ``gib`` GiB."""
    z = max(CHUNKS[0], round(gib * bp.GIB / (2 * 2 * YX[0] * YX[1]) / CHUNKS[0]) * CHUNKS[0])
    return (z,) + YX


def analyse(paths: dict) -> tuple[float, object]:
    import streamcoloc

    image = streamcoloc.open_image(paths["channels"])
    labels = streamcoloc.open_image(paths["labels"])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", streamcoloc.ColocWarning)
        table = streamcoloc.analyse_pairwise(image.isel(c=0), image.isel(c=1), label_mask=labels)
    return time.perf_counter() - start, table


def worker(kind: str, args: dict) -> dict:
    """One measurement in a fresh process (JSON on the last stdout line)."""
    if kind == "baseline":
        bp.warm_up_streamcoloc(all_metrics=True)
        return {"maxrss": harness.peak_rss()}
    if kind == "raw":
        return {"seconds": bp.raw_read(args["paths"]), "maxrss": harness.peak_rss()}
    if kind == "threads":
        bp.warm_up_streamcoloc(all_metrics=True)
        seconds, table = analyse(args["paths"])
        return {"seconds": seconds, "maxrss": harness.peak_rss(), "rows": len(table),
                "reads": table.attrs["n_reads"], "block": table.attrs["block_shape"],
                "pcc": table["pcc"].tolist()}
    if kind == "cluster":
        from distributed import Client, LocalCluster

        with LocalCluster(n_workers=args["workers"], threads_per_worker=1, processes=True,
                          dashboard_address=":0") as cluster, Client(cluster) as client:
            client.run(bp.warm_up_streamcoloc, True)
            seconds, table = analyse(args["paths"])
            peaks = client.run(harness.peak_rss)
        return {"seconds": seconds, "maxrss": sum(peaks.values()), "pcc": table["pcc"].tolist()}
    raise ValueError(f"unknown worker {kind!r}")



def spawn(kind: str, **args) -> dict:
    """``worker(kind, args)`` in a fresh interpreter (see harness.spawn)."""
    return harness.spawn(__file__, kind, args)


def check_disk(folder: Path, sizes) -> None:
    needed = sum(2 * 2 * math.prod(shape_for(g)) + math.prod(shape_for(g)) for g in sizes)
    needed += bp.GIB
    free = shutil.disk_usage(folder).free
    if free < needed:
        sys.exit(f"bench_scale: not enough free disk in {folder}: need ~{needed / bp.GIB:.1f} "
                 f"GiB, {free / bp.GIB:.1f} GiB free; use --workdir or smaller --sizes")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 2, 4, 8],
                        help="volume sizes in GiB (two uint16 channels)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the data (default ./bench_data/, deleted after)")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return

    import dask

    root = args.workdir or Path.cwd() / "bench_data"
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_scale_", dir=root))
    sizes = sorted(args.sizes)
    try:
        check_disk(folder, sizes)
        print(f"bench_scale: {dask.system.CPU_COUNT} threads; per-cell analysis, every metric, "
              f"Costes thresholds; volumes (z, {YX[0]}, {YX[1]}) x 2 ch uint16, chunks {CHUNKS}",
              flush=True)
        print(f"  {'size':>8} {'GB raw':>7} {'write':>7} {'raw read':>9} {'streamcoloc':>12} "
              f"{'s/GB':>6} {'x raw':>6} {'peak RSS':>10} {'regions':>8}")
        runs = {}
        for gib in sizes:
            shape = shape_for(gib)
            start = time.perf_counter()
            paths = bp.write_dataset(folder / f"v{gib:g}", shape, CHUNKS, seed=3)
            written = time.perf_counter() - start
            gb = 2 * 2 * math.prod(shape) / 1e9
            raw = min(spawn("raw", paths=paths)["seconds"] for _ in range(2))
            run = spawn("threads", paths=paths)
            runs[gib] = dict(run, gb=gb, paths=paths, raw=raw)
            print(f"  {gib:>6g}Gi {gb:>7.2f} {written:>6.0f}s {raw:>8.1f}s {run['seconds']:>11.1f}s "
                  f"{run['seconds'] / gb:>6.2f} {run['seconds'] / raw:>6.2f} "
                  f"{harness.fmt_bytes(run['maxrss']):>10} {run['rows']:>8}", flush=True)
        small, large = runs[sizes[0]], runs[sizes[-1]]
        per_gb = [r["seconds"] / r["gb"] for r in runs.values()]
        linear = max(per_gb) / min(per_gb)
        flat = large["maxrss"] / small["maxrss"]
        print(f"\n  time linear in size: s/GB max/min = {linear:.2f} "
              f"(target <= {LINEAR_TOLERANCE}) {bp.verdict(linear <= LINEAR_TOLERANCE)}")
        print(f"  memory flat: peak RSS {sizes[-1]:g} GiB / {sizes[0]:g} GiB = {flat:.2f} "
              f"(target <= {FLAT_TOLERANCE}) {bp.verdict(flat <= FLAT_TOLERANCE)}")
        print(f"  reads per run: {small['reads']}, block {small['block']}", flush=True)
        baseline = spawn("baseline")["maxrss"]
        block = math.prod(large["block"])
        chunks, text = bp.memory_bound(block, True, dask.system.CPU_COUNT, baseline)
        bound = chunks + bp.table_budget_bytes(block, dask.system.CPU_COUNT)
        print(f"  peak RSS of every size <= bound {harness.fmt_bytes(bound)} (chunks {text}, + "
              f"table budget): {bp.verdict(max(r['maxrss'] for r in runs.values()) <= bound)}",
              flush=True)

        print(f"\n  LocalCluster on the {sizes[-1]:g} GiB volume (processes, 1 thread each):")
        one = spawn("cluster", paths=large["paths"], workers=1)
        two = spawn("cluster", paths=large["paths"], workers=2)
        for n, run in ((1, one), (2, two)):
            print(f"  {n} worker{'s' if n > 1 else ' '} {run['seconds']:>9.1f}s  "
                  f"{large['gb'] / run['seconds']:.2f} GB/s, workers' peak RSS "
                  f"{harness.fmt_bytes(run['maxrss'])}")
        same = all(np.array_equal(r["pcc"], large["pcc"], equal_nan=True) for r in (one, two))
        print(f"  speed-up 2 vs 1 workers: {one['seconds'] / two['seconds']:.2f}x; "
              f"pcc identical on threads, 1 and 2 workers: {same}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
