"""Pixel colocalization: the public functions and the per-region tables.

The call shapes follow the napari-colocalization scripting API; the numbers
follow Fiji Coloc 2's conventions (stated in each docstring).  Every function
streams its inputs chunk by chunk through one fused read
(:func:`streamcoloc.engine.passes.run_pass`).
"""

from __future__ import annotations

import time
import warnings
from itertools import combinations

import numpy as np
import pandas as pd

from .engine.inputs import Input, as_input, as_multichannel_input, make_layout
from .engine.passes import run_pass
from .stats import dtypes, metrics, moments
from .stats.regions import NO_SLICE

ALL_METRICS = ("pcc", "srcc", "icq", "overlap", "mcc", "regression")
COLUMNS = (
    "region", "slice", "channel_a", "channel_b", "n_pixels", "n_excluded",
    "pcc", "pcc_pvalue", "srcc", "srcc_pvalue", "icq", "overlap", "k1", "k2",
    "m1", "m2", "tm1", "tm2", "threshold_a", "threshold_b", "slope", "intercept",
)
THRESHOLD_METHODS = ("manual",)
CONVENTIONS = {
    "pcc": "Pearson over measured voxels; p two-tailed from t with n-2 df",
    "overlap": "Manders R = Σab/√(Σa²Σb²), k1 = Σab/Σa², k2 = Σab/Σb²; NaN if any value < 0",
    "m1/m2": "Coloc 2 M1/M2: Σa[b > 0] / Σa (m2 symmetric)",
    "tm1/tm2": "Coloc 2 tM1/tM2: Σa[b > 0 and b ≥ T_b] / Σa (denominator: all measured voxels)",
    "regression": "orthogonal (total least squares) regression of b on a, as Coloc 2",
    "exclusion": "a voxel with NaN/Inf (or saturated, if asked) in a or b is excluded from that pair",
    "background": "subtracted per channel and clipped at 0 before measuring",
}


class ColocWarning(UserWarning):
    """A metric could not be computed for a region (the value is NaN)."""


# ---------------------------------------------------------------- single metrics

def pearson(a, b, mask=None):
    """Pearson's correlation coefficient (Rr) and two-tailed p-value.

    r = Σ(a−ā)(b−b̄) / √(Σ(a−ā)²·Σ(b−b̄)²) over the voxels where ``mask`` is
    True (all voxels when None); p from Student's t with n−2 degrees of
    freedom, as ``scipy.stats.pearsonr`` and Coloc 2.  Exact sums for integer
    data up to 16 bits.  Returns ``(nan, nan)`` with a :class:`ColocWarning`
    for an empty region or a constant channel.

    References
    ----------
    Manders, Stap, Brakenhoff, van Driel & Aten (1992) J. Cell Sci. 103:857.
    """
    m = _single_region(a, b, mask)
    r, p = metrics.pearson(m)
    _warn_constant(m, r, ["the region"])
    return float(r[0, 0]), float(p[0, 0])


def overlap(a, b, mask=None):
    """Manders' overlap coefficient R and split coefficients k1, k2.

    R = Σab / √(Σa²·Σb²), k1 = Σab / Σa², k2 = Σab / Σb² (Manders, Verbeek &
    Aten 1993, J. Microsc. 169:375).  NaN, with a warning, when the region
    holds a negative value (background-subtracted data).
    """
    m = _single_region(a, b, mask)
    values = metrics.overlap(m)
    _warn_negative(m, ["the region"])
    return tuple(float(v[0, 0]) for v in values)


def manders(a, b, threshold_a=0, threshold_b=0, mask=None):
    """Manders' coefficients m1, m2 in Fiji Coloc 2's convention.

    m1 = Σ a_i over voxels with b_i > 0 and b_i ≥ threshold_b, divided by
    Σ a_i over the whole region (m2 symmetric, gated by a > 0 and
    a ≥ threshold_a).  With zero thresholds these are CoLocalizer's m1/m2
    (Coloc 2's M1/M2); with thresholds, Coloc 2's tM1/tM2.  NaN with a
    warning when the region holds negative values.
    """
    thresholds = np.array([[threshold_a, threshold_b]], dtype=float)
    m = _single_region(a, b, mask, thresholds=thresholds)
    m1, m2 = metrics.manders(m, thresholds)
    _warn_negative(m, ["the region"])
    return float(m1[0, 0]), float(m2[0, 0])


