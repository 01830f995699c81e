"""``streamcoloc smlm`` end to end on small files."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pandas as pd
import pytest

from streamcoloc.cli.main import run_command as run
from streamcoloc.smlm import coloc_index, simulate


@pytest.fixture
def two_channel_csv(tmp_path):
    table = simulate("clusters", n_clusters=15, seed=0)
    table["channel"] = table["channel"].map({"A": 1, "B": 2})
    path = tmp_path / "locs.csv"
    table.rename(columns={"x": "X (nm)", "y": "Y (nm)", "precision": "Precision (nm)",
                          "channel": "Channel"}).to_csv(path, index=False)
    return table, path


def test_smlm_writes_the_results_folder(two_channel_csv, tmp_path, capsys):
    table, path = two_channel_csv
    out = tmp_path / "res"
    assert run(["smlm", str(path), "--out", str(out)]) == 0
    summary = pd.read_csv(out / "results.csv")
    expected = coloc_index(table).summary
    np.testing.assert_allclose(summary["mean_ci"], expected["mean_ci"], rtol=1e-12)
    locs = pd.read_parquet(out / "localizations.parquet")
    assert len(locs) == len(table) and {"ci_1", "ci_2", "nnd", "ld"} <= set(locs.columns)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["inputs"]["paths"] == [str(path)] and run_json["exclude_self"] is True
    assert len(list((out / "plots").glob("*.png"))) == 2
    assert "mean_ci" in capsys.readouterr().out


def test_smlm_rois_options_and_two_files(tmp_path):
    table = simulate("squares", overlap=0.5, seed=1)
    paths = []
    for name in ("A", "B"):
        path = tmp_path / f"{name}.csv"
        part = table[table["channel"] == name].drop(columns="channel")
        part.rename(columns={"x": "x [nm]", "y": "y [nm]", "precision": "uncertainty [nm]"}) \
            .to_csv(path, index=False)
        paths.append(str(path))
    out = tmp_path / "res"
    assert run(["smlm", *paths, "--roi", "100,0,200,250", "--roi", "0,0;250,0;250,250",
                "--radius-factor", "1.5", "--include-self", "--no-plots",
                "--out", str(out)]) == 0
    summary = pd.read_csv(out / "results.csv")
    assert list(summary["roi"]) == [0, 0, 1, 1]
    assert set(summary["channel"]) == {"A", "B"}
    expected = coloc_index(table, roi=[(100, 0, 200, 250), [(0, 0), (250, 0), (250, 250)]],
                           radius_factor=1.5, exclude_self=False).summary
    np.testing.assert_allclose(summary["mean_ci"], expected["mean_ci"], rtol=1e-12)
    assert not list((out / "plots").glob("*.png"))  # --no-plots


def test_smlm_bad_input_is_a_clear_error(two_channel_csv, tmp_path):
    _, path = two_channel_csv
    with pytest.raises(ValueError, match="rectangle needs 4 numbers"):
        run(["smlm", str(path), "--roi", "1,2,3", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match=r"channel\(s\) \[3\] not found"):
        run(["smlm", str(path), "--channels", "1,3", "--out", str(tmp_path / "x")])


def test_registered_in_the_main_command(two_channel_csv, tmp_path):
    from streamcoloc.cli.main import _parser, main

    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "smlm" not in commands.choices:
        pytest.skip("smlm is not registered in streamcoloc/cli/main.py yet")
    _, path = two_channel_csv
    assert main(["smlm", str(path), "--no-plots", "--out", str(tmp_path / "m")]) == 0
    assert main(["smlm", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m")]) == 2


def test_smlm_batch_of_a_glob_with_source_column_and_resume(tmp_path):
    for seed in (0, 1):
        table = simulate("clusters", n_clusters=10, seed=seed)
        table.to_csv(tmp_path / f"well{seed}.csv", index=False)
    out = tmp_path / "res"
    assert run(["smlm", str(tmp_path / "well*.csv"), "--batch", "--no-plots", "--quiet",
                "--out", str(out)]) == 0
    summary = pd.read_parquet(out / "results.parquet")
    assert list(summary["source"].unique()) == [str(tmp_path / f"well{s}.csv") for s in (0, 1)]
    for seed in (0, 1):
        part = summary[summary["source"] == str(tmp_path / f"well{seed}.csv")]
        expected = coloc_index(simulate("clusters", n_clusters=10, seed=seed)).summary
        np.testing.assert_allclose(part["mean_ci"], expected["mean_ci"], rtol=1e-12)
        assert (out / "sources" / f"{seed:05d}" / "localizations.parquet").exists()
    # resume: a finished source is read back, not recomputed
    saved = out / "sources" / "00001.parquet"
    marked = pd.read_parquet(saved)
    marked["mean_ci"] = 42.0
    marked.to_parquet(saved)
    assert run(["smlm", str(tmp_path / "well*.csv"), "--batch", "--no-plots", "--quiet",
                "--resume", "--out", str(out)]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    assert (resumed[resumed["source"].str.endswith("well1.csv")]["mean_ci"] == 42.0).all()
    assert resumed[resumed["source"].str.endswith("well0.csv")]["mean_ci"].tolist() == \
        summary[summary["source"].str.endswith("well0.csv")]["mean_ci"].tolist()


def test_smlm_progress_unless_quiet(two_channel_csv, tmp_path, capsys, monkeypatch):
    _, path = two_channel_csv
    monkeypatch.setattr("streamcoloc.cli.smlm.PROGRESS_AFTER", 0)
    assert run(["smlm", str(path), "--no-plots", "--out", str(tmp_path / "a")]) == 0
    assert "Completed" in capsys.readouterr().err
    assert run(["smlm", str(path), "--no-plots", "--quiet", "--out", str(tmp_path / "b")]) == 0
    assert "Completed" not in capsys.readouterr().err
