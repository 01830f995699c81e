#!/usr/bin/env python
"""Summing a joint-histogram row's parts: two smallest first, or in order.

A merge of the engine's fold (``histograms.combine``) leaves each row as its
parts: the running sum of the earlier merges and the new blocks' tables.
``JointCells.merged`` sums them two smallest first (a heap), so the large
running sum is merged once; merging in the parts' order, as before, merged
it once per new part.  This script times both on a fold-like row (the
running sum first, then 8 blocks' tables) of

* uncorrelated 16-bit values (cells in [0, 2**32): every block adds new
  cells; the whole-volume tables of full-range data hold ~10**8), and
* a correlated band (blocks share most cells, like bench_pixel's regions),

alternating ``--repeat`` times after a warm-up, and prints the medians and
the median of the ratios (in order / two smallest first).  The sums are
checked equal.

    .venv/bin/python benchmarks/bench_merge.py
"""

from __future__ import annotations

import argparse

import numpy as np
from harness import alternated

from streamcoloc.stats.histograms import JointCells, _merge_sorted, _placed


def in_order(parts: list) -> JointCells:
    """The sum merged in the parts' order, each part placed first (the
    previous ``JointCells.merged``, the reference)."""
    shape = parts[0].shape
    cells, counts = None, None
    for part in parts:
        placed = _placed(part.cells, shape[1], 0, 0, shape[1])
        added = part.counts.astype(np.int64, copy=False)
        cells, counts = (placed, added.copy()) if cells is None else \
            _merge_sorted(cells, counts, placed, added)
    return JointCells(cells, counts, shape)


def table(cells: np.ndarray, shape: tuple) -> JointCells:
    cells, counts = np.unique(cells, return_counts=True)
    return JointCells(cells, counts.astype(np.int64), shape)


def fold_row(kind: str, rng, running_voxels: int, block_voxels: int, blocks: int) -> list:
    """The running sum's table, then ``blocks`` block tables, all in one
    table's coordinates."""
    if kind == "uncorrelated":
        shape = (65536, 65536)
        draw = lambda n: rng.integers(0, 2**32, n)  # noqa: E731
    else:
        shape = (1500, 1000)

        def draw(n):
            a = rng.integers(0, 1500, n)
            return a * 1000 + (a * 0.4).astype(np.int64) + rng.integers(0, 300, n)
    return [table(draw(running_voxels), shape)] + [table(draw(block_voxels), shape)
                                                   for _ in range(blocks)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    heap = lambda parts: JointCells.merged([(t, 0, 0) for t in parts], parts[0].shape)  # noqa: E731
    print(f"bench_merge: a row's parts summed; medians of {args.repeat} alternations")
    for kind, running, block in (("uncorrelated", 16_000_000, 2_000_000),
                                 ("correlated band", 4_000_000, 500_000)):
        parts = fold_row(kind, rng, running, block, 8)
        ordered, smallest = in_order(parts), heap(parts)
        if not ((ordered.cells == smallest.cells).all()
                and (ordered.counts == smallest.counts).all()):
            raise SystemExit(f"bench_merge: the sums differ on {kind}")
        old, new, ratio = alternated(lambda: in_order(parts), lambda: heap(parts), args.repeat)
        print(f"  {kind:<16} {sum(t.cells.size for t in parts) / 1e6:5.1f}M cells in 9 parts, "
              f"{smallest.cells.size / 1e6:5.1f}M out: in order {old:.3f} s, "
              f"two smallest first {new:.3f} s, ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