def costes_regression(a, b, mask=None):
    """Orthogonal (total least squares) regression ``b = slope·a + intercept``.

    The line Costes' auto-threshold walks along, computed as Fiji Coloc 2's
    ``AutoThresholdRegression`` from centered sums over the region:
    slope = (S_bb − S_aa + √((S_bb − S_aa)² + 4·S_ab²)) / (2·S_ab),
    intercept = b̄ − slope·ā (Costes et al. 2004, Biophys. J. 86:3993).
    """
    m = _single_region(a, b, mask)
    slope, intercept = metrics.orthogonal_regression(m)
    return float(slope[0, 0]), float(intercept[0, 0])


def _single_region(a, b, mask, thresholds=np.full((1, 2), np.nan)) -> moments.Moments:
    if mask is not None:
        mask = as_input(mask, "mask").data[0].astype(bool)
    result, _ = _measure([as_input(a, "a"), as_input(b, "b")], ["a", "b"], mask, None,
                         [(0, 1)], thresholds, None, False)
    if len(result.keys) == 0:
        result = moments.Moments.zeros(n_pairs=1)
    if result.n[0, 0] == 0:
        warnings.warn("the region is empty (no voxel to measure); result is NaN",
                      ColocWarning, stacklevel=3)
    return result


# ---------------------------------------------------------------- tables

def analyse_pairwise(a, b, *, label_mask=None, metrics=ALL_METRICS, threshold_method="manual",
                     threshold_a=None, threshold_b=None, channel_a="A", channel_b="B",
                     slice_axis=None, background=None, exclude_saturated=False):
    """Colocalization metrics of two channels per region (and per slice).

    Parameters
    ----------
    a, b : array-like (numpy, dask, zarr or xarray), same shape, 2-D or 3-D
        (or more: any axis may be the slice axis).  Channels on different
        chunk grids are aligned.
    label_mask : integer or bool array, optional
        Region ids (0 = background; any positive id up to 2**63 − 1) of the
        image's shape or, with ``slice_axis``, of one plane (applied to every
        plane).  For xarray input also a coordinate name.  None: the whole
        image is one region (``region`` is NA).
    metrics : sequence of {'pcc', 'srcc', 'icq', 'overlap', 'mcc', 'regression'}
        Columns of metrics not requested, or not yet implemented ('srcc',
        'icq'), are NaN; the columns are always :data:`COLUMNS`.
    threshold_method : {'manual'}
        tm1/tm2 use ``threshold_a``/``threshold_b`` (data units, after any
        background subtraction); NaN when neither is given.
    slice_axis : int or dim name, optional
        One row per plane along this axis; an xarray ``t`` dim is used when
        no slice axis is given.
    background : number or one per channel, optional
        Subtracted before measuring, clipped at 0 (ImageJ's Subtract on
        unsigned images).  Must be an integer for integer data.
    exclude_saturated : bool
        Exclude voxels at the dtype maximum in either channel (integer data).

    Returns
    -------
    pandas.DataFrame
        One row per (region, slice) with at least one voxel, columns
        :data:`COLUMNS`; ``n_excluded`` counts voxels dropped for NaN/Inf or
        saturation.  ``DataFrame.attrs`` holds the provenance (conventions,
        thresholds, exclusions, chunking, timing).
    """
    channels = [as_input(a, "a"), as_input(b, "b")]
    return _analyse(channels, [channel_a, channel_b], [(0, 1)], label_mask, metrics,
                    threshold_method, _pair_thresholds([(0, 1)], threshold_a, threshold_b, None, 2),
                    slice_axis, background, exclude_saturated)


