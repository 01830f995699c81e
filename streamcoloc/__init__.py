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
from .objects import ObjectLabels, ObjectTable, label_objects, object_table
from .spatial import (CCFResult, ColocMap, Cytofluorogram, ICAResult, coloc_map, cytofluorogram,
                      li_ica, van_steensel_ccf)
from .significance import RandomizationResult, costes_randomization, psf_from_optics
from .stats.costes import CostesResult
from .readers import open_image
from . import accessor  # noqa: F401  (registers the xarray .coloc accessor)

__version__ = "0.1.0"

__all__ = [
    "ALL_METRICS", "COLUMNS", "CCFResult", "ColocMap", "ColocWarning", "CostesResult",
    "Cytofluorogram", "ICAResult", "ObjectLabels", "ObjectTable", "RandomizationResult",
    "analyse_all_to_all", "analyse_pairwise", "coloc_map", "costes_randomization",
    "costes_regression", "costes_threshold", "cytofluorogram", "kendall", "label_objects",
    "li_ica", "li_icq", "manders", "manders_roi", "object_table", "open_image", "overlap",
    "pearson", "psf_from_optics", "spearman", "threshold", "van_steensel_ccf",
]
