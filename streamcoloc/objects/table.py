"""``object_table``: per-object colocalization of two label images, block by block.

One read of both label images (and the intensity images) fills mergeable
per-label accumulators keyed by label id, whatever block the voxels lie in:
voxel count, Σ coordinates, Σ intensity, Σ intensity × coordinates, and the
voxels shared by every pair of overlapping objects.  The centre-particle
coincidence then looks the other label image up at the centres: a second
read of only the label blocks that hold a centre (dask ``vindex``).

Columns of ``objects`` (one row per object of each channel, by label id):

* ``channel``, ``label``, ``n_voxels``; ``volume`` = n_voxels × Π voxel_size
  (with ``voxel_size``);
* ``centroid_<axis>`` = Σ x / n, the geometrical centre, in voxel index units
  (axis order); with the channel's image: ``intensity_sum`` Σ I,
  ``intensity_mean`` Σ I / n and ``mass_centre_<axis>`` = Σ I·x / Σ I, the
  centre of mass (NaN when Σ I = 0) — JACoP's two centres (Bolte &
  Cordelières 2006);
* ``centroid_in_other`` / ``other_at_centroid``: JACoP's centre-particle
  coincidence, whether (and which) object of the other channel holds the
  voxel of the centroid; ``mass_centre_in_other`` / ``other_at_mass_centre``
  the same for the centre of mass.  The voxel holding a centre ``c`` is
  ``floor(c + 0.5)`` (the nearest, clipped to the image) or, with
  ``centre_rounding='floor'``, ``floor(c)`` as JACoP, which truncates;
* ``other_centroids_inside``: centroids of the other channel that this
  object holds (JACoP counts the "particles" holding a centre);
* ``overlap_voxels``: voxels also in an object of the other channel;
  ``overlap_fraction`` = overlap_voxels / n_voxels; ``overlaps`` =
  overlap_voxels > 0; ``n_overlapping`` other objects touched;
  ``best_overlap_label`` / ``best_overlap_voxels``: the other object sharing
  most voxels (ties: the smallest id; 0 when none);
* ``nearest_label`` / ``nearest_distance``: the other channel's object with
  the nearest centroid and that distance, in the units of ``voxel_size``
  (else voxels); 0 / NaN when the other channel has no object.

``summary`` has one row per channel: ``n_objects``, ``n_voxels``, and for
``centroid_in_other``, ``mass_centre_in_other`` (with an image),
``containing_other_centroid`` (other_centroids_inside > 0) and
``overlapping`` the count ``n_<name>`` and ``fraction_<name>`` of objects;
``overlap_voxel_fraction`` = Σ overlap_voxels / Σ n_voxels; the mean and
median ``nearest_distance``.  Fractions and distances are NaN without objects.

napari-colocalization 0.4 reports ``object`` (= ``label``), ``n_pixels``,
``centroid`` (rounded to 0.1), ``coincident`` (= ``centroid_in_other``, but
it rounds the centroid half to even), ``overlap`` (= ``overlaps``) and
``nn_distance_px`` (= ``nearest_distance`` in voxels), and the median
nearest distance per channel; JACoP prints the counts of coinciding centres
and of particles holding a centre, and thresholds distances between centres
at the optical resolution (not done here: use ``nearest_distance``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from ..stats.dtypes import kernel_channels
from . import kernels
from .blocks import (aligned, as_3d, block_starts, one_record, record_array, spatial_array,
                     tree_reduce)
from .labeling import ObjectLabels

ROUNDINGS = ("nearest", "floor")


class ObjectTable(NamedTuple):
    """``objects``: one row per object of each channel; ``summary``: one row
    per channel.  ``objects.attrs`` records the units and conventions."""

    objects: pd.DataFrame
    summary: pd.DataFrame


@dataclass(frozen=True)
class Moments:
    """Per-label accumulators of one channel (rows: ``ids``)."""

    ids: np.ndarray  # int64 label ids
    count: np.ndarray  # int64 voxels
    coords: np.ndarray  # int64 (R, 3) Σ global coordinates (leading axes 0 for 2-D)
    mass: np.ndarray  # float64 Σ intensity
    mass_coords: np.ndarray  # float64 (R, 3) Σ intensity × coordinates

    @classmethod
    def merge(cls, parts: list["Moments"]) -> "Moments":
        ids, group = np.unique(np.concatenate([p.ids for p in parts]), return_inverse=True)
        fields = {}
        for field in ("count", "coords", "mass", "mass_coords"):
            values = np.concatenate([getattr(p, field) for p in parts])
            total = np.zeros((ids.size,) + values.shape[1:], values.dtype)
            np.add.at(total, group, values)
            fields[field] = total
        return cls(ids, **fields)


@dataclass(frozen=True)
class Pairs:
    """Voxels shared by object ``a`` (channel A) and object ``b`` (channel B)."""

    a: np.ndarray
    b: np.ndarray
    count: np.ndarray

    @classmethod
    def merge(cls, parts: list["Pairs"]) -> "Pairs":
        a = np.concatenate([p.a for p in parts])
        b = np.concatenate([p.b for p in parts])
        count = np.concatenate([p.count for p in parts])
        if not count.size:
            return cls(a, b, count)
        order = np.lexsort((b, a))
        a, b, count = a[order], b[order], count[order]
        first = np.flatnonzero(np.concatenate([[True], (a[1:] != a[:-1]) | (b[1:] != b[:-1])]))
        return cls(a[first], b[first], np.add.reduceat(count, first))


def object_table(labels_a, labels_b, image_a=None, image_b=None, voxel_size=None, *,
                 channel_a: str = "A", channel_b: str = "B",
                 centre_rounding: str = "nearest") -> ObjectTable:
    """Object-based colocalization of two label images (0 = background).

    Parameters
    ----------
    labels_a, labels_b : integer (or bool) arrays of one shape (1-D to 3-D;
        numpy, dask, zarr, xarray) or :class:`ObjectLabels`
        Object ids (any positive integers; they need not be consecutive).
    image_a, image_b : arrays of that shape, optional
        Intensities of each channel: intensity sum and mean and the centre of
        mass of its objects.
    voxel_size : float or sequence of one float per axis, optional
        Physical voxel size: ``volume`` and ``nearest_distance`` in its units.
    channel_a, channel_b : str
        Channel names in the ``channel`` and ``other`` columns.
    centre_rounding : {'nearest', 'floor'}
        Voxel holding a centre for the coincidence test (see the module doc).

    Returns
    -------
    ObjectTable
        ``(objects, summary)`` DataFrames (columns in the module doc);
        ``objects.attrs`` records the units and the centre rounding.
    """
    if centre_rounding not in ROUNDINGS:
        raise ValueError(f"centre_rounding must be one of {ROUNDINGS}, got {centre_rounding!r}")
    reference = _labels_input(labels_a, "labels_a")
    if not 1 <= reference.data.ndim <= 3:
        raise ValueError(f"object_table takes 1-D to 3-D label images, got "
                         f"{reference.data.ndim}-D")
    arrays = [reference.data, aligned(reference, _labels_input(labels_b, "labels_b"),
                                      "labels_b")]
    for image, what in ((image_a, "image_a"), (image_b, "image_b")):
        arrays.append(None if image is None else aligned(reference, _image_input(image, what),
                                                         what))
    spacing = _voxel_size(voxel_size, reference.data.ndim)

    records = record_array(_measure_task, *arrays, starts=block_starts(arrays[0].chunks))
    moments_a, moments_b, pairs = tree_reduce(records, _merge_records).compute()
    names = (channel_a, channel_b)
    channels = [_Channel(moments_a, image_a is not None, reference.data.ndim),
                _Channel(moments_b, image_b is not None, reference.data.ndim)]
    shape = reference.data.shape
    for this, other, other_labels in ((0, 1, arrays[1]), (1, 0, arrays[0])):
        channels[this].look_up_centres(other_labels, shape, centre_rounding)
    objects, summary = [], []
    for this, other in ((0, 1), (1, 0)):
        rows = _object_rows(channels[this], channels[other], pairs, this == 0, spacing)
        rows.insert(0, "channel", names[this])
        objects.append(rows)
        summary.append(_summary_row(rows, names[this], names[other],
                                    channels[this].has_image))
    objects = pd.concat(objects, ignore_index=True)
    objects.attrs.update(voxel_size=None if spacing is None else list(spacing),
                         distance_units="voxel_size units" if spacing is not None else "voxels",
                         centroid_units="voxels (index coordinates)",
                         centre_rounding=centre_rounding)
    summary = pd.DataFrame(summary)
    summary.attrs.update(objects.attrs)
    return ObjectTable(objects, summary)


def _labels_input(labels, what):
    if isinstance(labels, ObjectLabels):
        labels = labels.labels
    source = spatial_array(labels, what)
    if source.data.dtype.kind not in "biu":
        raise TypeError(f"{what} has dtype {source.data.dtype}; labels must be integer ids "
                        "(or bool), not float")
    return source


def _image_input(image, what):
    source = spatial_array(image, what)
    if source.data.dtype.kind not in "biuf":
        raise TypeError(f"{what} has dtype {source.data.dtype}; intensities must be numeric")
    return source


def _voxel_size(voxel_size, ndim):
    if voxel_size is None:
        return None
    spacing = np.broadcast_to(np.asarray(voxel_size, np.float64), (ndim,)) if np.ndim(
        voxel_size) == 0 else np.asarray(voxel_size, np.float64)
    if spacing.shape != (ndim,) or not np.all(np.isfinite(spacing)) or np.any(spacing <= 0):
        raise ValueError(f"voxel_size must be one positive number or {ndim} (one per axis), "
                         f"got {voxel_size!r}")
    return spacing


def _channel_moments(index, ids, image, origin, shape3):
    """:class:`Moments` of one block from its dense index."""
    intensities = np.empty((0, 0, 0)) if image is None else as_3d(kernel_channels([image])[0])
    count, coords, mass, mass_coords = kernels.region_moments(
        index.reshape(shape3), intensities, ids.size)
    coords += count[:, None] * origin  # block-local to global coordinates
    mass_coords += mass[:, None] * origin
    return Moments(ids, count, coords, mass, mass_coords)


def _dense(block):
    index, ids, n_negative = kernels.dense_index(kernels.integer_block(block))
    if n_negative:
        raise ValueError(f"a label image has {n_negative} negative values in a block; labels "
                         "must be 0 (background) or positive ids")
    return index, ids


def _measure_task(labels_a, labels_b, image_a, image_b, starts, block_id=None):
    """Accumulators of one block: (moments of A, moments of B, pairs)."""
    shape3 = as_3d(labels_a).shape
    origin = np.zeros(3, np.int64)
    origin[3 - labels_a.ndim:] = [s[i] for s, i in zip(starts, block_id)]
    index_a, ids_a = _dense(labels_a)
    index_b, ids_b = _dense(labels_b)
    a, b, count = kernels.pair_counts(index_a, index_b, max(ids_b.size, 1))
    record = (_channel_moments(index_a, ids_a, image_a, origin, shape3),
              _channel_moments(index_b, ids_b, image_b, origin, shape3),
              Pairs(ids_a[a], ids_b[b], count))
    return one_record(record, labels_a.ndim)


def _merge_records(records):
    return (Moments.merge([r[0] for r in records]), Moments.merge([r[1] for r in records]),
            Pairs.merge([r[2] for r in records]))


class _Channel:
    """One channel's finalized centres and what lies at them in the other."""

    def __init__(self, moments: Moments, has_image: bool, ndim: int):
        self.moments, self.has_image, self.ndim = moments, has_image, ndim
        axes = slice(3 - ndim, 3)
        self.centroid = moments.coords[:, axes] / moments.count[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            self.mass_centre = moments.mass_coords[:, axes] / moments.mass[:, None]
        self.other_at_centroid = self.other_at_mass_centre = None

    def look_up_centres(self, other_labels, shape, rounding):
        """Label of the other channel at each centroid (and mass centre)."""
        centres = [self.centroid] + ([self.mass_centre] if self.has_image else [])
        found = _labels_at(other_labels, np.concatenate(centres), shape, rounding)
        self.other_at_centroid = found[:len(self.centroid)]
        if self.has_image:
            self.other_at_mass_centre = found[len(self.centroid):]


def _labels_at(labels, points, shape, rounding) -> np.ndarray:
    """Label ids at the voxels holding ``points`` (0 for NaN points)."""
    valid = np.all(np.isfinite(points), axis=1)
    out = np.zeros(len(points), np.int64)
    if not valid.any():
        return out
    shift = 0.5 if rounding == "nearest" else 0.0
    voxels = np.floor(points[valid] + shift).astype(np.int64)
    voxels = np.clip(voxels, 0, np.array(shape) - 1)
    out[valid] = np.asarray(labels.vindex[tuple(voxels.T)].compute(), np.int64)
    return out


def _object_rows(channel: _Channel, other: _Channel, pairs: Pairs, is_a: bool,
                 spacing) -> pd.DataFrame:
    moments = channel.moments
    rows = {"label": moments.ids, "n_voxels": moments.count}
    if spacing is not None:
        rows["volume"] = moments.count * float(np.prod(spacing))
    for axis in range(channel.ndim):
        rows[f"centroid_{axis}"] = channel.centroid[:, axis]
    if channel.has_image:
        rows["intensity_sum"] = moments.mass
        rows["intensity_mean"] = moments.mass / moments.count
        for axis in range(channel.ndim):
            rows[f"mass_centre_{axis}"] = channel.mass_centre[:, axis]
    rows["centroid_in_other"] = channel.other_at_centroid > 0
    rows["other_at_centroid"] = channel.other_at_centroid
    if channel.has_image:
        rows["mass_centre_in_other"] = channel.other_at_mass_centre > 0
        rows["other_at_mass_centre"] = channel.other_at_mass_centre
    hits = other.other_at_centroid[other.other_at_centroid > 0]
    rows["other_centroids_inside"] = _count_by_id(moments.ids, hits)
    rows.update(_overlaps(moments, pairs, is_a))
    rows["nearest_label"], rows["nearest_distance"] = _nearest(
        channel.centroid, other.centroid, other.moments.ids, spacing)
    return pd.DataFrame(rows)


def _count_by_id(ids: np.ndarray, hits: np.ndarray) -> np.ndarray:
    """How many entries of ``hits`` equal each of the sorted ``ids``."""
    hits = np.sort(hits)
    return np.searchsorted(hits, ids, side="right") - np.searchsorted(hits, ids, side="left")


def _overlaps(moments: Moments, pairs: Pairs, is_a: bool) -> dict:
    mine, theirs = (pairs.a, pairs.b) if is_a else (pairs.b, pairs.a)
    row = np.searchsorted(moments.ids, mine)
    overlap = np.zeros(moments.ids.size, np.int64)
    np.add.at(overlap, row, pairs.count)
    partners = np.bincount(row, minlength=moments.ids.size)
    best_label = np.zeros(moments.ids.size, np.int64)
    best_voxels = np.zeros(moments.ids.size, np.int64)
    order = np.lexsort((theirs, -pairs.count, row))  # per row: most voxels, then smallest id
    first = order[np.unique(row[order], return_index=True)[1]]
    best_label[row[first]] = theirs[first]
    best_voxels[row[first]] = pairs.count[first]
    return {"overlap_voxels": overlap, "overlap_fraction": overlap / moments.count,
            "overlaps": overlap > 0, "n_overlapping": partners,
            "best_overlap_label": best_label, "best_overlap_voxels": best_voxels}


def _nearest(points, others, other_ids, spacing):
    """Nearest other centroid: (its label, distance), label 0 / NaN without any."""
    if len(others) == 0 or len(points) == 0:
        return np.zeros(len(points), np.int64), np.full(len(points), np.nan)
    scale = np.ones(points.shape[1]) if spacing is None else spacing
    distance, index = cKDTree(others * scale).query(points * scale)
    return other_ids[index], distance


def _summary_row(rows: pd.DataFrame, name: str, other: str, has_image: bool) -> dict:
    n = len(rows)

    def fraction(count):
        return count / n if n else np.nan

    summary = {"channel": name, "other": other, "n_objects": n,
               "n_voxels": int(rows["n_voxels"].sum())}
    columns = [("centroid_in_other", "centroid_in_other")]
    if has_image:
        columns.append(("mass_centre_in_other", "mass_centre_in_other"))
    columns += [("containing_other_centroid", None), ("overlapping", "overlaps")]
    for label, column in columns:
        hits = int((rows["other_centroids_inside"] > 0).sum() if column is None
                   else rows[column].sum())
        summary[f"n_{label}"] = hits
        summary[f"fraction_{label}"] = fraction(hits)
    voxels = rows["n_voxels"].sum()
    summary["overlap_voxel_fraction"] = rows["overlap_voxels"].sum() / voxels if n else np.nan
    distances = rows["nearest_distance"].to_numpy()
    finite = distances[np.isfinite(distances)]
    summary["mean_nearest_distance"] = float(finite.mean()) if finite.size else np.nan
    summary["median_nearest_distance"] = float(np.median(finite)) if finite.size else np.nan
    return summary
