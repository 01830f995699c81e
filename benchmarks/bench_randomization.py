#!/usr/bin/env python
"""Costes randomization benchmark: streamcoloc vs napari-colocalization 0.4.0.

Everything is measured in one run and printed as one table (the machine is
noisy, so numbers from different runs are not comparable):

  * streamcoloc.costes_randomization(method='tile', 200 iterations, block 3)
    on a 64x1024x1024 uint16 two-channel OME-Zarr (blosc zstd), read from the
    file, in a fresh subprocess: time and peak RSS (VmHWM), against the
    memory bound of :func:`memory_bound`;
  * napari-colocalization 0.4.0's costes_randomization (block 3) on a crop
    loaded into memory (load not counted), in a fresh subprocess: the time of
    1 and of 1 + M iterations gives the setup and the per-iteration time;
    200 iterations of the full volume are estimated as
    (setup + 200 x per-iteration) x full voxels / crop voxels (its work is
    linear in voxels: a scramble and a Pearson per iteration); the same two
    runs on the full volume check the estimate (--no-napari-full skips them);
  * the speed-ups, target >= 20x, and the null statistics of both on the crop
    (same data, same block size: the null spreads should be alike).

The data are those of bench_pixel.py (cells with a shared punctate structure,
so the channels are correlated).  Run from the project root:

    .venv/bin/python benchmarks/bench_randomization.py            # full, ~2 minutes
    .venv/bin/python benchmarks/bench_randomization.py --quick    # smoke run
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

import harness  # noqa: E402
from harness import fmt_bytes, verdict  # noqa: E402
sys.path.insert(0, str(Path(__file__).resolve().parent))

# The same synthetic cells and puncta as bench_pixel.py.
from bench_pixel import channel_block, make_scene

FULL = {"shape": (64, 1024, 1024), "chunks": (16, 512, 512), "crop": (16, 512, 512)}
QUICK = {"shape": (32, 512, 512), "chunks": (16, 256, 256), "crop": (16, 256, 256)}
N_ITER = 200
BLOCK = 3
NAPARI_EXTRA_ITER = 8  # M: napari runs 1 and 1 + M iterations
TARGET_SPEEDUP = 20.0
GIB = 2**30
#: zarr decodes a block's stored chunks into buffers of their own before the
#: copy into the block (measured in bench_pixel.py: about twice its bytes).
ZARR_READ_FACTOR = 2


# ---------------------------------------------------------------- data

def _channels_block(block, scene, block_info=None):
    location = block_info[None]["array-location"]
    return channel_block(scene, location[0][0], location[1:])[None]


def write_channels(folder: Path, shape, chunks) -> str:
    """``folder/channels.ome.zarr``: (c, z, y, x) uint16, one channel per
    chunk, blosc zstd, written block by block."""
    import dask.array as da

    from streamcoloc.readers import write_ome_zarr

    scene = make_scene(shape, seed=0)
    template = da.zeros((2,) + tuple(shape), dtype=np.uint8, chunks=(1,) + tuple(chunks))
    channels = template.map_blocks(_channels_block, scene, dtype=np.uint16)
    path = folder / "channels.ome.zarr"
    write_ome_zarr(path, channels, dims=("c", "z", "y", "x"), chunks=(1,) + tuple(chunks),
                   compressor="zstd", channel_names=["A", "B"])
    return str(path)


def check_disk(folder: Path, shape) -> None:
    """Refuse clearly when the file system cannot hold the data (upper bound:
    uncompressed channels and 1 GiB margin)."""
    needed = 2 * 2 * math.prod(shape) + GIB
    free = shutil.disk_usage(folder).free
    if free < needed:
        sys.exit(f"bench_randomization: not enough free disk in {folder}: need ~"
                 f"{needed / GIB:.1f} GiB, {free / GIB:.1f} GiB free; use --workdir")


# ---------------------------------------------------------------- workers


def _summary(result) -> dict:
    return {"observed": result.observed, "p_value": result.p_value,
            "null_mean": result.null_mean, "null_sd": result.null_sd,
            "tile_blocks": result.tile_blocks, "z_score": result.z_score}


def worker(kind: str, args: dict) -> dict:
    """One measurement in a fresh process (its last stdout line is JSON)."""
    import streamcoloc
    from streamcoloc.significance import costes_randomization

    tiny = np.arange(4 * 9 * 9, dtype=np.uint16).reshape(4, 9, 9)
    if kind == "baseline":
        costes_randomization(tiny, tiny[::-1], n_iter=3, seed=0)  # compile / load kernels
        return {"maxrss": harness.peak_rss()}
    if kind == "streamcoloc":
        costes_randomization(tiny, tiny[::-1], n_iter=3, seed=0)
        image = streamcoloc.open_image(args["path"])
        start = time.perf_counter()
        result = costes_randomization(image.isel(c=0), image.isel(c=1), n_iter=N_ITER,
                                      block_size=BLOCK, seed=0)
        seconds = time.perf_counter() - start
        return {"seconds": seconds, "maxrss": harness.peak_rss(), **_summary(result),
                "input_block": [max(c) for c in image.data.chunks[1:]]}
    if kind == "napari":
        import zarr
        from napari_colocalization._diagnostics import (
            costes_randomization as napari_costes,
        )

        crop = tuple(slice(0, n) for n in args["crop"])
        channels = zarr.open_array(str(Path(args["path"]) / "0"), mode="r")
        a, b = channels[(0,) + crop], channels[(1,) + crop]
        times = {}
        for n_iter in (1, 1 + NAPARI_EXTRA_ITER):
            start = time.perf_counter()
            out = napari_costes(a, b, n_iter=n_iter, block_size=BLOCK, seed=0)
            times[n_iter] = time.perf_counter() - start
        null = out["null"]
        result = {"times": times, "maxrss": harness.peak_rss(), "observed": out["observed"],
                  "null_mean": float(null.mean()), "null_sd": float(null.std(ddof=1))}
        if args.get("ours"):
            ours = costes_randomization(a, b, n_iter=N_ITER, block_size=BLOCK, seed=0)
            result["ours_on_crop"] = _summary(ours)
        return result
    raise ValueError(f"unknown worker {kind!r}")



def spawn(kind: str, **args) -> dict:
    """``worker(kind, args)`` in a fresh interpreter (see harness.spawn)."""
    return harness.spawn(__file__, kind, args)


# ---------------------------------------------------------------- report

def line(name, value, note="") -> None:
    print(f"  {name:<46} {value:>14}  {note}")


def memory_bound(shape, tile, input_block, threads: int, baseline: int):
    """(bound, explanation) of the tile method's peak RSS (see the memory
    section of streamcoloc.significance.tiles): per thread one tile of both
    channels (2 B) with the kernel's rows (2 x 2 B) and validity (2 x 1 B),
    and one input block being decoded (x2, zarr); plus the slab of input
    blocks dask keeps between two rows of tiles: (tile + input block) along
    the first axis the tiles cut, the whole array along the others."""
    tile_voxels = math.prod(tile)
    cut = next((i for i, (t, n) in enumerate(zip(tile, shape)) if t < n), 0)
    slab = min(math.prod(shape), (tile[cut] + input_block[cut]) * math.prod(shape) // shape[cut])
    per_thread = tile_voxels * 10 + ZARR_READ_FACTOR * math.prod(input_block) * 2 * 2
    bound = baseline + threads * per_thread + slab * 2 * 2
    text = (f"baseline + {threads} threads x (tile {tile_voxels:,} vox x 10 B + 2 x input block "
            f"{math.prod(input_block):,} vox x 4 B) + slab {slab:,} vox x 4 B")
    return bound, text


def napari_cost(run: dict):
    """(setup, per-iteration) seconds from napari's runs of 1 and 1 + M iterations."""
    t1, tm = run["times"]["1"], run["times"][str(1 + NAPARI_EXTRA_ITER)]
    per_iter = max(tm - t1, 0.0) / NAPARI_EXTRA_ITER
    return max(t1 - per_iter, 0.0), per_iter


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small smoke run")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to write the data (default ./bench_data/)")
    parser.add_argument("--keep", action="store_true", help="keep the written data")
    parser.add_argument("--no-napari-full", action="store_true",
                        help="skip the check of the crop estimate on the full volume "
                             "(napari, 1 and 1 + M iterations, ~1 min and ~3 GiB)")
    args = harness.parse_or_work(parser, worker, argv)
    if args is None:
        return

    import dask
    import napari_colocalization

    import streamcoloc

    config = QUICK if args.quick else FULL
    shape, chunks, crop = config["shape"], config["chunks"], config["crop"]
    print(f"bench_randomization: python {platform.python_version()}, numpy {np.__version__}, "
          f"dask {dask.__version__}, streamcoloc {streamcoloc.__version__}, "
          f"napari-colocalization {napari_colocalization.__version__}; cores {os.cpu_count()}")
    root = args.workdir or Path.cwd() / "bench_data"
    root.mkdir(parents=True, exist_ok=True)
    check_disk(root, shape)
    folder = Path(tempfile.mkdtemp(prefix="bench_randomization_", dir=root))
    try:
        start = time.perf_counter()
        path = write_channels(folder, shape, chunks)
        print(f"volume {shape} x 2 channels uint16, zarr chunks (1,{','.join(map(str, chunks))}) "
              f"blosc-zstd, written in {time.perf_counter() - start:.1f} s; {N_ITER} "
              f"randomizations, block {BLOCK}; one fresh subprocess per measurement", flush=True)
        baseline = spawn("baseline")["maxrss"]
        ours = spawn("streamcoloc", path=path)
        napari = spawn("napari", path=path, crop=list(crop), ours=True)
        whole = None if args.no_napari_full else spawn("napari", path=path, crop=list(shape))
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)

    voxels, crop_voxels = math.prod(shape), math.prod(crop)
    setup, per_iter = napari_cost(napari)
    napari_estimate = (setup + N_ITER * per_iter) * voxels / crop_voxels
    speedup = napari_estimate / ours["seconds"]
    tile = [min(t * BLOCK, n) for t, n in zip(ours["tile_blocks"], shape)]
    bound, text = memory_bound(shape, tile, ours["input_block"], dask.system.CPU_COUNT, baseline)

    print("\nstreamcoloc (method='tile', from the file, one read)")
    line(f"time, {N_ITER} randomizations", f"{ours['seconds']:.1f} s",
         f"{ours['seconds'] / N_ITER * 1e3:.0f} ms per randomization of {voxels:,} voxels")
    line("peak RSS (VmHWM)", fmt_bytes(ours["maxrss"]),
         f"bound {fmt_bytes(bound)} {verdict(ours['maxrss'] <= bound)} = {text}")
    line("baseline (import + tiny run)", fmt_bytes(baseline))
    line("observed r / p / null mean +- sd", f"{ours['observed']:.4f}",
         f"p {ours['p_value']:.4g}, null {ours['null_mean']:.2e} +- {ours['null_sd']:.2e}, "
         f"tiles of {tuple(ours['tile_blocks'])} blocks")
    print(f"\nnapari-colocalization {napari_colocalization.__version__} on a crop {crop} "
          f"({crop_voxels:,} voxels) in memory, scaled per voxel to {shape}")
    line("setup + per iteration (crop)", f"{setup:.2f} s",
         f"+ {per_iter:.3f} s per iteration (from 1 and {1 + NAPARI_EXTRA_ITER} iterations)")
    line(f"estimate, {N_ITER} randomizations, full volume", f"{napari_estimate:.0f} s",
         f"(setup + {N_ITER} x per iteration) x {voxels / crop_voxels:.0f}")
    line("peak RSS on the crop", fmt_bytes(napari["maxrss"]), "(in memory: grows with the volume)")
    if whole is not None:
        setup_w, per_iter_w = napari_cost(whole)
        measured = setup_w + N_ITER * per_iter_w
        line("check: full volume, 1 and 1+M iterations", f"{measured:.0f} s",
             f"setup {setup_w:.2f} s + {N_ITER} x {per_iter_w:.2f} s; peak RSS "
             f"{fmt_bytes(whole['maxrss'])}; crop estimate / this = "
             f"{napari_estimate / measured:.2f}")
    line("speed-up streamcoloc vs napari (crop estimate)", f"{speedup:.0f}x",
         f"{verdict(speedup >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x)")
    if whole is not None:
        full_speedup = measured / ours["seconds"]
        line("speed-up vs napari (full-volume estimate)", f"{full_speedup:.0f}x",
             f"{verdict(full_speedup >= TARGET_SPEEDUP)} (>= {TARGET_SPEEDUP:.0f}x)")
    crop_ours = napari["ours_on_crop"]
    print(f"\nsame crop, both tools ({N_ITER} vs {1 + NAPARI_EXTRA_ITER} iterations; napari "
          "permutes all blocks, streamcoloc within tiles)")
    line("observed r napari / streamcoloc", f"{napari['observed']:.6f}",
         f"{crop_ours['observed']:.6f}")
    line("null mean +- sd napari", f"{napari['null_mean']:.2e}", f"+- {napari['null_sd']:.2e}")
    line("null mean +- sd streamcoloc", f"{crop_ours['null_mean']:.2e}",
         f"+- {crop_ours['null_sd']:.2e}")


if __name__ == "__main__":
    main()
