#!/usr/bin/env python
"""Pixel-colocalization benchmark: streamcoloc vs a raw zarr read and vs napari-colocalization.

Everything is measured in one run and printed as one table (the machine is
noisy, so numbers from different runs are not comparable):

  (i)   raw read+decode of the two channels (no-op consumer on the same dask
        blocks and threaded scheduler streamcoloc uses), warm page cache;
  (ii)  streamcoloc.analyse_pairwise (pcc, overlap, mcc, regression, manual
        thresholds) on the whole volume and on 50 label regions;
  (iii) the ratios (ii)/(i), target <= 1.3;
  (iv)  napari-colocalization 0.4.0 on the same data in memory (load not
        counted), speed-up of streamcoloc (target >= 20x), agreement of the
        numbers, and peak RSS of both measured the same way (one subprocess
        per measurement, VmHWM = peak RSS);
  --big-gib N: an N GiB two-channel volume, streamcoloc in a subprocess, peak
        RSS against the bound of ``memory_bound``: 2 x (block bytes x channels
        + label block) x threads + baseline, the 2 for zarr's decode buffers.

Run from the project root (see benchmarks/README.md):

    .venv/bin/python benchmarks/bench_pixel.py --quick
    .venv/bin/python benchmarks/bench_pixel.py
    .venv/bin/python benchmarks/bench_pixel.py --big-gib 8
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

# Benchmark the working tree this file lives in (an editable install made before
# streamcoloc/__init__.py existed resolves ``streamcoloc`` to an empty namespace
# package outside the project root).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from harness import fmt_bytes, verdict  # noqa: E402

# ---------------------------------------------------------------- configuration

FULL = {"shape": (64, 1024, 1024), "chunks": (16, 512, 512)}
QUICK = {"shape": (32, 512, 512), "chunks": (16, 256, 256)}
BIG_YX = (2048, 4096)
N_REGIONS = 50
METRICS = ("pcc", "overlap", "mcc", "regression")
# Half-integer thresholds: on integer data napari's strict ``>`` and
# streamcoloc's (Coloc 2) ``>=`` select the same voxels, so tM1/tM2 are comparable.
THRESHOLD_A, THRESHOLD_B = 400.5, 350.5
TARGET_RATIO = 1.3
TARGET_SPEEDUP = 20.0
AGREE_TOL = 1e-6
#: Raw read / analysis pairs per case of the every-metric table.
PAIRS = 5
#: What the every-metric table's raw read of each case reads besides the channels.
RAW_EXTRA = {"whole": "", "labels": " + labels", "cells": " + cut cells"}
NAPARI_VERSION = "0.4.0"
Z_ASPECT = 4.0  # physical z step / xy step, for the shape of the synthetic cells
COARSE = (2, 8, 8)  # label image resolution step (voxels) per axis
#: The many-cells label image: every cell cut by a grid of boxes this size
#: (voxels per axis), each piece a region (thousands of small regions).
CELL_GRID = (8, 64, 64)
#: napari-colocalization's time for the many-cells image is extrapolated
#: from runs on random samples of 1/NAPARI_SUBSET and 2/NAPARI_SUBSET of the
#: regions (its cost is linear in them: a full-volume mask per region).
NAPARI_SUBSET = 50
GIB = 2**30
#: zarr 3 decodes every stored chunk of a requested block concurrently into
#: buffers of its own before copying them into the block, so reading a block
#: holds about twice its bytes (measured: a 64 MiB read peaks at +157 MiB).
ZARR_READ_FACTOR = 2


# ---------------------------------------------------------------- synthetic data

def make_scene(shape, seed=0, n_regions=N_REGIONS) -> dict:
    """Random cells (seeds with radii and sparse int32 ids) and the
    wave vectors of the intensity structure; small, JSON-able, shared by
    every block so blocks can be generated independently."""
    rng = np.random.default_rng(seed)
    z, y, x = shape
    volume = z * Z_ASPECT * y * x
    base = (volume / n_regions * 3 / (4 * np.pi)) ** (1 / 3)
    # Seeds at least base/2 apart (physical units), so each owns the coarse
    # cell it sits in and every one of the n_regions regions is present.
    scale = np.array([Z_ASPECT, 1.0, 1.0])
    centers = []
    while len(centers) < n_regions:
        c = rng.uniform(0, 1, 3) * np.array([z, y, x])
        if all(np.linalg.norm((c - o) * scale) >= base / 2 for o in centers):
            centers.append(c)
    centers = np.array(centers)
    radii = base * rng.uniform(0.9, 1.4, n_regions)
    ids = np.unique(rng.integers(1, 2**31 - 1, 4 * n_regions))
    ids = rng.permutation(ids)[:n_regions]
    waves = rng.uniform(2 * np.pi / 48, 2 * np.pi / 12, (2, 2, 3))  # (channel, term, axis)
    waves[..., 0] *= 2  # z wavelengths in voxels are shorter (anisotropic voxels)
    phases = rng.uniform(0, 2 * np.pi, (2, 2, 3))
    return {"centers": centers.tolist(), "radii": radii.tolist(), "ids": ids.tolist(),
            "waves": waves.tolist(), "phases": phases.tolist(), "shape": list(shape)}


def labels_block(scene, location, grid=None) -> np.ndarray:
    """int32 region ids of one block (``location`` = [(start, stop)] per axis):
    Voronoi cells of the seeds within their radii, computed on a coarse grid (COARSE) and repeated to full resolution.
    With ``grid`` (voxels per axis) every cell is cut into the boxes of that
    grid: region id = cell number + 1 + cells x box number."""
    centers = np.asarray(scene["centers"])
    radii = np.asarray(scene["radii"])
    ids = np.asarray(scene["ids"], dtype=np.int32)
    starts, stops = [s for s, _ in location], [e for _, e in location]
    c0 = [s // f for s, f in zip(starts, COARSE)]
    c1 = [-(-e // f) for e, f in zip(stops, COARSE)]
    axes = [(np.arange(a, b) + 0.5) * f for a, b, f in zip(c0, c1, COARSE)]
    scale = (Z_ASPECT, 1.0, 1.0)
    best = np.full([b - a for a, b in zip(c0, c1)], np.inf, dtype=np.float32)
    owner = np.zeros(best.shape, dtype=np.int32)
    for k, center in enumerate(centers):
        d = [((ax - c) * s).astype(np.float32) ** 2 for ax, c, s in zip(axes, center, scale)]
        dist = d[0][:, None, None] + d[1][None, :, None] + d[2][None, None, :]
        closer = dist < best
        best[closer] = dist[closer]
        owner[closer] = k
    # Voronoi cells of the seeds, cut at each seed's radius (the rest is background).
    inside = best < (radii ** 2)[owner]
    coarse = np.where(inside, ids[owner] if grid is None else owner + 1, 0).astype(np.int32)
    full = coarse
    for axis, f in enumerate(COARSE):
        full = np.repeat(full, f, axis=axis)
    sl = tuple(slice(s - a * f, e - a * f) for s, e, a, f in zip(starts, stops, c0, COARSE))
    full = np.ascontiguousarray(full[sl])
    if grid is None:
        return full
    boxes = [-(-n // g) for n, g in zip(scene["shape"], grid)]
    index = [np.arange(s, e) // g for (s, e), g in zip(location, grid)]
    box = (index[0][:, None, None] * boxes[1] + index[1][None, :, None]) * boxes[2] \
        + index[2][None, None, :]
    return np.where(full > 0, full + len(ids) * box, 0).astype(np.int32)


def _structure(scene, channel, location) -> np.ndarray:
    """Puncta-like positive structure in [0, 1] from separable sine products."""
    waves, phases = np.asarray(scene["waves"]), np.asarray(scene["phases"])
    total = 0
    for term in range(waves.shape[1]):
        f = [np.sin(np.arange(s, e, dtype=np.float32) * np.float32(w) + np.float32(p))
             for (s, e), w, p in zip(location, waves[channel, term], phases[channel, term])]
        total = total + f[0][:, None, None] * f[1][None, :, None] * f[2][None, None, :]
    return np.clip(total * np.float32(0.5), 0, 1) ** 2


def channel_block(scene, channel, location) -> np.ndarray:
    """uint16 intensities: background, brighter cells, a shared punctate
    structure (channel b = 0.75 shared + 0.25 own) and shot-like noise."""
    cells = (labels_block(scene, location) != 0).astype(np.float32)
    shared = _structure(scene, 0, location)
    if channel == 0:
        signal = 100 + cells * (200 + 1500 * shared)
    else:
        own = _structure(scene, 1, location)
        signal = 90 + cells * (150 + 1200 * (0.75 * shared + 0.25 * own))
    seed = [channel] + [s for s, _ in location]
    noise = np.random.default_rng(seed).standard_normal(signal.shape, dtype=np.float32)
    values = signal + noise * np.sqrt(signal) * np.float32(1.5)
    return np.clip(np.rint(values), 0, 65535).astype(np.uint16)


def _channels_dask_block(block, scene, block_info=None):
    loc = block_info[None]["array-location"]
    return channel_block(scene, loc[0][0], loc[1:])[None]


def _labels_dask_block(block, scene, grid=None, block_info=None):
    return labels_block(scene, block_info[None]["array-location"], grid)


def write_dataset(folder: Path, shape, chunks, seed=0, cut_cells=False) -> dict:
    """Write ``folder/channels.ome.zarr`` (c,z,y,x uint16, blosc-zstd, one
    channel per chunk), ``folder/labels.ome.zarr`` (z,y,x int32: the cells)
    and with ``cut_cells`` ``folder/cells.ome.zarr`` (the cells cut by
    :data:`CELL_GRID`), block by block with dask (memory stays ~ a few chunks
    per thread)."""
    import dask.array as da
    from streamcoloc.readers import write_ome_zarr

    scene = make_scene(shape, seed)
    template = da.zeros((2,) + tuple(shape), dtype=np.uint8, chunks=(1,) + tuple(chunks))
    channels = template.map_blocks(_channels_dask_block, scene, dtype=np.uint16)
    label_template = da.zeros(shape, dtype=np.uint8, chunks=chunks)
    paths = {"channels": folder / "channels.ome.zarr", "labels": folder / "labels.ome.zarr"}
    grids = {"labels": None}
    if cut_cells:
        paths["cells"], grids["cells"] = folder / "cells.ome.zarr", CELL_GRID
    write_ome_zarr(paths["channels"], channels, dims=("c", "z", "y", "x"),
                   chunks=(1,) + tuple(chunks), compressor="zstd", channel_names=["A", "B"])
    for key, grid in grids.items():
        labels = label_template.map_blocks(_labels_dask_block, scene, grid, dtype=np.int32)
        write_ome_zarr(paths[key], labels, dims=("z", "y", "x"), chunks=tuple(chunks),
                       compressor="zstd")
    return {k: str(v) for k, v in paths.items()}


def folder_bytes(path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def check_disk(folder: Path, shape, what: str) -> None:
    """Refuse clearly when the file system cannot hold the data (upper bound:
    uncompressed channels, a quarter of the raw size of each of the two label
    images, 1 GiB margin)."""
    voxels = math.prod(shape)
    needed = 2 * voxels * 2 + 2 * (voxels * 4 // 4) + GIB  # two label images
    free = shutil.disk_usage(folder).free
    if free < needed:
        sys.exit(f"bench_pixel: not enough free disk for the {what} data in {folder}: need "
                 f"~{needed / GIB:.1f} GiB, {free / GIB:.1f} GiB free. Use --workdir on a "
                 "larger file system (or a smaller --big-gib).")


# ---------------------------------------------------------------- measurements

def _noop(block):
    return np.zeros((1,) * block.ndim, dtype=block.dtype)


def _labels_key(with_labels):
    """The label image of a measurement: None (whole volume), 'labels' (True)
    or 'cells'."""
    return "labels" if with_labels is True else (with_labels or None)


def raw_read(paths, with_labels=False) -> float:
    """Seconds to read+decode every block of both channels (and a label
    image: ``with_labels`` True or 'cells') with the dask blocks of
    ``open_image`` on the current (threaded) scheduler."""
    from streamcoloc import open_image

    arrays = [open_image(paths["channels"]).data]
    if _labels_key(with_labels):
        arrays.append(open_image(paths[_labels_key(with_labels)]).data)
    return _read_seconds(arrays)


def zarr_read(paths) -> float:
    """Seconds to read+decode both channels through zarr-python
    (``dask.array.from_zarr``, the blocks of ``open_image``): what the raw
    read of streamcoloc's chunk reader (``streamcoloc.readers.zarr_chunks``)
    is compared with."""
    import dask.array as da
    import zarr
    from streamcoloc import open_image

    blocks = open_image(paths["channels"]).data.chunks
    return _read_seconds([da.from_zarr(zarr.open_array(str(Path(paths["channels"]) / "0"),
                                                       mode="r"), chunks=blocks)])


def _read_seconds(arrays) -> float:
    """Seconds to compute every block of the dask ``arrays`` (each block
    consumed by a no-op, so nothing is gathered)."""
    import dask

    consumers = [a.map_blocks(_noop, chunks=tuple((1,) * len(c) for c in a.chunks), dtype=a.dtype)
                 for a in arrays]
    start = time.perf_counter()
    dask.compute(*consumers)
    return time.perf_counter() - start


def run_streamcoloc(paths, with_labels=False, all_metrics=False, **options):
    """(seconds, table) of one analyse_pairwise call from the files: the
    moment metrics at manual thresholds, or every metric with Costes
    (Coloc 2) thresholds per region (``options``: more keywords)."""
    import streamcoloc

    image = streamcoloc.open_image(paths["channels"])
    key = _labels_key(with_labels)
    labels = streamcoloc.open_image(paths[key]) if key else None
    options.update(dict(metrics=streamcoloc.ALL_METRICS, threshold_method="costes") if all_metrics
                   else dict(metrics=METRICS, threshold_a=THRESHOLD_A, threshold_b=THRESHOLD_B))
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", streamcoloc.ColocWarning)
        table = streamcoloc.analyse_pairwise(image.isel(c=0), image.isel(c=1), label_mask=labels,
                                             **options)
    return time.perf_counter() - start, table


def warm_up_streamcoloc(all_metrics: bool = False) -> None:
    """Compile (or load from cache) the kernels for uint16 channels and int32
    labels: the moment metrics, or every metric on both the joint-table and
    the per-voxel (wide) path."""
    import streamcoloc

    rng = np.random.default_rng(0)
    a, b = (rng.integers(0, 1000, (4, 32, 32)).astype(np.uint16) for _ in range(2))
    labels = np.zeros((4, 32, 32), np.int32)
    labels[:, :16] = 7
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", streamcoloc.ColocWarning)
        for mask in (None, labels):
            streamcoloc.analyse_pairwise(a, b, label_mask=mask, metrics=METRICS,
                                         threshold_a=THRESHOLD_A, threshold_b=THRESHOLD_B)
            if all_metrics:
                for cells in (streamcoloc.analysis.histograms.MAX_CELLS, 1000):
                    streamcoloc.analyse_pairwise(a, b, label_mask=mask, max_table_cells=cells)




def _rows(table, columns):
    out = {}
    for _, row in table.iterrows():
        key = "all" if row["region"] is None or str(row["region"]) == "<NA>" else str(int(row["region"]))
        out[key] = {c: (None if row[c] is None or np.isnan(row[c]) else float(row[c]))
                    for c in columns}
    return out


SC_COLUMNS = ("pcc", "overlap", "k1", "k2", "tm1", "tm2", "slope", "intercept")
#: Columns both tools report with every metric and Costes thresholds.
ALL_COLUMNS = ("pcc", "srcc", "icq", "overlap", "k1", "k2", "tm1", "tm2")


# ---------------------------------------------------------------- subprocess workers

def worker(kind: str, args: dict) -> dict:
    """One measurement in a fresh process; returns a JSON-able dict with the
    process's peak RSS (VmHWM)."""
    if kind == "baseline":
        import streamcoloc  # noqa: F401
        warm_up_streamcoloc()
        return {"maxrss": harness.peak_rss()}
    if kind == "raw":
        seconds = min(raw_read(args["paths"], args["labels"]) for _ in range(args.get("repeat", 1)))
        return {"seconds": seconds, "maxrss": harness.peak_rss()}
    if kind == "streamcoloc":
        all_metrics = args.get("all", False)
        warm_up_streamcoloc(all_metrics)
        if args.get("serial_rows"):  # the A/B of deriving big rows on threads
            import streamcoloc.measure
            streamcoloc.measure.THREADED_ROW_CELLS = 2**62
        if "trim" in args:  # the heap A/B: freed memory returned above a smaller top
            from streamcoloc.engine import heap
            heap.TRIM_THRESHOLD = args["trim"]
        options = {"max_table_cells": args["max_table_cells"]} if "max_table_cells" in args else {}
        raws, runs, faults = [], [], []
        for _ in range(args.get("repeat", 1)):
            if args.get("paired_raw"):  # the raw read just before each run: side by side
                raws.append(raw_read(args["paths"], args["labels"]))
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            runs.append(run_streamcoloc(args["paths"], args["labels"], all_metrics, **options))
            faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
        seconds, table = min(runs, key=lambda run: run[0])
        return {"seconds": seconds, "runs": [run[0] for run in runs], "raws": raws,
                "faults": statistics.median(faults), "maxrss": harness.peak_rss(),
                "block_shape": table.attrs["block_shape"], "n_rows": len(table),
                "n_reads": table.attrs["n_reads"], "tables": table.attrs.get("tables"),
                "values": _rows(table, ALL_COLUMNS)}
    if kind in ("napari_whole", "napari_labels"):
        return _napari_worker(kind, args)
    if kind == "napari_all":
        return _napari_all_worker(args)
    if kind == "parts_ab":
        return _parts_ab_worker(args)
    raise ValueError(f"unknown worker {kind!r}")


