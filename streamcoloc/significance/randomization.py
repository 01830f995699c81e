"""Costes' randomization test of Pearson's r: the public function and its result.

Two methods (see :func:`costes_randomization`): ``'tile'`` streams data of
any size and computes every iteration in one read (:mod:`.tiles`);
``'coloc2'`` replays Fiji Coloc 2's test on an in-memory region
(:mod:`.coloc2`).

Statistics of the null distribution (finite values only, n of them):

* ``p_value`` = (k + 1) / (n + 1), k = #{null ≥ observed}: the one-sided
  permutation p-value (Phipson & Smyth 2010), smallest 1/(n + 1);
* ``z_score`` = (observed − mean) / sd, sd the sample standard deviation
  (n − 1 in the denominator, as Coloc 2; napari-colocalization divides by n);
* ``coloc2_p_value`` = Φ(z), the normal CDF of the observed r against the
  null's mean and sample sd, clipped to [0, 1]: what Coloc 2 reports as
  "Costes P-Value" (``CostesSignificanceTest.calculateStatistics``).  It is
  the *quantile* of the observed r, so colocalization gives values near 1,
  not near 0.  Coloc 2 uses a 1.2e-7 approximation of erf; here it is exact.

References
----------
Costes, Daelemans, Cho, Dobbin, Pavlakis & Lockett (2004) Biophys. J.
86:3993.  Phipson & Smyth (2010) Stat. Appl. Genet. Mol. Biol. 9:39.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from math import floor, prod

import numpy as np
import pandas as pd
from scipy.special import ndtr

from ..analysis import ColocWarning
from ..engine.inputs import as_input, make_layout
from . import coloc2, tiles

METHODS = ("tile", "coloc2")
#: Defaults of Fiji Coloc 2's dialog (PSF 3 pixels, 10 randomizations).
COLOC2_PSF = 3.0
COLOC2_N_ITER = 10
DEFAULT_N_ITER = 200
#: Resolution formulas of JACoP (``JACoP_.calcResolution``), per microscope:
#: (lateral factor, axial factor) in r_xy = f_xy·λ/NA, r_z = f_z·λ/NA².
OPTICS = {"widefield": (0.61, 2.0), "confocal": (0.4, 1.4)}


@dataclass(frozen=True)
class RandomizationResult:
    """Outcome of :func:`costes_randomization`.

    observed : Pearson r of the data (measured voxels).
    null : the ``n_iter`` Pearson r of the randomized pairings (NaN where
        undefined); statistics below use its finite values.
    p_value, z_score, coloc2_p_value : see :mod:`.randomization`.
    null_mean, null_sd : mean and sample sd of the null.
    n_voxels : voxel pairs behind ``observed``.
    block_size : block edge per axis (voxels); ``sigma`` the smoothing σ
        (``'coloc2'`` only); ``tile_blocks`` blocks per tile (``'tile'``).
    seed : entropy of the root ``numpy.random.SeedSequence``; passing it as
        ``seed`` reproduces the run (also one made with ``seed=None``).
    """

    observed: float
    null: np.ndarray = field(repr=False)
    p_value: float
    z_score: float
    coloc2_p_value: float
    null_mean: float
    null_sd: float
    n_voxels: int
    n_iter: int
    method: str
    block_size: tuple
    seed: int
    tile_blocks: tuple | None = None
    sigma: tuple | None = None

    def to_frame(self) -> pd.DataFrame:
        """One row: every field but the null distribution."""
        row = {k: v for k, v in self.__dict__.items() if k != "null"}
        for key in ("block_size", "tile_blocks", "sigma"):
            row[key] = None if row[key] is None else "x".join(str(v) for v in row[key])
        row["seed"] = str(row["seed"])
        return pd.DataFrame([row])


def psf_from_optics(wavelength: float, na: float, pixel_size: float, z_step: float | None = None,
                    microscope: str = "widefield") -> tuple:
    """PSF size in voxels from the optics, as JACoP recommends its block size.

    Resolution (JACoP ``calcResolution``, same length unit as the sizes):
    widefield r_xy = 0.61·λ/NA, r_z = 2·λ/NA²; confocal r_xy = 0.4·λ/NA,
    r_z = 1.4·λ/NA².  Returns (r_xy/pixel_size,) * 2, preceded by
    r_z/z_step when ``z_step`` is given: (z, y, x) or (y, x) voxels.  Passed
    as ``psf``, the block edge is ⌊psf⌋ per axis, JACoP's
    ``(int)(resxy/xyCalib)`` and ``(int)(resz/zCalib)``.
    """
    if microscope not in OPTICS:
        raise ValueError(f"unknown microscope {microscope!r}; choose from {tuple(OPTICS)}")
    for name, value in (("wavelength", wavelength), ("na", na), ("pixel_size", pixel_size)):
        if not value > 0:
            raise ValueError(f"{name} must be > 0, got {value}")
    lateral, axial = OPTICS[microscope]
    xy = lateral * wavelength / na / pixel_size
    if z_step is None:
        return (xy, xy)
    if not z_step > 0:
        raise ValueError(f"z_step must be > 0, got {z_step}")
    return (axial * wavelength / na**2 / z_step, xy, xy)


def costes_randomization(a, b, mask=None, n_iter=None, block_size=None, psf=None, seed=None,
                         method="tile", *, tile_blocks=None) -> RandomizationResult:
    """Costes' randomization test: is Pearson's r above that of scrambled data?

    Channel b's (``'tile'``) or channel a's (``'coloc2'``) blocks are
    shuffled ``n_iter`` times and Pearson's r recomputed each time, giving a
    null distribution; the observed r is placed against its finite values:
    ``p_value`` = (k + 1)/(n + 1) with k = #{null ≥ observed} (one-sided),
    ``z_score`` = (r − mean)/sd with the sample sd (n − 1), and
    ``coloc2_p_value`` = Φ(z_score), Coloc 2's "Costes P-Value" (near 1 for
    colocalization).  Costes et al. (2004) Biophys. J. 86:3993.

    Parameters
    ----------
    a, b : numpy, dask, zarr or xarray arrays of one 1-D to 3-D shape.
    mask : bool array of that shape, optional
        Voxels to measure (all when None).
    n_iter : int, optional
        Randomizations: 200 for ``'tile'``, 10 (Coloc 2's default) for
        ``'coloc2'``.
    block_size : int or tuple, optional
        Block edge per axis in voxels; by default ⌊psf⌋ (at least 1).
    psf : float or tuple, optional
        PSF size in voxels (default 3, Coloc 2's default), or from the
        optics with :func:`psf_from_optics`.  ``'coloc2'`` also smooths
        with σ = psf.
    seed : int, optional
        Root of ``numpy.random.SeedSequence``; the same seed gives the same
        result on any chunking and scheduler (``'tile'``).
    method : ``'tile'`` or ``'coloc2'``
        ``'tile'`` (default, any size, one read): blocks permuted within
        fixed tiles, no smoothing; voxel pairs, masks and NaN handled as
        described in :mod:`streamcoloc.significance.tiles`.  ``'coloc2'``:
        Fiji Coloc 2's test (channel-a blocks shuffled over the mask's
        bounding box, mirrored edges, Gaussian smoothing σ = psf), in memory
        (see :mod:`streamcoloc.significance.coloc2`).
    tile_blocks : int or tuple, optional
        ``'tile'`` only: blocks per tile along each axis (default:
        :func:`~streamcoloc.significance.tiles.default_tile_blocks`).
        Larger tiles permute more freely; the result depends on it.

    Returns
    -------
    RandomizationResult
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {METHODS}")
    layout = make_layout([as_input(a, "a"), as_input(b, "b")], ["a", "b"],
                         None if mask is None else as_input(mask, "mask").data[0].astype(bool))
    a_data, b_data = layout.sources[0][0], layout.sources[1][0]
    if not 1 <= a_data.ndim <= 3:
        raise ValueError(f"costes_randomization takes 1-D to 3-D images, got {a_data.ndim}-D "
                         "(select one channel, time point or plane first)")
    ndim = a_data.ndim
    if n_iter is None:
        n_iter = COLOC2_N_ITER if method == "coloc2" else DEFAULT_N_ITER
    if int(n_iter) != n_iter or n_iter < 1:
        raise ValueError(f"n_iter must be a positive integer, got {n_iter}")
    n_iter = int(n_iter)
    block, psf = _block_and_psf(block_size, psf, ndim, method)
    sequence = np.random.SeedSequence(seed)
    if method == "coloc2":
        observed, null, n_voxels = coloc2.coloc2_randomization(
            a_data, b_data, layout.labels, block, psf, n_iter, np.random.default_rng(sequence))
        return _result(observed, null, n_voxels, method, block, sequence.entropy, sigma=psf)
    if tile_blocks is None:
        tile_blocks = tiles.default_tile_blocks(a_data.shape, block)
    tile_blocks = _per_axis(tile_blocks, ndim, "tile_blocks", int)
    if any(t < 1 for t in tile_blocks):
        raise ValueError(f"tile_blocks must be ≥ 1, got {tile_blocks}")
    record = tiles.tile_pass(a_data, b_data, layout.labels, block, tile_blocks, n_iter,
                             sequence.entropy)
    r = tiles.pearson_from_record(record)
    return _result(r[0], r[1:], int(record[0, 0]), method, block, sequence.entropy,
                   tile_blocks=tile_blocks)


def _block_and_psf(block_size, psf, ndim: int, method: str):
    """Block edge and PSF per axis: the PSF defaults to 3 (Coloc 2), or to
    the block size for 'coloc2' (Coloc 2 has one number for both); the
    block defaults to ⌊psf⌋."""
    if psf is None and block_size is not None and method == "coloc2":
        psf = block_size
    psf = _per_axis(COLOC2_PSF if psf is None else psf, ndim, "psf", float)
    if any(not p > 0 for p in psf):
        raise ValueError(f"psf must be > 0, got {psf}")
    if block_size is None:
        block_size = tuple(max(1, floor(p)) for p in psf)
    block = _per_axis(block_size, ndim, "block_size", int)
    if any(s < 1 for s in block) or prod(block) > tiles.MAX_BLOCK_VOXELS:
        raise ValueError(f"block_size {block} must be ≥ 1 and hold at most "
                         f"{tiles.MAX_BLOCK_VOXELS} voxels")
    return block, psf


def _per_axis(value, ndim: int, name: str, kind) -> tuple:
    values = np.atleast_1d(np.asarray(value, dtype=float))
    if values.size == 1:
        values = np.repeat(values, ndim)
    if values.size != ndim or not np.isfinite(values).all():
        raise ValueError(f"{name} needs one value or one per axis ({ndim}), got {value!r}")
    if kind is int and not np.all(values == np.round(values)):
        raise ValueError(f"{name} must be whole numbers of voxels, got {value!r}")
    return tuple(kind(v) for v in values)


def null_statistics(observed: float, null: np.ndarray) -> dict:
    """p_value, z_score, coloc2_p_value, null_mean, null_sd (module docstring)."""
    finite = null[np.isfinite(null)]
    nan = float("nan")
    if not np.isfinite(observed) or finite.size == 0:
        return {"p_value": nan, "z_score": nan, "coloc2_p_value": nan, "null_mean": nan,
                "null_sd": nan}
    mean = float(finite.mean())
    sd = float(finite.std(ddof=1)) if finite.size > 1 else nan
    z = (observed - mean) / sd if sd > 0 else nan
    return {"p_value": (int(np.count_nonzero(finite >= observed)) + 1) / (finite.size + 1),
            "z_score": z, "coloc2_p_value": float(np.clip(ndtr(z), 0.0, 1.0)),
            "null_mean": mean, "null_sd": sd}


def _result(observed, null, n_voxels, method, block, entropy, **extra) -> RandomizationResult:
    observed = float(observed)
    null = np.asarray(null, dtype=float)
    if not np.isfinite(observed):
        warnings.warn("Pearson's r of the data is undefined (empty region or a constant "
                      "channel): the test results are NaN", ColocWarning, stacklevel=3)
    elif np.isnan(null).any():
        warnings.warn(f"{int(np.isnan(null).sum())} of {null.size} randomized r are undefined "
                      "(a constant pairing); the statistics use the others", ColocWarning,
                      stacklevel=3)
    return RandomizationResult(observed=observed, null=null, n_voxels=n_voxels, n_iter=null.size,
                               method=method, block_size=tuple(block), seed=entropy,
                               **null_statistics(observed, null), **extra)
