"""``label_objects``: threshold a channel and label its connected objects, block by block.

Objects are the connected components of the foreground ``image > threshold``
(within the mask), as ``scipy.ndimage.label`` finds them on the whole image,
but computed without ever holding more than a few blocks:

1. the threshold (:mod:`.threshold`: one or two reads for an automatic method);
2. **first read**: each block is labelled on its own by foreground runs and a
   union-find (:mod:`.runs`: the labels ``scipy.ndimage.label`` gives the
   block, several times faster, without the GIL); it reports its label
   count and the labels on its boundary planes with their sizes, and its
   boundary planes go to a small task per block that finds the label pairs
   touching across faces, edges and corners (:mod:`.faces`);
3. on the driver, the pairs are merged (connected components) into global ids
   (:mod:`.numbering`), holding only the labels of block surfaces;
4. **second read**, lazily: each block is labelled again (the same labels)
   and its local labels are mapped to the global ids; a dask array with the
   image's chunks, or written to Zarr with ``out=``.

The image is read 2 times after the threshold (plus once for every later use
of the lazy labels, unless they are written with ``out=``).  Memory: a few
blocks per worker plus the boundary planes of blocks whose neighbours are
not done yet.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import dask
import dask.array as da
import numpy as np
import zarr
from dask.base import tokenize

from ..readers.zarr_chunks import dask_array
from . import runs
from .blocks import aligned, as_3d, neighbour_map, one_record, record_array, spatial_array
from .faces import boundary_planes, forward_offsets, touching_pairs
from .numbering import lookup_table, number_objects, scan_block
from .threshold import channel_threshold


@dataclass(frozen=True)
class ObjectLabels:
    """Result of :func:`label_objects`.

    labels : dask array of int32 (int64 beyond 2**31 − 1 objects), the
        image's shape and chunks; 0 is background, objects are 1..n_objects.
        Lazy (each use reads the image again) or, with ``out=``, read from the
        written Zarr array.
    n_objects : number of objects (after ``min_size``).
    threshold : the threshold used (objects are ``image > threshold``).
    method : the threshold method, or ``"manual"``.
    connectivity : as scipy's: 1 = faces only ... ndim = faces, edges, corners.
    """

    labels: da.Array
    n_objects: int
    threshold: float
    method: str
    connectivity: int


def label_objects(image, threshold_method: str = "otsu", mask=None, min_size: int = 0,
                  threshold: float | None = None, connectivity: int | None = None, *,
                  out=None, overwrite: bool = False, percentile: float = 50.0,
                  percent_of_max: float = 15.0) -> ObjectLabels:
    """Threshold an image and label its connected objects across blocks.

    Parameters
    ----------
    image : numpy, dask, zarr or xarray array (1-D to 3-D)
        One channel; its dask chunks are the blocks (numpy input: blocks of
        about 16 Mi voxels).
    threshold_method : str
        An automatic method of :mod:`streamcoloc.stats.thresholds`
        (``'otsu'``, ``'li'``, ``'triangle'``, ``'yen'``, ``'isodata'``,
        ``'mean'``, ``'percentile'``, ``'percent-of-max'``), computed over the
        mask's voxels; equal to ``skimage.filters.threshold_<method>`` of
        those voxels (float images: see :mod:`.threshold`).
    mask : array of the image's shape, bool or integer, optional
        Objects (and the threshold) are restricted to its nonzero voxels.
    min_size : int
        Objects of fewer voxels are removed (``skimage.morphology.
        remove_small_objects``' rule: kept when size ≥ min_size).
    threshold : float, optional
        Manual threshold (overrides ``threshold_method``).
    connectivity : int, optional
        Neighbours of a voxel: ``1`` shares a face ... ``ndim`` shares a face,
        edge or corner (``scipy.ndimage.generate_binary_structure``).
        Default: ``ndim`` (8-connected in 2D, 26-connected in 3D), as
        ``skimage.measure.label``, napari-colocalization and JACoP's 3D
        object counter.  (``scipy.ndimage.label``'s default is 1.)
    out : path, optional
        Write the labels to this Zarr array (chunks: the image's blocks) and
        return them read from it.
    overwrite : bool
        Replace an existing ``out``.
    percentile, percent_of_max : float
        Parameters of those methods.

    Returns
    -------
    ObjectLabels
        ``labels`` equal ``scipy.ndimage.label(foreground, structure)`` up to
        the numbering of the objects (ids follow the block grid: see
        :mod:`.numbering`).

    Notes
    -----
    Foreground is ``image > threshold`` (scikit-image's convention); JACoP's
    3D object counter keeps ``image ≥ threshold`` (for integer images, pass
    its threshold − 1) and also filters a maximum size.  Non-finite float
    voxels are never foreground.  Per-block labelling and a
    merge over block faces replace dask-image's ``ndmeasure.label``, which
    was 40–60× slower than scipy and failed on large lazy volumes (design
    notes §7).
    """
    source = spatial_array(image, "image")
    data = source.data
    if data.dtype.kind not in "biuf":
        raise TypeError(f"image has dtype {data.dtype}; intensities must be numeric")
    if data.ndim > 3:
        raise ValueError(f"label_objects takes 1-D to 3-D images, got {data.ndim}-D "
                         f"(shape {data.shape})")
    mask_data = None
    if mask is not None:
        mask_input = spatial_array(mask, "mask")
        if mask_input.data.dtype.kind not in "biu":
            raise TypeError(f"mask has dtype {mask_input.data.dtype}; it must be bool or "
                            "integer (nonzero = inside)")
        mask_data = aligned(source, mask_input, "mask")
    connectivity = _connectivity(connectivity, data.ndim)
    if int(min_size) != min_size or min_size < 0:
        raise ValueError(f"min_size must be a non-negative integer, got {min_size!r}")
    if threshold is None:
        threshold = channel_threshold(data, mask_data, threshold_method, percentile=percentile,
                                      percent_of_max=percent_of_max)
        method = threshold_method
    else:
        threshold = float(threshold)
        if np.isnan(threshold):
            raise ValueError("threshold is NaN")
        method = "manual"
    if out is not None and Path(out).exists() and not overwrite:
        raise FileExistsError(f"{out} exists; pass overwrite=True to replace it")

    labels, n_objects = _label(data, mask_data, threshold, connectivity, int(min_size))
    if out is not None:
        labels = _write_zarr(labels, out)
    return ObjectLabels(labels, n_objects, threshold, method, connectivity)


def _connectivity(connectivity, ndim: int) -> int:
    if connectivity is None:
        return ndim
    if int(connectivity) != connectivity or not 1 <= connectivity <= ndim:
        raise ValueError(f"connectivity must be an integer from 1 (faces) to {ndim} "
                         f"(faces, edges and corners) for {ndim}-D images, got {connectivity!r}")
    return int(connectivity)


def foreground(block: np.ndarray, mask_block, threshold: float) -> np.ndarray:
    """``block > threshold`` (compared in float64: exact for every dtype),
    finite, and inside the mask."""
    values = np.asarray(block)
    selected = values > np.float64(threshold)
    if values.dtype.kind == "f":
        selected &= np.isfinite(values)
    if mask_block is not None:
        selected &= np.asarray(mask_block) != 0
    return selected


def _local_runs(block, mask_block, threshold, connectivity):
    """The block's foreground runs and their local labels (:mod:`.runs`)."""
    selected = as_3d(foreground(block, mask_block, threshold)).view(np.uint8)
    row_start, start, stop = runs.foreground_runs(selected)
    run_label, n = runs.label_runs(row_start, start, stop, selected.shape[:2], connectivity)
    return (row_start, start, stop), run_label, n


def _scan_task(block, mask_block, threshold, connectivity, n_blocks, min_size, block_id=None):
    """First read of one block: its :class:`BlockScan` and boundary planes."""
    block_runs, run_label, n = _local_runs(block, mask_block, threshold, connectivity)
    labels = np.zeros(block.shape, np.int32)
    runs.paint(*block_runs, run_label, as_3d(labels))
    planes = boundary_planes(labels, block_id, n_blocks)
    on_faces = np.unique(np.concatenate([p.ravel() for p in planes.values()] +
                                        [np.zeros(1, labels.dtype)]))
    sizes = runs.run_sizes(block_runs[1], block_runs[2], run_label, n)
    scan = scan_block(sizes, on_faces[on_faces > 0].astype(np.int64), min_size)
    return one_record((scan, planes), block.ndim)


def _pairs_task(record, neighbour_records, neighbours, deltas, connectivity):
    """Pairs of a block with its forward neighbours: [(neighbour number, pairs)]."""
    planes = record.item()[1]
    found = [(int(j), touching_pairs(planes, other.item()[1], tuple(delta), connectivity))
             for other, j, delta in zip(neighbour_records, neighbours, deltas)]
    return one_record(found, record.ndim)


def _label_task(block, mask_block, numbering, threshold, connectivity, min_size,
                label_dtype):
    """Second read of one block: its global labels."""
    block_runs, run_label, n = _local_runs(block, mask_block, threshold, connectivity)
    sizes = runs.run_sizes(block_runs[1], block_runs[2], run_label, n)
    table = lookup_table(sizes, numbering.item(), min_size, label_dtype)
    out = np.zeros(block.shape, label_dtype)
    runs.paint(*block_runs, table[run_label], as_3d(out))
    return out


def _label(data, mask_data, threshold, connectivity, min_size):
    """Steps 2–4 of the module doc: (lazy labels, number of objects)."""
    ndim, n_blocks = data.ndim, data.numblocks
    scanned = record_array(_scan_task, data, mask_data, threshold=threshold,
                           connectivity=connectivity, n_blocks=n_blocks, min_size=min_size)
    pairs = neighbour_map(_pairs_task, scanned, forward_offsets(ndim, connectivity),
                          connectivity)
    scans, found = dask.compute(scanned.map_blocks(_first, dtype=object, meta=scanned._meta),
                                pairs)
    scans = list(scans.ravel())
    block_pairs = [(i, j, p) for i, per_block in enumerate(found.ravel()) for j, p in per_block]
    numberings, n_objects = number_objects(scans, block_pairs, min_size)

    label_dtype = np.dtype(np.int32 if n_objects < 2**31 else np.int64)
    per_block = np.empty(len(numberings), object)
    per_block[:] = numberings
    per_block = da.from_array(per_block.reshape(n_blocks), chunks=1,
                              name="numbering-" + tokenize(scanned.name, min_size))
    axes = tuple(range(ndim))
    masks = [None, None] if mask_data is None else [mask_data, axes]
    labels = da.blockwise(
        _label_task, axes, data, axes, *masks, per_block, axes, align_arrays=False,
        adjust_chunks=dict(zip(axes, data.chunks)), dtype=label_dtype,
        meta=np.empty((0,) * ndim, label_dtype), threshold=threshold,
        connectivity=connectivity, min_size=min_size, label_dtype=label_dtype)
    return labels, n_objects


def _first(records):
    return one_record(records.item()[0], records.ndim)


def _write_zarr(labels: da.Array, out) -> da.Array:
    """Write the labels to a Zarr array (chunks: the first block's shape, so
    irregular grids are rechunked) and return them lazily read from it."""
    regular = tuple(c[0] for c in labels.chunks)
    labels = labels.rechunk(regular)
    labels.to_zarr(str(out), overwrite=True)
    return dask_array(zarr.open_array(str(out), mode="r"), regular)