def _parts_ab_worker(args: dict) -> dict:
    """The A/B of dealing a block's regions to several tasks: every metric
    on the 50 cells, one task per block against the default
    (``passes.deal_blocks``), alternating ``args['pairs']`` times in this
    process: (wall, CPU) pairs.  With ``args['one_block']`` the whole volume
    is one dask block (numpy arrays in memory), else the files' blocks."""
    import dask.array as da
    import streamcoloc
    from streamcoloc.engine import passes

    warm_up_streamcoloc(True)
    image = streamcoloc.open_image(args["paths"]["channels"])
    labels = streamcoloc.open_image(args["paths"]["labels"])
    a, b, labels = image.isel(c=0), image.isel(c=1), labels
    if args["one_block"]:
        arrays = [np.asarray(x.data) for x in (a, b, labels)]
        a, b, labels = (da.from_array(x, chunks=x.shape) for x in arrays)
    default = passes.deal_blocks

    def run(one_task: bool) -> tuple:
        passes.deal_blocks = (lambda *args, **kwargs: passes.Dealing()) if one_task else default
        wall, cpu = time.perf_counter(), time.process_time()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", streamcoloc.ColocWarning)
            streamcoloc.analyse_pairwise(a, b, label_mask=labels, metrics=streamcoloc.ALL_METRICS,
                                         threshold_method="costes")
        return time.perf_counter() - wall, time.process_time() - cpu

    run(True), run(False)
    pairs = []
    for pair in range(args["pairs"]):
        order = (True, False) if pair % 2 else (False, True)
        done = {one_task: run(one_task) for one_task in order}
        pairs.append((done[True], done[False]))
    passes.deal_blocks = default
    layout_blocks = 1 if args["one_block"] else int(np.prod([len(c) for c in a.chunks]))
    return {"pairs": pairs, "blocks": layout_blocks}


