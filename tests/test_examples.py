"""Every script in examples/ runs from a fresh interpreter and prints its result
(smoke tests: the numbers they print are checked by the module tests, e.g.
tests/smlm/test_simulate.py for Fig. 1c and tests/test_samples.py for the sample)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _run(script: str, tmp_path, *args) -> str:
    proc = subprocess.run([sys.executable, str(EXAMPLES / script), *args], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_per_cell_light_sheet_style_example_runs(tmp_path):
    out = _run("per_cell_colocalization.py", tmp_path, str(tmp_path / "out"))
    assert "whole volume: r =" in out


def test_all_channel_pairs_through_xarray(tmp_path):
    out = _run("all_pairs_xarray.py", tmp_path)
    assert "median Pearson r over the 16 cells, per pair" in out and "GFP-RFP per cell" in out


@pytest.mark.timeout(600)
def test_cluster_run_equals_threads(tmp_path):
    out = _run("cluster_run.py", tmp_path, str(tmp_path / "out"))
    assert "cluster and threads give identical tables: True" in out


def test_smlm_example_runs_both_fig_1c_variants(tmp_path):
    out = _run("smlm_coloc_index.py", tmp_path)
    assert "The paper's table corresponds to 'precision only'." in out
