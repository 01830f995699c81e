#!/usr/bin/env python
"""SMLM co-localization index benchmark: streamcoloc vs a scipy cKDTree reference.

Everything is measured in one run and printed as one table (the machine is
noisy: compare only numbers printed by the same run):

  * synthetic two-channel tables at constant density (clusters of A with B
    enriched around them, blinking, background: ``streamcoloc.smlm.simulate``
    tiled over a growing field) with 10^5, 10^6, 10^7 localizations per
    channel, written once as Parquet datasets (generation not timed);
  * ``streamcoloc.smlm.coloc_index`` on the Parquet dataset (a dask
    DataFrame: survey, bucketing to Parquet, both tile passes, per-
    localization Parquet output), default threaded scheduler;
  * the reference: ``streamcoloc.smlm.reference.coloc_index_kdtree`` (the same
    definitions with scipy's cKDTree and ``query_ball_point(...,
    return_length=True)``) on the table loaded into memory (load not timed),
    with 1 worker (scipy's default) and with one worker per core, up to
    ``--reference-max`` localizations per channel;
  * every measurement in a fresh subprocess, its peak RSS read from VmHWM,
    after a warm-up call on a tiny Parquet table (kernels compiled or
    loaded, the Parquet reader set up: one-time costs of a process);
    each one run ``REPEATS`` times, streamcoloc and the reference in turn,
    and the median shown (all the times are printed below the table);
  * the speed-up at 10^6 per channel, the agreement of the mean CIs, the
    time per localization at each size (linear scaling: constant);
  * at 10^6 per channel, the same run with one tile per worker thread (the
    tile layout before ``balanced_tile_points``): the load-balance ratio;
    and with a 64 KiB glibc trim threshold (the pixel passes' until stop 19)
    instead of the passes' 64 MiB (``streamcoloc.engine.heap``): time and
    page faults;
  * the generated data is synced to disk before anything is timed;
  * ``--big``: 10^8 localizations in total (5 x 10^7 per channel), streamcoloc
    only, with its peak RSS (needs ~12 GB of disk in the work folder).

Run from the project root (see benchmarks/README.md):

    .venv/bin/python benchmarks/bench_smlm.py --quick      # 1e4, 1e5
    .venv/bin/python benchmarks/bench_smlm.py              # 1e5, 1e6, 1e7
    .venv/bin/python benchmarks/bench_smlm.py --big        # + the 1e8 run
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import fmt_bytes, verdict  # noqa: E402

SIZES = (10**5, 10**6, 10**7)
QUICK_SIZES = (10**4, 10**5)
BIG_TOTAL = 10**8
CLUSTER_SPACING = 500.0  # nm between cluster centres on average
EMITTERS = 30  # per cluster and channel
LOCS_PER_CLUSTER = EMITTERS * 4 / 0.9  # 1 + Poisson(3) blinks, 10 % background
CLUSTERS_PER_BLOCK = 2000  # ~270k localizations per channel per generated block
TARGET_SPEEDUP = 10.0
BALANCE_SIZE = 10**6  # per channel: also run with one tile per worker thread ...
HEAP_PAIRS = 3  # ... and these pairs with the tile passes' heap policy and without
REPEATS = 3  # fresh runs of each measurement in the table (the median is shown)
#: the same definitions: mean CIs equal to float rounding
AGREEMENT_TOLERANCE = 1e-9
#: linear scaling: time ~ N^exponent with exponent at most this
LINEAR_EXPONENT = 1.1
GIB = 2**30


# ---------------------------------------------------------------- data

def write_dataset(folder: Path, per_channel: int, seed: int = 0) -> Path:
    """Parquet dataset of ~``per_channel`` localizations per channel: square
    blocks of the ``clusters`` simulation side by side (constant density),
    one file per block, generated one block at a time."""
    from streamcoloc.smlm import simulate

    n_clusters = max(1, round(per_channel / LOCS_PER_CLUSTER))
    n_blocks = math.ceil(n_clusters / CLUSTERS_PER_BLOCK)
    per_block = math.ceil(n_clusters / n_blocks)
    side = CLUSTER_SPACING * math.sqrt(per_block)
    columns = math.ceil(math.sqrt(n_blocks))
    folder.mkdir(parents=True, exist_ok=True)
    for block in range(n_blocks):
        table = simulate("clusters", n_clusters=per_block, field=side, emitters=EMITTERS,
                         seed=seed * 100_003 + block)
        table["x"] += (block % columns) * side
        table["y"] += (block // columns) * side
        table["channel"] = table["channel"].map({"A": 0, "B": 1}).astype(np.int64)
        table.to_parquet(folder / f"part-{block:05d}.parquet", index=False)
        del table
    return folder


def dataset_rows(folder: Path) -> int:
    import pyarrow.parquet as pq
    return sum(pq.ParquetFile(f).metadata.num_rows for f in sorted(folder.glob("*.parquet")))


def folder_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


# ---------------------------------------------------------------- workers


def warm_up(workdir: str) -> float:
    """Compile (or load from cache) the kernels, and set up dask's Parquet
    reader, on a tiny Parquet table through the measured call: the one-time
    costs of a process stay out of the timing, as the reference's load does
    (its table is read before its clock starts; ours is read inside the
    timed call).  Returns the seconds of the reader's set-up (the first read
    of the tiny table: imports, engine), which the report prints."""
    import dask.dataframe as dd
    from streamcoloc.smlm import coloc_index, simulate
    folder = Path(workdir) / "warm-up"
    folder.mkdir()
    simulate("squares", n=200, seed=0).to_parquet(folder / "part-0.parquet", index=False)
    start = time.perf_counter()
    dd.read_parquet(folder).compute()
    reader_setup = time.perf_counter() - start
    coloc_index(dd.read_parquet(folder), tile_points=100, workdir=folder)
    shutil.rmtree(folder)
    return reader_setup


def timed_coloc_index(data: str, workdir: str):
    """``coloc_index`` on the Parquet dataset ``data`` after :func:`warm_up`:
    ``(result, seconds, page faults, the reader's set-up seconds)``."""
    import resource

    import dask.dataframe as dd
    from streamcoloc.smlm import coloc_index

    reader_setup = warm_up(workdir)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    start = time.perf_counter()
    result = coloc_index(dd.read_parquet(data), workdir=workdir)
    seconds = time.perf_counter() - start
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - faults
    return result, seconds, faults, reader_setup


def worker(kind: str, args: dict) -> dict:
    """One measurement in a fresh process; returns a JSON-able dict."""
    if kind == "baseline":
        warm_up(args["workdir"])
        return {"maxrss": harness.peak_rss()}
    if kind == "streamcoloc":
        import streamcoloc.smlm.index as index
        from streamcoloc.engine import heap
        # the tile-balance A/B: 1 tile per worker thread is the layout before balancing
        index.TILES_PER_WORKER = args.get("tiles_per_worker", index.TILES_PER_WORKER)
        # the heap A/B: freed memory returned above a 64 KiB top instead of kept
        heap.TRIM_THRESHOLD = args.get("trim", heap.TRIM_THRESHOLD)
        result, seconds, faults, reader_setup = timed_coloc_index(args["data"],
                                                                  args["workdir"])
        return {"seconds": seconds, "maxrss": harness.peak_rss(), "faults": faults,
                "reader_setup": reader_setup,
                "steps": result.attrs["seconds"],
                "mean_ci": result.summary["mean_ci"].tolist(), "tiles": result.attrs["n_tiles"],
                "far": result.attrs["far_nearest_neighbours"],
                "out_bytes": folder_bytes(Path(result.attrs["workdir"]))}
    if kind == "kdtree":
        import pandas as pd
        from streamcoloc.smlm.reference import coloc_index_kdtree
        table = pd.read_parquet(args["data"])
        start = time.perf_counter()
        _, summary = coloc_index_kdtree(table, workers=args["workers"])
        return {"seconds": time.perf_counter() - start, "maxrss": harness.peak_rss(),
                "mean_ci": summary["mean_ci"].tolist()}
    raise ValueError(f"unknown worker {kind!r}")



def spawn(kind: str, **args) -> dict:
    """``worker(kind, args)`` in a fresh interpreter (see harness.spawn)."""
    return harness.spawn(__file__, kind, args)


# ---------------------------------------------------------------- report

def row(*cells) -> None:
    widths = (12, 13, 10, 11, 14, 12, 10)
    print("  " + " ".join(f"{c:>{w}}" for c, w in zip(cells, widths)), flush=True)


def check_disk(folder: Path, total_rows: int) -> None:
    """Refuse when the disk cannot hold input, bucketed table and output
    (~ 40 + 2 x 60 bytes per localization, plus 1 GiB)."""
    needed = total_rows * 160 + GIB
    free = shutil.disk_usage(folder).free
    if free < needed:
        sys.exit(f"bench_smlm: need ~{needed / GIB:.1f} GiB free in {folder}, have "
                 f"{free / GIB:.1f} GiB (use --workdir elsewhere or fewer sizes)")


def measure(folder: Path, per_channel: int, reference_max: int, cores: int,
            repeats: int = REPEATS) -> dict:
    data = write_dataset(folder / f"data-{per_channel}", per_channel)
    os.sync()  # the generator's writes reach the disk before anything is timed
    rows = dataset_rows(data)
    work = folder / f"work-{per_channel}"

    def ours(**extra) -> dict:
        work.mkdir(exist_ok=True)
        try:
            return spawn("streamcoloc", data=str(data), workdir=str(work), **extra)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    out = {"per_channel": per_channel, "rows": rows}
    # streamcoloc and the reference in turn, fresh runs each: medians
    runs = {"ours": []}
    references = sorted({1, cores}) if per_channel <= reference_max else []
    for _ in range(repeats):
        runs["ours"].append(ours())
        for workers in references:
            runs.setdefault(f"ref{workers}", []).append(
                spawn("kdtree", data=str(data), workers=workers))
    for name, measured in runs.items():
        out[name] = median_run(measured)
    if per_channel == BALANCE_SIZE:
        out["one_tile"] = ours(tiles_per_worker=1)
        out["heap"] = [(ours(), ours(trim=64 * 2**10)) for _ in range(HEAP_PAIRS)]
    shutil.rmtree(data, ignore_errors=True)
    return out


def median_run(runs: list) -> dict:
    """The run of median time (its other figures with it), and every time."""
    middle = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
    return dict(middle, all_seconds=[r["seconds"] for r in runs])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="sizes 1e4 and 1e5 only")
    parser.add_argument("--sizes", help="comma-separated localizations per channel")
    parser.add_argument("--reference-max", type=float, default=1e6,
                        help="largest size (per channel) run with the cKDTree reference")
    parser.add_argument("--big", action="store_true",
                        help=f"also run {BIG_TOTAL:.0e} localizations in total (streamcoloc)")
    parser.add_argument("--workdir", default="bench_data", help="folder for the data")
    args = harness.parse_or_work(parser, worker, None)
    if args is None:
        return
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.sizes:
        sizes = tuple(int(float(s)) for s in args.sizes.split(","))
    cores = os.cpu_count() or 1
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="smlm-", dir=args.workdir))
    check_disk(folder, 2 * max(sizes) + (BIG_TOTAL if args.big else 0))
    import dask
    import numba
    import scipy
    print(f"bench_smlm: {cores} cores, numba {numba.__version__}, dask {dask.__version__}, "
          f"scipy {scipy.__version__}; data in {folder}")
    baseline = spawn("baseline", workdir=str(folder))["maxrss"]
    print(f"baseline process (imports, compiled kernels, Parquet reader set up): peak RSS "
          f"{fmt_bytes(baseline)}\n")
    print("  wall time (s) and peak RSS per measurement, each in a fresh process")
    row("per channel", "streamcoloc", "RSS", "kdtree w=1", f"kdtree w={cores}", "RSS (w=1)",
        "speed-up")
    results = []
    try:
        for size in sizes:
            r = measure(folder, size, int(args.reference_max), cores)
            results.append(r)
            ref1, refc = r.get("ref1"), r.get(f"ref{cores}")
            row(f"{size:.0e}", f"{r['ours']['seconds']:.2f}", fmt_bytes(r["ours"]["maxrss"]),
                f"{ref1['seconds']:.2f}" if ref1 else "-",
                f"{refc['seconds']:.2f}" if refc else "-",
                fmt_bytes(ref1["maxrss"]) if ref1 else "-",
                f"{ref1['seconds'] / r['ours']['seconds']:.1f}x" if ref1 else "-")
        if args.big:
            r = measure(folder, BIG_TOTAL // 2, 0, cores, repeats=1)
            results.append(r)
            row(f"{BIG_TOTAL // 2:.0e}", f"{r['ours']['seconds']:.1f}",
                fmt_bytes(r["ours"]["maxrss"]),
                "-", "-", "-", "-")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(results, cores, baseline)


def report(results: list, cores: int, baseline: int) -> None:
    print("\n  every run's time (s), fresh runs in turn:")
    for r in results:
        for name in ("ours", "ref1") + tuple(k for k in r if k.startswith("ref") and k != "ref1"):
            if name in r:
                label = "streamcoloc" if name == "ours" else f"kdtree w={name[3:]}"
                print(f"    {r['per_channel']:.0e}/channel {label}: "
                      f"{', '.join(f'{v:.2f}' for v in r[name]['all_seconds'])}")
    print("\n  streamcoloc steps (s), tiles, far nearest neighbours, work folder size:")
    for r in results:
        steps = ", ".join(f"{k} {v:.2f}" for k, v in r["ours"]["steps"].items())
        print(f"    {r['per_channel']:.0e}/channel ({r['rows']:,} rows): {steps}; "
              f"{r['ours']['tiles']} tiles, {r['ours']['far']} far, work "
              f"{r['ours']['out_bytes'] / GIB:.2f} GiB")
    print("\n  agreement of the mean CI (streamcoloc vs cKDTree, max |difference|):")
    for r in results:
        if "ref1" in r:
            diff = np.max(np.abs(np.subtract(r["ours"]["mean_ci"], r["ref1"]["mean_ci"])))
            print(f"    {r['per_channel']:.0e}/channel: {diff:.1e} "
                  f"{verdict(diff <= AGREEMENT_TOLERANCE)} (<= "
                  f"{AGREEMENT_TOLERANCE:.0e}; mean CI "
                  f"{', '.join(f'{v:.4f}' for v in r['ours']['mean_ci'])})")
    at = next((r for r in results if r["per_channel"] == 10**6 and "ref1" in r), None)
    if at is not None:
        one, many = at["ref1"]["seconds"], at[f"ref{cores}"]["seconds"]
        ours = at["ours"]["seconds"]
        print(f"\n  the Parquet reader's one-time set-up, in each process's warm-up (not timed, "
              f"as the reference's load): {at['ours']['reader_setup']:.2f} s")
        print(f"  speed-up at 1e6/channel: {one / ours:.1f}x vs cKDTree with 1 worker, "
              f"{many / ours:.1f}x vs cKDTree with {cores} workers "
              f"(target >= {TARGET_SPEEDUP:.0f}x: "
              f"{verdict(one / ours >= TARGET_SPEEDUP)} vs 1 worker, "
              f"{verdict(many / ours >= TARGET_SPEEDUP)} vs {cores})")
    for r in results:
        if "one_tile" in r:
            two, one = r["ours"], r["one_tile"]
            print(f"\n  tile balance at {r['per_channel']:.0e}/channel: {two['tiles']} tiles "
                  f"(2 per worker thread) {two['seconds']:.2f} s, {fmt_bytes(two['maxrss'])} vs "
                  f"{one['tiles']} tiles (1 per thread) {one['seconds']:.2f} s, "
                  f"{fmt_bytes(one['maxrss'])}: {one['seconds'] / two['seconds']:.2f}x")
    for r in results:
        if "heap" in r:
            def median(side, key):
                return float(np.median([pair[side][key] for pair in r["heap"]]))
            print(f"\n  heap at {r['per_channel']:.0e}/channel, medians of {len(r['heap'])} "
                  f"interleaved pairs: freed task memory kept (trim threshold 64 MiB, "
                  f"engine.heap) {median(0, 'seconds'):.2f} s, {median(0, 'faults'):,.0f} page "
                  f"faults, {fmt_bytes(median(0, 'maxrss'))} vs returned (64 KiB, the pixel "
                  f"passes' until stop 19) {median(1, 'seconds'):.2f} s, {median(1, 'faults'):,.0f} page faults, "
                  f"{fmt_bytes(median(1, 'maxrss'))}: "
                  f"{median(1, 'seconds') / median(0, 'seconds'):.2f}x")
    print("\n  scaling (streamcoloc): microseconds per localization, peak RSS above baseline")
    for r in results:
        per = r["ours"]["seconds"] / r["rows"] * 1e6
        print(f"    {r['rows']:>12,} localizations: {per:6.2f} us/loc, "
              f"+{fmt_bytes(r['ours']['maxrss'] - baseline)}")
    if len(results) >= 2:
        first, last = results[0], results[-1]
        exponent = math.log(last["ours"]["seconds"] / first["ours"]["seconds"]) / \
            math.log(last["rows"] / first["rows"])
        print(f"    time ~ N^{exponent:.2f} from {first['rows']:,} to {last['rows']:,} "
              f"(1.00 = linear; target <= {LINEAR_EXPONENT}: "
              f"{verdict(exponent <= LINEAR_EXPONENT)})")


if __name__ == "__main__":
    main()