def _napari_worker(kind: str, args: dict) -> dict:
    import zarr
    import napari_colocalization as nc

    paths = args["paths"]
    start = time.perf_counter()
    channels = zarr.open_array(str(Path(paths["channels"]) / "0"), mode="r")
    a, b = channels[0], channels[1]
    labels = zarr.open_array(str(Path(paths["labels"]) / "0"), mode="r")[...] \
        if kind == "napari_labels" else None
    load = time.perf_counter() - start
    rss_loaded = harness.current_rss()
    start = time.perf_counter()
    if kind == "napari_whole":
        pcc, _ = nc.pearson(a, b)
        r, k1, k2 = nc.overlap(a, b)
        m1, m2 = nc.manders(a, b, THRESHOLD_A, THRESHOLD_B)
        slope, intercept = nc.costes_regression(a, b)
        values = {"all": {"pcc": pcc, "overlap": r, "k1": k1, "k2": k2, "tm1": m1, "tm2": m2,
                          "slope": slope, "intercept": intercept}}
    else:
        rows = nc.analyse_pairwise(a, b, label_mask=labels, metrics=("pcc", "overlap", "mcc"),
                                   threshold_method="manual", threshold_a=THRESHOLD_A,
                                   threshold_b=THRESHOLD_B)
        values = {str(int(row["region"])): {c: float(row[c]) for c in
                                            ("pcc", "overlap", "k1", "k2", "tm1", "tm2")}
                  for row in rows}
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "load_seconds": load, "rss_loaded": rss_loaded,
            "maxrss": harness.peak_rss(), "values": values}


