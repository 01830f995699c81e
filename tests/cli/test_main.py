"""The command line, end to end on small files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from scipy import stats

from streamcoloc.cli.main import main
from streamcoloc.readers import write_ome_zarr


@pytest.fixture
def sample(tmp_path):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 1000, (3, 6, 32, 40)).astype(np.uint16)
    image[1] = image[0] // 2 + rng.integers(0, 300, image[0].shape)
    labels = np.zeros((6, 32, 40), np.int64)
    labels[:, :16], labels[:, 16:] = 101, 2**40
    path = write_ome_zarr(tmp_path / "img.ome.zarr", image, dims=("c", "z", "y", "x"),
                          channel_names=["GFP", "RFP", "DAPI"], chunks=(1, 2, 16, 16))
    label_path = write_ome_zarr(tmp_path / "labels.ome.zarr", labels,
                                dims=("z", "y", "x"))
    return image, labels, path, label_path


def test_pixel_pair_with_labels_slices_thresholds(sample, tmp_path, capsys):
    image, labels, path, label_path = sample
    out = tmp_path / "res"
    assert main(["pixel", str(path), "--channels", "GFP,RFP", "--labels", str(label_path),
                 "--slice-axis", "z", "--thresholds", "100,50", "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 2 * 6 and set(table["region"]) == {101, 2**40}
    row = table[(table["region"] == 101) & (table["slice"] == 3)].iloc[0]
    a, b = image[0, 3, :16].ravel().astype(float), image[1, 3, :16].ravel().astype(float)
    assert row["pcc"] == pytest.approx(stats.pearsonr(a, b).statistic, rel=1e-12)
    assert row["tm1"] == pytest.approx(a[(b > 0) & (b >= 50)].sum() / a.sum(), rel=1e-12)
    pd.testing.assert_frame_equal(pd.read_parquet(out / "results.parquet")[["pcc"]], table[["pcc"]])
    run = json.loads((out / "run.json").read_text())
    assert run["threshold_method"] == "manual" and run["manual_thresholds"] == {"GFP|RFP": [100.0, 50.0]}
    assert run["inputs"]["voxel_size"] is not None and "versions" in run and "seconds" in run
    assert (out / "plots").is_dir()
    assert "GFP" in capsys.readouterr().out


def test_pixel_all_pairs_of_one_file(sample, tmp_path):
    _, _, path, _ = sample
    assert main(["pixel", str(path), "--out", str(tmp_path / "all")]) == 0
    table = pd.read_csv(tmp_path / "all" / "results.csv")
    assert list(zip(table["channel_a"], table["channel_b"])) == [
        ("GFP", "RFP"), ("GFP", "DAPI"), ("RFP", "DAPI")]


def test_pixel_two_tiff_paths(tmp_path):
    rng = np.random.default_rng(1)
    a = rng.integers(0, 255, (4, 20, 20)).astype(np.uint8)
    b = rng.integers(0, 255, (4, 20, 20)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "green.tif", a, photometric="minisblack")
    tifffile.imwrite(tmp_path / "red.tif", b, photometric="minisblack")
    assert main(["pixel", str(tmp_path / "green.tif"), str(tmp_path / "red.tif"),
                 "--out", str(tmp_path / "r")]) == 0
    row = pd.read_csv(tmp_path / "r" / "results.csv").iloc[0]
    assert (row["channel_a"], row["channel_b"]) == ("green", "red")
    assert row["pcc"] == pytest.approx(
        stats.pearsonr(a.ravel().astype(float), b.ravel().astype(float)).statistic)


@pytest.mark.parametrize("args, message", [
    (["pixel", "nowhere.zarr", "--out", "{out}"], "no such"),
    (["pixel", "{path}", "--channels", "GFP,YFP", "--out", "{out}"], "unknown channel"),
    (["pixel", "{path}", "--thresholds", "1", "--out", "{out}"], "--thresholds"),
    (["pixel", "{path}", "{path}", "--channels", "GFP,YFP", "--out", "{out}"],
     "unknown channel"),  # a batch of two sources
])
def test_errors_are_named_and_exit_2(sample, tmp_path, capsys, args, message):
    """A named error, and no output folder left behind (not even an empty
    checkpoint folder)."""
    out = tmp_path / "out"
    args = [a.format(path=sample[2], out=out) for a in args]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_help_explains_every_option(capsys):
    with pytest.raises(SystemExit):
        main(["pixel", "--help"])
    text = capsys.readouterr().out
    for option in ("--channels", "--labels", "--slice-axis", "--thresholds", "--metrics",
                   "--background", "--exclude-saturated", "--level", "--out"):
        assert option in text


def test_demo_small(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path), "--shape", "8,128,128"]) == 0
    table = pd.read_csv(tmp_path / "results" / "results.csv")
    assert len(table) > 0 and (table["n_pixels"] > 0).all()
    line = [t for t in capsys.readouterr().out.splitlines() if "expected PCC" in t][0]
    measured, expected = (float(w.strip(",")) for w in line.split() if w[0].isdigit())
    assert measured == pytest.approx(expected, abs=0.05)
