#!/usr/bin/env python
"""Van Steensel CCF benchmark: streamcoloc vs a raw zarr read and vs napari-colocalization.

Everything is measured in one run and printed as one table (the machine is
noisy, so numbers from different runs are not comparable):

  (i)   raw read+decode of the two channels (dask blocks of ``open_image``,
        threaded scheduler), warm page cache;
  (ii)  streamcoloc.van_steensel_ccf, max_shift 20, along x (and along z,
        where blocks exchange a halo), from the file;
  (iii) napari-colocalization 0.4.0's CCF (``_diagnostics.van_steensel_ccf``)
        on the first ``--napari-planes`` planes in memory (load not counted;
        the full volume would take minutes), scaled per voxel to the whole
        volume; the speed-up of (ii) over it (target >= 20x) and the
        agreement of the two CCFs on that crop (napari pairs a[i] with
        b[i - l]: its CCF(l) is streamcoloc's CCF(-l));
  (iv)  peak RSS (VmHWM) of each in a fresh subprocess, streamcoloc's against
        the bound (2 x block read + block-with-halo copy) bytes x threads +
        baseline (``halo_block_bound``).

Run from the project root:

    .venv/bin/python benchmarks/bench_spatial.py --quick   # smoke run, ~1 min
    .venv/bin/python benchmarks/bench_spatial.py           # 64x1024x1024 x 2 ch uint16
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402
from bench_pixel import (ZARR_READ_FACTOR, check_disk,  # noqa: E402
                         ensure_napari, folder_bytes, line, raw_read)
from harness import fmt_bytes, verdict  # noqa: E402

FULL = {"shape": (64, 1024, 1024), "chunks": (16, 512, 512), "napari_planes": 4}
QUICK = {"shape": (32, 512, 512), "chunks": (8, 256, 256), "napari_planes": 2}
MAX_SHIFT = 20
OFFSET = 2  # b's structure is a's moved by this many voxels along x: the CCF peaks there
TARGET_SPEEDUP = 20.0
AGREE_TOL = 1e-9
NAPARI_VERSION = "0.4.0"


# ---------------------------------------------------------------- synthetic data

def channel_block(channel: int, location) -> np.ndarray:
    """uint16 puncta (products of sines, clipped and squared) on background
    with shot-like noise; channel 1 holds the same puncta moved by OFFSET
    voxels along x and its own noise."""
    z, y, x = (np.arange(s, e, dtype=np.float32) for s, e in location)
    if channel == 1:
        x = x - OFFSET
    structure = 0
    for wz, wy, wx, phase in ((0.31, 0.23, 0.19, 0.4), (0.17, 0.29, 0.37, 1.9)):
        structure = structure + (np.sin(wz * z + phase)[:, None, None]
                                 * np.sin(wy * y + 2 * phase)[None, :, None]
                                 * np.sin(wx * x + 3 * phase)[None, None, :])
    signal = (100 if channel == 0 else 90) + 1500 * np.clip(structure, 0, 1) ** 2
    rng = np.random.default_rng([channel] + [s for s, _ in location])
    values = signal + rng.standard_normal(signal.shape, dtype=np.float32) * np.sqrt(signal)
    return np.clip(np.rint(values), 0, 65535).astype(np.uint16)


def _dask_block(block, block_info=None):
    location = block_info[None]["array-location"]
    return channel_block(location[0][0], location[1:])[None]


def write_dataset(folder: Path, shape, chunks) -> str:
    """``folder/channels.ome.zarr``: (c, z, y, x) uint16, blosc-zstd, one
    channel per chunk, written block by block."""
    import dask.array as da
    from streamcoloc.readers import write_ome_zarr

    template = da.zeros((2,) + tuple(shape), dtype=np.uint8, chunks=(1,) + tuple(chunks))
    channels = template.map_blocks(_dask_block, dtype=np.uint16)
    path = folder / "channels.ome.zarr"
    write_ome_zarr(path, channels, dims=("c", "z", "y", "x"), chunks=(1,) + tuple(chunks),
                   compressor="zstd", channel_names=["A", "B"])
    return str(path)


# ---------------------------------------------------------------- measurements

def run_streamcoloc(path: str, axis: str):
    """(seconds, CCFResult, block shape) of one CCF from the file."""
    import streamcoloc
    from streamcoloc.spatial import van_steensel_ccf

    image = streamcoloc.open_image(path)
    start = time.perf_counter()
    result = van_steensel_ccf(image.isel(c=0), image.isel(c=1), max_shift=MAX_SHIFT, axis=axis)
    seconds = time.perf_counter() - start
    return seconds, result, [max(c) for c in image.isel(c=0).data.chunks]


def warm_up() -> None:
    """Compile (or load from cache) the uint16 kernels."""
    from streamcoloc.spatial import van_steensel_ccf

    a = np.random.default_rng(0).integers(0, 1000, (4, 16, 64)).astype(np.uint16)
    van_steensel_ccf(a, a[::-1], max_shift=3)


def worker(kind: str, args: dict) -> dict:
    """One measurement in a fresh process, with its peak RSS (VmHWM)."""
    if kind == "baseline":
        warm_up()
        return {"maxrss": harness.peak_rss()}
    if kind == "streamcoloc":
        warm_up()
        seconds, result, block = run_streamcoloc(args["path"], args["axis"])
        return {"seconds": seconds, "maxrss": harness.peak_rss(), "block": block}
    if kind == "napari":
        import zarr
        from napari_colocalization._diagnostics import van_steensel_ccf

        channels = zarr.open_array(str(Path(args["path"]) / "0"), mode="r")
        a, b = channels[0, :args["planes"]], channels[1, :args["planes"]]
        start = time.perf_counter()
        shifts, ccf = van_steensel_ccf(a, b, max_shift=MAX_SHIFT, axis=-1)
        return {"seconds": time.perf_counter() - start, "maxrss": harness.peak_rss(),
                "shifts": shifts.tolist(), "ccf": ccf.tolist()}
    raise ValueError(f"unknown worker {kind!r}")



def spawn(kind: str, **args) -> dict:
    """``worker(kind, args)`` in a fresh interpreter (see harness.spawn)."""
    return harness.spawn(__file__, kind, args)


def halo_block_bound(block, shape, axis: int, threads: int, baseline: int):
    """(bound, text): each thread holds one task's blocks of both channels
    as zarr decodes them (ZARR_READ_FACTOR x block) and, when blocks
    exchange a halo along ``axis``, the task's copy of its block with the
    halo (dask's overlap concatenates them)."""
    read = math.prod(block) * 2 * 2
    extended = list(block)
    copy = 0
    if block[axis] < shape[axis]:
        extended[axis] = block[axis] + 2 * MAX_SHIFT
        copy = math.prod(extended) * 2 * 2
    per_task = ZARR_READ_FACTOR * read + copy
    text = f"({ZARR_READ_FACTOR} x {fmt_bytes(read)} read, block {tuple(block)}"
    text += f" + {fmt_bytes(copy)} block+halo copy {tuple(extended)}" if copy else ", no halo"
    text += f"; 2 ch x 2 B) x {threads} threads + baseline {fmt_bytes(baseline)}"
    return per_task * threads + baseline, text


# ---------------------------------------------------------------- main

def bench(folder: Path, config: dict, repeat: int, napari: bool) -> None:
    import dask

    shape, chunks, planes = config["shape"], config["chunks"], config["napari_planes"]
    voxels = math.prod(shape)
    check_disk(folder, shape, "benchmark")
    start = time.perf_counter()
    path = write_dataset(folder, shape, chunks)
    print(f"\nvolume {shape} x 2 channels uint16 ({2 * voxels * 2 / 2**30:.2f} GiB raw), zarr "
          f"chunks (1,{','.join(map(str, chunks))}) blosc-zstd, {fmt_bytes(folder_bytes(path))} "
          f"on disk, written in {time.perf_counter() - start:.1f} s; b = a moved by {OFFSET} "
          f"voxels along x + noise", flush=True)

    raw_read({"channels": path})  # warm the page cache
    warm_up()
    times = {"raw": [], "x": [], "z": []}
    results = {}
    for _ in range(repeat):
        times["raw"].append(raw_read({"channels": path}))
        for axis in ("x", "z"):
            seconds, results[axis], block = run_streamcoloc(path, axis)
            times[axis].append(seconds)
    best = {k: min(v) for k, v in times.items()}
    gb = 2 * voxels * 2 / 1e9
    print(f"\n(i)-(ii) min of {repeat}, warm page cache, dask threads "
          f"({dask.system.CPU_COUNT}); blocks {tuple(block)}")
    line("(i)  raw read+decode, 2 channels", f"{best['raw']:.3f} s",
         f"{gb / best['raw']:.2f} GB/s")
    for axis, number in (("x", 2), ("z", 0)):
        r = results[axis]
        note = (f"blocks of {block[number]} exchange a {MAX_SHIFT}-voxel halo"
                if block[number] < shape[number] else f"one block along {axis}: no halo")
        line(f"(ii) streamcoloc CCF along {axis}, 41 shifts", f"{best[axis]:.3f} s",
             f"{best[axis] / best['raw']:.2f} x raw read; {note}")
        line(f"     peak shift {r.peak_shift}, fit centre", f"{r.centre:.3f}",
             f"FWHM {r.fwhm:.3f} voxels, r(peak) {np.nanmax(r.ccf):.4f}")
    print("  all runs (s): " + "; ".join(f"{k} " + ", ".join(f"{t:.3f}" for t in v)
                                         for k, v in times.items()))

    print("\npeak RSS (fresh subprocess each, VmHWM)", flush=True)
    threads = dask.system.CPU_COUNT
    baseline = spawn("baseline")["maxrss"]
    sc = spawn("streamcoloc", path=path, axis="x")
    bound, text = halo_block_bound(sc["block"], shape, 2, threads, baseline)
    line("streamcoloc CCF along x", fmt_bytes(sc["maxrss"]),
         f"{verdict(sc['maxrss'] <= bound)} bound {fmt_bytes(bound)} = {text}; "
         f"{sc['seconds']:.2f} s in that process")
    scz = spawn("streamcoloc", path=path, axis="z")
    bound, text = halo_block_bound(scz["block"], shape, 0, threads, baseline)
    line("streamcoloc CCF along z", fmt_bytes(scz["maxrss"]),
         f"{verdict(scz['maxrss'] <= bound)} bound {fmt_bytes(bound)} = {text}")
    line("streamcoloc baseline (import + tiny run)", fmt_bytes(baseline))

    if not napari:
        return
    if not ensure_napari():
        print("  napari-colocalization not installable: (iii) skipped")
        return
    crop = (planes,) + tuple(shape[1:])
    print(f"\n(iii) napari-colocalization {NAPARI_VERSION} CCF (max_shift {MAX_SHIFT}, along x) "
          f"on a crop of {planes} planes {crop} in memory, fresh subprocess", flush=True)
    nap = spawn("napari", path=path, planes=planes)
    scale = voxels / math.prod(crop)
    estimate = nap["seconds"] * scale
    line("napari CCF on the crop", f"{nap['seconds']:.2f} s", f"peak RSS {fmt_bytes(nap['maxrss'])}"
         " (crop in memory; the whole volume needs it all)")
    line("napari CCF, whole volume (scaled per voxel)", f"{estimate:.1f} s",
         f"x {scale:.0f} voxels of the crop")
    speedup = estimate / best["x"]
    line("speed-up streamcoloc vs napari (along x)", f"{speedup:.1f}x",
         f"{verdict(speedup >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x; streamcoloc reads "
         "the file, napari's load not counted)")
    import zarr
    from streamcoloc.spatial import van_steensel_ccf

    channels = zarr.open_array(str(Path(path) / "0"), mode="r")
    ours = van_steensel_ccf(channels[0, :planes], channels[1, :planes], max_shift=MAX_SHIFT)
    theirs = np.asarray(nap["ccf"])[::-1]
    worst = float(np.max(np.abs(ours.ccf - theirs)))
    line("agreement on the crop (max |diff|)", f"{worst:.1e}",
         f"{verdict(worst <= AGREE_TOL)} (<= {AGREE_TOL:g}; napari CCF(l) = ours(-l))")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help=f"small smoke run ({QUICK['shape']} volume)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the data (a temporary folder inside, deleted at "
                             "the end; default ./bench_data/)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per timing, min taken")
    parser.add_argument("--napari-planes", type=int, help="planes of napari's crop")
    parser.add_argument("--no-napari", action="store_true", help="skip the napari comparison")
    parser.add_argument("--keep", action="store_true", help="keep the written data")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return

    import dask
    import numba
    import zarr
    import streamcoloc

    config = dict(QUICK if args.quick else FULL)
    if args.napari_planes:
        config["napari_planes"] = args.napari_planes
    print(f"bench_spatial: python {platform.python_version()}, numpy {np.__version__}, "
          f"dask {dask.__version__}, zarr {zarr.__version__}, numba {numba.__version__}, "
          f"streamcoloc {streamcoloc.__version__} ({Path(streamcoloc.__file__).parent})")
    print(f"cores {os.cpu_count()}, load average {os.getloadavg()[0]:.1f}, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.1f} GiB RAM, "
          f"{'quick' if args.quick else 'full'} run")
    root = args.workdir if args.workdir is not None else Path.cwd() / "bench_data"
    created_root = not root.exists()
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="bench_spatial_", dir=root))
    try:
        bench(folder, config, args.repeat, not args.no_napari)
    finally:
        if args.keep:
            print(f"\ndata kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            if created_root and not any(root.iterdir()):
                root.rmdir()


if __name__ == "__main__":
    main()