def _napari_all_worker(args: dict) -> dict:
    """napari-colocalization's analyse_pairwise with all its metrics and
    Costes thresholds, on the data loaded in memory (load not counted)."""
    import zarr
    import napari_colocalization as nc

    paths = args["paths"]
    channels = zarr.open_array(str(Path(paths["channels"]) / "0"), mode="r")
    a, b = channels[0], channels[1]
    key = _labels_key(args["labels"])
    labels = zarr.open_array(str(Path(paths[key]) / "0"), mode="r")[...] if key else None
    keep = args.get("keep")
    if keep is not None:  # a random sample of ``keep`` regions (the others background)
        ids = np.unique(labels[labels > 0])
        chosen = np.random.default_rng(keep).choice(ids, keep, replace=False)
        labels = np.where(np.isin(labels, chosen), labels, 0)
    rss_loaded = harness.current_rss()
    start = time.perf_counter()
    rows = nc.analyse_pairwise(a, b, label_mask=labels, threshold_method="costes")
    seconds = time.perf_counter() - start
    values = {("all" if labels is None else str(int(row["region"]))):
              {c: float(row[c]) for c in ALL_COLUMNS if c in row} for row in rows}
    return {"seconds": seconds, "rss_loaded": rss_loaded, "maxrss": harness.peak_rss(),
            "values": values}



