"""``streamcoloc objects`` end to end on small files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import tifffile
from scipy import ndimage

from streamcoloc.cli.main import run_command as run
from streamcoloc.objects import label_objects, object_table


@pytest.fixture
def two_channels(tmp_path):
    rng = np.random.default_rng(0)
    shape = (6, 40, 48)
    a = (ndimage.gaussian_filter(rng.random(shape), 1.5) * 4000).astype(np.uint16)
    b = (0.6 * a + 1600 * ndimage.gaussian_filter(rng.random(shape), 1.5)).astype(np.uint16)
    paths = tmp_path / "red.tif", tmp_path / "green.tif"
    for path, image in zip(paths, (a, b)):
        tifffile.imwrite(path, image)
    return a, b, paths


def test_objects_writes_the_results_folder(two_channels, tmp_path, capsys):
    a, b, (path_a, path_b) = two_channels
    out = tmp_path / "res"
    assert run(["objects", str(path_a), str(path_b), "--min-size", "3", "--voxel-size",
                "0.5,0.1,0.1", "--save-labels", "--out", str(out)]) == 0
    expected = object_table(label_objects(a, min_size=3), label_objects(b, min_size=3), a, b,
                            (0.5, 0.1, 0.1), channel_a="red", channel_b="green")
    summary = pd.read_csv(out / "results.csv")
    pd.testing.assert_frame_equal(summary, expected.summary, check_dtype=False)
    objects = pd.read_parquet(out / "objects.parquet")
    pd.testing.assert_frame_equal(objects, expected.objects, check_dtype=False)
    assert len(pd.read_csv(out / "objects.csv")) == len(objects) > 2
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["labelling"]["red"]["method"] == "otsu" and run_json["min_size"] == 3
    assert (out / "labels_red.zarr").exists() and (out / "labels_green.zarr").exists()
    assert "fraction_overlapping" in capsys.readouterr().out


def test_objects_thresholds_and_label_images(two_channels, tmp_path):
    a, b, (path_a, path_b) = two_channels
    out = tmp_path / "manual"
    assert run(["objects", str(path_a), str(path_b), "--thresholds", "2100,2200",
                "--connectivity", "1", "--channels", "x,y", "--out", str(out)]) == 0
    summary = pd.read_csv(out / "results.csv")
    assert summary["channel"].tolist() == ["x", "y"]
    counts = [ndimage.label(image > t)[1] for image, t in ((a, 2100), (b, 2200))]
    assert summary["n_objects"].tolist() == counts
    label_paths = tmp_path / "la.tif", tmp_path / "lb.tif"
    for path, image, t in zip(label_paths, (a, b), (2100, 2200)):
        tifffile.imwrite(path, ndimage.label(image > t)[0].astype(np.int32))
    out = tmp_path / "from_labels"
    assert run(["objects", str(path_a), str(path_b), "--labels",
                ",".join(map(str, label_paths)), "--out", str(out)]) == 0
    assert pd.read_csv(out / "results.csv")["n_objects"].tolist() == counts


def test_objects_bad_arguments(two_channels, tmp_path):
    _, _, (path_a, path_b) = two_channels
    with pytest.raises(ValueError, match="no channel axis"):
        run(["objects", str(path_a), "--out", str(tmp_path / "x")])
    with pytest.raises(ValueError, match="--thresholds needs 2"):
        run(["objects", str(path_a), str(path_b), "--thresholds", "1", "--out",
             str(tmp_path / "x")])
