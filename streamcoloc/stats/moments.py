"""Moment statistics of channel pairs per region and slice: chunk, merge, finalize.

One record holds, for every (region, slice) key and every channel pair (a, b)
of a chunk, the sufficient statistics of the moment-based metrics (Pearson,
Manders' overlap R and k1/k2, Manders m1/m2 and tm1/tm2, the orthogonal
regression):

    n, Σa, Σb, Σa², Σb², Σab, Σa[b > 0], Σb[a > 0],
    Σa[b > 0 and b ≥ T_b], Σb[a > 0 and a ≥ T_a]

plus the counts of voxels excluded (non-finite or saturated in a or b) and of
negative values.  A voxel with a NaN/Inf in either channel of a pair is
excluded from that pair only.  Values are measured after the optional
background subtraction ``max(raw − offset, 0)``; a raw value at or above the
optional saturation level excludes the voxel.

Exactness
---------
* Integer data of at most 16 bits (and bool, :mod:`.dtypes`): the kernel sums
  in int64, exact for chunks of up to :data:`MAX_CHUNK_VOXELS` voxels; records
  are merged exactly as pairs of int64 words (:mod:`.exact`) and centered sums
  such as n·Σa² − (Σa)² are formed in Python integers before one final
  rounding.  Results are bit-identical for any chunking or scheduler, and
  bright low-variance data (60000 ± 2) lose nothing.  Thresholds become
  integer gates: b > 0 and b ≥ T is b ≥ max(⌈T⌉, 1).
* Float data: each run of at most :data:`~.regions.MAX_RUN` voxels (in cache)
  is scanned twice, for its mean and then for sums of deviations from it (the
  corrected two-pass algorithm), and runs are merged into the key's
  (n, mean, centered sums) with the pairwise update of Chan, Golub & LeVeque
  (1983); chunk records merge the same way in chunk order.  Results are
  reproducible for a given chunking and accurate to a few ulps; Σa², Σb², Σab
  are recovered as C + n·mean².

The kernel's inner loops are branch-free (selects, not jumps) so LLVM
vectorizes them; background and saturation switch to a second, slower loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numba
import numpy as np
from numba import types
from numba.extending import overload

from . import exact
from .base import Statistic
from .dtypes import kernel_channels
from .regions import ChunkRegions
from .voxels import FLOOR, OFFSET, SATURATION, VoxelRules

#: Accumulator fields.  Exact records hold raw sums Σa, Σb, Σa², Σb², Σab in
#: fields 4-8; float records hold ā, b̄, Σ(a−ā)², Σ(b−b̄)², Σ(a−ā)(b−b̄) there.
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
FLOAT_FIELDS = FIELDS[:4] + ("mean_a", "mean_b", "caa", "cbb", "cab") + FIELDS[9:]
(N, N_NONFINITE, N_SATURATED, N_NEGATIVE, SA, SB, SAA, SBB, SAB,
 SA_BPOS, SB_APOS, SA_BTHR, SB_ATHR) = range(len(FIELDS))
MEAN_A, MEAN_B, CAA, CBB, CAB = SA, SB, SAA, SBB, SAB

#: Largest chunk (voxels) whose int64 sums of 16-bit products cannot overflow:
#: |a·b| ≤ 2**32, so 2**30 of them stay below 2**62.
MAX_CHUNK_VOXELS = 2**30


def _add_run(acc, a, b, set_a, set_b, gate_a, gate_b, general):
    """Add the voxels of a run (``a``, ``b``: 1-D views of it) to the
    accumulator row ``acc`` (implemented per dtype family below).  Loops run
    over ``range(a.size)``: indices known to be ≥ 0 let LLVM drop Numba's
    wrap-around check and vectorize."""


@overload(_add_run, inline="always")
def _add_run_impl(acc, a, b, set_a, set_b, gate_a, gate_b, general):
    if isinstance(a.dtype, types.Integer):
        return _add_exact_run
    return _add_float_run


def _add_exact_run(acc, a, b, set_a, set_b, gate_a, gate_b, general):
    """Integer gates: ``gate_b`` = max(⌈T_b⌉, 1), so Σa[b ≥ gate_b] is
    Σa[b > 0 and b ≥ T_b].  Values, counts and linear sums of a run are kept
    in wrapping int32 (|value| ≤ 2**16 and runs of at most 2**15 voxels keep
    them exact; LLVM then packs 8 of them per vector instead of 4); squares
    and products are summed in int64."""
    n = n_negative = sa = sb = sa_bpos = sb_apos = sa_bthr = sb_athr = np.int32(0)
    saa = sbb = sab = np.int64(0)
    off_a, floor_a, sat_a = set_a[OFFSET], set_a[FLOOR], set_a[SATURATION]
    off_b, floor_b, sat_b = set_b[OFFSET], set_b[FLOOR], set_b[SATURATION]
    for q in range(a.size):
        if general:
            raw_a = np.int64(a[q])
            raw_b = np.int64(b[q])
            keep = (raw_a < sat_a) & (raw_b < sat_b)
            x = np.int32(max(raw_a - off_a, floor_a) if keep else 0)
            y = np.int32(max(raw_b - off_b, floor_b) if keep else 0)
            n = np.int32(n + (1 if keep else 0))
        else:
            x = np.int32(a[q])
            y = np.int32(b[q])
        n_negative = np.int32(n_negative + (1 if (x < 0) | (y < 0) else 0))
        sa = np.int32(sa + x)
        sb = np.int32(sb + y)
        saa += np.int64(x) * x
        sbb += np.int64(y) * y
        sab += np.int64(x) * y
        sa_bpos = np.int32(sa_bpos + (x if y >= 1 else 0))
        sb_apos = np.int32(sb_apos + (y if x >= 1 else 0))
        sa_bthr = np.int32(sa_bthr + (x if y >= gate_b else 0))
        sb_athr = np.int32(sb_athr + (y if x >= gate_a else 0))
    if not general:
        n = np.int32(a.size)
    acc[N] += n
    acc[N_SATURATED] += a.size - n
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


def _add_float_run(acc, a, b, set_a, set_b, gate_a, gate_b, general):
    """Float gates are the thresholds themselves: b > 0 and b ≥ T_b (a NaN
    threshold gates nothing)."""
    off_a, floor_a, sat_a = set_a[OFFSET], set_a[FLOOR], set_a[SATURATION]
    off_b, floor_b, sat_b = set_b[OFFSET], set_b[FLOOR], set_b[SATURATION]
    # Pass 1: count and mean of the run.
    n = n_finite = 0
    sa = sb = 0.0
    for q in range(a.size):
        raw_a = np.float64(a[q])
        raw_b = np.float64(b[q])
        finite = (raw_a - raw_a == 0) & (raw_b - raw_b == 0)
        keep = finite & (raw_a < sat_a) & (raw_b < sat_b)
        n_finite += 1 if finite else 0
        n += 1 if keep else 0
        sa += max(raw_a - off_a, floor_a) if keep else 0.0
        sb += max(raw_b - off_b, floor_b) if keep else 0.0
    acc[N_NONFINITE] += a.size - n_finite
    acc[N_SATURATED] += n_finite - n
    if n == 0:
        return
    mean_a = sa / n
    mean_b = sb / n
    # Pass 2 (from cache): deviations, and the gated sums.
    n_negative = 0
    da_sum = db_sum = caa = cbb = cab = 0.0
    sa_bpos = sb_apos = sa_bthr = sb_athr = 0.0
    for q in range(a.size):
        raw_a = np.float64(a[q])
        raw_b = np.float64(b[q])
        keep = ((raw_a - raw_a == 0) & (raw_b - raw_b == 0) & (raw_a < sat_a)
                & (raw_b < sat_b))
        x = max(raw_a - off_a, floor_a) if keep else mean_a
        y = max(raw_b - off_b, floor_b) if keep else mean_b
        dx = x - mean_a
        dy = y - mean_b
        da_sum += dx
        db_sum += dy
        caa += dx * dx
        cbb += dy * dy
        cab += dx * dy
        n_negative += 1 if keep & ((x < 0) | (y < 0)) else 0
        sa_bpos += x if keep & (y > 0) else 0.0
        sb_apos += y if keep & (x > 0) else 0.0
        sa_bthr += x if keep & (y > 0) & (y >= gate_b) else 0.0
        sb_athr += y if keep & (x > 0) & (x >= gate_a) else 0.0
    # Corrected two-pass: remove the residual of the rounded mean.
    mean_a += da_sum / n
    mean_b += db_sum / n
    caa -= da_sum * da_sum / n
    cbb -= db_sum * db_sum / n
    cab -= da_sum * db_sum / n
    # Chan et al.: merge (n, mean, C) of the run into the key's.
    before = acc[N]
    total = before + n
    delta_a = mean_a - acc[MEAN_A]
    delta_b = mean_b - acc[MEAN_B]
    weight = before * n / total
    acc[MEAN_A] += delta_a * n / total
    acc[MEAN_B] += delta_b * n / total
    acc[CAA] += caa + delta_a * delta_a * weight
    acc[CBB] += cbb + delta_b * delta_b * weight
    acc[CAB] += cab + delta_a * delta_b * weight
    acc[N] = total
    acc[N_NEGATIVE] += n_negative
    acc[SA_BPOS] += sa_bpos
    acc[SB_APOS] += sb_apos
    acc[SA_BTHR] += sa_bthr
    acc[SB_ATHR] += sb_athr


@numba.njit(nogil=True, cache=True, fastmath={"reassoc"})
def _accumulate(channels, pairs, plane_start, run_start, run_stop, run_region,
                settings, gates, general, out):
    """Add one chunk's moment sums into ``out[region, slice, pair, field]``.

    channels : tuple of (S, P) arrays, one per channel, same dtype.
    pairs : (K, 2) channel indices of each pair.
    plane_start, run_start, run_stop, run_region : the chunk's runs
        (:class:`~streamcoloc.stats.regions.ChunkRegions`).
    settings : (C, 3) per channel offset, floor, saturation (accumulator type).
    gates : (K, 2) gates of sb_athr / sa_bthr (int32 exact, float64 float).
    general : False when no background and no saturation apply (fast loop).
    """
    n_slices = channels[0].shape[0]
    n_label_planes = plane_start.size - 1
    for k in range(pairs.shape[0]):
        ia = pairs[k, 0]
        ib = pairs[k, 1]
        for s in range(n_slices):
            plane = s if n_label_planes > 1 else 0
            a = channels[ia][s]
            b = channels[ib][s]
            for r in range(plane_start[plane], plane_start[plane + 1]):
                start, stop = run_start[r], run_stop[r]
                _add_run(out[run_region[r], s, k], a[start:stop], b[start:stop],
                         settings[ia], settings[ib], gates[k, 0], gates[k, 1], general)


@dataclass(frozen=True)
class MomentOptions:
    """Runtime options of the moment kernel (not compile-time: no new
    specializations).

    pairs : (K, 2) channel indices.
    rules : background and saturation (:class:`~.voxels.VoxelRules`).
    thresholds : (K, 2) (T_a, T_b) for tm1/tm2; NaN = not requested.
    """

    pairs: np.ndarray
    rules: VoxelRules
    thresholds: np.ndarray


@dataclass
class MomentRecord:
    """Mergeable moments: ``keys`` (R, 2) = (region id, slice) and either
    exact int64 words ``hi``/``lo`` of :data:`FIELDS`, or float64 ``values``
    of :data:`FLOAT_FIELDS`, each shaped (R, K, F)."""

    keys: np.ndarray
    hi: np.ndarray | None = None
    lo: np.ndarray | None = None
    values: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        return self.hi is not None


def chunk(channels: list[np.ndarray], regions: ChunkRegions, options: MomentOptions) -> MomentRecord:
    """Moment record of one chunk; ``channels`` are (S, P) blocks."""
    blocks = kernel_channels(channels)
    exact_path = blocks[0].dtype.kind in "iu"
    acc = np.int64 if exact_path else np.float64
    settings = options.rules.settings(len(blocks), exact_path)
    general = options.rules.general
    n_slices = blocks[0].shape[0]
    out = np.zeros((regions.ids.size, n_slices, len(options.pairs), len(FIELDS)), acc)
    _accumulate(blocks, options.pairs, regions.plane_start, regions.start, regions.stop,
                regions.region, settings, gates(options.thresholds, exact_path), general, out)
    return record_of(out, regions)


def record_of(out: np.ndarray, regions: ChunkRegions) -> MomentRecord:
    """The record of a chunk's sums ``out[region, slice, pair, field]``
    (int64 :data:`FIELDS`: exact; float64 :data:`FLOAT_FIELDS`), with a key
    for every (region, slice) that has voxels, measured or excluded."""
    keys = regions.keys(out.shape[1])
    out = out.reshape(len(keys), *out.shape[2:])
    present = (out[:, 0, N] + out[:, 0, N_NONFINITE] + out[:, 0, N_SATURATED]) > 0
    if out.dtype == np.int64:
        hi, lo = exact.split(out[present])
        return MomentRecord(keys[present], hi=hi, lo=lo)
    return MomentRecord(keys[present], values=out[present])


def gates(thresholds, exact_path: bool) -> np.ndarray:
    """(K, 2) gates (of T_a, T_b) in the kernel's convention: the thresholds
    for float data; for integer data max(⌈T⌉, 1), or never for NaN."""
    thresholds = np.asarray(thresholds, dtype=np.float64)
    if not exact_path:
        return thresholds
    never = 2**17  # above every 16-bit value
    finite = np.isfinite(thresholds)
    gates = np.clip(np.ceil(np.where(finite, thresholds, never)), 1, never)
    return gates.astype(np.int32)


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
    values = np.concatenate([r.values for r in records])
    merged = np.zeros((n_groups,) + values.shape[1:])
    np.add.at(merged, group, values)  # counts and plain sums
    count = values[..., N]
    total = merged[..., N]
    means = values[..., [MEAN_A, MEAN_B]]
    weighted = np.zeros((n_groups,) + means.shape[1:])
    np.add.at(weighted, group, means * count[..., None])
    with np.errstate(invalid="ignore", divide="ignore"):
        merged_means = np.where(total[..., None] > 0, weighted / np.maximum(total, 1)[..., None],
                                0.0)
    # Chan et al.: C = Σ C_i + Σ n_i (m_i − m)(m_i' − m')
    d = means - merged_means[group]
    between = np.stack([d[..., 0] ** 2, d[..., 1] ** 2, d[..., 0] * d[..., 1]], axis=-1)
    centered = np.zeros((n_groups,) + between.shape[1:])
    np.add.at(centered, group, values[..., [CAA, CBB, CAB]] + count[..., None] * between)
    merged[..., [MEAN_A, MEAN_B]] = merged_means
    merged[..., [CAA, CBB, CAB]] = centered
    return MomentRecord(unique, values=merged)


@dataclass(frozen=True)
class Moments:
    """Finalized moments: ``keys`` (R, 2) and float64 arrays of shape (R, K).

    ``caa``, ``cbb``, ``cab`` are the centered sums Σ(a−ā)², Σ(b−b̄)²,
    Σ(a−ā)(b−b̄), ``mean_a``, ``mean_b`` the means; the other fields are the
    raw sums and counts of :data:`FIELDS`.
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
        return Moments(record.keys, fields)
    fields = {name: record.values[..., i] for i, name in enumerate(FLOAT_FIELDS)}
    n, mean_a, mean_b = fields["n"], fields["mean_a"], fields["mean_b"]
    fields["sa"], fields["sb"] = n * mean_a, n * mean_b
    fields["saa"] = fields["caa"] + n * mean_a * mean_a
    fields["sbb"] = fields["cbb"] + n * mean_b * mean_b
    fields["sab"] = fields["cab"] + n * mean_a * mean_b
    return Moments(record.keys, fields)


def _to_float(values) -> np.ndarray:
    return np.asarray(values, dtype=object).astype(np.float64)


def statistic(options: MomentOptions) -> Statistic:
    """The moments as a :class:`~streamcoloc.stats.base.Statistic`."""
    return Statistic("moments", partial(chunk, options=options), combine, finalize,
                     by_region=True)

