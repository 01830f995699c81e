import json

import numpy as np
import pandas as pd

import streamcoloc
from streamcoloc.reports import write_results


def test_results_folder_layout_and_provenance(tmp_path):
    a = np.arange(64, dtype=np.uint16).reshape(8, 8)
    table = streamcoloc.analyse_pairwise(a, a[::-1], threshold_a=3, threshold_b=4)
    out = write_results(table, tmp_path / "r", inputs={"paths": ["a", "b"]},
                        extra={"total_seconds": 1.5})
    assert sorted(p.name for p in out.iterdir()) == [
        "plots", "results.csv", "results.parquet", "run.json"]
    run = json.loads((out / "run.json").read_text())
    for key in ("versions", "inputs", "conventions", "threshold_method", "manual_thresholds",
                "excluded", "block_shape", "seconds", "total_seconds", "exact_integer_sums",
                "n_reads", "costes", "convention"):
        assert key in run, key
    assert run["exact_integer_sums"] is True and run["excluded"] == {"nonfinite": 0, "saturated": 0}
    parquet = pd.read_parquet(out / "results.parquet")
    assert list(parquet.columns) == list(streamcoloc.COLUMNS)
    assert parquet["region"].isna().all() and str(parquet["region"].dtype) == "Int64"
