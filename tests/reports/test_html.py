import base64
import json
import math
import shutil
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest

import streamcoloc
from streamcoloc.reports import write_results
from streamcoloc.reports.html import LEVELS, build_report, interpret, read_table, write_report
from streamcoloc.smlm import coloc_index, simulate

from .conftest import small_two_channel_volume

VOID = {"meta", "link", "img", "br", "hr", "input", "col", "source", "wbr"}


class Page(HTMLParser):
    """Collects what the tests look at, and checks that every element is
    closed by its own end tag (the page is well nested)."""

    def __init__(self, text):
        super().__init__(convert_charrefs=True)
        self.stack, self.ids, self.images, self.tags = [], {}, [], set()
        self.tables = {}  # table id -> body rows (lists of cell texts)
        self.table_heads = {}
        self._table, self._in_body, self._row, self._cell = None, False, None, None
        self.text = []
        self.feed(text)
        self.close()
        assert not self.stack, f"unclosed elements {self.stack}"

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.add(tag)
        if tag not in VOID:
            self.stack.append(tag)
        if "id" in attrs:
            assert attrs["id"] not in self.ids, f"duplicate id {attrs['id']}"
            self.ids[attrs["id"]] = tag
        if tag == "img":
            self.images.append(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.tables.setdefault(self._table, [])
            self.table_heads.setdefault(self._table, [])
        elif tag == "tbody":
            self._in_body = True
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        assert self.stack and self.stack[-1] == tag, f"</{tag}> closes {self.stack[-1:]}"
        self.stack.pop()
        if tag in ("td", "th") and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr":
            target = self.tables if self._in_body else self.table_heads
            target[self._table].append(self._row)
            self._row = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def all_text(self):
        return " ".join(" ".join(self.text).split())


@pytest.mark.parametrize("value, level", [
    (-1.0, "very weak"), (-0.27, "very weak"), (-0.265, "very weak"), (-0.26, "weak"),
    (0.0, "weak"), (0.09, "weak"), (0.095, "weak"), (0.10, "moderate"), (0.48, "moderate"),
    (0.49, "strong"), (0.84, "strong"), (0.85, "very strong"), (0.9, "very strong"),
    (1.0, "very strong")])
def test_pearson_levels_follow_zinchuk_2013(value, level):
    assert interpret("pcc", value) == level


@pytest.mark.parametrize("value, level", [
    (0.0, "very weak"), (0.49, "very weak"), (0.50, "weak"), (0.70, "weak"),
    (0.71, "moderate"), (0.88, "moderate"), (0.89, "strong"), (0.97, "strong"),
    (0.98, "very strong"), (1.0, "very strong")])
def test_overlap_levels_follow_zinchuk_2013(value, level):
    assert interpret("overlap", value) == level


@pytest.mark.parametrize("column, value", [
    ("pcc", math.nan), ("pcc", pd.NA), ("pcc", 1.5), ("pcc", -1.2), ("overlap", -0.1),
    ("srcc", 0.9), ("m1", 0.99), ("mean_ci", 1.0)])
def test_no_level_without_a_scale_or_a_value_in_range(column, value):
    assert interpret(column, value) is None


def test_page_holds_the_table_levels_thresholds_conventions_and_images(pixel_results):
    table = read_table(pixel_results)
    run = json.loads((pixel_results / "run.json").read_text())
    page = Page(write_report(pixel_results).read_text())

    assert "script" not in page.tags
    head = page.table_heads["results-table"][0]
    rows = page.tables["results-table"]
    assert len(rows) == len(table) == 6
    assert head[:4] == ["region", "slice", "channel_a", "channel_b"]
    assert head.index("pcc level") == head.index("pcc") + 1
    assert head.index("overlap level") == head.index("overlap") + 1
    for row, (_, expected) in zip(rows, table.iterrows()):
        cells = dict(zip(head, row))
        assert int(cells["region"]) == expected["region"]
        assert int(cells["slice"]) == expected["slice"]
        assert float(cells["pcc"]) == pytest.approx(expected["pcc"], rel=1e-5)
        assert cells["pcc level"] == interpret("pcc", expected["pcc"]) in LEVELS
        assert cells["overlap level"] == interpret("overlap", expected["overlap"]) in LEVELS
        assert float(cells["threshold_a"]) == pytest.approx(expected["threshold_a"], rel=1e-5)

    text = page.all_text
    assert "Zinchuk" in text and "Sci Rep 3:1365" in text
    sentence = text.split("Not interpreted (the paper gives no scale for them): ")[1]
    assert sentence.split(".")[0].split(", ") == [
        "pcc_below", "pcc_above", "srcc", "kendall", "icq", "k1", "k2", "m1", "m2", "tm1", "tm2",
        "rwc1", "rwc2"]

    assert run["threshold_method"] == "costes"
    assert "Method: costes" in text and "Costes auto-threshold as Coloc 2" in text
    ranges = page.tables["threshold-ranges"]
    assert len(ranges) == 1 and ranges[0][:3] == ["GFP", "RFP", "6"]
    assert float(ranges[0][4]) == table["threshold_a"].min()
    assert len(page.tables["costes"]) == len(run["costes"]) == 6

    definitions = dict(page.tables["convention-definitions"])
    assert definitions == {k: v for k, v in run["conventions"].items()}
    settings = dict(page.tables["convention-settings"])
    assert settings["convention"] == "coloc2" and settings["n_reads"] == str(run["n_reads"])
    provenance = dict(page.tables["provenance-table"])
    assert provenance["inputs"] == json.dumps(run["inputs"], indent=1)

    assert len(page.images) == 2
    for image in page.images:
        assert image["src"].startswith("data:image/png;base64,")
        embedded = base64.b64decode(image["src"].split(",", 1)[1])
        assert embedded == (pixel_results / "plots" / image["alt"]).read_bytes()


def test_known_values_get_their_words(pixel_results, tmp_path):
    table = read_table(pixel_results)
    table["pcc"] = [0.9, 0.6, 0.3, 0.0, -0.5, np.nan]
    table["overlap"] = [0.99, 0.9, 0.8, 0.6, 0.2, 0.75]
    write_results(table, tmp_path, inputs={})
    page = Page(build_report(tmp_path))
    head = page.table_heads["results-table"][0]
    levels = [(dict(zip(head, row))["pcc level"], dict(zip(head, row))["overlap level"])
              for row in page.tables["results-table"]]
    assert levels == [("very strong", "very strong"), ("strong", "strong"),
                      ("moderate", "moderate"), ("weak", "weak"), ("very weak", "very weak"),
                      ("", "moderate")]


def test_manual_thresholds_are_listed(tmp_path):
    a, b, _ = small_two_channel_volume()
    table = streamcoloc.analyse_pairwise(a[0], b[0], threshold_a=90, threshold_b=70)
    write_results(table, tmp_path, inputs={})
    page = Page(build_report(tmp_path))
    assert "Method: manual" in page.all_text
    assert page.tables["threshold-ranges"][0][4:] == ["90", "90", "70", "70"]
    assert "90, 70" in page.all_text  # manual_thresholds of run.json


def test_smlm_results_folder(tmp_path):
    result = coloc_index(simulate("squares", n=200, seed=1))
    out = result.write(tmp_path / "smlm", inputs={"paths": ["simulated"]})
    page = Page(build_report(out))
    assert len(page.tables["results-table"]) == len(result.summary) == 2
    assert page.table_heads["results-table"][0][:3] == ["roi", "channel", "other"]
    text = page.all_text
    assert "no intensity threshold method" in text
    assert "Not interpreted (the paper gives no scale for them): mean_ci." in text
    assert dict(page.tables["convention-settings"])["neighbour_rule"] == "distance <= radius"
    assert len(page.images) == len(list((out / "plots").glob("*.png"))) == 2


def test_long_tables_are_cut_with_a_notice(pixel_results, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(pixel_results, folder)
    page = Page(build_report(folder, max_rows=4))
    assert len(page.tables["results-table"]) == 4
    assert "2 more rows are not shown" in page.all_text
    assert len(page.tables["costes"]) == 4 and "First 4 of 6 walks" in page.all_text


def test_problems_are_named_on_the_page(pixel_results, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(pixel_results, folder)
    (folder / "plots" / "notes.txt").write_text("not an image")
    (folder / "plots" / "broken.png").write_bytes(b"not a png")
    run = json.loads((folder / "run.json").read_text())
    run["n_rows"] = 7
    (folder / "run.json").write_text(json.dumps(run))
    text = Page(build_report(folder)).all_text
    assert "Not embedded (not a PNG file): broken.png, notes.txt." in text
    assert "run.json records 7 rows but the table has 6" in text

    (folder / "run.json").unlink()
    (folder / "results.parquet").unlink()  # falls back to results.csv
    page = Page(build_report(folder))
    assert len(page.tables["results-table"]) == 6
    assert "run.json is missing" in page.all_text


def test_not_a_results_folder(tmp_path):
    with pytest.raises(FileNotFoundError, match="no results.parquet or results.csv"):
        build_report(tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        build_report(tmp_path / "missing")
