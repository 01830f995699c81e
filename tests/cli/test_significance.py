"""``streamcoloc randomization`` end to end on small files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from streamcoloc.cli.main import run_command as run
from streamcoloc.readers import write_ome_zarr
from streamcoloc.significance import costes_randomization, psf_from_optics


@pytest.fixture
def image(tmp_path):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 1000, (2, 6, 24, 30)).astype(np.uint16)
    data[1] = data[0] // 2 + rng.integers(0, 400, data[0].shape)
    path = write_ome_zarr(tmp_path / "img.ome.zarr", data, dims=("c", "z", "y", "x"),
                          channel_names=["G", "R"])
    mask = np.zeros(data.shape[1:], np.uint8)
    mask[:, 4:20, 5:25] = 1
    mask_path = write_ome_zarr(tmp_path / "mask.ome.zarr", mask, dims=("z", "y", "x"))
    return data, path, mask, mask_path


def test_writes_the_results_folder(image, tmp_path, capsys):
    data, path, mask, mask_path = image
    out = tmp_path / "res"
    assert run(["randomization", str(path), "--mask", str(mask_path), "--n-iter", "40",
                "--seed", "4", "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    expected = costes_randomization(data[0], data[1], mask=mask.astype(bool), n_iter=40, seed=4)
    assert table.loc[0, "channel_a"] == "G" and table.loc[0, "channel_b"] == "R"
    assert table.loc[0, "p_value"] == expected.p_value
    assert table.loc[0, "observed"] == pytest.approx(expected.observed, rel=1e-15)
    null = pd.read_csv(out / "null_distribution.csv")
    np.testing.assert_allclose(null["r"], expected.null, rtol=1e-15)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["inputs"]["mask"] == str(mask_path)
    assert (out / "plots" / "randomization.png").is_file()
    assert "p_value" in capsys.readouterr().out


def test_coloc2_with_the_psf_from_the_optics(image, tmp_path):
    data, path, _, _ = image
    out = tmp_path / "res"
    assert run(["randomization", str(path), "--channels", "R,G", "--method", "coloc2",
                "--wavelength", "519", "--na", "1.4", "--pixel-size", "67", "--z-step", "200",
                "--seed", "1", "--no-plots", "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    psf = psf_from_optics(519, 1.4, 67, z_step=200)
    expected = costes_randomization(data[1], data[0], psf=psf, seed=1, method="coloc2")
    assert table.loc[0, "block_size"] == "2x3x3" and table.loc[0, "n_iter"] == 10
    assert table.loc[0, "channel_a"] == "R"
    np.testing.assert_allclose(pd.read_csv(out / "null_distribution.csv")["r"], expected.null)
    assert not (out / "plots" / "randomization.png").exists()


def test_bad_options_are_named(image, tmp_path):
    _, path, _, _ = image
    with pytest.raises(ValueError, match="--na"):
        run(["randomization", str(path), "--wavelength", "519", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="unknown channel"):
        run(["randomization", str(path), "--channels", "G,B", "--out", str(tmp_path / "x")])
