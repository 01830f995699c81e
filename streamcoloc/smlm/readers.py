"""Localization tables from SMLM software, as dask DataFrames in one schema.

Standard schema (nm): ``x``, ``y``, ``z`` (3D only), ``precision``,
``channel``, ``frame`` (when known), followed by the file's own columns
(those named like a standard column are replaced by it).

``precision`` is one localization precision per row: the file's σ when it
has one column, else the root mean square of its per-axis values,
ε = sqrt((σx² + σy²)/2) in 2D and sqrt((σx² + σy² + σz²)/3) in 3D (a single
lateral σ counts for x and y).  Without a z precision, 3D data keep the
lateral ε.

Formats (``format=``):

==============  ==========================================================
``thunderstorm``  CSV: ``x [nm]``, ``y [nm]`` [, ``z [nm]``], ``uncertainty
                  [nm]`` or ``uncertainty_xy [nm]`` [, ``uncertainty_z
                  [nm]``], ``frame``
``oni``           ONI Nanoimager CSV: ``X (nm)``, ``Y (nm)`` [, ``Z (nm)``],
                  ``X precision (nm)``, ``Y precision (nm)``, ``Channel``,
                  ``Frame``
``picasso``       Picasso HDF5: dataset ``locs`` with ``x``, ``y``, ``lpx``,
                  ``lpy`` in camera pixels (``z`` in nm); the pixel size comes
                  from ``pixel_size=`` or the YAML sidecar (key ``Pixelsize``)
``decode``        DECODE HDF5: ``data/xyz`` (x, y in ``meta`` ``xy_unit``,
                  px or nm, with ``px_size``; z in nm), ``data/xyz_sig`` (or
                  ``xyz_cr``) as precisions, ``data/frame_ix``
``csv``,          any table: ``columns={"x": ..., "y": ..., "precision": ...}``
``parquet``       maps standard names to the file's columns (``unit`` =
                  "nm", "um" or "px" with ``pixel_size``); without a mapping,
                  common names are recognized (``X (nm)``, ``x_nm``, ``x``,
                  ``Precision (nm)``, ``Channel``...)
==============  ==========================================================

``format="auto"`` picks by extension and column names.  A file without a
channel column gets the channel ``channel=`` (default: the file name
without extension); several paths are read and concatenated.  Missing
columns and NaN coordinates raise a ValueError naming the file and column.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd

STANDARD = ("x", "y", "z", "precision", "channel", "frame")
FORMATS = ("auto", "thunderstorm", "oni", "picasso", "decode", "csv", "parquet")
UNITS = {"nm": 1.0, "um": 1000.0}
BLOCK_ROWS = 2_000_000  # rows per partition of HDF5 files
CSV_BLOCKSIZE = "128MB"


@dataclass(frozen=True)
class Columns:
    """Where the standard columns come from: ``precision`` is one column or
    per-axis columns; ``scale`` converts x, y and their precisions to nm,
    ``z_scale`` z and its precision."""

    x: str
    y: str
    z: str | None = None
    precision: tuple = ()
    z_precision: str | None = None
    channel: str | None = None
    frame: str | None = None
    scale: float = 1.0
    z_scale: float = 1.0


THUNDERSTORM = Columns("x [nm]", "y [nm]", "z [nm]", ("uncertainty [nm]",), "uncertainty_z [nm]",
                       None, "frame")
ONI = Columns("X (nm)", "Y (nm)", "Z (nm)", ("X precision (nm)", "Y precision (nm)"),
              "Z precision (nm)", "Channel", "Frame")
PICASSO = Columns("x", "y", "z", ("lpx", "lpy"), None, None, "frame")
DECODE = Columns("x", "y", "z", ("x_sig", "y_sig"), "z_sig", None, "frame_ix")

#: Names recognized in plain tables, in order of preference (exact, then
#: ignoring case).
CANDIDATES = {
    "x": ("x [nm]", "X (nm)", "x (nm)", "x_nm", "xnm", "x"),
    "y": ("y [nm]", "Y (nm)", "y (nm)", "y_nm", "ynm", "y"),
    "z": ("z [nm]", "Z (nm)", "z (nm)", "z_nm", "znm", "z"),
    "precision": ("precision", "Precision (nm)", "precision [nm]", "precision (nm)",
                  "precision_nm", "uncertainty [nm]", "uncertainty_xy [nm]", "uncertainty",
                  "localization precision", "loc_precision"),
    "precision_xy": (("X precision (nm)", "Y precision (nm)"),
                     ("uncertainty_x [nm]", "uncertainty_y [nm]"),
                     ("precision_x", "precision_y"), ("lpx", "lpy")),
    "z_precision": ("Z precision (nm)", "uncertainty_z [nm]", "precision_z"),
    "channel": ("channel", "Channel", "ch", "probe"),
    "frame": ("frame", "Frame", "frame_ix"),
}


def read_localizations(path, format: str = "auto", *, columns: dict | None = None,
                       channel=None, pixel_size: float | None = None, unit: str = "nm",
                       precision: float | None = None, use_z: bool = True) -> dd.DataFrame:
    """Read one or more localization files into the standard schema.

    Parameters
    ----------
    path : file path, or a list of paths (concatenated).
    format : one of :data:`FORMATS` (see the module docstring).
    columns : for ``csv``/``parquet``: standard name -> file column
        (``x``, ``y``, ``z``, ``precision``, ``channel``, ``frame``;
        ``precision`` may be a tuple of per-axis columns).
    channel : channel of files without a channel column (one value, or one
        per path); default the file name without extension.
    pixel_size : nm per camera pixel (Picasso, DECODE in px, ``unit="px"``).
    unit : unit of mapped plain-table columns: "nm", "um" or "px".
    precision : one precision (nm) for files without a precision column.
    use_z : use a z column when there is one (3D distances).
    """
    paths = [path] if isinstance(path, (str, Path)) else list(path)
    if not paths:
        raise ValueError("no localization file given")
    channels = channel if isinstance(channel, (list, tuple)) else [channel] * len(paths)
    if len(channels) != len(paths):
        raise ValueError(f"channel has {len(channels)} values for {len(paths)} paths")
    frames = [_read_one(Path(p), format, columns, c, pixel_size, unit, precision, use_z)
              for p, c in zip(paths, channels)]
    return frames[0] if len(frames) == 1 else dd.concat(frames)


def _read_one(path: Path, format, columns, channel, pixel_size, unit, precision, use_z):
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {FORMATS}")
    if not path.exists():
        raise FileNotFoundError(f"localization file not found: {path}")
    if format == "auto":
        format = _guess_format(path)
    if format in ("picasso", "decode"):
        raw, layout = _hdf5(path, format, pixel_size)
    elif format == "parquet":
        raw = dd.read_parquet(path)
        layout = _plain_layout(path, list(raw.columns), columns, unit, pixel_size)
    else:
        raw = dd.read_csv(path, blocksize=CSV_BLOCKSIZE, comment=None)
        names = list(raw.columns)
        if format == "thunderstorm" or (format == "csv" and columns is None
                                        and THUNDERSTORM.x in names):
            layout = replace(THUNDERSTORM, precision=_first_present(
                names, (("uncertainty [nm]",), ("uncertainty_xy [nm]",))) or ())
        elif format == "oni" or (format == "csv" and columns is None and ONI.x in names
                                 and ONI.precision[0] in names):
            layout = ONI
        else:
            layout = _plain_layout(path, names, columns, unit, pixel_size)
    layout = _present(layout, list(raw.columns), path, use_z)
    default_channel = path.stem if channel is None else channel
    meta = _standardize(raw._meta, layout, path, default_channel, precision)
    return raw.map_partitions(_standardize, layout, path, default_channel, precision, meta=meta)


def _guess_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".h5", ".hdf5", ".hdf"):
        import h5py

        with h5py.File(path, "r") as f:
            if "locs" in f:
                return "picasso"
            if "data" in f and "xyz" in f["data"]:
                return "decode"
        raise ValueError(f"{path}: HDF5 file is neither Picasso (dataset 'locs') nor DECODE "
                         "(group 'data' with 'xyz')")
    if suffix in (".parquet", ".pq") or path.is_dir():
        return "parquet"
    return "csv"


def _first_present(names, options):
    for option in options:
        wanted = (option,) if isinstance(option, str) else option
        if all(w in names for w in wanted):
            return option
    lower = {n.lower(): n for n in names}
    for option in options:
        wanted = (option,) if isinstance(option, str) else option
        if all(w.lower() in lower for w in wanted):
            found = tuple(lower[w.lower()] for w in wanted)
            return found[0] if isinstance(option, str) else found
    return None


def _plain_layout(path, names, columns, unit, pixel_size) -> Columns:
    """Columns of a plain table: the mapping, or recognized names."""
    if unit == "px":
        if pixel_size is None:
            raise ValueError(f"{path}: unit='px' needs pixel_size (nm per pixel)")
        scale = float(pixel_size)
    elif unit in UNITS:
        scale = UNITS[unit]
    else:
        raise ValueError(f"unknown unit {unit!r}; choose nm, um or px")
    if columns is not None:
        unknown = set(columns) - set(STANDARD) - {"z_precision"}
        if unknown:
            raise ValueError(f"columns maps unknown standard names {sorted(unknown)}; use "
                             f"{STANDARD}")
        if "x" not in columns or "y" not in columns:
            raise ValueError(f"{path}: the columns mapping needs 'x' and 'y'")
        precision = columns.get("precision", ())
        return Columns(columns["x"], columns["y"], columns.get("z"),
                       (precision,) if isinstance(precision, str) else tuple(precision),
                       columns.get("z_precision"), columns.get("channel"), columns.get("frame"),
                       scale, scale)
    found = {k: _first_present(names, v) for k, v in CANDIDATES.items()}
    if found["x"] is None or found["y"] is None:
        raise ValueError(f"{path}: cannot find x/y columns among {names}; give "
                         "columns={'x': ..., 'y': ...} (and unit)")
    precision = ((found["precision"],) if found["precision"] else found["precision_xy"]) or ()
    return Columns(found["x"], found["y"], found["z"], precision, found["z_precision"],
                   found["channel"], found["frame"], scale, scale)


def _present(layout: Columns, names, path, use_z) -> Columns:
    """Check required columns; drop optional ones the file does not have."""
    for role in ("x", "y"):
        if getattr(layout, role) not in names:
            raise ValueError(f"{path}: missing column {getattr(layout, role)!r} ({role}); the "
                             f"file has {names}")
    missing_precision = [c for c in layout.precision if c not in names]
    z = layout.z if use_z and layout.z in names else None
    return replace(
        layout, z=z, precision=() if missing_precision else tuple(layout.precision),
        z_precision=layout.z_precision if z and layout.z_precision in names else None,
        channel=layout.channel if layout.channel in names else None,
        frame=layout.frame if layout.frame in names else None)


def _standardize(raw: pd.DataFrame, layout: Columns, path, channel, precision) -> pd.DataFrame:
    """One partition in the standard schema (checks NaN coordinates)."""
    out = {}
    for axis, column, scale in (("x", layout.x, layout.scale), ("y", layout.y, layout.scale),
                                ("z", layout.z, layout.z_scale)):
        if column is None:
            continue
        values = pd.to_numeric(raw[column], errors="coerce").to_numpy(np.float64,
                                                                     na_value=np.nan)
        bad = ~np.isfinite(values)
        if bad.any():
            raise ValueError(f"{path}: column {column!r} has {bad.sum()} NaN or non-numeric "
                             f"coordinate(s), first at row {raw.index[np.argmax(bad)]!r}")
        out[axis] = values * scale
    sigmas = [raw[c].to_numpy(np.float64) * layout.scale for c in layout.precision]
    if sigmas and layout.z_precision is not None:
        if len(sigmas) == 1:
            sigmas = sigmas * 2
        sigmas.append(raw[layout.z_precision].to_numpy(np.float64) * layout.z_scale)
    if sigmas:
        out["precision"] = np.sqrt(np.mean(np.square(sigmas), axis=0))
    elif precision is not None:
        out["precision"] = np.full(len(raw), float(precision))
    out["channel"] = raw[layout.channel].to_numpy() if layout.channel else \
        np.full(len(raw), channel, dtype=object if isinstance(channel, str) else None)
    if layout.frame is not None:
        out["frame"] = raw[layout.frame].to_numpy()
    standard = pd.DataFrame(out, index=raw.index)
    if isinstance(channel, str) and layout.channel is None:
        standard["channel"] = standard["channel"].astype(str)
    return pd.concat([standard, raw.drop(columns=[c for c in STANDARD if c in raw.columns])],
                     axis=1)


# ---------------------------------------------------------------- HDF5

def _hdf5(path: Path, format: str, pixel_size):
    """(dask frame of the raw rows, Columns) of a Picasso or DECODE file,
    read in blocks of :data:`BLOCK_ROWS` rows."""
    import h5py

    with h5py.File(path, "r") as f:
        if format == "picasso":
            if "locs" not in f:
                raise ValueError(f"{path}: no dataset 'locs' (not a Picasso file)")
            n = len(f["locs"])
            scale = pixel_size if pixel_size is not None else _picasso_pixel_size(path)
            layout = replace(PICASSO, scale=float(scale))
        else:
            if "data" not in f or "xyz" not in f["data"]:
                raise ValueError(f"{path}: no dataset 'data/xyz' (not a DECODE file)")
            n = len(f["data/xyz"])
            meta = dict(f["meta"].attrs) if "meta" in f else {}
            unit = str(meta.get("xy_unit", "px"))
            if unit == "nm":
                scale = 1.0
            else:
                size = pixel_size if pixel_size is not None else meta.get("px_size")
                if size is None:
                    raise ValueError(f"{path}: x, y are in pixels but the pixel size is "
                                     "unknown; give pixel_size")
                size = np.atleast_1d(np.asarray(size, np.float64))
                if size.size > 1 and not np.isclose(size[0], size[1]):
                    raise ValueError(f"{path}: anisotropic pixels {size.tolist()} are not "
                                     "supported")
                scale = float(size[0])
            layout = replace(DECODE, scale=scale)
    reader = _picasso_rows if format == "picasso" else _decode_rows
    meta = reader(path, 0, 0)
    blocks = [dask.delayed(reader)(path, lo, min(lo + BLOCK_ROWS, n))
              for lo in range(0, max(n, 1), BLOCK_ROWS)]
    return dd.from_delayed(blocks, meta=meta), layout


def _picasso_pixel_size(path: Path) -> float:
    import yaml

    sidecar = path.with_suffix(".yaml")
    if not sidecar.exists():
        raise ValueError(f"{path}: the pixel size is unknown: give pixel_size (nm) or put the "
                         f"Picasso YAML sidecar {sidecar.name} next to it")
    with open(sidecar) as f:
        for document in yaml.safe_load_all(f):
            if isinstance(document, dict):
                for key in ("Pixelsize", "Pixel Size", "pixelsize"):
                    if key in document:
                        return float(document[key])
    raise ValueError(f"{sidecar}: no 'Pixelsize' entry; give pixel_size (nm)")


def _picasso_rows(path, lo, hi) -> pd.DataFrame:
    import h5py

    with h5py.File(path, "r") as f:
        return pd.DataFrame(f["locs"][lo:hi])


def _decode_rows(path, lo, hi) -> pd.DataFrame:
    import h5py

    with h5py.File(path, "r") as f:
        data = f["data"]
        xyz = data["xyz"][lo:hi]
        rows = {"x": xyz[:, 0], "y": xyz[:, 1]}
        if xyz.shape[1] > 2:
            rows["z"] = xyz[:, 2]
        for name in ("xyz_sig", "xyz_cr"):
            if name in data and data[name].shape is not None:
                sig = data[name][lo:hi]
                rows.update({"x_sig": sig[:, 0], "y_sig": sig[:, 1]})
                if sig.shape[1] > 2:
                    rows["z_sig"] = sig[:, 2]
                break
        for name in ("frame_ix", "phot", "bg", "prob", "id"):
            if name in data and data[name].shape is not None and data[name].ndim == 1:
                rows[name] = data[name][lo:hi]
    return pd.DataFrame(rows)
