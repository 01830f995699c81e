"""Coordinate-based co-localization of SMLM localization tables of any size.

* :func:`read_localizations`: ThunderSTORM, ONI, Picasso, DECODE and plain
  CSV/Parquet files as dask DataFrames in one schema (nm).
* :func:`coloc_index`: the co-localization index of Willems & MacGillavry
  (2022) per localization, channel pair and ROI, computed tile by tile
  (Numba cell lists over a Parquet-bucketed table) on any dask scheduler.
* :func:`simulate`: the paper's simulated tables.

Layout: :mod:`.readers` (files), :mod:`.rois`, :mod:`.grid` (tiles and the
bucketed store), :mod:`.kernels` (Numba, no dask), :mod:`.pipeline` (dask
passes), :mod:`.index` (definitions, finalize formulas, results),
:mod:`.simulate`, :mod:`.plots`.
"""

from .index import SUMMARY_COLUMNS, CIResult, coloc_index
from .readers import read_localizations
from .simulate import simulate

__all__ = ["CIResult", "SUMMARY_COLUMNS", "coloc_index", "read_localizations", "simulate"]
