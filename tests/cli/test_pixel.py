"""``streamcoloc pixel``: batches, threshold flags, ROIs, progress, clusters, resume."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from skimage import filters

from streamcoloc.cli.main import main
from streamcoloc.readers import write_ome_zarr


def _image(path, seed, shape=(2, 4, 24, 30)):
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 400, shape).astype(np.uint16)
    image[1] = image[0] // 2 + rng.integers(0, 200, image[0].shape)
    write_ome_zarr(path, image, dims=("c", "z", "y", "x"), channel_names=["GFP", "RFP"],
                   chunks=(1, 2, 12, 15))
    return image


def test_batch_of_a_glob_with_source_column_and_resume(tmp_path, capsys):
    images = [_image(tmp_path / f"well{i}.ome.zarr", i) for i in range(3)]
    out = tmp_path / "res"
    pattern = str(tmp_path / "well*.ome.zarr")
    assert main(["pixel", pattern, "--threshold-method", "otsu", "--out", str(out)]) == 0
    table = pd.read_parquet(out / "results.parquet")
    assert list(table["source"]) == [str(tmp_path / f"well{i}.ome.zarr") for i in range(3)]
    for i, image in enumerate(images):
        assert table["threshold_a"][i] == pytest.approx(filters.threshold_otsu(image[0]))
    assert "blocks" in capsys.readouterr().err  # progress shown without --quiet
    # resume: finished sources are not recomputed (their saved tables are reused)
    saved = out / "sources" / "00001.parquet"
    marked = pd.read_parquet(saved)
    marked["pcc"] = 42.0
    marked.to_parquet(saved)
    assert main(["pixel", pattern, "--threshold-method", "otsu", "--out", str(out),
                 "--resume", "--quiet"]) == 0
    resumed = pd.read_parquet(out / "results.parquet")
    assert resumed["pcc"][1] == 42.0 and resumed["pcc"][0] == table["pcc"][0]


def test_progress_on_stderr_unless_quiet(tmp_path, capsys):
    _image(tmp_path / "img.ome.zarr", 0)
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--out", str(tmp_path / "r")]) == 0
    err = capsys.readouterr().err
    assert "blocks" in err and "GB/s" in err and "s left" in err
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--out", str(tmp_path / "q"),
                 "--quiet"]) == 0
    assert "blocks" not in capsys.readouterr().err
    assert not (tmp_path / "q" / "checkpoints").exists()  # removed after a finished run


def test_threshold_flags_and_conventions_reach_run_json(tmp_path):
    _image(tmp_path / "img.ome.zarr", 1)
    out = tmp_path / "cp"
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--threshold-method",
                 "cellprofiler-fast", "--convention", "cellprofiler", "--icq-convention",
                 "jacop", "--slice-axis", "z", "--out", str(out), "--quiet"]) == 0
    run = json.loads((out / "run.json").read_text())
    assert run["threshold_method"] == "cellprofiler-fast" and run["convention"] == "cellprofiler"
    assert run["icq_convention"] == "jacop" and len(run["costes"]) == 4
    table = pd.read_csv(out / "results.csv")
    assert table["rwc1"].notna().all() and table["kendall"].notna().all()


def test_fiji_rois_as_regions(tmp_path):
    import roifile

    image = _image(tmp_path / "img.ome.zarr", 2)
    square = roifile.ImagejRoi.frompoints([[2, 3], [12, 3], [12, 10], [2, 10]])
    square.roitype = roifile.ROI_TYPE.POLYGON
    square.name = "cell"
    square.tofile(tmp_path / "cell.roi")
    out = tmp_path / "rois"
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--rois", str(tmp_path / "cell.roi"),
                 "--metrics", "pcc", "--out", str(out), "--quiet"]) == 0
    table = pd.read_csv(out / "results.csv")
    # pixel centres inside the polygon: columns 2..11, rows 3..9
    a, b = image[0][:, 3:10, 2:12].ravel(), image[1][:, 3:10, 2:12].ravel()
    assert table["n_pixels"][0] == a.size
    assert table["pcc"][0] == pytest.approx(np.corrcoef(a, b)[0, 1], rel=1e-12)


def test_local_cluster_workers_give_identical_numbers(tmp_path):
    _image(tmp_path / "img.ome.zarr", 3)
    threads, cluster = tmp_path / "t", tmp_path / "c"
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--out", str(threads), "--quiet"]) == 0
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--out", str(cluster), "--quiet",
                 "--workers", "2"]) == 0
    pd.testing.assert_frame_equal(pd.read_parquet(threads / "results.parquet"),
                                  pd.read_parquet(cluster / "results.parquet"), check_exact=True)


def test_bad_execution_options(tmp_path, capsys):
    _image(tmp_path / "img.ome.zarr", 4)
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--out", str(tmp_path / "x"),
                 "--workers", "2", "--scheduler", "tcp://localhost:1"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["pixel", str(tmp_path / "nothing*.zarr"), "--out", str(tmp_path / "y")]) == 2
    assert "no file matches" in capsys.readouterr().err


def test_diagnostics_drawn_into_plots_and_shown_in_the_report(tmp_path):
    _image(tmp_path / "img.ome.zarr", 5)
    out = tmp_path / "diag"
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), "--metrics", "pcc", "--diagnostics",
                 "cytofluorogram,ccf,ica,randomization", "--out", str(out), "--quiet"]) == 0
    pngs = sorted(p.name for p in (out / "plots").glob("*.png"))
    assert pngs == ["ccf.png", "cytofluorogram.png", "ica.png", "randomization.png"]
    run = json.loads((out / "run.json").read_text())
    assert 0 < run["diagnostics"]["randomization"]["p_value"] <= 1
    assert main(["report", str(out)]) == 0
    assert (out / "report.html").read_text().count("data:image/png;base64,") >= 4
    assert main(["pixel", str(tmp_path / "img.ome.zarr"), str(tmp_path / "img.ome.zarr"),
                 "--diagnostics", "ccf", "--out", str(tmp_path / "x")]) == 2  # not one pair