def spawn(kind: str, **args) -> dict:
    """``worker(kind, args)`` in a fresh interpreter (see harness.spawn)."""
    return harness.spawn(__file__, kind, args)


# ---------------------------------------------------------------- report helpers

def memory_bound(block_voxels: int, with_labels: bool, threads: int, baseline: int):
    """(bound, explanation): every thread holds one task's blocks, each
    while zarr decodes it; nothing grows with the size of the volume."""
    per_task = block_voxels * (2 * 2 + (4 if with_labels else 0))
    bound = ZARR_READ_FACTOR * per_task * threads + baseline
    text = (f"{ZARR_READ_FACTOR} x {fmt_bytes(per_task)} per task ({block_voxels:,} vox x (2 ch x "
            f"2 B{' + 4 B labels' if with_labels else ''})) x {threads} threads + baseline "
            f"{fmt_bytes(baseline)}")
    return bound, text


def table_budget_bytes(block_voxels: int, threads: int) -> int:
    """Histogram memory the analysis allows itself, whatever the volume: the
    running merged joint tables (``max_table_cells`` non-empty cells of an
    int64 index and an int64 count) plus, per thread and per block waiting
    for its merge (``SPLIT_EVERY``), one chunk's uint8 scratch table
    (``MAX_ROW_CELLS``), its non-empty cells (at most one per voxel, and at
    most ``max_table_cells``) and the cells its rows list (two int64 arrays:
    the voxels of a sparse row or of one wider than ``MAX_ROW_CELLS``, at
    most the block's, or a dense row's counts reaching a multiple of 256)."""
    from streamcoloc.engine.passes import SPLIT_EVERY
    from streamcoloc.stats import histograms

    listed = block_voxels
    per_task = histograms.MAX_ROW_CELLS + 16 * min(block_voxels, histograms.MAX_CELLS) \
        + 16 * listed
    return 16 * histograms.MAX_CELLS + per_task * (threads + SPLIT_EVERY)


def line(name, value, note="") -> None:
    print(f"  {name:<44} {value:>16}  {note}")


def compare(reference: dict, napari: dict):
    """Max |difference| (relative for |x| > 1) over common keys and columns,
    and the number of regions present in only one table."""
    worst, where = 0.0, ""
    for key, row in napari.items():
        if key not in reference:
            continue
        for col, value in row.items():
            ref = reference[key].get(col)
            if value is None or ref is None or (np.isnan(value) and np.isnan(ref)):
                continue
            diff = abs(value - ref) / max(1.0, abs(ref))
            if not diff <= worst:  # also catches NaN on one side
                worst, where = (np.inf if np.isnan(diff) else diff), f"{col} @ region {key}"
    missing = len(set(reference) ^ set(napari))
    return worst, where, missing


def ensure_napari() -> bool:
    if importlib.util.find_spec("napari_colocalization") is not None:
        return True
    print(f"installing napari-colocalization=={NAPARI_VERSION} (--no-deps) ...", flush=True)
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                           f"napari-colocalization=={NAPARI_VERSION}"])
    importlib.invalidate_caches()
    return proc.returncode == 0 and importlib.util.find_spec("napari_colocalization") is not None


# ---------------------------------------------------------------- main sections