def analyse_all_to_all(image, channel_axis, *, label_mask=None, channel_names=None,
                       metrics=ALL_METRICS, threshold_method="manual", threshold_a=None,
                       threshold_b=None, thresholds=None, slice_axis=None, background=None,
                       exclude_saturated=False):
    """:func:`analyse_pairwise` for every channel pair i < j, in one read.

    ``image`` has a channel axis (number or dim name); ``channel_names``
    default to the xarray ``c`` coordinate or ``c0, c1, …``.  Manual
    thresholds: ``thresholds`` gives one per channel (sequence or dict by
    name); otherwise ``threshold_a``/``threshold_b`` apply to the first and
    second channel of every pair (napari-colocalization's behaviour).  A
    NaN in one channel excludes that voxel only from the pairs with it.
    """
    source = as_multichannel_input(image, channel_axis, "image")
    n = source.data.shape[0]
    if n < 2:
        raise ValueError(f"the channel axis has {n} channel; at least 2 are needed")
    if channel_names is None:
        channel_names = _default_channel_names(image, channel_axis, n)
    channel_names = [str(c) for c in channel_names]
    if len(channel_names) != n:
        raise ValueError(f"{len(channel_names)} channel_names for {n} channels")
    pairs = list(combinations(range(n), 2))
    if isinstance(thresholds, dict):
        thresholds = [thresholds.get(name, np.nan) for name in channel_names]
    pair_thresholds = _pair_thresholds(pairs, threshold_a, threshold_b, thresholds, n)
    return _analyse([source], channel_names, pairs, label_mask, metrics, threshold_method,
                    pair_thresholds, slice_axis, background, exclude_saturated)


def _default_channel_names(image, channel_axis, n):
    dims = getattr(image, "dims", None)
    if dims is not None:
        dim = channel_axis if isinstance(channel_axis, str) else dims[channel_axis]
        if dim in image.coords:
            return [str(v) for v in image.coords[dim].values]
    return [f"c{i}" for i in range(n)]


def _pair_thresholds(pairs, threshold_a, threshold_b, per_channel, n_channels) -> np.ndarray:
    if per_channel is not None:
        per_channel = np.asarray(per_channel, dtype=float)
        if per_channel.shape != (n_channels,):
            raise ValueError(f"thresholds needs one value per channel ({n_channels})")
        return np.array([[per_channel[i], per_channel[j]] for i, j in pairs])
    if (threshold_a is None) != (threshold_b is None):
        raise ValueError("manual thresholds need both threshold_a and threshold_b")
    if threshold_a is None:
        return np.full((len(pairs), 2), np.nan)
    return np.tile([float(threshold_a), float(threshold_b)], (len(pairs), 1))


def _analyse(sources: list[Input], names, pairs, label_mask, metric_keys, threshold_method,
             thresholds, slice_axis, background, exclude_saturated) -> pd.DataFrame:
    metric_keys = tuple(metric_keys)
    unknown = sorted(set(metric_keys) - set(ALL_METRICS))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {ALL_METRICS}")
    if threshold_method not in THRESHOLD_METHODS:
        raise ValueError(f"unknown threshold_method {threshold_method!r}; "
                         f"available: {THRESHOLD_METHODS}")
    started = time.perf_counter()
    m, layout = _measure(sources, names, label_mask, slice_axis, pairs, thresholds,
                         background, exclude_saturated)
    table = _table(m, names, pairs, metric_keys, thresholds, has_labels=label_mask is not None)
    table.attrs.update(
        conventions=CONVENTIONS,
        metrics=list(metric_keys),
        threshold_method=threshold_method,
        thresholds={f"{names[i]}|{names[j]}": list(map(float, t)) for (i, j), t in zip(pairs, thresholds)},
        background=None if background is None else list(np.broadcast_to(background, len(names)).tolist()),
        exclude_saturated=bool(exclude_saturated),
        excluded={"nonfinite": int(m.n_nonfinite.sum()) if m.keys.size else 0,
                  "saturated": int(m.n_saturated.sum()) if m.keys.size else 0},
        exact_integer_sums=dtypes.is_exact([s.dtype for s in layout.sources]),
        block_shape=[int(max(c)) for c in layout.spatial_chunks],
        n_reads=1,
        seconds=time.perf_counter() - started,
    )
    return table


def _measure(sources: list[Input], names, labels, slice_axis, pairs, thresholds, background,
             exclude_saturated):
    """One read of the data: finalized moments for every key and pair."""
    layout = make_layout(sources, names, labels, slice_axis,
                         max_block_voxels=moments.MAX_CHUNK_VOXELS)
    dtypes = [s.dtype for s in layout.sources for _ in range(s.shape[0])]
    options = moments.MomentOptions(
        pairs=np.asarray(pairs, dtype=np.int64),
        background=_background(background, dtypes),
        saturation=_saturation(exclude_saturated, dtypes),
        thresholds=np.asarray(thresholds, dtype=float),
    )
    (result,) = run_pass([moments.statistic(options)], layout)
    return result, layout


