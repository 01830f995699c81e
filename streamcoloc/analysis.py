"""Pixel colocalization: the public functions and the per-region tables.

The call shapes follow the napari-colocalization scripting API; the numbers
follow Fiji Coloc 2's conventions unless a ``convention`` says otherwise
(stated in each docstring).  Every function streams its inputs chunk by chunk;
:mod:`.measure` plans the reads (one for moments and integer-valued tables).
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, replace
from itertools import combinations

import numpy as np
import pandas as pd

from .engine.inputs import Input, as_input, as_multichannel_input, make_layout
from .engine.passes import run_pass
from .measure import CONVENTIONS as CONVENTION_NAMES
from .measure import THRESHOLD_METHODS, Measurement, Request, measure
from .stats import costes, dtypes, histograms, metrics, moments, scattergram
from .stats.costes import CostesResult
from .stats.joint import ICQ_CONVENTIONS
from .stats.regions import NO_SLICE
from .stats.voxels import VoxelRules

ALL_METRICS = ("pcc", "pcc_threshold", "srcc", "kendall", "icq", "overlap", "mcc", "rwc",
               "regression")
COLUMNS = (
    "region", "slice", "channel_a", "channel_b", "n_pixels", "n_excluded",
    "pcc", "pcc_pvalue", "pcc_below", "pcc_above", "srcc", "srcc_pvalue", "kendall",
    "kendall_pvalue", "icq", "overlap", "k1", "k2", "m1", "m2", "tm1", "tm2", "rwc1", "rwc2",
    "threshold_a", "threshold_b", "slope", "intercept",
)
CONVENTIONS = {
    "pcc": "Pearson over measured voxels; p two-tailed from t with n-2 df",
    "pcc_below/pcc_above": "Coloc 2: Pearson over a < T_a or b < T_b / a > T_a or b > T_b",
    "srcc": "Spearman on mid-ranks (ties averaged), as scipy.stats.spearmanr",
    "kendall": "Kendall tau-b; p tie-corrected asymptotic, as scipy.stats.kendalltau",
    "icq": "Li ICQ = share of (a-ā)(b-b̄) > 0 minus 0.5; coloc2: a product of 0 counts as "
           "positive; jacop: only > 0, all voxels; napari: zeros left out",
    "overlap": "Manders R = Σab/√(Σa²Σb²), k1 = Σab/Σa², k2 = Σab/Σb²; NaN if any value < 0; "
               "cellprofiler convention: over a ≥ T_a and b ≥ T_b",
    "m1/m2": "Coloc 2 M1/M2: Σa[b > 0] / Σa (m2 symmetric)",
    "tm1/tm2": "Coloc 2 tM1/tM2: Σa[b > 0 and b ≥ T_b] / Σa (denominator: all measured voxels); "
               "cellprofiler convention: Σa[a ≥ T_a and b ≥ T_b] / Σa[a ≥ T_a]",
    "rwc": "CellProfiler rank-weighted colocalization (cellprofiler convention only)",
    "regression": "orthogonal (total least squares) regression of b on a, as Coloc 2",
    "costes": "Costes auto-threshold replayed as the named tool; NaN for a slope ≤ 0",
    "exclusion": "a voxel with NaN/Inf (or saturated, if asked) in a or b is excluded from that pair",
    "background": "subtracted per channel and clipped at 0 before measuring",
    "float data": "rank and threshold metrics on a power-of-two grid of ≤ 65536 levels per channel",
}


class ColocWarning(UserWarning):
    """A metric could not be computed for a region (the value is NaN)."""


@dataclass(frozen=True)
class Options:
    """Measurement options shared by every function (see
    :func:`analyse_pairwise` for their meaning)."""

    metrics: tuple = ALL_METRICS
    threshold_method: str | None = None
    convention: str = "coloc2"
    icq_convention: str = "coloc2"
    background: object = None
    exclude_saturated: bool = False
    scale: float | None = None
    percentile: float = 50.0
    percent_of_max: float = 15.0
    max_table_cells: int = histograms.MAX_CELLS


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
    row = _single(a, b, mask, Options(metrics=("pcc",)))
    return row["pcc"], row["pcc_pvalue"]


def overlap(a, b, mask=None):
    """Manders' overlap coefficient R and split coefficients k1, k2.

    R = Σab / √(Σa²·Σb²), k1 = Σab / Σa², k2 = Σab / Σb² (Manders, Verbeek &
    Aten 1993, J. Microsc. 169:375).  NaN, with a warning, when the region
    holds a negative value (background-subtracted data).
    """
    row = _single(a, b, mask, Options(metrics=("overlap",)))
    return row["overlap"], row["k1"], row["k2"]


def manders(a, b, threshold_a=0, threshold_b=0, mask=None):
    """Manders' coefficients m1, m2 in Fiji Coloc 2's convention.

    m1 = Σ a_i over voxels with b_i > 0 and b_i ≥ threshold_b, divided by
    Σ a_i over the whole region (m2 symmetric, gated by a > 0 and
    a ≥ threshold_a).  With zero thresholds these are CoLocalizer's m1/m2
    (Coloc 2's M1/M2); with thresholds, Coloc 2's tM1/tM2.  NaN with a
    warning when the region holds negative values.
    """
    row = _single(a, b, mask, Options(metrics=("mcc",), threshold_method="manual"),
                  thresholds=(threshold_a, threshold_b))
    return row["tm1"], row["tm2"]


def costes_regression(a, b, mask=None):
    """Orthogonal (total least squares) regression ``b = slope·a + intercept``.

    The line Costes' auto-threshold walks along, computed as Fiji Coloc 2's
    ``AutoThresholdRegression`` from centred sums over the region:
    slope = (S_bb − S_aa + √((S_bb − S_aa)² + 4·S_ab²)) / (2·S_ab),
    intercept = b̄ − slope·ā (Costes et al. 2004, Biophys. J. 86:3993).
    """
    row = _single(a, b, mask, Options(metrics=("regression",)))
    return row["slope"], row["intercept"]


def spearman(a, b, mask=None):
    """Spearman's rank correlation and its two-tailed p-value.

    The Pearson coefficient of the mid-ranks (ties averaged), equal to
    ``scipy.stats.spearmanr`` on the region's voxels; p from Student's t
    with n − 2 degrees of freedom.  Exact for integer data of at most 16
    bits, without sorting: the ranks come from the value histograms.  Float
    data are ranked on a power-of-two grid of at most 65536 levels per
    channel (voxels in one grid cell tie), which moves rho by at most
    arcsin(ε_a) + arcsin(ε_b), ε² = Σ_cells c(c² − 1)/12 / Σ(rank − mean)².
    """
    row = _single(a, b, mask, Options(metrics=("srcc",)))
    return row["srcc"], row["srcc_pvalue"]


def kendall(a, b, mask=None):
    """Kendall's tau-b and its tie-corrected asymptotic p-value.

    Equal to ``scipy.stats.kendalltau(a, b, method='asymptotic')`` on the
    region's voxels.  Exact for integer data while the non-empty cells of
    the joint tables of all regions fit ``max_table_cells`` (by default
    2**26: four full 4096 × 4096 tables, or thousands of regions); beyond,
    the values are binned coarser (a note says so) and tau-b is that of the
    binned values.
    """
    row = _single(a, b, mask, Options(metrics=("kendall",)))
    return row["kendall"], row["kendall_pvalue"]


def li_icq(a, b, mask=None, convention="coloc2"):
    """Li's intensity correlation quotient: the share of voxels with
    (a − ā)(b − b̄) > 0, minus 0.5 (Li et al. 2004, J. Neurosci. 24:4070).

    ``convention='coloc2'`` (Fiji Coloc 2): a product of exactly 0 counts as
    positive.  ``'jacop'`` (JACoP): only products > 0 are positive, over all
    voxels.  ``'napari'`` (napari-colocalization): only products > 0 are
    positive and products of 0 are left out of both counts.  Means as
    doubles; float data compared on their grid (see :func:`spearman`).
    """
    row = _single(a, b, mask, Options(metrics=("icq",), icq_convention=convention))
    return row["icq"]


def costes_threshold(a, b, mask=None, method="coloc2", scale=None) -> CostesResult:
    """Costes' automatic thresholds, replaying one tool's published algorithm.

    Methods (:data:`streamcoloc.stats.costes.METHODS`): ``'coloc2'`` (Fiji
    Coloc 2's default walker) and ``'coloc2-bisection'``;
    ``'cellprofiler-accurate'``, ``'cellprofiler-fast'`` and
    ``'cellprofiler-faster'`` (CellProfiler works on images divided by
    ``scale``: by default the data type's maximum, 1 for floats; thresholds
    are reported in data units); ``'jacop'``.  See
    :mod:`streamcoloc.stats.costes` for each algorithm.  The data are read
    once (twice for float data), whatever the number of steps.  A slope ≤ 0
    gives NaN thresholds with a warning.

    Returns a :class:`~streamcoloc.stats.costes.CostesResult` (thresholds,
    slope, intercept, below-threshold r at the stop, number of candidates
    evaluated).
    """
    if method not in costes.METHODS:
        raise ValueError(f"unknown Costes method {method!r}; choose from {costes.METHODS}")
    measurement, _ = _run([as_input(a, "a"), as_input(b, "b")], ["a", "b"], [(0, 1)],
                          _mask_labels(mask), None,
                          Options(metrics=("mcc",), threshold_method=method, scale=scale),
                          np.full((1, 2), np.nan))
    result = measurement.walks.get((0, 0))
    if result is None:
        _warn_empty_single(measurement)
        return CostesResult.undefined(method)
    if not np.isfinite(result.threshold_a):
        warnings.warn(f"Costes thresholds undefined (regression slope {result.slope:.4g}, "
                      "not positive): NaN", ColocWarning, stacklevel=2)
    return result


def manders_roi(a, b, roi, mask=None):
    """Manders' M1, M2 over a region of the scattergram (CoLocalizer's ROI).

    ``roi`` is a rectangle ``((a_lo, a_hi), (b_lo, b_hi))`` (closed) or a
    polygon, a sequence of (a, b) vertices (even–odd rule).  M1 = Σa over the
    voxels whose (a, b) lies in the region / Σa (M2 symmetric), over the
    region of ``mask``.  One read of the data.
    """
    layout = make_layout([as_input(a, "a"), as_input(b, "b")], ["a", "b"], _mask_labels(mask),
                         None)
    options = scattergram.RoiOptions(np.array([[0, 1]]), VoxelRules(), roi)
    (result,) = run_pass([scattergram.statistic(options)], layout)
    keys, m1, m2 = result
    if len(keys) == 0:
        warnings.warn("the region is empty (no voxel to measure); result is NaN",
                      ColocWarning, stacklevel=2)
        return np.nan, np.nan
    return float(m1[0, 0]), float(m2[0, 0])


def threshold(image, method="otsu", mask=None, percentile=50.0, percent_of_max=15.0):
    """One channel's automatic threshold over the region of ``mask``.

    Methods: 'otsu', 'li', 'triangle', 'yen', 'isodata', 'mean' (equal to
    ``skimage.filters.threshold_*`` for integer data), 'percentile' (numpy's
    linear interpolation) and 'percent-of-max' (CellProfiler).  One read of
    the value histogram; float data on a power-of-two grid (see
    :func:`spearman`).
    """
    table = _single(image, image, mask, Options(metrics=("thresholds",), threshold_method=method,
                                                percentile=percentile,
                                                percent_of_max=percent_of_max,
                                                max_table_cells=0))  # marginals suffice
    return table["threshold_a"]


def _mask_labels(mask):
    return None if mask is None else as_input(mask, "mask").data[0].astype(bool)


def _single(a, b, mask, options: Options, thresholds=(None, None)) -> dict:
    manual = _pair_thresholds([(0, 1)], *thresholds, None, 2)
    measurement, _ = _run([as_input(a, "a"), as_input(b, "b")], ["a", "b"], [(0, 1)],
                          _mask_labels(mask), None, options, manual)
    if len(measurement.moments.keys) == 0:
        measurement = replace(measurement, moments=moments.Moments.zeros(n_pairs=1), derived={})
    _warn_empty_single(measurement)
    table = _table(measurement, ["a", "b"], [(0, 1)], options, manual, has_labels=False,
                   stacklevel=4)
    return table.iloc[0].to_dict()


def _warn_empty_single(measurement: Measurement):
    m = measurement.moments
    if len(m.keys) == 0 or m.n[0, 0] == 0:
        warnings.warn("the region is empty (no voxel to measure); result is NaN",
                      ColocWarning, stacklevel=4)


# ---------------------------------------------------------------- tables

def analyse_pairwise(a, b, *, label_mask=None, metrics=ALL_METRICS, threshold_method=None,
                     threshold_a=None, threshold_b=None, channel_a="A", channel_b="B",
                     slice_axis=None, background=None, exclude_saturated=False,
                     convention="coloc2", icq_convention="coloc2", scale=None,
                     percentile=50.0, percent_of_max=15.0,
                     max_table_cells=histograms.MAX_CELLS, diagnostics=()):
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
    metrics : sequence of str
        Any of :data:`ALL_METRICS`: 'pcc', 'pcc_threshold' (pcc_below,
        pcc_above), 'srcc', 'kendall', 'icq', 'overlap', 'mcc' (m1, m2, tm1,
        tm2), 'rwc' (cellprofiler convention), 'regression'.  Columns of
        metrics not requested are NaN; the columns are always :data:`COLUMNS`.
    threshold_method : str, optional
        How tm1/tm2, pcc_below/pcc_above (and RWC) get their thresholds, per
        region, slice and pair: 'costes' (= 'coloc2', the default unless
        ``threshold_a``/``threshold_b`` are given), a Costes method by name
        ('coloc2', 'coloc2-bisection', 'cellprofiler-accurate',
        'cellprofiler-fast', 'cellprofiler-faster', 'jacop'), a per-channel
        automatic method ('otsu', 'li', 'triangle', 'yen', 'isodata',
        'mean', 'percentile', 'percent-of-max'; as scikit-image), or
        'manual' (``threshold_a``, ``threshold_b`` in data units, after any
        background subtraction).  The thresholds used are the columns
        threshold_a/threshold_b.
    convention : {'coloc2', 'cellprofiler'}
        Thresholded Manders: Coloc 2's (b > 0 and b ≥ T_b; denominator Σa)
        or CellProfiler's (a ≥ T_a and b ≥ T_b; denominator Σa[a ≥ T_a], and
        overlap/k1/k2 and RWC over the both-above set).
    icq_convention : {'coloc2', 'jacop', 'napari'}
        See :func:`li_icq`.
    slice_axis : int or dim name, optional
        One row per plane along this axis; an xarray ``t`` dim is used when
        no slice axis is given.
    background : number or one per channel, optional
        Subtracted before measuring, clipped at 0 (ImageJ's Subtract on
        unsigned images).  Must be an integer for integer data.
    exclude_saturated : bool
        Exclude voxels at the dtype maximum in either channel (integer data).
    scale : float, optional
        CellProfiler's image scale for its Costes methods.
    percentile, percent_of_max : float
        Parameters of the 'percentile' and 'percent-of-max' methods.
    max_table_cells : int
        Memory budget (non-empty cells, 16 bytes each) of the joint
        histograms of all (region, slice, pair) rows; beyond it a second read
        computes the joint quantities voxel by voxel.
    diagnostics : sequence of str
        Any of 'cytofluorogram', 'ccf', 'ica', 'randomization': computed
        for the pair over the image (the labelled voxels, with a label image
        of the image's shape), not per region or slice; see
        :mod:`streamcoloc.diagnostics`.

    Returns
    -------
    pandas.DataFrame
        One row per (region, slice) with at least one voxel, columns
        :data:`COLUMNS`; ``n_excluded`` counts voxels dropped for NaN/Inf or
        saturation.  ``DataFrame.attrs`` holds the provenance (conventions,
        threshold method, reads, exclusions, chunking, timing), the Costes
        walks (``costes``) and the diagnostics' results (``diagnostics``).
    """
    channels = [as_input(a, "a"), as_input(b, "b")]
    options = _options(metrics, threshold_method, threshold_a, threshold_b, convention,
                       icq_convention, background, exclude_saturated, scale, percentile,
                       percent_of_max, max_table_cells)
    from . import diagnostics as diagnostics_  # its functions use this module

    wanted = diagnostics_.check(diagnostics)
    if wanted and isinstance(label_mask, str):
        raise ValueError("diagnostics need the label image as an array, not a coordinate name")
    table = _analyse(channels, [channel_a, channel_b], [(0, 1)], label_mask, slice_axis,
                     options, _pair_thresholds([(0, 1)], threshold_a, threshold_b, None, 2))
    if wanted:
        table.attrs["diagnostics"] = diagnostics_.run(wanted, a, b, mask=label_mask)
    return table


def analyse_all_to_all(image, channel_axis, *, label_mask=None, channel_names=None,
                       metrics=ALL_METRICS, threshold_method=None, threshold_a=None,
                       threshold_b=None, thresholds=None, slice_axis=None, background=None,
                       exclude_saturated=False, convention="coloc2", icq_convention="coloc2",
                       scale=None, percentile=50.0, percent_of_max=15.0,
                       max_table_cells=histograms.MAX_CELLS):
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
    manual = _pair_thresholds(pairs, threshold_a, threshold_b, thresholds, n)
    given = threshold_a if thresholds is None else thresholds
    options = _options(metrics, threshold_method, given, given, convention, icq_convention,
                       background, exclude_saturated, scale, percentile, percent_of_max,
                       max_table_cells)
    return _analyse([source], channel_names, pairs, label_mask, slice_axis, options, manual)


def _options(metric_keys, threshold_method, threshold_a, threshold_b, convention,
             icq_convention, background, exclude_saturated, scale, percentile, percent_of_max,
             max_table_cells) -> Options:
    metric_keys = tuple(metric_keys)
    unknown = sorted(set(metric_keys) - set(ALL_METRICS))
    if unknown:
        raise ValueError(f"unknown metrics {unknown}; choose from {ALL_METRICS}")
    if threshold_method is None:
        threshold_method = "manual" if threshold_a is not None or threshold_b is not None \
            else "costes"
    if threshold_method not in THRESHOLD_METHODS:
        raise ValueError(f"unknown threshold_method {threshold_method!r}; "
                         f"available: {THRESHOLD_METHODS}")
    for name, value, allowed in (("convention", convention, CONVENTION_NAMES),
                                 ("icq_convention", icq_convention, ICQ_CONVENTIONS)):
        if value not in allowed:
            raise ValueError(f"unknown {name} {value!r}; choose from {allowed}")
    if not 0 <= percentile <= 100 or not 0 <= percent_of_max <= 100:
        raise ValueError("percentile and percent_of_max must lie in [0, 100]")
    if scale is not None and not scale > 0:
        raise ValueError(f"scale must be positive, got {scale}")
    return Options(metric_keys, threshold_method, convention, icq_convention, background,
                   bool(exclude_saturated), scale, float(percentile), float(percent_of_max),
                   int(max_table_cells))


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


def _analyse(sources: list[Input], names, pairs, label_mask, slice_axis, options: Options,
             manual) -> pd.DataFrame:
    started = time.perf_counter()
    measurement, layout = _run(sources, names, pairs, label_mask, slice_axis, options, manual)
    table = _table(measurement, names, pairs, options, manual,
                   has_labels=label_mask is not None)
    m = measurement.moments
    table.attrs.update(
        conventions=CONVENTIONS,
        metrics=list(options.metrics),
        threshold_method=options.threshold_method,
        convention=options.convention,
        icq_convention=options.icq_convention,
        manual_thresholds={f"{names[i]}|{names[j]}": list(map(float, t))
                           for (i, j), t in zip(pairs, manual)},
        background=None if options.background is None else list(
            np.broadcast_to(options.background, len(names)).tolist()),
        exclude_saturated=options.exclude_saturated,
        excluded={"nonfinite": int(m.n_nonfinite.sum()) if m.keys.size else 0,
                  "saturated": int(m.n_saturated.sum()) if m.keys.size else 0},
        exact_integer_sums=dtypes.is_exact([s.dtype for s in layout.sources]),
        block_shape=[int(max(c)) for c in layout.spatial_chunks],
        n_reads=measurement.n_reads,
        tables=measurement.table_mode,
        notes=list(measurement.notes),
        costes=_costes_attrs(measurement, names, pairs),
        seconds=time.perf_counter() - started,
    )
    for note in measurement.notes:
        warnings.warn(note, ColocWarning, stacklevel=3)
    return table


def _costes_attrs(measurement: Measurement, names, pairs) -> list:
    keys = measurement.moments.keys
    return [{"region": int(keys[key][0]), "slice": int(keys[key][1]),
             "channel_a": names[pairs[pair][0]], "channel_b": names[pairs[pair][1]],
             **{f: getattr(result, f) for f in ("method", "threshold_a", "threshold_b", "slope",
                                                 "intercept", "r_below", "n_evaluated")}}
            for (key, pair), result in sorted(measurement.walks.items())]


def _run(sources: list[Input], names, pairs, labels, slice_axis, options: Options, manual):
    """Layout and measurement of one analysis."""
    layout = make_layout(sources, names, labels, slice_axis,
                         max_block_voxels=moments.MAX_CHUNK_VOXELS)
    dtypes_ = [s.dtype for s in layout.sources for _ in range(s.shape[0])]
    request = Request(
        pairs=np.asarray(pairs, dtype=np.int64), metrics=options.metrics,
        threshold_method=options.threshold_method, manual=np.asarray(manual, dtype=float),
        convention=options.convention, icq_convention=options.icq_convention,
        rules=VoxelRules(_background(options.background, dtypes_),
                         _saturation(options.exclude_saturated, dtypes_)),
        scale=options.scale, percentile=options.percentile,
        percent_of_max=options.percent_of_max, max_cells=options.max_table_cells)
    return measure(layout, request), layout


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


def _table(measurement: Measurement, names, pairs, options: Options, manual, has_labels,
           stacklevel=5) -> pd.DataFrame:
    m = measurement.moments
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
    columns["threshold_a"] = np.repeat(manual[:, 0], n_keys)
    columns["threshold_b"] = np.repeat(manual[:, 1], n_keys)
    region_names = [_region_name(k, has_labels) for k in m.keys]
    warn = _Warner(region_names, stacklevel)
    if n_keys:
        warn(m.n == 0, "no measurable voxel (all excluded), metrics are NaN in")
    metric_keys = options.metrics
    if "pcc" in metric_keys:
        r, p = metrics.pearson(m)
        warn((m.n > 0) & (metrics.is_constant(m, "a") | metrics.is_constant(m, "b")),
             "a channel is constant, pcc is NaN in")
        columns["pcc"], columns["pcc_pvalue"] = per_row(r), per_row(p)
    if "overlap" in metric_keys:
        columns["overlap"], columns["k1"], columns["k2"] = map(per_row, metrics.overlap(m))
    if "mcc" in metric_keys:
        columns["m1"], columns["m2"] = map(per_row, metrics.manders(m))
        if options.threshold_method == "manual" and options.convention == "coloc2":
            columns["tm1"], columns["tm2"] = map(per_row, metrics.manders(m, manual))
    if "overlap" in metric_keys or "mcc" in metric_keys:
        warn(m.n_negative > 0, "negative intensities, Manders/overlap coefficients are NaN in")
    if "regression" in metric_keys:
        columns["slope"], columns["intercept"] = map(per_row, metrics.orthogonal_regression(m))
    for column, values in measurement.derived.items():
        if column in ("threshold_a", "threshold_b") or not np.isnan(values).all():
            columns[column] = per_row(values)
    if measurement.walks:
        undefined = np.zeros(m.n.shape, bool)
        for (key, pair), result in measurement.walks.items():
            undefined[key, pair] = not np.isfinite(result.threshold_a)
        warn(undefined & (m.n > 0), "Costes thresholds undefined (regression slope not "
                                    "positive), thresholded coefficients are NaN in")
    return pd.DataFrame(columns, columns=list(COLUMNS))


def _region_name(key, has_labels) -> str:
    name = f"region {key[0]}" if has_labels else "the image"
    return name if key[1] == NO_SLICE else f"{name}, slice {key[1]}"


class _Warner:
    """Warn once per condition, naming the regions where it holds."""

    def __init__(self, region_names, stacklevel):
        self.region_names, self.stacklevel = region_names, stacklevel

    def __call__(self, condition, message):
        rows = np.flatnonzero(np.asarray(condition).any(axis=-1))
        if rows.size:
            listed = ", ".join(self.region_names[i] for i in rows[:10])
            more = f" and {rows.size - 10} more" if rows.size > 10 else ""
            warnings.warn(f"{message}: {listed}{more}", ColocWarning, stacklevel=self.stacklevel)

