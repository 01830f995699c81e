"""streamcoloc: out-of-core colocalization analysis.

Pixel/voxel colocalization of volumes of any size (numpy, dask, zarr, xarray,
OME-Zarr and TIFF files) through mergeable statistics computed chunk by
chunk.  See :func:`analyse_pairwise` for the per-region tables.
"""

from .analysis import (
    ALL_METRICS,
    COLUMNS,
    ColocWarning,
    analyse_all_to_all,
    analyse_pairwise,
    costes_regression,
    costes_threshold,
    kendall,
    li_icq,
    manders,
    manders_roi,
    overlap,
    pearson,
    spearman,
    threshold,
)
from .stats.costes import CostesResult
from .readers import open_image
from . import accessor  # noqa: F401  (registers the xarray .coloc accessor)

__version__ = "0.1.0"

__all__ = [
    "ALL_METRICS", "COLUMNS", "ColocWarning", "CostesResult", "analyse_all_to_all",
    "analyse_pairwise", "costes_regression", "costes_threshold", "kendall", "li_icq", "manders",
    "manders_roi", "open_image", "overlap", "pearson", "spearman", "threshold",
]