def _background(background, dtypes):
    if background is None:
        return None
    values = np.broadcast_to(np.asarray(background, dtype=float), (len(dtypes),))
    for value, dtype in zip(values, dtypes):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"background must be a finite value ≥ 0, got {value}")
        if dtype.kind in "biu" and value != int(value):
            raise ValueError(f"background {value} for {dtype} data must be an integer")
        if dtype.kind in "biu" and value > np.iinfo(dtype).max:
            raise ValueError(f"background {value} exceeds the {dtype} range")
    return tuple(values.tolist())


def _saturation(exclude_saturated, dtypes):
    if not exclude_saturated:
        return None
    if any(d.kind not in "iu" for d in dtypes):
        raise ValueError("exclude_saturated needs integer data: float and bool data have no "
                         "saturation level")
    return tuple(int(np.iinfo(d).max) for d in dtypes)


def _table(m: moments.Moments, names, pairs, metric_keys, thresholds, has_labels) -> pd.DataFrame:
    n_keys = len(m.keys)

    def per_row(values):  # (R, K) -> rows ordered by pair, then key
        return np.asarray(values).T.ravel()

    nan = np.full(n_keys * len(pairs), np.nan)
    columns = {c: nan for c in COLUMNS}
    region = np.tile(m.keys[:, 0], len(pairs))
    slices = np.tile(m.keys[:, 1], len(pairs))
    columns["region"] = pd.array(region, dtype="Int64")
    if not has_labels:
        columns["region"][:] = pd.NA
    columns["slice"] = pd.array(np.where(slices == NO_SLICE, 0, slices), dtype="Int64")
    columns["slice"][slices == NO_SLICE] = pd.NA
    columns["channel_a"] = np.repeat([names[i] for i, _ in pairs], n_keys)
    columns["channel_b"] = np.repeat([names[j] for _, j in pairs], n_keys)
    columns["n_pixels"] = per_row(m.n).astype(np.int64)
    columns["n_excluded"] = per_row(m.n_nonfinite + m.n_saturated).astype(np.int64)
    columns["threshold_a"] = np.repeat(thresholds[:, 0], n_keys)
    columns["threshold_b"] = np.repeat(thresholds[:, 1], n_keys)
    region_names = [_region_name(k, has_labels) for k in m.keys]
    if n_keys:
        _warn_empty(m, region_names)
    if "pcc" in metric_keys:
        r, p = metrics.pearson(m)
        _warn_constant(m, r, region_names)
        columns["pcc"], columns["pcc_pvalue"] = per_row(r), per_row(p)
    if "overlap" in metric_keys:
        columns["overlap"], columns["k1"], columns["k2"] = map(per_row, metrics.overlap(m))
    if "mcc" in metric_keys:
        columns["m1"], columns["m2"] = map(per_row, metrics.manders(m))
        columns["tm1"], columns["tm2"] = map(per_row, metrics.manders(m, thresholds))
    if "overlap" in metric_keys or "mcc" in metric_keys:
        _warn_negative(m, region_names)
    if "regression" in metric_keys:
        columns["slope"], columns["intercept"] = map(per_row, metrics.orthogonal_regression(m))
    return pd.DataFrame(columns, columns=list(COLUMNS))


def _region_name(key, has_labels) -> str:
    name = f"region {key[0]}" if has_labels else "the image"
    return name if key[1] == NO_SLICE else f"{name}, slice {key[1]}"


def _warn_where(condition, region_names, message):
    rows = np.flatnonzero(np.asarray(condition).any(axis=-1))
    if rows.size:
        listed = ", ".join(region_names[i] for i in rows[:10])
        more = f" and {rows.size - 10} more" if rows.size > 10 else ""
        warnings.warn(f"{message}: {listed}{more}", ColocWarning, stacklevel=4)


def _warn_empty(m, region_names):
    _warn_where(m.n == 0, region_names, "no measurable voxel (all excluded), metrics are NaN in")


def _warn_constant(m, r, region_names):
    constant = (m.n > 0) & (metrics.is_constant(m, "a") | metrics.is_constant(m, "b"))
    _warn_where(constant, region_names, "a channel is constant, pcc is NaN in")


def _warn_negative(m, region_names):
    _warn_where(m.n_negative > 0, region_names,
                "negative intensities, Manders/overlap coefficients are NaN in")
