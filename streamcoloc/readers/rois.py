"""Fiji/ImageJ ROI files (.roi, or a .zip of them from the ROI Manager) as labels.

Each area ROI (rectangle, oval, polygon, freehand, traced, composite) is
rasterized with roifile's outlines (``ImagejRoi.coordinates(multi=True)``, pixel
coordinates x, y) by even–odd filling of the pixel centres, into a 2-D label
plane: ROI ``i`` (in file order) gets label ``i + 1``.  Where ROIs overlap
the later one wins and a warning says so.  Line and point ROIs have no area
and are refused.  The plane applies to every slice of a 3-D image.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from matplotlib.path import Path as Outline

#: ImageJ ROI types without area.
_NO_AREA = {"LINE", "POLYLINE", "FREELINE", "ANGLE", "POINT", "NOROI"}


def read_rois(path) -> list:
    """The ROIs of a .roi or .zip file (roifile objects)."""
    import roifile

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such ROI file: {path}")
    rois = roifile.roiread(str(path))
    rois = rois if isinstance(rois, list) else [rois]
    if not rois:
        raise ValueError(f"{path} holds no ROI")
    return rois


def rois_to_labels(path, shape) -> tuple[np.ndarray, list[str]]:
    """(labels, names): an int32 plane of ``shape`` (rows y, columns x) with
    label i + 1 inside ROI i, and the ROI names."""
    rois = read_rois(path)
    labels = np.zeros(shape, np.int32)
    y, x = np.mgrid[0:shape[0], 0:shape[1]]
    centres = np.column_stack([x.ravel() + 0.5, y.ravel() + 0.5])
    names = []
    for index, roi in enumerate(rois):
        kind = roi.roitype.name if hasattr(roi.roitype, "name") else str(roi.roitype)
        name = roi.name or f"roi{index + 1}"
        if kind in _NO_AREA:
            raise ValueError(f"ROI {name!r} in {path} is a {kind.lower()}: only area ROIs "
                             "(rectangle, oval, polygon, freehand, composite) select pixels")
        inside = np.zeros(labels.size, bool)
        for outline in roi.coordinates(multi=True):
            inside ^= Outline(np.asarray(outline, dtype=float)).contains_points(centres)
        inside = inside.reshape(shape)
        if np.any(inside & (labels > 0)):
            warnings.warn(f"ROI {name!r} overlaps an earlier ROI; the overlap counts for "
                          f"{name!r} only", UserWarning, stacklevel=2)
        if not inside.any():
            warnings.warn(f"ROI {name!r} covers no pixel of the {shape} image", UserWarning,
                          stacklevel=2)
        labels[inside] = index + 1
        names.append(name)
    return labels, names
