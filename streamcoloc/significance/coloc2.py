"""Coloc 2's Costes significance test, as Fiji's Coloc 2 runs it.

Replays ``sc.fiji.coloc.algorithms.CostesSignificanceTest`` (Fiji
Colocalisation_Analysis) on an in-memory region:

1. The bounding box of the mask (the whole image without a mask) is cut into
   cubes of edge ``block`` (the PSF in pixels), starting at the box's first
   voxel.  Coloc 2's loops always end with one more block per axis (the
   loop stops at x > width, then adds a block when x > width), so there are
   ⌊L/block⌋ + 1 blocks along an axis of box length L, even when block
   divides L; blocks reaching past the image read channel 1 mirrored at the
   image edge (``Views.extendMirrorSingle``: the edge voxel not repeated).
2. Each iteration shuffles **channel 1's** blocks and writes block π(j) of
   channel 1 at the place of block j into an image of zeros (what falls
   outside the image is lost).
3. The shuffled image is smoothed by a Gaussian of σ = PSF along every axis
   (imglib2 ``Gauss.inFloat``: float32, kernel radius ⌊3σ + 0.5⌋,
   mirror-single boundary) and stored back in the input type (integer types
   round half away from zero).
4. r = Pearson(smoothed shuffled channel 1, channel 2) over the mask.

The observed r is the Pearson of the unsmoothed channels over the mask.
Random numbers come from numpy (PCG64), not Java's ``Collections.shuffle``:
the distribution is Coloc 2's, the draws are not.

Memory: the region read is the mask's bounding box widened by the Gaussian
radius and the extra block, clipped to the image; it is held in memory with
a few float copies, so it may hold at most :data:`MAX_VOXELS` voxels.
"""

from __future__ import annotations

from math import prod

import dask.array as da
import numpy as np
from scipy import ndimage

#: Largest region (voxels) the in-memory replay accepts: about 2 GiB of
#: working copies for 16-bit data.
MAX_VOXELS = 2**27
#: Gaussian kernel radius in σ (imglib2: ⌊3σ + 0.5⌋ voxels).
TRUNCATE = 3.0


def mirror_single(index: np.ndarray, length: int) -> np.ndarray:
    """Index into [0, length) of a position on the mirror-single extension
    (… c b | a b c … | b a …: edge voxels not repeated)."""
    index = np.asarray(index, dtype=np.int64)
    if length == 1:
        return np.zeros_like(index)
    period = 2 * length - 2
    folded = np.mod(index, period)
    return np.where(folded >= length, period - folded, folded)


def bounding_box(mask: da.Array | None, shape) -> tuple:
    """((start, stop) per axis) of the True voxels of ``mask`` (one read),
    the whole image without a mask."""
    if mask is None:
        return tuple((0, n) for n in shape)
    axes = range(mask.ndim)
    profiles = da.compute(*[mask.any(axis=tuple(i for i in axes if i != d)) for d in axes])
    if not profiles[0].any():
        raise ValueError("the mask is empty: no voxel to measure")
    return tuple((int(np.argmax(p)), int(len(p) - np.argmax(p[::-1]))) for p in profiles)


def region(box, shape, block, sigma) -> tuple:
    """(start, stop) per axis of the voxels the test reads: the blocks'
    mirrored sources and every voxel within the Gaussian radius of the box."""
    spans = []
    for (start, stop), n, size, s in zip(box, shape, block, sigma):
        n_blocks = (stop - start) // size + 1
        sources = mirror_single(np.arange(start, start + n_blocks * size), n)
        radius = int(TRUNCATE * s + 0.5)
        spans.append((min(int(sources.min()), max(start - radius, 0)),
                      max(int(sources.max()) + 1, min(stop + radius, n))))
    return tuple(spans)


