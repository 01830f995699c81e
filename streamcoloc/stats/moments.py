"""Moment statistics of channel pairs per region and slice: chunk, merge, finalize.

One record holds, for every (region, slice) key and every channel pair (a, b)
of a chunk, the sufficient statistics of the moment-based metrics
(Pearson, Manders' overlap R and k1/k2, Manders m1/m2 and tm1/tm2, the
orthogonal regression):

    n, Σa, Σb, Σa², Σb², Σab, Σa[b > 0], Σb[a > 0],
    Σa[b > 0 and b ≥ T_b], Σb[a > 0 and a ≥ T_a]

plus the counts of voxels excluded (non-finite or saturated in a or b) and of
negative values.  A voxel with a NaN/Inf in either channel of a pair is
excluded from that pair only.

Exactness
---------
* Integer data of at most 16 bits (and bool): the kernel accumulates in int64,
  exact for chunks of up to :data:`MAX_CHUNK_VOXELS` voxels; records are
  merged exactly as pairs of int64 words (:mod:`streamcoloc.stats.exact`) and
  centered sums such as n·Σa² − (Σa)² are formed in Python integers before
  one final rounding.  Results are bit-identical for any chunking or
  scheduler, and bright low-variance data (60000 ± 2) lose nothing.
* Everything else (floats, and integers wider than 16 bits, which would
  overflow int64 squares) is accumulated in float64.  Each chunk is scanned
  twice: once for the region means, once for sums of deviations from them
  (the corrected two-pass algorithm, Chan, Golub & LeVeque 1983) in blocks
  of at most 1024 voxels (two-level summation; the kernel lets LLVM reassociate
  float sums into vector lanes, which is deterministic for a given build), and chunk
  records are merged with the pairwise update of Chan et al. in chunk order,
  so results are reproducible for a given chunking and accurate to a few
  units in the last place.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numba
import numpy as np

from . import exact
from .base import Statistic
from .regions import ChunkRegions

FIELDS = (
    "n",  # voxels measured
    "n_nonfinite",  # excluded: NaN or Inf in a or b
    "n_saturated",  # excluded: a or b at the saturation level
    "n_negative",  # measured voxels with a < 0 or b < 0
    "sa", "sb", "saa", "sbb", "sab",
    "sa_bpos",  # Σ a over b > 0
    "sb_apos",  # Σ b over a > 0
    "sa_bthr",  # Σ a over b > 0 and b ≥ T_b
    "sb_athr",  # Σ b over a > 0 and a ≥ T_a
)
(N, N_NONFINITE, N_SATURATED, N_NEGATIVE, SA, SB, SAA, SBB, SAB,
 SA_BPOS, SB_APOS, SA_BTHR, SB_ATHR) = range(len(FIELDS))

#: Largest chunk (voxels) whose int64 sums of 16-bit products cannot overflow:
#: |a·b| ≤ 2**32, so 2**30 of them stay below 2**62.
MAX_CHUNK_VOXELS = 2**30

_EXACT_DTYPES = {np.dtype(t) for t in (np.bool_, np.uint8, np.int8, np.uint16, np.int16)}


def is_exact(dtypes) -> bool:
    """True when every channel dtype takes the exact integer path."""
    return all(np.dtype(d) in _EXACT_DTYPES for d in dtypes)


def kernel_dtype(dtypes) -> np.dtype:
    """The one dtype a chunk's channels are cast to before the kernel.

    Canonical dtypes keep Numba specializations few: uint8, uint16, int16 or
    int32 (mixed signed/unsigned 16-bit) for the exact path; float32 or
    float64 otherwise.
    """
    if is_exact(dtypes):
        common = np.result_type(*[np.uint8 if np.dtype(d) == np.bool_ else d for d in dtypes])
        return np.dtype(np.int16) if common == np.int8 else common
    if all(np.dtype(d) in (np.dtype(np.float16), np.dtype(np.float32)) for d in dtypes):
        return np.dtype(np.float32)
    return np.dtype(np.float64)


_RUN = 1024


@numba.njit(inline="always")
def _finite(x):
    """False for NaN and ±Inf (x − x is NaN there); folds to True for integers."""
    return x - x == 0


@numba.njit(nogil=True, cache=True, fastmath={"reassoc"})
def _accumulate(channels, labels, pairs, offset, floor, saturation, thresholds, shifts, zero, out):
    """Add one chunk's moment sums into ``out[region, slice, pair, field]``.

    channels : tuple of (S, P) arrays, one per channel, same dtype.
    labels : (SL, P) int32 dense region ids (-1 background); SL = 1 applies
        one label plane to every slice; shape (0, 0) means one region, 0.
    pairs : (K, 2) channel indices of each pair.
    offset, floor : per channel; value = max(raw - offset, floor).
    saturation : per channel; raw ≥ saturation is excluded.
    thresholds : (K, 2) float64 (T_a, T_b) for sa_bthr / sb_athr.
    shifts : (R, S, K, 2) per-key means subtracted before the power sums,
        or shape (0, 0, 0, 2) for raw sums.
    zero : 0 of the accumulator type (int64 exact, float64 otherwise).
    """
    n_slices, n_voxels = channels[0].shape
    n_label_planes = labels.shape[0]
    centered = shifts.shape[0] > 0
    for k in range(pairs.shape[0]):
        ia = pairs[k, 0]
        ib = pairs[k, 1]
        A = channels[ia]
        B = channels[ib]
        off_a, off_b = offset[ia], offset[ib]
        floor_a, floor_b = floor[ia], floor[ib]
        sat_a, sat_b = saturation[ia], saturation[ib]
        thr_a, thr_b = thresholds[k, 0], thresholds[k, 1]
        for s in range(n_slices):
            plane = s if n_label_planes > 1 else 0
            start = 0
            while start < n_voxels:
                # One run of voxels sharing a region: accumulate in registers.
                # Runs are capped at _RUN voxels: a two-level (blocked)
                # summation that keeps float rounding near eps·(_RUN + n/_RUN).
                region = 0
                stop = min(n_voxels, start + _RUN)
                if n_label_planes > 0:
                    region = labels[plane, start]
                    limit = stop
                    stop = start + 1
                    while stop < limit and labels[plane, stop] == region:
                        stop += 1
                    if region < 0:
                        start = stop
                        continue
                shift_a = zero
                shift_b = zero
                if centered:
                    shift_a = shifts[region, s, k, 0]
                    shift_b = shifts[region, s, k, 1]
                n = n_nonfinite = n_saturated = n_negative = 0
                sa = sb = saa = sbb = sab = zero
                sa_bpos = sb_apos = sa_bthr = sb_athr = zero
                for q in range(start, stop):
                    raw_a = A[s, q]
                    raw_b = B[s, q]
                    if not (_finite(raw_a) and _finite(raw_b)):
                        n_nonfinite += 1
                        continue
                    if raw_a >= sat_a or raw_b >= sat_b:
                        n_saturated += 1
                        continue
                    a = max(raw_a - off_a, floor_a)
                    b = max(raw_b - off_b, floor_b)
                    n += 1
                    if a < 0 or b < 0:
                        n_negative += 1
                    da = a - shift_a
                    db = b - shift_b
                    sa += da
                    sb += db
                    saa += da * da
                    sbb += db * db
                    sab += da * db
                    if b > 0:
                        sa_bpos += a
                        if b >= thr_b:
                            sa_bthr += a
                    if a > 0:
                        sb_apos += b
                        if a >= thr_a:
                            sb_athr += b
                acc = out[region, s, k]
                acc[N] += n
                acc[N_NONFINITE] += n_nonfinite
                acc[N_SATURATED] += n_saturated
                acc[N_NEGATIVE] += n_negative
                acc[SA] += sa
                acc[SB] += sb
                acc[SAA] += saa
                acc[SBB] += sbb
                acc[SAB] += sab
                acc[SA_BPOS] += sa_bpos
                acc[SB_APOS] += sb_apos
                acc[SA_BTHR] += sa_bthr
                acc[SB_ATHR] += sb_athr
                start = stop


@dataclass(frozen=True)
class MomentOptions:
    """Runtime options of the moment kernel (not compile-time: no new
    specializations).

    pairs : (K, 2) channel indices.
    background : per-channel offset subtracted before measuring, clipped at 0
        (ImageJ's Process > Math > Subtract on unsigned images); None = none.
    saturation : per-channel raw level at or above which a voxel is excluded;
        None = no exclusion.
    thresholds : (K, 2) (T_a, T_b) for tm1/tm2; NaN = not requested.
    """

    pairs: np.ndarray
    background: tuple | None
    saturation: tuple | None
    thresholds: np.ndarray


@dataclass
class MomentRecord:
    """Mergeable moments: ``keys`` (R, 2) = (region id, slice) and either
    exact words ``hi``/``lo`` (R, K, F) or float ``sums`` (R, K, F) with
    per-key ``means`` (R, K, 2) and ``comoments`` (R, K, 3) = Σ(a−ā)², Σ(b−b̄)²,
    Σ(a−ā)(b−b̄)."""

    keys: np.ndarray
    hi: np.ndarray | None = None
    lo: np.ndarray | None = None
    sums: np.ndarray | None = None
    means: np.ndarray | None = None
    comoments: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        return self.hi is not None


def chunk(channels: list[np.ndarray], regions: ChunkRegions, options: MomentOptions) -> MomentRecord:
    """Moment record of one chunk; ``channels`` are (S, P) blocks."""
    dtype = kernel_dtype([c.dtype for c in channels])
    blocks = tuple(np.ascontiguousarray(c, dtype=dtype) for c in channels)
    n_slices = blocks[0].shape[0]
    exact_path = dtype.kind in "iu"
    acc = np.int64 if exact_path else np.float64
    n_channels = len(blocks)
    offset = np.zeros(n_channels, acc)
    floor = np.full(n_channels, np.iinfo(np.int64).min if exact_path else -np.inf, acc)
    if options.background is not None:
        offset[:] = options.background
        floor[:] = 0
    saturation = np.full(n_channels, np.iinfo(np.int64).max if exact_path else np.inf, acc)
    if options.saturation is not None:
        saturation[:] = options.saturation
    shape = (regions.ids.size, n_slices, len(options.pairs), len(FIELDS))
    labels = regions.kernel_labels
    thresholds = np.asarray(options.thresholds, dtype=np.float64)

    def run(shifts):
        out = np.zeros(shape, acc)
        _accumulate(blocks, labels, options.pairs, offset, floor, saturation,
                    thresholds, shifts, acc(0), out)
        return out

    raw = run(np.zeros((0, 0, 0, 2), acc))
    keys = regions.keys(n_slices)
    raw = raw.reshape(len(keys), *shape[2:])
    present = (raw[:, 0, N] + raw[:, 0, N_NONFINITE] + raw[:, 0, N_SATURATED]) > 0
    if exact_path:
        hi, lo = exact.split(raw[present])
        return MomentRecord(keys[present], hi=hi, lo=lo)
    count = raw[..., N]
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(count[..., None] > 0, raw[..., [SA, SB]] / count[..., None], 0.0)
    dev = run(means.reshape(shape[:3] + (2,))).reshape(raw.shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        residual = np.where(count[..., None] > 0, dev[..., [SA, SB]] / count[..., None], 0.0)
    comoments = np.stack([
        dev[..., SAA] - residual[..., 0] * dev[..., SA],
        dev[..., SBB] - residual[..., 1] * dev[..., SB],
        dev[..., SAB] - residual[..., 0] * dev[..., SB],
    ], axis=-1)
    return MomentRecord(keys[present], sums=raw[present], means=(means + residual)[present],
                        comoments=comoments[present])


def combine(records: list[MomentRecord]) -> MomentRecord:
    """Merge records (associative; deterministic for a given input order)."""
    keys = np.concatenate([r.keys for r in records])
    unique, group = np.unique(keys, axis=0, return_inverse=True)
    group = group.ravel()
    n_groups = len(unique)
    if records[0].exact:
        hi, lo = exact.group_sum(np.concatenate([r.hi for r in records]),
                                 np.concatenate([r.lo for r in records]), group, n_groups)
        return MomentRecord(unique, hi=hi, lo=lo)
    sums = np.concatenate([r.sums for r in records])
    means = np.concatenate([r.means for r in records])
    comoments = np.concatenate([r.comoments for r in records])
    total = np.zeros((n_groups,) + sums.shape[1:])
    np.add.at(total, group, sums)
    count = sums[..., N]
    weighted = np.zeros((n_groups,) + means.shape[1:])
    np.add.at(weighted, group, means * count[..., None])
    group_count = total[..., N][..., None]
    with np.errstate(invalid="ignore", divide="ignore"):
        merged_means = np.where(group_count > 0, weighted / np.maximum(group_count, 1), 0.0)
    # Chan et al.: C = Σ C_i + Σ n_i (m_i − m)(m_i' − m')
    d = means - merged_means[group]
    between = np.stack([d[..., 0] ** 2, d[..., 1] ** 2, d[..., 0] * d[..., 1]], axis=-1)
    merged_co = np.zeros((n_groups,) + comoments.shape[1:])
    np.add.at(merged_co, group, comoments + count[..., None] * between)
    return MomentRecord(unique, sums=total, means=merged_means, comoments=merged_co)


@dataclass(frozen=True)
class Moments:
    """Finalized moments: ``keys`` (R, 2) and float64 arrays of shape (R, K).

    ``caa``, ``cbb``, ``cab`` are the centered sums Σ(a−ā)², Σ(b−b̄)²,
    Σ(a−ā)(b−b̄); the other fields are the raw sums of :data:`FIELDS`.
    """

    keys: np.ndarray
    fields: dict

    @classmethod
    def zeros(cls, n_pairs: int) -> "Moments":
        """Moments of one empty region (every metric of it is NaN)."""
        names = FIELDS + ("mean_a", "mean_b", "caa", "cbb", "cab")
        return cls(np.zeros((1, 2), np.int64), {k: np.zeros((1, n_pairs)) for k in names})

    def __getattr__(self, name):
        if name == "fields":
            raise AttributeError(name)
        try:
            return self.fields[name]
        except KeyError:
            raise AttributeError(name) from None


def finalize(record: MomentRecord) -> Moments:
    """Turn a merged record into per-key float64 moments (one rounding each)."""
    if record.exact:
        ints = exact.to_int(record.hi, record.lo)
        fields = {name: _to_float(ints[..., i]) for i, name in enumerate(FIELDS)}
        n, sa, sb = ints[..., N], ints[..., SA], ints[..., SB]
        safe_n = np.where(n == 0, 1, n)
        fields["mean_a"] = _to_float(sa / safe_n)
        fields["mean_b"] = _to_float(sb / safe_n)
        # Python-int numerators are exact; true division rounds once.
        fields["caa"] = _to_float((n * ints[..., SAA] - sa * sa) / safe_n)
        fields["cbb"] = _to_float((n * ints[..., SBB] - sb * sb) / safe_n)
        fields["cab"] = _to_float((n * ints[..., SAB] - sa * sb) / safe_n)
    else:
        fields = {name: record.sums[..., i] for i, name in enumerate(FIELDS)}
        fields["mean_a"], fields["mean_b"] = record.means[..., 0], record.means[..., 1]
        fields["caa"], fields["cbb"], fields["cab"] = np.moveaxis(record.comoments, -1, 0)
    return Moments(record.keys, fields)


def _to_float(values) -> np.ndarray:
    return np.asarray(values, dtype=object).astype(np.float64)


def statistic(options: MomentOptions) -> Statistic:
    """The moments as a :class:`~streamcoloc.stats.base.Statistic`."""
    return Statistic("moments", partial(chunk, options=options), combine, finalize)
