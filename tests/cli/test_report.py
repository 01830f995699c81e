"""``streamcoloc report`` through the streamcoloc command line."""

from __future__ import annotations


import numpy as np
import pytest

import streamcoloc
from streamcoloc.cli.main import run_command as run
from streamcoloc.reports import write_results


@pytest.fixture
def results(tmp_path):
    a = np.arange(400, dtype=np.uint16).reshape(20, 20)
    table = streamcoloc.analyse_pairwise(a, a.T, threshold_a=50, threshold_b=50)
    return write_results(table, tmp_path / "res", inputs={})


def test_report_writes_the_page_in_the_folder(results, capsys):
    assert run(["report", str(results)]) == 0
    page = (results / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and 'id="results-table"' in page
    assert f"report written to {results / 'report.html'}" in capsys.readouterr().out


def test_report_out_and_max_rows(results, tmp_path):
    target = tmp_path / "elsewhere.html"
    assert run(["report", str(results), "--out", str(target), "--max-rows", "1"]) == 0
    assert target.is_file() and not (results / "report.html").exists()


def test_report_of_a_folder_without_results(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.parquet or results.csv"):
        run(["report", str(tmp_path)])
    with pytest.raises(ValueError, match="max_rows must be at least 1"):
        run(["report", str(tmp_path), "--max-rows", "0"])
