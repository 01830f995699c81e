"""Many inputs in one run: globs, one table with a ``source`` column, resume.

Each finished source's table is saved as ``OUT/sources/NNNNN.parquet`` (the
number is the source's position in the sorted, expanded path list) once its
analysis is complete, so with ``--resume`` finished sources are read back
instead of recomputed.  An analysis may write more files of its own into
``OUT/sources/NNNNN/``.
"""

from __future__ import annotations

import glob
from pathlib import Path
from typing import Callable

import pandas as pd


def expand(patterns) -> list[Path]:
    """Paths, with globs expanded (sorted); a glob matching nothing is an error."""
    paths = []
    for pattern in patterns:
        if any(c in pattern for c in "*?["):
            matches = sorted(glob.glob(pattern))
            if not matches:
                raise FileNotFoundError(f"no file matches {pattern!r}")
            paths += [Path(m) for m in matches]
        else:
            paths.append(Path(pattern))
    return paths


def each_source(paths: list[Path], out: Path, resume: bool,
                analyse: Callable[[Path, Path], pd.DataFrame]) -> pd.DataFrame:
    """``analyse(path, folder)`` for every path not finished yet (``folder``:
    ``OUT/sources/NNNNN``, for extra per-source files), and the tables of all
    sources concatenated with a leading ``source`` column; the attrs are the
    first table's plus ``sources``."""
    done = Path(out) / "sources"  # made with the first table saved: a run that fails first
    tables = []  # leaves no folder
    for number, path in enumerate(paths):
        saved = done / f"{number:05d}.parquet"
        if resume and saved.exists():
            table = pd.read_parquet(saved)
        else:
            table = analyse(path, done / f"{number:05d}")
            table.insert(0, "source", str(path))
            done.mkdir(parents=True, exist_ok=True)
            table.to_parquet(saved)
        tables.append(table)
    table = pd.concat(tables, ignore_index=True)
    table.attrs.update(tables[0].attrs)
    table.attrs["sources"] = [str(p) for p in paths]
    return table