def bench_pixel(folder: Path, config: dict, repeat: int, napari: bool) -> None:
    import dask

    shape, chunks = config["shape"], config["chunks"]
    voxels = math.prod(shape)
    check_disk(folder, shape, "benchmark")
    start = time.perf_counter()
    paths = write_dataset(folder / "pixel", shape, chunks, cut_cells=True)
    print(f"\nvolume {shape} x 2 channels uint16 ({2 * voxels * 2 / GIB:.2f} GiB raw), zarr chunks "
          f"(1,{','.join(map(str, chunks))}) blosc-zstd, {fmt_bytes(folder_bytes(paths['channels']))}"
          f" on disk; labels int32 {N_REGIONS} sparse ids, {fmt_bytes(folder_bytes(paths['labels']))}"
          f" on disk; written in {time.perf_counter() - start:.1f} s", flush=True)

    # Warm the page cache for every file and the kernels, then interleave the runs.
    raw_read(paths, with_labels=True)
    warm_up_streamcoloc()
    times = {k: [] for k in ("raw", "raw+labels", "whole", "labels", "zarr")}
    tables = {}
    for _ in range(repeat):
        times["zarr"].append(zarr_read(paths))
        times["raw"].append(raw_read(paths))
        times["raw+labels"].append(raw_read(paths, with_labels=True))
        seconds, tables["whole"] = run_streamcoloc(paths)
        times["whole"].append(seconds)
        seconds, tables["labels"] = run_streamcoloc(paths, with_labels=True)
        times["labels"].append(seconds)
    best = {k: min(v) for k, v in times.items()}
    gb = 2 * voxels * 2 / 1e9
    block = tables["labels"].attrs["block_shape"]
    n_regions = len(tables["labels"])

    print(f"\n(i)-(iii) read vs streamcoloc (min of {repeat}, warm page cache, dask threads; "
          f"streamcoloc blocks {tuple(block)})")
    line("(i)  raw read+decode, 2 channels", f"{best['raw']:.3f} s", f"{gb / best['raw']:.2f} GB/s")
    line("     the same through zarr-python (info)", f"{best['zarr']:.3f} s",
         f"streamcoloc's chunk reader {best['zarr'] / best['raw']:.2f}x faster")
    line("(i') raw read+decode, 2 channels + labels", f"{best['raw+labels']:.3f} s")
    line("(ii) streamcoloc whole volume", f"{best['whole']:.3f} s",
         f"{gb / best['whole']:.2f} GB/s")
    line(f"(ii) streamcoloc {n_regions} label regions", f"{best['labels']:.3f} s",
         f"{gb / best['labels']:.2f} GB/s")
    r_whole = best["whole"] / best["raw"]
    r_labels = best["labels"] / best["raw"]
    r_labels2 = best["labels"] / best["raw+labels"]
    line("(iii) ratio whole / raw", f"{r_whole:.2f}", f"{verdict(r_whole <= TARGET_RATIO)} (<= {TARGET_RATIO})")
    line("(iii) ratio labels / raw", f"{r_labels:.2f}", f"{verdict(r_labels <= TARGET_RATIO)} (<= {TARGET_RATIO})")
    line("      ratio labels / raw+labels (info)", f"{r_labels2:.2f}",
         f"{verdict(r_labels2 <= TARGET_RATIO)} (<= {TARGET_RATIO})")
    print("  all runs (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.3f}" for t in v)
                                         for k, v in times.items()))

    # Peak memory, one fresh process per measurement.
    print("\npeak RSS (fresh subprocess each, VmHWM)", flush=True)
    baseline = spawn("baseline")["maxrss"]
    threads = dask.system.CPU_COUNT
    sc = {}
    for key, with_labels in (("whole", False), ("labels", True)):
        sc[key] = spawn("streamcoloc", paths=paths, labels=with_labels)
        bound, text = memory_bound(math.prod(sc[key]["block_shape"]), with_labels, threads,
                                   baseline)
        line(f"streamcoloc {key}", fmt_bytes(sc[key]["maxrss"]),
             f"bound {fmt_bytes(bound)} {verdict(sc[key]['maxrss'] <= bound)} = {text}")
    line("streamcoloc baseline (import + tiny run)", fmt_bytes(baseline))
    raw = spawn("raw", paths=paths, labels=False)
    line("raw read+decode, 2 channels (not in bound)", fmt_bytes(raw["maxrss"]),
         "decode buffers (chunks that are parts of a block) come on top of the dask blocks")

    if not napari:
        return
    if not ensure_napari():
        print("  napari-colocalization not installable: (iv) skipped")
        return
    print(f"\n(iv) napari-colocalization {NAPARI_VERSION}, in memory (numpy load not counted), "
          "one run each in a fresh subprocess", flush=True)
    nw = spawn("napari_whole", paths=paths)
    nl = spawn("napari_labels", paths=paths)
    line("napari whole (pearson+overlap+manders+costes)", f"{nw['seconds']:.2f} s",
         f"load {nw['load_seconds']:.2f} s not counted")
    line(f"napari analyse_pairwise {len(nl['values'])} regions", f"{nl['seconds']:.2f} s",
         f"load {nl['load_seconds']:.2f} s not counted")
    s_whole, s_labels = nw["seconds"] / best["whole"], nl["seconds"] / best["labels"]
    line("speed-up streamcoloc vs napari, whole", f"{s_whole:.1f}x",
         f"{verdict(s_whole >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x; streamcoloc reads the file)")
    line("speed-up streamcoloc vs napari, labels", f"{s_labels:.1f}x",
         f"{verdict(s_labels >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x)")
    line("napari peak RSS whole", fmt_bytes(nw["maxrss"]),
         f"(after load {fmt_bytes(nw['rss_loaded'])}) vs streamcoloc {fmt_bytes(sc['whole']['maxrss'])}")
    line("napari peak RSS labels", fmt_bytes(nl["maxrss"]),
         f"(after load {fmt_bytes(nl['rss_loaded'])}) vs streamcoloc {fmt_bytes(sc['labels']['maxrss'])}")
    for key, napari_values in (("whole", nw["values"]), ("labels", nl["values"])):
        worst, where, missing = compare(_rows(tables[key], SC_COLUMNS), napari_values)
        ok = worst <= AGREE_TOL and missing == 0
        line(f"agreement {key} (max rel/abs diff)", f"{worst:.1e}",
             f"{verdict(ok)} (<= {AGREE_TOL:g}; worst {where or '-'}; regions only in one: {missing})")


