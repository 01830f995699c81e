#!/usr/bin/env python
"""The joint-histogram chunk with and without prefetching, on bench_pixel's blocks.

``streamcoloc.stats.histograms`` counts a block's joint tables one region at a
time, so it visits a region's runs out of memory order and prefetches the
values of the run ``PREFETCH_RUNS`` ahead (``streamcoloc.stats.prefetch``).
This script times ``histograms.chunk`` on one (64, 512, 512) uint16 block of
bench_pixel's synthetic volume (generated in memory, not read) with its 50
cells as labels, and without labels (runs in memory order: no prefetch
issued), with ``PREFETCH_RUNS`` at its default and at 0 (off), in turn,
``--repeat`` times each; it prints the minima and their ratio.

    .venv/bin/python benchmarks/bench_prefetch.py
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_pixel  # noqa: E402

from streamcoloc.stats import histograms  # noqa: E402
from streamcoloc.stats.regions import ChunkRegions  # noqa: E402
from streamcoloc.stats.voxels import VoxelRules  # noqa: E402

BLOCK = (64, 512, 512)


def block_data():
    """Channels (1, voxels) and label block of bench_pixel's first block."""
    scene = bench_pixel.make_scene(bench_pixel.FULL["shape"])
    location = [(0, n) for n in BLOCK]
    channels = [bench_pixel.channel_block(scene, c, location).reshape(1, -1) for c in (0, 1)]
    labels = bench_pixel.labels_block(scene, location).reshape(1, -1)
    return channels, labels


def timed(channels, regions, options, ahead: int) -> float:
    histograms.PREFETCH_RUNS = ahead
    start = time.perf_counter()
    histograms.chunk(channels, regions, options)
    return time.perf_counter() - start


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=9, help="runs of each setting (min taken)")
    args = parser.parse_args(argv)
    channels, labels = block_data()
    options = histograms.HistogramOptions(np.array([[0, 1]]), VoxelRules())
    default = histograms.PREFETCH_RUNS
    print(f"histograms.chunk on one {BLOCK} uint16 block of bench_pixel's volume "
          f"(min of {args.repeat}, settings in turn)")
    for name, label_block in (("50 cells", labels), ("whole block", None)):
        regions = ChunkRegions.from_labels(label_block, channels[0].shape[1], None)
        times = {default: [], 0: []}
        for ahead in (default, 0):  # compile / load the kernel
            timed(channels, regions, options, ahead)
        for _ in range(args.repeat):
            for ahead in times:
                times[ahead].append(timed(channels, regions, options, ahead))
        on, off = min(times[default]), min(times[0])
        print(f"  {name:<12} {regions.ids.size:>3} regions  prefetch {default} runs ahead "
              f"{on * 1e3:6.1f} ms   off {off * 1e3:6.1f} ms   speed-up {off / on:.2f}x")
    histograms.PREFETCH_RUNS = default


if __name__ == "__main__":
    main()
