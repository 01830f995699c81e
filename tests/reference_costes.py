"""Slow, literal reference implementations of Costes-type auto-thresholds and
related colocalization measures, transcribed from the published sources of
three tools.  Used only by tests, as a yardstick for the fast implementation.

Every function takes the flattened voxels of ONE region (``a``, ``b``: 1-D
arrays of any integer or float dtype, same length, in the tool's iteration
order -- for imglib2 / ImageJ that is C order of a (z, y, x) numpy array).
Each candidate threshold is evaluated by a full pass over the data.

Sources transcribed (line-level notes are in each docstring):

* Fiji Coloc 2, repository fiji/Colocalisation_Analysis, package
  ``sc.fiji.coloc``: ``algorithms/AutoThresholdRegression.java``,
  ``algorithms/SimpleStepper.java``, ``algorithms/BisectionStepper.java``,
  ``algorithms/PearsonsCorrelation.java`` + ``algorithms/Accumulator.java``
  (fastPearsons), ``algorithms/MandersColocalization.java``,
  ``algorithms/LiICQ.java``, ``gadgets/DataContainer.java`` +
  ``net/imglib2/algorithm/math/ImageStatistics.java`` (channel
  min/max/mean within the mask), ``net/imglib2/TwinCursor.java`` +
  ``net/imglib2/PredicateCursor.java`` (cursor semantics).
* CellProfiler 4.2.x ``cellprofiler/modules/measurecolocalization.py``
  (``MeasureColocalization.linear_costes``, ``.bisection_costes``,
  ``run_image_pair_images`` / ``run_image_pair_objects`` RWC blocks); the
  same two Costes functions also exist verbatim in cellprofiler_library.
* JACoP ``ImageColocalizer.java`` (Bolte & Cordelieres; copies in mcib3d
  ``mcib3d.image3d.processing.ImageColocalizer`` and BIOP
  ``ch.epfl.biop.coloc.utils.ImageColocalizer``, identical in the methods
  used here): ``CostesAutoThr()``, ``linreg()``, ``linregCostes()``,
  ``ICA()``, ``buildArray()``.  (The newest BIOP JACoP delegates
  CostesAutoThr to Coloc 2; that variant is NOT what ``jacop_costes`` does.)

Only numpy and scipy are used.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.stats

__all__ = [
    "coloc2_costes",
    "coloc2_pearson",
    "coloc2_thresholded",
    "coloc2_icq",
    "cellprofiler_costes",
    "cellprofiler_rwc",
    "jacop_costes",
    "jacop_icq",
    "java_math_round",
    "java_d2i",
]

_NAN = float("nan")
_LONG_MAX_AS_DOUBLE = 9.223372036854775807e18   # (double) Long.MAX_VALUE == 2**63
_LONG_MIN_AS_DOUBLE = -9.223372036854775808e18  # (double) Long.MIN_VALUE == -2**63


# --------------------------------------------------------------------------
# Java arithmetic helpers
# --------------------------------------------------------------------------

def _as_1d(x) -> np.ndarray:
    return np.asarray(x).reshape(-1)


def _seqsum(values) -> np.float64:
    """Strictly sequential left-to-right double sum, like Java ``s += v``.

    (numpy's ``sum`` is pairwise; ``cumsum``/``add.accumulate`` is sequential.)
    """
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if v.size == 0:
        return np.float64(0.0)
    return np.cumsum(v)[-1]


def java_math_round(x) -> float:
    """``(double) Math.round(double)`` with Java 7+ semantics.

    Closest long, ties towards +infinity, computed exactly (so
    0.49999999999999994 -> 0, -2.5 -> -2); NaN -> 0; values beyond the long
    range saturate at Long.MIN_VALUE / Long.MAX_VALUE.
    """
    x = float(x)
    if math.isnan(x):
        return 0.0
    if x >= _LONG_MAX_AS_DOUBLE:
        return _LONG_MAX_AS_DOUBLE
    if x <= _LONG_MIN_AS_DOUBLE:
        return _LONG_MIN_AS_DOUBLE
    if abs(x) >= 2.0 ** 52:          # already an integer
        return x
    fl = math.floor(x)
    frac = x - fl                     # exact for |x| < 2**52
    return float(fl + 1) if frac >= 0.5 else float(fl)


def java_d2i(x) -> int:
    """Java ``(int) double``: truncation towards zero, NaN -> 0, saturating."""
    x = float(x)
    if math.isnan(x):
        return 0
    if x >= 2147483647.0:
        return 2147483647
    if x <= -2147483648.0:
        return -2147483648
    return int(math.trunc(x))


def _java_max(x: float, y: float) -> float:
    """``Math.max(double, double)``: NaN if either is NaN."""
    if math.isnan(x) or math.isnan(y):
        return _NAN
    return x if x >= y else y


def _java_min(x: float, y: float) -> float:
    """``Math.min(double, double)``: NaN if either is NaN."""
    if math.isnan(x) or math.isnan(y):
        return _NAN
    return x if x <= y else y


def _jdiv(x, y) -> np.float64:
    """IEEE double division (x/0 -> +-inf, 0/0 -> NaN) as Java does."""
    with np.errstate(all="ignore"):
        return np.float64(x) / np.float64(y)


# --------------------------------------------------------------------------
# Fiji Coloc 2
# --------------------------------------------------------------------------

def _coloc2_type_range(dtype, type_min, type_max):
    """``T.getMinValue()`` / ``T.getMaxValue()`` of the imglib2 type."""
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        lo, hi = 0.0, 1.0
    elif np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        lo, hi = float(info.min), float(info.max)
    else:
        lo, hi = -math.inf, math.inf
    if type_min is not None:
        lo = float(type_min)
    if type_max is not None:
        hi = float(type_max)
    return lo, hi


def _coloc2_store(value: float, dtype) -> float:
    """``T.setReal(value); T.getRealDouble()`` for the (already integral and
    clamped) threshold values Coloc 2 stores: exact for integer types and
    DoubleType; FloatType keeps a float32."""
    if np.dtype(dtype) == np.float32:
        with np.errstate(all="ignore"):
            return float(np.float32(value))
    return float(value)


def _coloc2_clamp(val: float, lo: float, hi: float) -> float:
    """AutoThresholdRegression.clamp: ``min > val ? min : max < val ? max : val``."""
    return lo if lo > val else (hi if hi < val else val)


def _coloc2_fast_pearsons(x: np.ndarray, y: np.ndarray, accept: np.ndarray) -> float:
    """PearsonsCorrelation.fastPearsons (Accumulator without mean subtraction).

    Accumulator: x, y, xx, xy, yy are plain sequential double sums over the
    accepted voxels, count an int.  Then
        invCount = 1.0 / count
        p1 = xy - (x * y * invCount); p2 = xx - (x * x * invCount);
        p3 = yy - (y * y * invCount); r = p1 / Math.sqrt(p2 * p3)
    checkForSanity throws MissingPreconditionException if r is NaN or
    infinite -- returned here as NaN.
    """
    xs = x[accept]
    ys = y[accept]
    count = xs.size
    with np.errstate(all="ignore"):
        sx = _seqsum(xs)
        sy = _seqsum(ys)
        sxx = _seqsum(xs * xs)
        sxy = _seqsum(xs * ys)
        syy = _seqsum(ys * ys)
        inv = np.float64(1.0) / np.float64(count)
        p1 = sxy - (sx * sy * inv)
        p2 = sxx - (sx * sx * inv)
        p3 = syy - (sy * sy * inv)
        r = p1 / np.sqrt(p2 * p3)
    if not np.isfinite(r):
        return _NAN
    return float(r)


class _SimpleStepper:
    """SimpleStepper.java, verbatim.

    constructor: threshold = start; currentValue = 1.0; lastValue = MAX_VALUE
    update(value): if (!finished) { lastValue = currentValue;
        currentValue = value; threshold = threshold - 1.0;
        finished = Double.NaN == value || threshold < 1
                   || value < 0.0001 || value > lastValue; }
    Java quirk: ``Double.NaN == value`` is always false and every comparison
    with NaN is false, so a NaN update does NOT stop the stepper (only the
    ``threshold < 1`` clause can), and the update after a NaN cannot stop on
    ``value > lastValue`` (lastValue is then NaN).
    """

    def __init__(self, threshold: float):
        self.threshold = float(threshold)
        self.current_value = 1.0
        self.last_value = 1.7976931348623157e308
        self.finished = False

    def update(self, value: float) -> None:
        if not self.finished:
            self.last_value = self.current_value
            self.current_value = value
            self.threshold = self.threshold - 1.0
            self.finished = (False                      # Double.NaN == value
                             or self.threshold < 1
                             or value < 0.0001
                             or value > self.last_value)

    def get_value(self) -> float:
        return self.threshold

    def is_finished(self) -> bool:
        return self.finished


class _BisectionStepper:
    """BisectionStepper.java, verbatim.

    constructor(threshold, lastThreshold): threshold1 = threshold;
        threshold2 = lastThreshold; thrDiff = |threshold1 - threshold2|;
        iterations = 0; maxIterations = 100
    update(value): threshold2 = threshold1;
        if (Double.NaN == value || value < 0) threshold1 += thrDiff * 0.5;
        else if (value > 0) threshold1 -= thrDiff * 0.5;
        thrDiff = |threshold1 - threshold2|; iterations++
    isFinished(): iterations > maxIterations || thrDiff < 1.0
    Java quirk: for NaN (and for exactly 0.0) neither branch runs, so
    threshold1 stays, thrDiff becomes 0 and the stepper finishes on the
    candidate that produced the NaN.
    """

    def __init__(self, threshold: float, last_threshold: float):
        self.threshold1 = float(threshold)
        self.threshold2 = float(last_threshold)
        self.thr_diff = abs(self.threshold1 - self.threshold2)
        self.iterations = 0
        self.max_iterations = 100

    def update(self, value: float) -> None:
        self.threshold2 = self.threshold1
        if False or value < 0:                          # Double.NaN == value
            self.threshold1 = self.threshold1 + self.thr_diff * 0.5
        elif value > 0:
            self.threshold1 = self.threshold1 - self.thr_diff * 0.5
        self.thr_diff = abs(self.threshold1 - self.threshold2)
        self.iterations += 1

    def get_value(self) -> float:
        return self.threshold1

    def is_finished(self) -> bool:
        return self.iterations > self.max_iterations or self.thr_diff < 1.0


def _coloc2_channel_stats(x: np.ndarray):
    """DataContainer.calculateStatistics for one channel (within the mask).

    mean = ImageStatistics.getImageMean(img, mask) = RealSum / numPixels.
    imglib2's RealSum is a compensated sum; it is taken here as the exactly
    rounded sum (math.fsum).  For integer data (any sum < 2**53) every
    summation scheme gives the same exact value; for float data a difference
    of an ulp or so in the mean is possible.
    min / max = getImageMin / getImageMax (compareTo over the mask).
    """
    mean = math.fsum(x.tolist()) / x.size
    return float(mean), float(np.min(x)), float(np.max(x))


def coloc2_costes(a, b, implementation: str = "costes", type_min=None,
                  type_max=None, regression_skips_first_voxel: bool = True) -> dict:
    """Coloc 2 ``AutoThresholdRegression.execute`` (Costes or Bisection).

    Source: sc/fiji/coloc/algorithms/AutoThresholdRegression.java with the
    SimpleStepper ('costes'), BisectionStepper ('bisection') and
    PearsonsCorrelation.fastPearsons (the default 'Fast' implementation,
    ThresholdMode.Below).

    Literal steps and reproduced quirks:

    1. ch1Mean, ch2Mean, min and max of each channel come from the
       DataContainer, i.e. over all voxels of the region (see
       ``_coloc2_channel_stats``).
    2. Regression: ``final T type = cursor.getFirst();`` is executed on the
       TwinCursor BEFORE ``while (cursor.hasNext()) { cursor.fwd(); ... }``.
       With TwinCursor/PredicateCursor semantics getFirst() already moves the
       mask cursor onto the first voxel, and the loop's fwd() then moves to
       the second one: the FIRST voxel of the region is left out of the
       variance sums and of N (the means are still over all voxels).
       ``regression_skips_first_voxel=True`` (default) reproduces this;
       False uses every voxel.
       Sums are sequential doubles: ch1MeanDiffSum += (ch1-mean1)^2,
       ch2MeanDiffSum, combinedMeanDiffSum += (ch1+ch2 - (mean1+mean2))^2;
       variances divide by (N - 1) (N-1 sample variance);
       covariance = 0.5*(varCombined - (var1 + var2));
       m = (var2 - var1 + sqrt((var2-var1)^2 + 4*cov*cov)) / (2*cov);
       b = mean2 - m*mean1.
    3. ``if (m > -1 && m < 1.0)`` the working threshold t walks channel 1
       (ch1 = t, ch2 = t*m + b); otherwise (including m NaN) channel 2
       (ch1 = (t - b)/m, ch2 = t).  Costes starts at max of the stepped
       channel; Bisection at ``Math.abs(max + min) * 0.5`` with last
       threshold = max of the stepped channel.
    4. Loop ``while (!stepper.isFinished())``: both thresholds are
       ``Math.round``-ed (Java round-half-up, NaN -> 0, so thresholds are
       integers even for float images), clamped to [type_min, type_max],
       stored in T (float32 for float32 input); r = fastPearsons over voxels
       with ``ch1 < thr1 || ch2 < thr2`` (strict); NaN if Coloc 2 would
       throw; stepper.update(r).
    5. The reported thresholds are those of the LAST candidate evaluated
       (ch1ThreshMax / ch2ThreshMax keep the last loop values).  If the
       stepper is finished before any evaluation (Bisection with
       |start - max| < 1), they are the UNROUNDED channel maxima
       (``double ch1ThreshMax = container.getMaxCh1()``), clamped.
    6. Stepper stop rules: see ``_SimpleStepper`` / ``_BisectionStepper``
       (a NaN does not stop the simple stepper; it stops the bisection
       stepper on that candidate).

    type_min / type_max default to the dtype's range for integer input
    (e.g. 0..255 for uint8) and (-inf, inf) for float input.

    Returns dict(threshold_a, threshold_b, slope, intercept, r_below,
    n_evaluated) plus ``stepped_channel`` (1 or 2) and ``trace``: one tuple
    (stepper value, thr_a, thr_b, r) per evaluated candidate.  r_below is
    the r of the last evaluated candidate (NaN if it threw or if nothing was
    evaluated).
    """
    a = _as_1d(a)
    b = _as_1d(b)
    if a.shape != b.shape:
        raise ValueError("a and b must have the same number of voxels")
    if a.size == 0:
        raise ValueError("empty region (Coloc 2 cannot compute min/max)")
    if implementation not in ("costes", "bisection"):
        raise ValueError("implementation must be 'costes' or 'bisection'")
    dtype = np.result_type(a.dtype, b.dtype)
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    min_val, max_val = _coloc2_type_range(dtype, type_min, type_max)

    ch1_mean, ch1_min, ch1_max = _coloc2_channel_stats(x)
    ch2_mean, ch2_min, ch2_max = _coloc2_channel_stats(y)

    # ---- regression (AutoThresholdRegression.execute, first loop) ----
    rx = x[1:] if regression_skips_first_voxel else x
    ry = y[1:] if regression_skips_first_voxel else y
    with np.errstate(all="ignore"):
        m1 = np.float64(ch1_mean)
        m2 = np.float64(ch2_mean)
        combined_mean = m1 + m2
        d1 = rx - m1
        d2 = ry - m2
        dc = (rx + ry) - combined_mean
        ch1_mds = _seqsum(d1 * d1)
        ch2_mds = _seqsum(d2 * d2)
        comb_mds = _seqsum(dc * dc)
        n = rx.size
        ch1_var = ch1_mds / np.float64(n - 1)
        ch2_var = ch2_mds / np.float64(n - 1)
        comb_var = comb_mds / (np.float64(n) - 1.0)
        cov = 0.5 * (comb_var - (ch1_var + ch2_var))
        denom = 2 * cov
        num = (ch2_var - ch1_var) + np.sqrt(
            (ch2_var - ch1_var) * (ch2_var - ch1_var) + (4 * cov * cov))
        m = num / denom
        icpt = m2 - m * m1
    m = float(m)
    icpt = float(icpt)

    if m > -1 and m < 1.0:
        stepped = 1

        def map1(t):
            return t

        def map2(t):
            return (float(t) * m) + icpt          # (t * m) + b

        if implementation == "bisection":
            stepper = _BisectionStepper(abs(ch1_max + ch1_min) * 0.5, ch1_max)
        else:
            stepper = _SimpleStepper(ch1_max)
    else:
        stepped = 2

        def map1(t):
            return float(_jdiv(np.float64(t) - np.float64(icpt), m))

        def map2(t):
            return t

        if implementation == "bisection":
            stepper = _BisectionStepper(abs(ch2_max + ch2_min) * 0.5, ch2_max)
        else:
            stepper = _SimpleStepper(ch2_max)

    ch1_thresh_max = ch1_max          # "Min threshold not yet implemented"
    ch2_thresh_max = ch2_max
    trace = []
    r_last = _NAN
    while not stepper.is_finished():
        t = stepper.get_value()
        ch1_thresh_max = java_math_round(map1(t))
        ch2_thresh_max = java_math_round(map2(t))
        thr1 = _coloc2_store(_coloc2_clamp(ch1_thresh_max, min_val, max_val), dtype)
        thr2 = _coloc2_store(_coloc2_clamp(ch2_thresh_max, min_val, max_val), dtype)
        accept = (x < thr1) | (y < thr2)            # ThresholdMode.Below
        r = _coloc2_fast_pearsons(x, y, accept)
        stepper.update(r)
        r_last = r
        trace.append((t, thr1, thr2, r))

    return {
        "threshold_a": _coloc2_store(_coloc2_clamp(ch1_thresh_max, min_val, max_val), dtype),
        "threshold_b": _coloc2_store(_coloc2_clamp(ch2_thresh_max, min_val, max_val), dtype),
        "slope": m,
        "intercept": icpt,
        "r_below": r_last,
        "n_evaluated": len(trace),
        "stepped_channel": stepped,
        "trace": trace,
    }


def coloc2_pearson(a, b) -> float:
    """Coloc 2 fastPearsons with ThresholdMode.None (all voxels); NaN where
    Coloc 2 throws MissingPreconditionException."""
    x = _as_1d(a).astype(np.float64)
    y = _as_1d(b).astype(np.float64)
    return _coloc2_fast_pearsons(x, y, np.ones(x.shape, dtype=bool))


def coloc2_thresholded(a, b, t_a, t_b) -> dict:
    """Coloc 2 thresholded Manders (tM1, tM2) and Pearson below / above.

    MandersColocalization.calculateMandersCorrelation, ThresholdMode.Above
    (as called from execute() with the AutoThresholdRegression max
    thresholds):
        acceptMandersCh1: ch2 > 0 && ch2 >= thrCh2  -> mandersSumCh1 += ch1
        acceptMandersCh2: ch1 > 0 && ch1 >= thrCh1  -> mandersSumCh2 += ch2
        sumCh1 += ch1; sumCh2 += ch2 (every voxel, sequential doubles)
        tM1 = mandersSumCh1 / sumCh1; tM2 = mandersSumCh2 / sumCh2
    (no guard: 0/0 -> NaN, x/0 -> inf).
    PearsonsCorrelation.execute, Fast implementation:
        below: fastPearsons over ch1 < thr1 || ch2 < thr2 (strict)
        above: fastPearsons over ch1 > thr1 || ch2 > thr2 (strict)
    NaN where Coloc 2 throws (NaN/infinite r, e.g. fewer than 2 voxels or
    constant data).

    Thresholds are compared as given (for float32 input they are first
    rounded to float32, as a FloatType threshold would be).  Pass values
    representable in the image type, e.g. those returned by coloc2_costes.
    """
    a = _as_1d(a)
    b = _as_1d(b)
    dtype = np.result_type(a.dtype, b.dtype)
    x = a.astype(np.float64)
    y = b.astype(np.float64)
    ta = _coloc2_store(float(t_a), dtype)
    tb = _coloc2_store(float(t_b), dtype)
    with np.errstate(all="ignore"):
        sum1 = _seqsum(x)
        sum2 = _seqsum(y)
        msum1 = _seqsum(x[(y > 0) & (y >= tb)])
        msum2 = _seqsum(y[(x > 0) & (x >= ta)])
        tm1 = float(msum1 / sum1)
        tm2 = float(msum2 / sum2)
    return {
        "tm1": tm1,
        "tm2": tm2,
        "pcc_below": _coloc2_fast_pearsons(x, y, (x < ta) | (y < tb)),
        "pcc_above": _coloc2_fast_pearsons(x, y, (x > ta) | (y > tb)),
    }


def coloc2_icq(a, b) -> float:
    """Coloc 2 ``LiICQ.calculateLisICQ`` with the DataContainer means.

        productOfDifferenceOfMeans = (mean1 - ch1) * (mean2 - ch2)   (double)
        if (product < 0.0) ++numNegativeProducts; else ++numPositiveProducts;
        return numPositive / (numNegative + numPositive) - 0.5
    A product that is exactly 0 (a voxel at either channel's mean) counts as
    POSITIVE (and so would a NaN product).
    """
    x = _as_1d(a).astype(np.float64)
    y = _as_1d(b).astype(np.float64)
    mean1, _, _ = _coloc2_channel_stats(x)
    mean2, _, _ = _coloc2_channel_stats(y)
    with np.errstate(all="ignore"):
        prod = (np.float64(mean1) - x) * (np.float64(mean2) - y)
    n_neg = int(np.count_nonzero(prod < 0.0))
    n_pos = int(prod.size - n_neg)
    return float(_jdiv(float(n_pos), float(n_neg + n_pos))) - 0.5


# --------------------------------------------------------------------------
# CellProfiler 4.2.x MeasureColocalization
# --------------------------------------------------------------------------

def _cp_pearsonr(x, y) -> float:
    """scipy.stats.pearsonr(x, y)[0]; ValueError (< 2 values) propagates;
    constant input gives NaN (with a warning, silenced here)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r, _ = scipy.stats.pearsonr(x, y)
    return r


def _cp_regression(fi: np.ndarray, si: np.ndarray):
    """The orthogonal regression shared by linear_costes / bisection_costes."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        non_zero = (fi > 0) | (si > 0)
        xvar = np.var(fi[non_zero], axis=0, ddof=1)
        yvar = np.var(si[non_zero], axis=0, ddof=1)

        xmean = np.mean(fi[non_zero], axis=0)
        ymean = np.mean(si[non_zero], axis=0)

        z = fi[non_zero] + si[non_zero]
        zvar = np.var(z, axis=0, ddof=1)

        covar = 0.5 * (zvar - (xvar + yvar))

        denom = 2 * covar
        num = (yvar - xvar) + np.sqrt((yvar - xvar) * (yvar - xvar) + 4 * (covar * covar))
        a = num / denom
        b = ymean - a * xmean
    return a, b


def cellprofiler_costes(a, b, mode: str = "accurate", scale=255) -> dict:
    """CellProfiler 4.2.x ``MeasureColocalization.linear_costes`` ("Accurate",
    "Fast") and ``.bisection_costes`` ("Faster"), transcribed line by line.

    fi = a / scale, si = b / scale (true float64 division; CellProfiler's
    images are already in [0, 1] and ``scale`` is get_scale(...), 255 by
    default).  Regression on voxels with fi > 0 or si > 0: numpy.var ddof=1,
    covariance from var(fi + si), same formula as Coloc 2.

    linear_costes (modes 'accurate', 'fast'):
        i_step = 1 / scale_max
        i = i_step * ((img_max // i_step) + 1), img_max = max(fi.max(), si.max())
        costReg = pearsonr(fi, si)  # initial, unthresholded: may raise
                                    # ValueError (< 2 voxels), uncaught in CP
        thr_fi_c = i; thr_si_c = a*i + b
        while i > fi_max and a*i + b > si_max: i -= i_step   # skip candidates
        while i > i_step:
            thr_fi_c = i; thr_si_c = a*i + b
            combt = (fi < thr_fi_c) | (si < thr_si_c)
            try:
                if count_nonzero(combt) != num_true:   # only when the set size changed
                    costReg = pearsonr(fi[combt], si[combt]); num_true = count
                if costReg <= 0: break
                elif Accurate or i < i_step*10: i -= i_step
                elif costReg > 0.45: i -= 10*i_step
                elif costReg > 0.35: i -= 5*i_step
                elif costReg > 0.25: i -= 2*i_step
                else: i -= i_step
            except ValueError: break            # fewer than 2 values
        return thr_fi_c, thr_si_c
      Quirks kept: i is decremented by repeated float subtraction (rounding
      accumulates); a NaN r (constant below-set) neither breaks nor selects a
      big step (all comparisons False) -> single step; the returned
      thresholds are those of the last candidate entered, including the
      candidate whose pearsonr raised; if the walk loop never runs the start
      value i (one step above the max) is returned.

    bisection_costes (mode 'faster'):
        left = 1; right = scale_max; mid = ((right-left) // (6/5)) + left
        lastmid = 0; valid = 1
        while lastmid != mid:
            thr_fi_c = mid/scale_max; thr_si_c = a*thr_fi_c + b
            combt = (fi < thr_fi_c) | (si < thr_si_c)
            if count_nonzero(combt) <= 2: left = mid - 1
            else:
                try: r = pearsonr(...)
                     if r < 0: left = mid - 1
                     elif r >= 0: right = mid + 1; valid = mid
                except ValueError: left = mid - 1
            lastmid = mid
            mid = ((right-left) // (6/5)) + left if right-left > 6
                  else ((right-left) // 2) + left
        thr_fi_c = (valid - 1)/scale_max; thr_si_c = a*thr_fi_c + b
      Quirks kept: returns (valid - 1), not the last candidate; a NaN r
      changes neither left nor right, so mid repeats and the loop ends.

    Returns dict(threshold_a, threshold_b (data units: scaled * scale),
    threshold_a_scaled, threshold_b_scaled (what CellProfiler compares fi/si
    with), slope, intercept (scaled units), intercept_data (b * scale),
    r_below (last below-set r actually computed, NaN if none),
    n_evaluated (number of below-set pearsonr calls that returned a value;
    the initial unthresholded pearsonr of linear_costes is not counted),
    n_candidates (loop iterations)).
    """
    mode = mode.lower()
    if mode not in ("accurate", "fast", "faster"):
        raise ValueError("mode must be 'accurate', 'fast' or 'faster'")
    fi = _as_1d(a).astype(np.float64) / scale
    si = _as_1d(b).astype(np.float64) / scale
    scale_max = scale
    a_, b_ = _cp_regression(fi, si)
    n_eval = 0
    n_cand = 0
    r_below = _NAN

    with np.errstate(all="ignore"):
        if mode in ("accurate", "fast"):
            i_step = 1 / scale_max
            img_max = max(fi.max(), si.max())
            i = i_step * ((img_max // i_step) + 1)

            num_true = None
            fi_max = fi.max()
            si_max = si.max()

            cost_reg = _cp_pearsonr(fi, si)      # raises like CellProfiler would
            thr_fi_c = i
            thr_si_c = (a_ * i) + b_
            while i > fi_max and (a_ * i) + b_ > si_max:
                i -= i_step
            while i > i_step:
                n_cand += 1
                thr_fi_c = i
                thr_si_c = (a_ * i) + b_
                combt = (fi < thr_fi_c) | (si < thr_si_c)
                try:
                    positives = np.count_nonzero(combt)
                    if positives != num_true:
                        cost_reg = _cp_pearsonr(fi[combt], si[combt])
                        num_true = positives
                        n_eval += 1
                        r_below = float(cost_reg)
                    if cost_reg <= 0:
                        break
                    elif mode == "accurate" or i < i_step * 10:
                        i -= i_step
                    elif cost_reg > 0.45:
                        i -= i_step * 10
                    elif cost_reg > 0.35:
                        i -= i_step * 5
                    elif cost_reg > 0.25:
                        i -= i_step * 2
                    else:
                        i -= i_step
                except ValueError:
                    break
        else:
            left = 1
            right = scale_max
            mid = ((right - left) // (6 / 5)) + left
            lastmid = 0
            valid = 1
            while lastmid != mid:
                n_cand += 1
                thr_fi_c = mid / scale_max
                thr_si_c = (a_ * thr_fi_c) + b_
                combt = (fi < thr_fi_c) | (si < thr_si_c)
                if np.count_nonzero(combt) <= 2:
                    left = mid - 1
                else:
                    try:
                        cost_reg = _cp_pearsonr(fi[combt], si[combt])
                        n_eval += 1
                        r_below = float(cost_reg)
                        if cost_reg < 0:
                            left = mid - 1
                        elif cost_reg >= 0:
                            right = mid + 1
                            valid = mid
                    except ValueError:
                        left = mid - 1
                lastmid = mid
                if right - left > 6:
                    mid = ((right - left) // (6 / 5)) + left
                else:
                    mid = ((right - left) // 2) + left
            thr_fi_c = (valid - 1) / scale_max
            thr_si_c = (a_ * thr_fi_c) + b_

    return {
        "threshold_a": float(thr_fi_c) * scale,
        "threshold_b": float(thr_si_c) * scale,
        "threshold_a_scaled": float(thr_fi_c),
        "threshold_b_scaled": float(thr_si_c),
        "slope": float(a_),
        "intercept": float(b_),
        "intercept_data": float(b_) * scale,
        "r_below": r_below,
        "n_evaluated": n_eval,
        "n_candidates": n_cand,
    }


_RWC_OPS = {">=": np.greater_equal, ">": np.greater}


def cellprofiler_rwc(a, b, t_a, t_b, operator: str = ">=",
                     denominator_operator: str | None = None):
    """CellProfiler 4.2.x Rank Weighted Colocalization for ONE region.

    Rank code (identical in image and object mode):
        Rank1 = lexsort([fi]); Rank1_U = hstack([[False], fi[Rank1[:-1]] != fi[Rank1[1:]]])
        Rank1_S = cumsum(Rank1_U); Rank_im1[Rank1] = Rank1_S     (dense, 0-based)
        R = max(Rank_im1.max(), Rank_im2.max()) + 1
        Di = abs(Rank_im1 - Rank_im2); weight = ((R - Di) * 1.0) / R
        RWC1 = (fi[combined] * weight[combined]).sum() / tot_fi_thr
        RWC2 = (si[combined] * weight[combined]).sum() / tot_si_thr

    Image mode (run_image_pair_images): combined = (fi > thr_fi) & (si > thr_si)
    and tot_fi_thr = fi[fi > thr_fi].sum() -- strict '>' for BOTH the combined
    set and the denominators.
    Object mode (run_image_pair_objects): combined = (first >= tff) &
    (second >= tss), tot = ndimage.sum(first[first >= tff], ...) -- '>=' for
    both; and if no voxel is in the combined set, RWC is left at its
    numpy.zeros initialisation (0.0).  Object mode ranks ALL objects' pixels
    together (lexsort((labels, pixels)): primary key pixel value), so with
    several objects the ranks and R are global, not per object; for a single
    region (one object) they equal the ranks computed here.

    ``operator`` selects the combined-set comparison ('>' image mode, '>='
    object mode); ``denominator_operator`` defaults to the same operator
    (which is what both modes do).  The thresholds are used as given (in
    CellProfiler they are thr% of the channel maximum).  Computed on the
    values as passed: RWC is invariant to CellProfiler's division by the
    image scale up to float rounding.  Divisions are unguarded (0/0 -> NaN).
    Returns (rwc1, rwc2).
    """
    if operator not in _RWC_OPS:
        raise ValueError("operator must be '>=' or '>'")
    if denominator_operator is None:
        denominator_operator = operator
    if denominator_operator not in _RWC_OPS:
        raise ValueError("denominator_operator must be '>=' or '>'")
    op = _RWC_OPS[operator]
    dop = _RWC_OPS[denominator_operator]
    fi = _as_1d(a).astype(np.float64)
    si = _as_1d(b).astype(np.float64)

    rank1 = np.lexsort([fi])
    rank2 = np.lexsort([si])
    rank1_u = np.hstack([[False], fi[rank1[:-1]] != fi[rank1[1:]]])
    rank2_u = np.hstack([[False], si[rank2[:-1]] != si[rank2[1:]]])
    rank1_s = np.cumsum(rank1_u)
    rank2_s = np.cumsum(rank2_u)
    rank_im1 = np.zeros(fi.shape, dtype=int)
    rank_im2 = np.zeros(si.shape, dtype=int)
    rank_im1[rank1] = rank1_s
    rank_im2[rank2] = rank2_s

    r_ = max(rank_im1.max(), rank_im2.max()) + 1
    di = abs(rank_im1 - rank_im2)
    weight = ((r_ - di) * 1.0) / r_

    combined = op(fi, t_a) & op(si, t_b)
    if operator == ">=" and not np.any(combined):
        return 0.0, 0.0                       # object mode: zeros initialisation
    fi_thresh = fi[combined]
    si_thresh = si[combined]
    weight_thresh = weight[combined]
    tot_fi_thr = fi[dop(fi, t_a)].sum()
    tot_si_thr = si[dop(si, t_b)].sum()
    with np.errstate(all="ignore"):
        rwc1 = np.float64((fi_thresh * weight_thresh).sum()) / np.float64(tot_fi_thr)
        rwc2 = np.float64((si_thresh * weight_thresh).sum()) / np.float64(tot_si_thr)
    return float(rwc1), float(rwc2)


# --------------------------------------------------------------------------
# JACoP ImageColocalizer
# --------------------------------------------------------------------------

def _jacop_int_array(x) -> np.ndarray:
    """The ``int[]`` JACoP builds with ``getProcessor().getPixel(x, y)``.

    Integer input is used as is; float input is converted with Java (int)
    truncation (NaN -> 0).  JACoP is meant for 8/16-bit images.
    """
    x = _as_1d(x)
    if np.issubdtype(x.dtype, np.integer) or x.dtype == np.bool_:
        return x.astype(np.int64)
    return np.array([java_d2i(v) for v in x.astype(np.float64).tolist()], dtype=np.int64)


def _jacop_minmax(A: np.ndarray):
    """buildArray: Amin starts at 2^depth, Amax at 0, then min/max with the
    (whole-)image statistics.  Amax is therefore never below 0; Amin is the
    data minimum (the 2^depth start value never wins for in-range data)."""
    return int(A.min()), max(0, int(A.max()))


def _java_int_mul(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Java ``int * int`` with 32-bit two's complement wrap-around."""
    p = x.astype(np.int64) * y.astype(np.int64)
    return ((p + 2 ** 31) % 2 ** 32) - 2 ** 31


def _jacop_sums(A: np.ndarray, B: np.ndarray, sel: np.ndarray):
    """The common body of linreg / linregCostes for the selected voxels."""
    As = A[sel]
    Bs = B[sel]
    count = int(As.size)
    with np.errstate(all="ignore"):
        sum_a = _seqsum(As.astype(np.float64))
        sum_b = _seqsum(Bs.astype(np.float64))
        sum_ab = _seqsum(_java_int_mul(As, Bs).astype(np.float64))   # int overflow kept
        af = As.astype(np.float64)
        sumsqr_a = _seqsum(af * af)                                  # Math.pow(A, 2)
        a_mean = sum_a / np.float64(count)
        b_mean = sum_b / np.float64(count)
        da = As.astype(np.float64) - a_mean
        db = Bs.astype(np.float64) - b_mean
        num = _seqsum(da * db)
        den1 = _seqsum(da * da)
        den2 = _seqsum(db * db)
        c = np.float64(count)
        slope = (c * sum_ab - sum_a * sum_b) / (c * sumsqr_a - sum_a * sum_a)
        icpt = (sumsqr_a * sum_b - sum_a * sum_ab) / (c * sumsqr_a - sum_a * sum_a)
        r = num / np.sqrt(den1 * den2)
    return float(slope), float(icpt), float(r)


def jacop_costes(a, b, java_exceptions: str = "ignore") -> dict:
    """JACoP ``ImageColocalizer.CostesAutoThr()`` (classic version).

    1. ``linreg(A, B, 0, 0)`` (doThat = true): ordinary least squares of B on
       A over voxels with A >= 0 && B >= 0:
         a = (count*sumAB - sumA*sumB) / (count*sumsqrA - sumA^2)
         b = (sumsqrA*sumB - sumA*sumAB) / (count*sumsqrA - sumA^2)
       ``sumAB += Aarray[m] * Barray[m]`` is an int*int product: it wraps
       around in 32 bits for products >= 2^31 (16-bit data); reproduced.
    2. LoopMin = (int) Math.max(Amin, (Bmin - b)/a);
       LoopMax = (int) Math.min(Amax, (Bmax - b)/a)   (Java (int): truncation,
       NaN -> 0, saturation; Math.max/min propagate NaN).
    3. for (i = LoopMax; i >= LoopMin; i--):
         CostesPearson = linregCostes(A, B, i, (int)(a*i + b))[2]
           -- r over the AND below-set: A < i && B < (int)(a*i+b) (strict);
              NaN when that set has < 2 voxels or is constant.
         ry[count] = CostesPearson; if NaN:
             if (count != LoopMax) ry[count] = ry[count-1]; else ry[count] = 1;
           (the source compares the COUNTER with LoopMax).
         if (CostesPearson <= rmin && i != LoopMax) { CostesThrA = i;
             CostesThrB = (int)(a*i+b); }        -- rmin BEFORE this update,
           '<=' so among equal minima the LAST (lowest i) wins; NaN never
           selected; the first candidate (i == LoopMax) is never selected.
         rmax = max(rmax, ry[count]); rmin = min(rmin, ry[count]); count++
       Initial values: CostesThrA = Amax, CostesThrB = Bmax, rmin = 1,
       rmax = 0, CostesPearson = 1.
    Two situations make the Java code throw (the plugin then aborts with
    no result); ``java_exceptions`` chooses what the reference does:
      * count == 0 with a NaN r and LoopMax != 0: Java evaluates ry[-1]
        (ArrayIndexOutOfBoundsException).  'ignore' (default) continues with
        ry[0] = 1 -- the value of the else-branch and of the initial rmin, so
        rmin is unaffected and the outcome is the same as ignoring that NaN;
        'raise' raises IndexError.
      * LoopMax == LoopMin: the progress line
        ``IJ.showStatus(... (int)(100*(LoopMax-i)/(LoopMax-LoopMin)) ...)``
        is an int division by zero (ArithmeticException) before the first
        candidate.  'ignore' evaluates the single candidate (never
        selectable, as i == LoopMax); 'raise' raises ZeroDivisionError.

    Amin / Amax / Bmin / Bmax: see ``_jacop_minmax`` (Amax >= 0).

    Returns dict(threshold_a, threshold_b (ints), slope, intercept,
    r_below (r at the chosen candidate; NaN if no candidate was chosen and
    the thresholds stayed at Amax, Bmax), n_evaluated (loop iterations, each
    one linregCostes pass), loop_min, loop_max, r_last (CostesPearson after
    the loop -- what JACoP prints as "... below thresholds"; 1.0 if the loop
    never ran), pearson (r of the step-1 linreg)).
    """
    if java_exceptions not in ("ignore", "raise"):
        raise ValueError("java_exceptions must be 'ignore' or 'raise'")
    A = _jacop_int_array(a)
    B = _jacop_int_array(b)
    if A.shape != B.shape or A.size == 0:
        raise ValueError("a and b must be non-empty and of the same length")
    a_min, a_max = _jacop_minmax(A)
    b_min, b_max = _jacop_minmax(B)

    slope, icpt, r_all = _jacop_sums(A, B, (A >= 0) & (B >= 0))

    loop_min = java_d2i(_java_max(float(a_min), float(_jdiv(b_min - icpt, slope))))
    loop_max = java_d2i(_java_min(float(a_max), float(_jdiv(b_max - icpt, slope))))

    thr_a = a_max
    thr_b = b_max
    costes_pearson = 1.0
    rmax = 0.0
    rmin = 1.0
    ry = []
    r_chosen = _NAN
    count = 0
    for i in range(loop_max, loop_min - 1, -1):
        if loop_max == loop_min and java_exceptions == "raise":
            raise ZeroDivisionError("JACoP: int division by LoopMax - LoopMin == 0 "
                                    "(ArithmeticException in IJ.showStatus)")
        tb = java_d2i(slope * float(i) + icpt)
        _, _, costes_pearson = _jacop_sums(A, B, (A < i) & (B < tb))
        ry_c = costes_pearson
        if math.isnan(costes_pearson):
            if count != loop_max:
                if count == 0:
                    if java_exceptions == "raise":
                        raise IndexError("JACoP: ry[count - 1] with count == 0 "
                                         "(ArrayIndexOutOfBoundsException)")
                    ry_c = 1.0
                else:
                    ry_c = ry[count - 1]
            else:
                ry_c = 1.0
        ry.append(ry_c)
        if costes_pearson <= rmin and i != loop_max:
            thr_a = i
            thr_b = tb
            r_chosen = costes_pearson
        rmax = _java_max(rmax, ry_c)
        rmin = _java_min(rmin, ry_c)
        count += 1

    return {
        "threshold_a": int(thr_a),
        "threshold_b": int(thr_b),
        "slope": slope,
        "intercept": icpt,
        "r_below": r_chosen,
        "n_evaluated": count,
        "loop_min": loop_min,
        "loop_max": loop_max,
        "r_last": float(costes_pearson),
        "pearson": r_all,
    }


def jacop_icq(a, b) -> float:
    """JACoP ``ImageColocalizer.ICA()`` ICQ value.

        Anorm[i] = (double)(A[i] - Amin) / Amax   (normalised by the MAX, not
        Bnorm[i] = (double)(B[i] - Bmin) / Bmax    the range; Amax >= 0)
        AnormMean = sum(Anorm) / length (sequential); same for B
        x[i] = (Anorm[i] - AnormMean) * (Bnorm[i] - BnormMean)
        if (x[i] > 0) ICQ++          -- only STRICTLY positive products count
        ICQ = ICQ / length - 0.5
    So a product of exactly 0 counts against the ICQ here, while Coloc 2
    counts it as positive.  Because the normalisation is done in floating
    point, a voxel exactly at the raw mean can give a tiny non-zero
    normalised difference (and vice versa); this is reproduced literally.
    Amax == 0 gives 0/0 = NaN products, none counted.
    """
    A = _jacop_int_array(a)
    B = _jacop_int_array(b)
    a_min, a_max = _jacop_minmax(A)
    b_min, b_max = _jacop_minmax(B)
    n = A.size
    with np.errstate(all="ignore"):
        a_norm = (A - a_min).astype(np.float64) / np.float64(a_max)
        b_norm = (B - b_min).astype(np.float64) / np.float64(b_max)
        a_norm_mean = _seqsum(a_norm) / np.float64(n)
        b_norm_mean = _seqsum(b_norm) / np.float64(n)
        x = (a_norm - a_norm_mean) * (b_norm - b_norm_mean)
    icq = float(np.count_nonzero(x > 0))
    return float(_jdiv(icq, n)) - 0.5
