"""The report page in a real headless Chromium (Debian's chromium and
chromium-driver, driven by selenium; never a browser or driver download).

Outside CI the test skips when selenium, chromium or chromedriver is absent;
with CI=true it fails instead."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from streamcoloc.reports.html import PNG_SIGNATURE, write_report

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--window-size=1280,1600")


def _unavailable(reason: str):
    if os.environ.get("CI") == "true":
        pytest.fail(f"CI=true but {reason}: .ci/run must install chromium and chromium-driver "
                    "(and the test extra, with selenium)")
    pytest.skip(reason)


@pytest.fixture
def chromium(tmp_path, monkeypatch):
    """A headless Chromium WebDriver with browser logging."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        _unavailable("selenium is not installed")
    for path in (CHROMIUM, CHROMEDRIVER):
        if not Path(path).is_file():
            _unavailable(f"{path} is missing")
    monkeypatch.setenv("SE_OFFLINE", "true")  # selenium manager: no network
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS + (f"--user-data-dir={tmp_path / 'profile'}",):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def test_report_in_headless_chromium(pixel_results, chromium, tmp_path):
    page = write_report(pixel_results, tmp_path / "report.html")
    expected_rows = len(pd.read_csv(pixel_results / "results.csv"))
    n_png = len(list((pixel_results / "plots").glob("*.png")))

    chromium.get(page.resolve().as_uri())
    assert chromium.title.startswith("streamcoloc report")
    rows = chromium.execute_script(
        "return document.querySelectorAll('#results-table tbody tr').length")
    assert rows == expected_rows
    images = chromium.execute_script(
        "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth])")
    assert len(images) == n_png == 2
    for alt, complete, width in images:
        assert complete and width > 0, f"image {alt} did not load"
    head, cells = chromium.execute_script(
        "return [document.querySelector('#results-table thead tr').cells.length, "
        "Array.from(document.querySelectorAll('#results-table tbody tr'), r => r.cells.length)]")
    assert set(cells) == {head}

    severe = [entry for entry in chromium.get_log("browser") if entry["level"] == "SEVERE"]
    assert severe == []

    shot = tmp_path / "report.png"
    assert chromium.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data.startswith(PNG_SIGNATURE) and len(data) > 1000


def test_the_browser_checks_can_fail(pixel_results, chromium, tmp_path):
    """A page with an external image: blocked by the page's policy, so it
    does not load and the console reports it."""
    page = write_report(pixel_results, tmp_path / "report.html")
    text = page.read_text().replace("</body>", '<img alt="external" '
                                    'src="http://127.0.0.1:9/missing.png"></body>')
    page.write_text(text)
    chromium.get(page.resolve().as_uri())
    widths = chromium.execute_script("return Array.from(document.images, i => i.naturalWidth)")
    assert widths[-1] == 0 and all(w > 0 for w in widths[:-1])
    assert any(e["level"] == "SEVERE" for e in chromium.get_log("browser"))
