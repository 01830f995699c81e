"""One self-contained HTML page for a results folder.

:func:`write_report` reads a results folder (see :mod:`.results`: the pixel
table of :func:`streamcoloc.analyse_pairwise` or the SMLM summary of
:meth:`streamcoloc.smlm.CIResult.write`) and writes ``report.html`` with the
results table, the thresholds and their method, the conventions, every PNG of
``plots/`` and the provenance of ``run.json``.  The page loads nothing: CSS is
inline, images are base64 ``data:`` URIs, there is no JavaScript, and a
Content-Security-Policy forbids any other source.

Interpretation: Pearson's r (column ``pcc``) and Manders' overlap coefficient
R (column ``overlap``) are described on CoLocalizer's five-step linguistic
scale (Zinchuk V, Wu Y, Grossenbacher-Zinchuk O (2013) Bridging the gap
between qualitative and quantitative colocalization results in fluorescence
microscopy studies. Sci Rep 3:1365)::

    level         Pearson's r       Manders' overlap R
    very weak     -1.00 ... -0.27   0.00 ... 0.49
    weak          -0.26 ...  0.09   0.50 ... 0.70
    moderate       0.10 ...  0.48   0.71 ... 0.88
    strong         0.49 ...  0.84   0.89 ... 0.97
    very strong    0.85 ...  1.00   0.98 ... 1.00

The paper tabulates two decimals; a value between two rows (r = 0.095) takes
the lower level: a level runs from its lower bound (inclusive) to the next
level's lower bound (exclusive).  The paper gives no scale for the other
coefficients, so they are left uninterpreted (the page says so).
"""

from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from numbers import Integral, Real
from pathlib import Path

import pandas as pd

#: Rows of the results table (and of the Costes walks) shown on the page;
#: beyond, the page says how many were left out (all are in results.csv).
MAX_TABLE_ROWS = 5000
LEVELS = ("very weak", "weak", "moderate", "strong", "very strong")
REFERENCE = ("Zinchuk V, Wu Y, Grossenbacher-Zinchuk O (2013) Bridging the gap between "
             "qualitative and quantitative colocalization results in fluorescence microscopy "
             "studies. Sci Rep 3:1365 (doi:10.1038/srep01365)")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
TABLE_COLUMNS = ("region", "slice", "channel_a", "channel_b")  # the key of a pixel table
#: Coefficients of the pixel and SMLM tables for which the paper gives no scale.
UNSCALED_COEFFICIENTS = ("pcc_below", "pcc_above", "srcc", "kendall", "icq", "k1", "k2", "m1",
                         "m2", "tm1", "tm2", "rwc1", "rwc2", "mean_ci")


@dataclass(frozen=True)
class Scale:
    """A coefficient's five levels: ``lower[k]`` is the lowest value of
    ``LEVELS[k]``; ``bands`` are the ranges as the paper prints them."""

    name: str
    lower: tuple[float, ...]
    top: float
    bands: tuple[str, ...]

    def level(self, value) -> str | None:
        """The level of ``value``; None for NaN/NA or a value outside the
        coefficient's range (beyond 1e-9, which allows for rounding)."""
        if value is None or value is pd.NA or not isinstance(value, Real):
            return None
        value = float(value)
        if math.isnan(value) or not self.lower[0] - 1e-9 <= value <= self.top + 1e-9:
            return None
        k = sum(value >= bound for bound in self.lower[1:])
        return LEVELS[k]


#: Result column -> its scale (Zinchuk et al. 2013).
SCALES = {
    "pcc": Scale("Pearson's correlation coefficient r", (-1.0, -0.26, 0.10, 0.49, 0.85), 1.0,
                 ("−1.0 … −0.27", "−0.26 … 0.09", "0.10 … 0.48", "0.49 … 0.84", "0.85 … 1.0")),
    "overlap": Scale("Manders' overlap coefficient R", (0.0, 0.50, 0.71, 0.89, 0.98), 1.0,
                     ("0 … 0.49", "0.50 … 0.70", "0.71 … 0.88", "0.89 … 0.97", "0.98 … 1.0")),
}

THRESHOLD_TOOLS = {
    "costes": "Coloc 2", "coloc2": "Coloc 2", "coloc2-bisection": "Coloc 2 (bisection)",
    "cellprofiler-accurate": "CellProfiler (accurate)",
    "cellprofiler-fast": "CellProfiler (fast)", "cellprofiler-faster": "CellProfiler (faster)",
    "jacop": "JACoP",
}
# run.json keys shown in the conventions and provenance sections; the rest
# goes to "Other run settings", so nothing recorded is left off the page.
CONVENTION_KEYS = ("conventions", "convention", "icq_convention", "metrics", "background",
                   "exclude_saturated", "excluded", "exact_integer_sums", "n_reads", "tables",
                   "notes", "method", "neighbour_rule", "distance", "exclude_self",
                   "radius_factor", "precision", "roi_mode", "channel_column", "roi_column")
