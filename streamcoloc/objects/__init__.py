"""Object-based colocalization of images of any size.

* :func:`label_objects`: threshold a channel and label its connected objects
  block by block, merged across block faces (:mod:`.labeling`).
* :func:`object_table`: per-object measurements of two label images (size,
  centroid, intensity-weighted centre, centre-in-other-object coincidence,
  overlap, nearest other object) and a per-channel summary, as JACoP and
  napari-colocalization report them (:mod:`.table`).

Layout: :mod:`.runs` and :mod:`.kernels` (Numba, no dask), :mod:`.blocks`
(block grids as dask graphs), :mod:`.threshold`, :mod:`.faces` and
:mod:`.numbering` (the merge across blocks), :mod:`.labeling`, :mod:`.table`.
"""

from .labeling import ObjectLabels, label_objects
from .table import ObjectTable, object_table

__all__ = ["ObjectLabels", "ObjectTable", "label_objects", "object_table"]
