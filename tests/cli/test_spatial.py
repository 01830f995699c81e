"""``streamcoloc ccf | cytofluorogram | ica | map`` end to end on a small OME-Zarr."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import zarr

from streamcoloc.cli.main import run_command as run
from streamcoloc.readers import write_ome_zarr
from streamcoloc.spatial import cytofluorogram, li_ica, van_steensel_ccf


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("spatial_cli")
    rng = np.random.default_rng(8)
    a = rng.integers(0, 300, (4, 20, 30)).astype(np.uint16)
    b = (np.roll(a, 2, axis=2) // 2 + rng.integers(0, 60, a.shape)).astype(np.uint16)
    mask = (rng.random(a.shape) > 0.2).astype(np.uint8)
    image = write_ome_zarr(folder / "img.ome.zarr", np.stack([a, b]), dims=("c", "z", "y", "x"),
                           channel_names=["G", "R"])
    mask_path = write_ome_zarr(folder / "mask.ome.zarr", mask, dims=("z", "y", "x"))
    return a, b, mask.astype(bool), str(image), str(mask_path)


def test_ccf_command(files, tmp_path, capsys):
    a, b, mask, image, mask_path = files
    out = tmp_path / "ccf"
    assert run(["ccf", image, "--mask", mask_path, "--max-shift", "6", "--out", str(out)]) == 0
    table = pd.read_csv(out / "results.csv")
    expected = van_steensel_ccf(a, b, mask=mask, max_shift=6)
    np.testing.assert_allclose(table["ccf"], expected.ccf, rtol=1e-12)
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["axis_name"] == "x" and run_json["peak_shift"] == 2
    assert run_json["fit_centre"] == pytest.approx(expected.centre)
    assert (out / "plots" / "ccf.png").stat().st_size > 0
    assert "Gaussian fit centre" in capsys.readouterr().out


def test_cytofluorogram_and_ica_commands(files, tmp_path):
    a, b, _, image, _ = files
    out = tmp_path / "cyto"
    assert run(["cytofluorogram", image, "--channels", "R,G", "--bins", "32",
                "--thresholds", "50,100", "--out", str(out)]) == 0
    row = pd.read_csv(out / "results.csv").iloc[0]
    assert (row["channel_a"], row["channel_b"], row["threshold_a"]) == ("R", "G", 50)
    saved = np.load(out / "cytofluorogram.npz")
    np.testing.assert_array_equal(saved["counts"],
                                  cytofluorogram(b, a, bins=32, threshold=None).counts)
    assert (out / "plots" / "cytofluorogram.png").exists()
    out = tmp_path / "ica"
    assert run(["ica", image, "--normalize", "none", "--icq-convention", "jacop",
                "--no-plots", "--out", str(out)]) == 0
    expected = li_ica(a, b, normalize=None, icq_convention="jacop")
    assert pd.read_csv(out / "results.csv")["icq"].iloc[0] == pytest.approx(expected.icq)
    np.testing.assert_array_equal(np.load(out / "ica.npz")["counts_b"], expected.counts_b)
    assert not list((out / "plots").iterdir())


def test_map_command(files, tmp_path):
    a, b, _, image, _ = files
    out = tmp_path / "map"
    assert run(["map", image, "--kind", "local_pearson", "--window", "1,3,3",
                "--out", str(out)]) == 0
    stored = zarr.open_array(str(out / "local_pearson.zarr"), mode="r")
    assert stored.shape == a.shape and stored.attrs["window"] == [1, 3, 3]
    assert (out / "plots" / "local_pearson.png").exists()
    with pytest.raises(FileExistsError):
        run(["map", image, "--kind", "local_pearson", "--out", str(out)])


def test_bad_arguments_are_named(files, tmp_path):
    _, _, _, image, mask_path = files
    with pytest.raises(ValueError, match="--channels"):
        run(["ccf", image, "--channels", "G", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="unknown channel"):
        run(["ccf", image, "--channels", "G,Q", "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="channel axis"):
        run(["ccf", mask_path, "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="--window"):
        run(["map", image, "--kind", "local_pearson", "--window", "3.5",
             "--out", str(tmp_path / "x")])