def bench_all_metrics(folder: Path, config: dict, napari: bool) -> None:
    """Issue 3: every metric with Costes thresholds, against one raw read and
    napari-colocalization's analyse_pairwise (one fresh process per run), on
    the whole volume, the 50 cells and the cells cut into thousands of
    regions (:data:`CELL_GRID`)."""
    import dask

    paths = {k: str(folder / "pixel" / f"{k}.ome.zarr") for k in ("channels", "labels", "cells")}
    print("\nevery metric (pcc, pcc below/above, srcc, kendall, icq, overlap, mcc, rwc, "
          "regression) with Costes (Coloc 2) thresholds; one fresh process per case (kernels "
          f"warmed up) running the raw read and the analysis in turn, {PAIRS} times: times are "
          "the runs' medians, the ratio is the median of the pairs' ratios (range in "
          "brackets)", flush=True)
    cases = (("whole", False), ("labels", True), ("cells", "cells"))
    threads = dask.system.CPU_COUNT
    baseline = spawn("baseline")["maxrss"]
    runs = {}
    for key, with_labels in cases:
        run = runs[key] = spawn("streamcoloc", paths=paths, labels=with_labels, all=True,
                                repeat=PAIRS, paired_raw=True)
        run["seconds"] = statistics.median(run["runs"])
        ratios = [t / r for t, r in zip(run["runs"], run["raws"])]
        ratio = statistics.median(ratios)
        bound, text = memory_bound(math.prod(run["block_shape"]), bool(with_labels), threads,
                                   baseline)
        line("raw read+decode, 2 channels" + RAW_EXTRA[key], f"{statistics.median(run['raws']):.3f} s")
        line(f"streamcoloc all metrics, {key}" + (f" ({run['n_rows']} regions)" if with_labels
                                                  else ""),
             f"{run['seconds']:.2f} s", f"{run['n_reads']} read(s), tables {run['tables']}"
             + (f", {1e3 * run['seconds'] / run['n_rows']:.2f} ms per region"
                if with_labels else ""))
        line("  ratio to one raw read" + (" (+ its labels)" if with_labels else ""),
             f"{ratio:.2f}", f"[{min(ratios):.2f}-{max(ratios):.2f}] "
             f"{verdict(ratio <= 2.5)} (<= 2.5)")
        tables = table_budget_bytes(math.prod(run["block_shape"]), threads)
        line("  peak RSS", fmt_bytes(run["maxrss"]),
             f"bound {fmt_bytes(bound + tables)} {verdict(run['maxrss'] <= bound + tables)} = "
             f"chunks {fmt_bytes(bound)} + table budget {fmt_bytes(tables)}")
    _side_by_side(paths, runs)
    if not (napari and ensure_napari()):
        return
    for key, with_labels in cases:
        ref, estimate, seconds = _napari_all(paths, with_labels, runs[key]["n_rows"])
        speedup = seconds / runs[key]["seconds"]
        same = ("pcc", "srcc", "overlap", "k1", "k2")  # identical definitions in both tools
        ours = runs[key]["values"]
        if estimate:  # napari ran on samples of the regions
            ours = {region: row for region, row in ours.items() if region in ref["values"]}
        worst, where, missing = compare(ours, {
            region: {c: v for c, v in row.items() if c in same}
            for region, row in ref["values"].items()})
        line(f"napari analyse_pairwise all + costes, {key}", f"{seconds:.1f} s",
             f"{estimate}speed-up {speedup:.1f}x {verdict(speedup >= 30)} (>= 30x); peak RSS "
             f"{fmt_bytes(ref['maxrss'])} (after load {fmt_bytes(ref['rss_loaded'])})")
        line("  agreement pcc, srcc, overlap, k1, k2", f"{worst:.1e}",
             f"{verdict(worst <= AGREE_TOL and missing == 0)} (worst {where or '-'}; regions "
             f"only in one: {missing}); icq, tm1/tm2 differ by convention (napari's ICQ drops "
             "zero products; its Costes is its own bisection)")


def _side_by_side(paths, runs) -> None:
    """The A/Bs behind four defaults: the 50 regions with every row derived
    serially (big rows go to threads), with freed memory returned to the
    system above a 64 KiB heap top (``streamcoloc.engine.heap`` keeps
    64 MiB), with the volume in one block as one task and with one task per
    block of the files (by default a block's regions are dealt to a task per
    thread, in one block, and in the last block to run, of four:
    ``passes.deal_blocks``; 8 and 16 alternations in one process, the median
    of the pairs' ratios); the cut
    cells at the old table budget of 2**24 cells (the per-voxel second read)
    against 2**26 (minima of the runs on both sides)."""
    labels = runs["labels"]
    for one_block, what, pairs in ((True, "50 regions in one block, one task", 8),
                                   (False, "50 regions, one task per block", 16)):
        ab = spawn("parts_ab", paths=paths, pairs=pairs, one_block=one_block)
        wall = [one[0] / parts[0] for one, parts in ab["pairs"]]
        cpu = [one[1] / parts[1] for one, parts in ab["pairs"]]
        line(f"  {what}", f"{statistics.median(wall):.2f}x",
             f"one task per block / dealt ({ab['blocks']} block(s)): time (median of {len(wall)} "
             f"alternations; range {min(wall):.2f}-{max(wall):.2f}), CPU time "
             f"{statistics.median(cpu):.2f}x")
    serial = spawn("streamcoloc", paths=paths, labels=True, all=True, repeat=2, serial_rows=True)
    line("  50 regions, rows derived serially", f"{serial['seconds']:.2f} s",
         f"serial / default (rows >= 50k cells on threads): "
         f"{serial['seconds'] / min(labels['runs']):.2f}x")
    returned = spawn("streamcoloc", paths=paths, labels=True, all=True, repeat=PAIRS,
                     trim=64 * 2**10)
    line("  50 regions, freed memory returned", f"{returned['seconds']:.2f} s",
         f"heap top trimmed above 64 KiB / kept up to 64 MiB: time "
         f"{returned['seconds'] / min(labels['runs']):.2f}x, page faults per run "
         f"{returned['faults']:,.0f} vs {labels['faults']:,.0f}, peak RSS "
         f"{fmt_bytes(returned['maxrss'])} vs {fmt_bytes(labels['maxrss'])}")
    wide = spawn("streamcoloc", paths=paths, labels="cells", all=True, repeat=2,
                 max_table_cells=2**24)
    cells = runs["cells"]
    line("  cut cells at the old budget 2**24", f"{wide['seconds']:.2f} s",
         f"{wide['n_reads']} read(s), tables {wide['tables']}, peak RSS "
         f"{fmt_bytes(wide['maxrss'])}; old / default 2**26: time "
         f"{wide['seconds'] / min(cells['runs']):.2f}x, peak RSS "
         f"{wide['maxrss'] / cells['maxrss']:.2f}x")


