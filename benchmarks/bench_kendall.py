#!/usr/bin/env python
"""Kendall's S of joint tables: each row's span summed in one loop, or walked
from cell to cell.

``streamcoloc.stats.ranks._concordance`` sums a row's whole span in one loop
without branches when the row holds more than one cell per ``DENSE_SPAN``
columns, else it walks from cell to cell (whole blocks across long gaps).
This script times it with ``DENSE_SPAN`` as set and with 0 (every row
walked from cell to cell) on three kinds of synthetic tables, alternating
``--repeat`` times, and prints the medians and the median of the ratios
(walked / as set):

* bands of correlated values whose rows fill ~1/3 of their span (like the
  tables of bench_pixel's 50 cells);
* bands filled ~1/10;
* 12-bit noise (~2 cells per row: the walk).

S is checked equal both ways.

    .venv/bin/python benchmarks/bench_kendall.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from harness import alternated

from streamcoloc.stats import ranks
from streamcoloc.stats.histograms import JointCells


def tables(kind: str, rng, n_tables: int, voxels: int) -> list:
    """Joint tables of ``voxels`` value pairs each (a: 1,500 values)."""
    out = []
    for _ in range(n_tables):
        if kind == "noise":
            a, b = rng.integers(0, 4096, voxels), rng.integers(0, 4096, voxels)
        else:
            a = rng.integers(0, 1500, voxels)
            spread = 100 if kind == "band 1/3" else 300
            b = (a * 0.6).astype(np.int64) + rng.integers(-spread, spread, voxels)
        a, b = a - a.min(), b - b.min()
        width = int(b.max()) + 1
        cells, counts = np.unique(a * width + b, return_counts=True)
        out.append(JointCells(cells, counts.astype(np.int64), (int(a.max()) + 1, width)))
    return out


def row_fill(table) -> tuple:
    """Mean cells per row, and mean over rows of cells / (last column −
    first column + 1)."""
    rows, columns = table.rows, table.columns
    first = np.flatnonzero(np.diff(rows, prepend=-1))
    last = np.append(first[1:], rows.size) - 1
    return (rows.size / first.size,
            float(np.mean((last - first + 1) / (columns[last] - columns[first] + 1))))


def seconds(batch: list, dense_span: int) -> tuple:
    start = time.perf_counter()
    s = [ranks._concordance(t.cells, *t.shape, t.counts, dense_span)[0] for t in batch]
    return time.perf_counter() - start, s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"bench_kendall: DENSE_SPAN = {ranks.DENSE_SPAN}; medians of {args.repeat} "
          "alternations")
    for kind, n_tables, voxels in (("band 1/3", 50, 100_000), ("band 1/10", 50, 100_000),
                                   ("noise", 300, 8_000)):
        batch = tables(kind, rng, n_tables, voxels)
        per_row, fill = np.mean([row_fill(t) for t in batch[:5]], axis=0)
        if seconds(batch, ranks.DENSE_SPAN)[1] != seconds(batch, 0)[1]:
            raise SystemExit(f"bench_kendall: S differs on {kind}")
        walked, summed, ratio = alternated(lambda: seconds(batch, 0),
                                           lambda: seconds(batch, ranks.DENSE_SPAN), args.repeat)
        print(f"  {kind:10s} {n_tables} tables of {voxels:,} voxels ({per_row:.0f} cells per row, ~{fill:.2f} of its span): "
              f"walked {1e3 * walked:.1f} ms, as set {1e3 * summed:.1f} ms: {ratio:.2f}x")


if __name__ == "__main__":
    main()
