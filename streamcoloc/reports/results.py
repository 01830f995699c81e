"""The results folder every command writes.

    DIR/results.csv       the table (one row per region, slice and pair)
    DIR/results.parquet   the same table, typed
    DIR/run.json          provenance: versions, inputs, channels, conventions,
                          thresholds, exclusions, chunking, voxel size, timings
    DIR/plots/            figures (written by later commands)
"""

from __future__ import annotations

import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import pandas as pd

_PACKAGES = ("streamcoloc", "numpy", "numba", "dask", "distributed", "zarr", "xarray",
             "pandas", "scipy", "tifffile")


def versions() -> dict:
    """Python and package versions, for provenance."""
    found = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in _PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def write_results(table: pd.DataFrame, out_dir, *, inputs: dict, extra: dict | None = None) -> Path:
    """Write ``table`` and its provenance (``table.attrs`` plus ``inputs`` and
    ``extra``) into ``out_dir``; returns the folder."""
    out = Path(out_dir)
    (out / "plots").mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "results.csv", index=False)
    table.to_parquet(out / "results.parquet", index=False)
    run = {
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "command": sys.argv,
        "inputs": inputs,
        "n_rows": len(table),
        **table.attrs,
        **(extra or {}),
    }
    (out / "run.json").write_text(json.dumps(run, indent=2, default=_jsonable))
    return out


def _jsonable(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
