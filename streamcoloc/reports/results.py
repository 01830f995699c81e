"""The results folder every command writes.

    DIR/results.csv       the table (one row per region, slice and pair)
    DIR/results.parquet   the same table, typed
    DIR/run.json          provenance: versions, inputs, channels, conventions,
                          thresholds, exclusions, chunking, voxel size, timings
    DIR/plots/            figures (written by later commands)
"""

from __future__ import annotations

import dataclasses
import json
import platform
import sys
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

import numpy as np
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
    plain = table.copy(deep=False)
    plain.attrs = {}  # the provenance goes to run.json (attrs may hold result objects)
    plain.to_parquet(out / "results.parquet", index=False)
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


#: arrays longer than this are left out of run.json (histograms, null distributions)
MAX_ARRAY_IN_JSON = 256


def _jsonable(value):
    """JSON form of what json cannot write: arrays as lists, result objects
    (dataclasses) as their fields without long arrays, the rest as text."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                if np.size(getattr(value, f.name)) <= MAX_ARRAY_IN_JSON}
    if hasattr(value, "tolist"):
        return value.tolist()
    return str(value)