THRESHOLD_KEYS = ("threshold_method", "manual_thresholds", "thresholds", "costes")
PROVENANCE_KEYS = ("created", "command", "inputs", "versions", "n_rows", "warnings", "seconds",
                   "total_seconds")

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #1b1b1b; max-width: 110em; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
th, td { border: 1px solid #d0d0d0; padding: 0.15em 0.45em; text-align: left; vertical-align: top; }
thead th { background: #eef1f5; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.scroll { max-height: 40em; overflow: auto; }
.notice { background: #fff4d6; border-left: 4px solid #e0a800; padding: 0.4em 0.8em; }
.level-very-weak { background: #f3f3f3; } .level-weak { background: #e3edf7; }
.level-moderate { background: #c8dcf0; } .level-strong { background: #9cc3e6; }
.level-very-strong { background: #6fa8dc; }
figure { display: inline-block; margin: 0.5em; vertical-align: top; }
figure img { max-width: 42em; height: auto; border: 1px solid #ddd; }
pre { margin: 0; white-space: pre-wrap; font-size: 0.95em; }
"""


def write_report(results_dir, out=None, *, max_rows: int = MAX_TABLE_ROWS) -> Path:
    """Write the report of ``results_dir`` to ``out`` (default
    ``results_dir/report.html``); returns its path."""
    target = Path(out) if out is not None else Path(results_dir) / "report.html"
    target.write_text(build_report(results_dir, max_rows=max_rows), encoding="utf-8")
    return target


def build_report(results_dir, *, max_rows: int = MAX_TABLE_ROWS) -> str:
    """The report page of ``results_dir`` as HTML text."""
    folder = Path(results_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"results folder {folder} does not exist")
    if max_rows < 1:
        raise ValueError(f"max_rows must be at least 1, got {max_rows}")
    table = read_table(folder)
    run, notices = _read_run(folder)
    if "n_rows" in run and run["n_rows"] != len(table):
        notices.append(f"run.json records {run['n_rows']} rows but the table has {len(table)}: "
                       "the table was changed after the run")
    title = f"streamcoloc report: {folder.resolve().name}"
    body = [f"<h1>{_e(title)}</h1>", _summary(run, table, folder)]
    body += [f'<p class="notice">{_e(n)}</p>' for n in notices]
    body += [_results_section(table, max_rows), _interpretation_section(table),
             _thresholds_section(run, table, max_rows), _conventions_section(run),
             _plots_section(folder), _provenance_section(run)]
    return _page(title, body)


def read_table(folder: Path) -> pd.DataFrame:
    """The results table: results.parquet (typed), else results.csv."""
    for name, reader in (("results.parquet", pd.read_parquet), ("results.csv", pd.read_csv)):
        if (folder / name).is_file():
            return reader(folder / name)
    raise FileNotFoundError(f"{folder} holds no results.parquet or results.csv: not a results "
                            "folder written by streamcoloc")


def interpret(column: str, value) -> str | None:
    """The linguistic level of ``value`` in result column ``column`` (see
    the module docstring), or None when the paper gives the column no scale
    or the value is NaN or out of range."""
    scale = SCALES.get(column)
    return None if scale is None else scale.level(value)


# ---------------------------------------------------------------- sections

def _read_run(folder: Path) -> tuple[dict, list[str]]:
    path = folder / "run.json"
    if not path.is_file():
        return {}, ["run.json is missing: the thresholds, conventions and provenance of this "
                    "run are unknown"]
    return json.loads(path.read_text()), []


def _summary(run: dict, table: pd.DataFrame, folder: Path) -> str:
    facts = {"results folder": str(folder.resolve()), "created": run.get("created"),
             "rows": len(table), "analysis": run.get("method") or _pixel_analysis(table)}
    inputs = run.get("inputs") or {}
    if inputs.get("paths"):
        facts["inputs"] = ", ".join(map(str, inputs["paths"]))
    return _key_value_table({k: v for k, v in facts.items() if v is not None})


def _pixel_analysis(table: pd.DataFrame) -> str | None:
    if set(TABLE_COLUMNS) <= set(table.columns):
        return "pixel/voxel colocalization per region, slice and channel pair"
    return None


def _results_section(table: pd.DataFrame, max_rows: int) -> str:
    shown = table.head(max_rows)
    columns = []
    for column in table.columns:
        columns.append(column)
        if column in SCALES:
            columns.append(f"{column} level")
    head = "".join(f"<th>{_e(c)}</th>" for c in columns)
    rows = []
    for record in shown.itertuples(index=False, name=None):
        cells = []
        for column, value in zip(table.columns, record):
            cells.append(_cell(value))
            if column in SCALES:
                level = interpret(column, value)
                css = f' class="level-{level.replace(" ", "-")}"' if level else ""
                cells.append(f"<td{css}>{_e(level or '')}</td>")
        rows.append(f"<tr>{''.join(cells)}</tr>")
    left_out = len(table) - len(shown)
    note = (f'<p class="notice">{left_out} more rows are not shown; the full table is in '
            "results.csv and results.parquet.</p>" if left_out else "")
    return (f'<h2 id="results">Results ({len(table)} rows)</h2>{note}<div class="scroll">'
            f'<table id="results-table"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table></div>")


def _interpretation_section(table: pd.DataFrame) -> str:
    interpreted = [c for c in table.columns if c in SCALES]
    head = "".join(f"<th>{_e(level)}</th>" for level in LEVELS)
    rows = "".join(f"<tr><th>{_e(s.name)} ({_e(c)})</th>"
                   + "".join(f"<td>{_e(b)}</td>" for b in s.bands) + "</tr>"
                   for c, s in SCALES.items())
    others = [c for c in UNSCALED_COEFFICIENTS if c in table.columns]
    text = [f"<p>The levels follow CoLocalizer's five-step linguistic scale: {_e(REFERENCE)}. "
            "The paper tabulates two decimals; a value between two rows takes the lower level "
            "(a level runs from its lower bound, inclusive, to the next level's lower bound). "
            "NaN values get no level.</p>",
            f'<table id="scale"><thead><tr><th>coefficient</th>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>"]
    if interpreted:
        text.append(f"<p>Interpreted here: {_e(', '.join(interpreted))} (columns "
                    f"{_e(', '.join(c + ' level' for c in interpreted))}).</p>")
    else:
        text.append("<p>This table has no coefficient with a scale in the paper "
                    "(Pearson's r or Manders' overlap R), so nothing is interpreted.</p>")
    if others:
        text.append(f'<p id="uninterpreted">Not interpreted (the paper gives no scale for '
                    f"them): {_e(', '.join(others))}.</p>")
    return '<h2 id="interpretation">Interpretation</h2>' + "".join(text)


def _thresholds_section(run: dict, table: pd.DataFrame, max_rows: int) -> str:
    method = run.get("threshold_method")
    parts = ['<h2 id="thresholds">Thresholds</h2>']
    if method is None:
        what = f" ({run['method']})" if run.get("method") else ""
        parts.append(f"<p>run.json records no intensity threshold method: this analysis{_e(what)} "
                     "uses no intensity thresholds.</p>")
        return "".join(parts)
    parts.append(f'<p id="threshold-method">Method: <strong>{_e(method)}</strong> '
                 f"— {_e(_describe_method(method))}.</p>")
    if {"threshold_a", "threshold_b", "channel_a", "channel_b"} <= set(table.columns):
        parts.append("<p>Thresholds used, per channel pair (data units, after any background "
                     "subtraction; each row's are the columns threshold_a and threshold_b):</p>")
        parts.append(_frame_table(_threshold_ranges(table), "threshold-ranges"))
    manual = run.get("manual_thresholds", run.get("thresholds"))
    if method == "manual" and manual:
        parts.append("<p>Manual thresholds given (channel_a|channel_b: T_a, T_b):</p>")
        parts.append(_key_value_table(manual))
    walks = run.get("costes") or []
    if walks:
        frame = pd.DataFrame(walks)
        note = (f"<p>First {max_rows} of {len(frame)} walks shown (all are in run.json).</p>"
                if len(frame) > max_rows else "")
        parts.append("<p>Costes walks (per region, slice and pair: the thresholds found, the "
                     "regression they lie on, Pearson's r below them and the number of "
                     f"thresholds evaluated):</p>{note}")
        parts.append(f'<div class="scroll">{_frame_table(frame.head(max_rows), "costes")}</div>')
    return "".join(parts)


def _describe_method(method: str) -> str:
    if method in THRESHOLD_TOOLS:
        return (f"Costes auto-threshold as {THRESHOLD_TOOLS[method]} computes it, per region, "
                "slice and channel pair (Costes et al. 2004, Biophys J 86:3993)")
    if method == "manual":
        return "thresholds given by the user, the same for every region and slice"
    return (f"the per-channel automatic threshold {method!r} (as scikit-image), per region "
            "and slice")


def _threshold_ranges(table: pd.DataFrame) -> pd.DataFrame:
    grouped = table.groupby(["channel_a", "channel_b"], sort=False)
    ranges = grouped[["threshold_a", "threshold_b"]].agg(["min", "max"])
    ranges.columns = [f"{column} {stat}" for column, stat in ranges.columns]
    ranges.insert(0, "rows", grouped.size())
    ranges.insert(1, "rows without threshold", grouped["threshold_a"].apply(
        lambda s: int(s.isna().sum())))
    return ranges.reset_index()


def _conventions_section(run: dict) -> str:
    parts = ['<h2 id="conventions">Conventions</h2>']
    definitions = run.get("conventions")
    if definitions:
        parts.append("<p>Definitions used by this run:</p>")
        parts.append(_key_value_table(definitions, table_id="convention-definitions"))
    settings = {k: run[k] for k in CONVENTION_KEYS if k in run and k != "conventions"}
    if settings:
        parts.append("<p>Settings:</p>")
        parts.append(_key_value_table(settings, table_id="convention-settings"))
    if len(parts) == 1:
        parts.append("<p>run.json records no conventions.</p>")
    return "".join(parts)


def _plots_section(folder: Path) -> str:
    plots = folder / "plots"
    files = sorted(p for p in plots.rglob("*") if p.is_file()) if plots.is_dir() else []
    figures, skipped = [], []
    for path in files:
        name = path.relative_to(plots).as_posix()
        data = path.read_bytes() if path.suffix.lower() == ".png" else b""
        if not data.startswith(PNG_SIGNATURE):
            skipped.append(name)
            continue
        uri = "data:image/png;base64," + base64.b64encode(data).decode("ascii")
        figures.append(f'<figure><img src="{uri}" alt="{_e(name)}">'
                       f"<figcaption>{_e(name)}</figcaption></figure>")
    parts = [f'<h2 id="plots">Plots ({len(figures)})</h2>']
    parts.append("".join(figures) if figures else "<p>No PNG plot in plots/.</p>")
    if skipped:
        parts.append(f'<p class="notice">Not embedded (not a PNG file): '
                     f"{_e(', '.join(skipped))}.</p>")
    return "".join(parts)


def _provenance_section(run: dict) -> str:
    shown = set(CONVENTION_KEYS) | set(THRESHOLD_KEYS) | set(PROVENANCE_KEYS)
    parts = ['<h2 id="provenance">Provenance</h2>',
             _key_value_table({k: run[k] for k in PROVENANCE_KEYS if k in run},
                              table_id="provenance-table")]
    others = {k: v for k, v in run.items() if k not in shown}
    if others:
        parts.append("<h2>Other run settings</h2>")
        parts.append(_key_value_table(others, table_id="other-settings"))
    return "".join(parts)


# ---------------------------------------------------------------- HTML pieces

def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
            "img-src data:; style-src 'unsafe-inline'\">"
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<link rel="icon" href="data:,">'
            f"<title>{_e(title)}</title><style>{STYLE}</style></head>\n<body>\n"
            + "\n".join(body) + "\n</body></html>\n")


def _e(text) -> str:
    return html.escape(str(text), quote=True)


def _format(value) -> str:
    if value is None or value is pd.NA or value is pd.NaT:
        return "—"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, Integral):
        return str(int(value))
    if isinstance(value, Real):
        return "NaN" if math.isnan(value) else f"{float(value):.6g}"
    return str(value)


def _cell(value) -> str:
    numeric = isinstance(value, Real) and not isinstance(value, bool)
    return f'<td class="num">{_e(_format(value))}</td>' if numeric else \
        f"<td>{_e(_format(value))}</td>"


def _frame_table(frame: pd.DataFrame, table_id: str) -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(_cell(v) for v in record) + "</tr>"
                   for record in frame.itertuples(index=False, name=None))
    return (f'<table id="{table_id}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{rows}</tbody></table>")


def _key_value_table(values: dict, table_id: str | None = None) -> str:
    ident = f' id="{table_id}"' if table_id else ""
    rows = "".join(f"<tr><th>{_e(k)}</th><td>{_value_html(v)}</td></tr>"
                   for k, v in values.items())
    return f"<table{ident}><tbody>{rows}</tbody></table>"


def _value_html(value) -> str:
    if isinstance(value, dict) or (isinstance(value, list) and any(
            isinstance(v, (dict, list)) for v in value)):
        return f"<pre>{_e(json.dumps(value, indent=1, default=str))}</pre>"
    if isinstance(value, list):
        return _e(", ".join(_format(v) for v in value))
    return _e(_format(value))