class Coloc2Shuffler:
    """Coloc 2's shuffled-and-smoothed channel 1 over one in-memory region.

    ``a`` is channel 1 over ``span`` (the :func:`region`) of an image of
    ``shape``; ``box`` the mask's bounding box (image coordinates).
    """

    def __init__(self, a: np.ndarray, span, box, shape, block, sigma):
        self.dtype = a.dtype
        self.sigma = tuple(float(s) for s in sigma)
        self.block = tuple(block)
        self.n_blocks = [(stop - start) // size + 1 for (start, stop), size in zip(box, block)]
        # Channel 1 on the block grid (mirrored past the image), blocks first.
        sources = [mirror_single(np.arange(start, start + n * size), length) - lo
                   for (start, _), n, size, length, (lo, _) in
                   zip(box, self.n_blocks, block, shape, span)]
        extended = a[np.ix_(*sources)]
        split = extended.reshape([v for n, size in zip(self.n_blocks, block) for v in (n, size)])
        ndim = a.ndim
        self.blocks = split.transpose(list(range(0, 2 * ndim, 2)) + list(range(1, 2 * ndim, 2))) \
            .reshape(prod(self.n_blocks), *block)
        # Where the grid lands in the region (the part inside the image).
        self.target = tuple(slice(start - lo, min(start + n * size, hi) - lo)
                            for (start, _), n, size, (lo, hi) in
                            zip(box, self.n_blocks, block, span))
        self.region_shape = a.shape

    def shuffled(self, order: np.ndarray) -> np.ndarray:
        """Block ``order[j]`` written at block j's place, in zeros."""
        ndim = len(self.block)
        grid = self.blocks[order].reshape(*self.n_blocks, *self.block)
        image = grid.transpose([i for d in range(ndim) for i in (d, ndim + d)]).reshape(
            [n * size for n, size in zip(self.n_blocks, self.block)])
        out = np.zeros(self.region_shape, dtype=self.dtype)
        out[self.target] = image[tuple(slice(0, t.stop - t.start) for t in self.target)]
        return out

    def smoothed(self, order: np.ndarray) -> np.ndarray:
        """The shuffled image after imglib2's Gauss.inFloat, in the input type."""
        values = ndimage.gaussian_filter(self.shuffled(order).astype(np.float32), self.sigma,
                                         mode="mirror", truncate=TRUNCATE, output=np.float32)
        if self.dtype.kind in "iu":
            values = np.trunc(values + np.copysign(np.float32(0.5), values))
        return values.astype(self.dtype)


def pearson(x: np.ndarray, y: np.ndarray) -> float:
    """Pearson r of two 1-D float arrays (two-pass, float64); NaN when
    fewer than 2 values or a constant channel."""
    if x.size < 2:
        return float("nan")
    dx = x - x.mean()
    dy = y - y.mean()
    denominator = np.sqrt(np.dot(dx, dx) * np.dot(dy, dy))
    return float(np.dot(dx, dy) / denominator) if denominator > 0 else float("nan")


def coloc2_randomization(a: da.Array, b: da.Array, mask: da.Array | None, block, sigma,
                         n_iter: int, rng: np.random.Generator):
    """(observed r, null r array, n voxels) of Coloc 2's test (module docstring)."""
    if a.ndim not in (2, 3):
        raise ValueError(f"method='coloc2' takes 2-D or 3-D images (Coloc 2), got {a.ndim}-D")
    shape = a.shape
    box = bounding_box(mask, shape)
    span = region(box, shape, block, sigma)
    size = prod(hi - lo for lo, hi in span)
    if size > MAX_VOXELS:
        raise ValueError(f"method='coloc2' holds its region in memory: {size} voxels is more "
                         f"than {MAX_VOXELS}; use method='tile' or a smaller mask")
    window = tuple(slice(lo, hi) for lo, hi in span)
    parts = [a[window], b[window]] + ([] if mask is None else [mask[window]])
    a_r, b_r, *rest = da.compute(*parts)
    inside = rest[0].astype(bool) if rest else _box_mask(box, span)
    for name, values in (("a", a_r), ("b", b_r)):
        if values.dtype.kind == "f" and not np.isfinite(values).all():
            raise ValueError(f"channel {name} holds NaN or Inf; method='coloc2' (as Coloc 2) "
                             "needs finite values (method='tile' excludes them per pair)")
    y = b_r[inside].astype(np.float64)
    observed = pearson(a_r[inside].astype(np.float64), y)
    shuffler = Coloc2Shuffler(a_r, span, box, shape, block, sigma)
    null = np.array([pearson(shuffler.smoothed(rng.permutation(len(shuffler.blocks)))[inside]
                             .astype(np.float64), y) for _ in range(n_iter)])
    return observed, null, int(np.count_nonzero(inside))


def _box_mask(box, span) -> np.ndarray:
    inside = np.zeros([hi - lo for lo, hi in span], dtype=bool)
    inside[tuple(slice(start - lo, stop - lo) for (start, stop), (lo, _) in zip(box, span))] = True
    return inside