def _napari_all(paths, with_labels, n_regions: int):
    """(run, note, seconds) of napari-colocalization with every metric: on
    every region, or for the cut cells extrapolated linearly from two random
    samples of k and 2k regions (k = n_regions / NAPARI_SUBSET): the time
    at 2k plus the per-region slope times the regions left."""
    if with_labels != "cells":
        ref = spawn("napari_all", paths=paths, labels=with_labels)
        return ref, "", ref["seconds"]
    k = max(1, n_regions // NAPARI_SUBSET)
    small = spawn("napari_all", paths=paths, labels=with_labels, keep=k)
    ref = spawn("napari_all", paths=paths, labels=with_labels, keep=2 * k)
    per_region = (ref["seconds"] - small["seconds"]) / k
    seconds = ref["seconds"] + per_region * (n_regions - 2 * k)
    return ref, (f"est.: {k} regions {small['seconds']:.1f} s, {2 * k} regions "
                 f"{ref['seconds']:.1f} s, {per_region:.2f} s per region; "), seconds


def bench_big(folder: Path, gib: float, chunks=(16, 512, 512)) -> None:
    import dask

    y, x = BIG_YX
    z = max(chunks[0], round(gib * GIB / (2 * 2 * y * x) / chunks[0]) * chunks[0])
    shape = (z, y, x)
    voxels = math.prod(shape)
    check_disk(folder, shape, f"--big-gib {gib:g}")
    start = time.perf_counter()
    paths = write_dataset(folder / "big", shape, chunks, seed=1)
    print(f"\n--big-gib {gib:g}: volume {shape} x 2 channels uint16 ({2 * voxels * 2 / GIB:.2f} GiB raw, "
          f"{fmt_bytes(folder_bytes(paths['channels']))} on disk) + int32 labels "
          f"({fmt_bytes(folder_bytes(paths['labels']))} on disk); written in "
          f"{time.perf_counter() - start:.0f} s; one fresh subprocess per run", flush=True)
    baseline = spawn("baseline")["maxrss"]
    threads = dask.system.CPU_COUNT
    gb = 2 * voxels * 2 / 1e9
    raw = spawn("raw", paths=paths, labels=False)  # also warms the page cache (if it fits)
    raw = spawn("raw", paths=paths, labels=False)
    line("raw read+decode, 2 channels", f"{raw['seconds']:.1f} s",
         f"{gb / raw['seconds']:.2f} GB/s, peak RSS {fmt_bytes(raw['maxrss'])}")
    for key, with_labels in (("whole", False), ("labels", True)):
        run = spawn("streamcoloc", paths=paths, labels=with_labels)
        bound, text = memory_bound(math.prod(run["block_shape"]), with_labels, threads, baseline)
        line(f"streamcoloc {key}" + (f" ({run['n_rows']} regions)" if with_labels else ""),
             f"{run['seconds']:.1f} s",
             f"{gb / run['seconds']:.2f} GB/s, ratio {run['seconds'] / raw['seconds']:.2f} vs raw")
        line(f"  peak RSS {key}", fmt_bytes(run["maxrss"]),
             f"bound {fmt_bytes(bound)} {verdict(run['maxrss'] <= bound)} = {text}")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"small smoke run ({QUICK['shape']} volume) for developers")
    parser.add_argument("--big-gib", type=float, default=0, metavar="N",
                        help="also run the memory benchmark on an N GiB two-channel volume "
                             "(opt-in; needs ~N GiB of disk and minutes)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the data (a temporary folder is made inside and "
                             "deleted at the end; default ./bench_data/)")
    parser.add_argument("--repeat", type=int, default=4, help="runs per timing, min taken")
    parser.add_argument("--no-napari", action="store_true", help="skip the napari comparison")
    parser.add_argument("--keep", action="store_true", help="keep the written data")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return

    import dask
    import numba
    import zarr
    import streamcoloc

    print(f"bench_pixel: python {platform.python_version()}, numpy {np.__version__}, "
          f"dask {dask.__version__}, zarr {zarr.__version__}, numba {numba.__version__}, "
          f"streamcoloc {streamcoloc.__version__} ({Path(streamcoloc.__file__).parent})")
    print(f"cores {os.cpu_count()} (dask threads {dask.system.CPU_COUNT}), "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / GIB:.1f} GiB RAM, "
          f"{platform.machine()}, {'quick' if args.quick else 'full'} run")

    root = args.workdir if args.workdir is not None else Path.cwd() / "bench_data"
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_pixel_", dir=root))
    try:
        config = QUICK if args.quick else FULL
        bench_pixel(folder, config, args.repeat, not args.no_napari)
        bench_all_metrics(folder, config, not args.no_napari)
        if args.big_gib > 0:
            if not args.keep:
                shutil.rmtree(folder / "pixel", ignore_errors=True)
            bench_big(folder, args.big_gib)
    finally:
        if args.keep:
            print(f"\ndata kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if created_root and not any(root.iterdir()):
                root.rmdir()


if __name__ == "__main__":
    main()
