#!/usr/bin/env python
"""Merging two joint tables' sorted cells: the branch-free loop against the
previous one, which branched on every comparison.

``streamcoloc.stats.histograms._merge_sorted`` forms the union of two
ascending cell sequences (adding the counts of equal cells) in a loop that
takes no data-dependent branch, into buffers shrunk in place.  The previous
kernel (copied here as the reference) branched on every comparison and
copied its result out.  On randomly interleaved cells (uncorrelated 16-bit
data, whose merged rows hold tens of millions of cells) those branches
mispredict about every other time.  This script times both on:

* two sequences of ~33M distinct random cells in [0, 2**32) (interleaved);
* the same with half of the second sequence's cells shared;
* a correlated band (1,500 × ~600 values, 300k cells a side, mostly shared),

alternating ``--repeat`` times after a warm-up, and prints the medians and
the median of the ratios (previous / branch-free).  The results are checked
equal.

    .venv/bin/python benchmarks/bench_merge.py
"""

from __future__ import annotations

import argparse
import statistics
import time

import numba
import numpy as np

from streamcoloc.stats.histograms import _merge_sorted


@numba.njit(nogil=True, cache=True)
def previous_merge(cells_a, counts_a, cells_b, counts_b):
    """The kernel before the branch-free loop (stop 21), as it was."""
    cells = np.empty(cells_a.size + cells_b.size, np.int64)
    counts = np.empty(cells.size, np.int64)
    i = j = n = 0
    while i < cells_a.size and j < cells_b.size:
        a, b = cells_a[i], cells_b[j]
        cells[n] = min(a, b)
        counts[n] = (counts_a[i] if a <= b else 0) + (counts_b[j] if b <= a else 0)
        i += 1 if a <= b else 0
        j += 1 if b <= a else 0
        n += 1
    for k in range(i, cells_a.size):
        cells[n], counts[n] = cells_a[k], counts_a[k]
        n += 1
    for k in range(j, cells_b.size):
        cells[n], counts[n] = cells_b[k], counts_b[k]
        n += 1
    return cells[:n].copy(), counts[:n].copy()


def cases(rng) -> dict:
    n = 33_000_000
    a = np.unique(rng.integers(0, 2**32, n))
    out = {"random, distinct": (a, np.unique(rng.integers(0, 2**32, n)))}
    out["random, half shared"] = (a, np.unique(np.concatenate(
        [rng.integers(0, 2**32, n // 2), rng.choice(a, n // 2, replace=False)])))
    band = []
    for _ in range(2):
        x = rng.integers(0, 1500, 2_000_000)
        y = (x * 0.4).astype(np.int64) + rng.integers(0, 300, x.size)
        band.append(np.unique(x * 1000 + y))
    out["correlated band"] = tuple(band)
    return {name: (a, rng.integers(1, 100, a.size), b, rng.integers(1, 100, b.size))
            for name, (a, b) in out.items()}


def timed(merge, args) -> tuple:
    start = time.perf_counter()
    result = merge(*args)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    print(f"bench_merge: medians of {args.repeat} alternations")
    for name, inputs in cases(np.random.default_rng(0)).items():
        small = tuple(x[:100] for x in inputs)
        previous_merge(*small), _merge_sorted(*small)  # compiled (or loaded)
        old_result, new_result = previous_merge(*inputs), _merge_sorted(*inputs)
        if not all((x == y).all() for x, y in zip(old_result, new_result)):
            raise SystemExit(f"bench_merge: the merges differ on {name}")
        del old_result, new_result
        old, new = [], []
        for _ in range(args.repeat):
            old.append(timed(previous_merge, inputs)[0])
            new.append(timed(_merge_sorted, inputs)[0])
        ratio = statistics.median(o / n for o, n in zip(old, new))
        size = (inputs[0].size + inputs[2].size) / 1e6
        print(f"  {name:<22} {size:5.1f}M cells in: previous {statistics.median(old):.3f} s, "
              f"branch-free {statistics.median(new):.3f} s, ratio {ratio:.2f}x")


if __name__ == "__main__":
    main()
