"""Numba kernels of the SMLM co-localization index: tiles and cell lists.

A tile's points are sorted into a regular grid of cubic cells (a *cell
list*); the points of one cell, and of a run of cells along x, are then
contiguous, so a neighbour search reads a few contiguous slices.  2D data
are 3D data in one grid plane whose z array is empty (*planar*: no z read,
the 2D distance loops), so every kernel has a single specialization:
float64 coordinates, int64 indices and labels.  Inner loops run over
slices (indices known >= 0): Numba then skips negative-index wraparound
and the counting loops vectorize.

Conventions shared by all kernels
---------------------------------
* Distances are Euclidean; a neighbour counts when ``|p_i - p_j|² <= r²``
  (inclusive, as the paper's "within d").
* Kernels see one cell list at a time, of one ROI: the nearest-neighbour
  kernels one channel's points, :func:`count_within` every channel's, one
  grid per channel (label) in the same list.
* A point is never its own neighbour; duplicates (other points at the same
  coordinates) are neighbours at distance 0.

No dask here: these functions see numpy arrays of one tile.
"""

from __future__ import annotations

import numba
import numpy as np


@numba.njit(nogil=True, cache=True)
def _tile_span(edges, lo, hi):
    """First and last interval ``[edges[k], edges[k + 1]]`` of a sorted edge
    array that meets ``[lo, hi]`` (clipped to the valid intervals)."""
    last = edges.size - 2
    first = min(max(np.searchsorted(edges, lo, side="left") - 1, 0), last)
    stop = min(max(np.searchsorted(edges, hi, side="right") - 1, 0), last)
    return first, stop


@numba.njit(nogil=True, cache=True)
def _own_interval(edges, value):
    last = edges.size - 2
    return min(max(np.searchsorted(edges, value, side="right") - 1, 0), last)


@numba.njit(nogil=True, cache=True)
def _visit_tiles(x, y, x_edges, y_edges, col_start, halo, next_core, next_halo, rows, only,
                 fill):
    """Count (``fill`` False: ``next_core[t]``, ``next_halo[t]`` += 1 per
    pair; ``only[i]`` = the tile of a point that has no halo copy, else -1)
    or place (``rows[next_*[t]] = i``, then += 1: at once where ``only[i]``
    is a tile) the (point, tile) pairs of :func:`assign_tiles`."""
    for i in range(x.size):
        if fill and only[i] >= 0:  # most points: no other tile's halo
            rows[next_core[only[i]]] = i
            next_core[only[i]] += 1
            continue
        own_col = _own_interval(x_edges, x[i])
        col_lo, col_hi = _tile_span(x_edges, x[i] - halo, x[i] + halo)
        pairs, own = 0, -1
        for c in range(col_lo, col_hi + 1):
            column = y_edges[col_start[c]:col_start[c + 1]]
            own_row = _own_interval(column, y[i]) if c == own_col else -1
            row_lo, row_hi = _tile_span(column, y[i] - halo, y[i] + halo)
            for r in range(row_lo, row_hi + 1):
                tile = col_start[c] - c + r
                cursor = next_core if r == own_row else next_halo
                if fill:
                    rows[cursor[tile]] = i
                cursor[tile] += 1
                pairs += 1
                own = tile if r == own_row else own
        if not fill:
            only[i] = own if pairs == 1 else -1


@numba.njit(nogil=True, cache=True)
def assign_tiles(x, y, x_edges, y_edges, col_start, halo):
    """Every tile a point belongs to: its own (*core*) and each tile whose box,
    widened by ``halo`` on every side, contains it (a *halo copy*).

    Tiles are columns ``x_edges[c] <= x < x_edges[c + 1]`` cut into rows by
    ``y_edges[col_start[c]:col_start[c + 1]]``; tile ids run column by column
    (``col_start[c] - c + row``).  Points beyond the outer edges belong to the
    outer tiles.  Returns ``(rows, start, n_core)``: the points of tile t are
    ``rows[start[t]:start[t + 1]]``, its own ``n_core[t]`` points first (in
    input order), then its halo copies.  Counted first, then placed (no
    arrays grown in the loop; the points far from every other tile's box
    are placed from the tile the count found).
    """
    n_tiles = col_start[-1] - (x_edges.size - 1)
    n_core = np.zeros(n_tiles, np.int64)
    n_halo = np.zeros(n_tiles, np.int64)
    only = np.empty(x.size, np.int64)
    _visit_tiles(x, y, x_edges, y_edges, col_start, halo, n_core, n_halo, n_core[:0], only,
                 False)
    start = np.zeros(n_tiles + 1, np.int64)
    start[1:] = np.cumsum(n_core + n_halo)
    next_core = start[:-1].copy()
    next_halo = start[:-1] + n_core
    rows = np.empty(start[-1], np.int64)
    _visit_tiles(x, y, x_edges, y_edges, col_start, halo, next_core, next_halo, rows, only, True)
    return rows, start, n_core


@numba.njit(nogil=True, cache=True)
def _cell_of(value, lower, cell, n):
    return min(max(np.int64((value - lower) / cell), 0), n - 1)


@numba.njit(nogil=True, cache=True)
def build_cell_list(x, y, z, label, n_labels, lower, cell, dims):
    """Counting sort of the points into cells of side ``cell`` starting at
    ``lower`` (3,), ``dims`` (3,) cells per axis (points outside are clipped
    into the outer cells), one grid per label (0 to ``n_labels - 1``).  Cell
    ``(ix, iy, iz)`` of label c has number ``c * n_cells + (iz * ny + iy) *
    nx + ix``; ``z`` empty: planar points (z = 0, ``dims[2]`` = 1).
    Returns ``(order, start, xs, ys, zs)``: the points of cell k are
    ``order[start[k]:start[k + 1]]``, and ``xs[k] = x[order[k]]`` (the same
    for y, and z unless planar: ``zs`` is then empty)."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    n_cells = nx * ny * nz
    planar = z.size == 0
    number = np.empty(x.size, np.int64)
    start = np.zeros(n_labels * n_cells + 1, np.int64)
    for i in range(x.size):
        iz = 0 if planar else _cell_of(z[i], lower[2], cell, nz)
        k = label[i] * n_cells + (iz * ny + _cell_of(y[i], lower[1], cell, ny)) * nx + \
            _cell_of(x[i], lower[0], cell, nx)
        number[i] = k
        start[k + 1] += 1
    for k in range(n_labels * n_cells):
        start[k + 1] += start[k]
    fill = start[:-1].copy()
    order = np.empty(x.size, np.int64)
    for i in range(x.size):
        order[fill[number[i]]] = i
        fill[number[i]] += 1
    xs, ys, zs = np.empty(x.size), np.empty(x.size), np.empty(z.size)
    for k in range(x.size):  # sequential writes
        xs[k], ys[k] = x[order[k]], y[order[k]]
        if not planar:
            zs[k] = z[order[k]]
    return order, start, xs, ys, zs


@numba.njit(nogil=True, cache=True, inline="always")
def _nearest_in_range(xs, ys, zs, planar, lo, hi, px, py, pz, self_index, best2):
    """Smallest of ``best2`` and the squared distances from (px, py, pz) to
    the points at sorted positions ``lo:hi`` other than ``self_index`` (the
    slices before and after it: no test per point)."""
    if lo <= self_index < hi:
        best2 = _min_distance2(xs, ys, zs, planar, lo, self_index, px, py, pz, best2)
        lo = self_index + 1
    return _min_distance2(xs, ys, zs, planar, lo, hi, px, py, pz, best2)


@numba.njit(nogil=True, cache=True, inline="always")
def _min_distance2(xs, ys, zs, planar, lo, hi, px, py, pz, best2):
    """Smallest of ``best2`` and the squared distances from (px, py, pz) to
    the points at sorted positions ``lo:hi`` (a loop over slices: their
    indices are known >= 0, no wraparound check)."""
    vx, vy = xs[lo:hi], ys[lo:hi]
    if planar:
        for j in range(vx.size):
            dx, dy = vx[j] - px, vy[j] - py
            best2 = min(best2, dx * dx + dy * dy)
    else:
        vz = zs[lo:hi]
        for j in range(vx.size):
            dx, dy, dz = vx[j] - px, vy[j] - py, vz[j] - pz
            best2 = min(best2, dx * dx + dy * dy + dz * dz)
    return best2


@numba.njit(nogil=True, cache=True, inline="always")
def _nearest_in_plane_ring(xs, ys, zs, planar, start, plane, nx, ny, cx, cy, r, full, px, py,
                           pz, self_index, best2):
    """:func:`_nearest_in_range` over the cells of one z-plane (cell numbers
    from ``plane``) at Chebyshev distance r from column (cx, cy) in xy: the
    whole (2r + 1)² square when ``full``, else its border only."""
    for iy in range(max(cy - r, 0), min(cy + r, ny - 1) + 1):
        row = plane + iy * nx
        if full or abs(iy - cy) == r:  # a whole row of the square
            best2 = _nearest_in_range(xs, ys, zs, planar, start[row + max(cx - r, 0)],
                                      start[row + min(cx + r, nx - 1) + 1], px, py, pz,
                                      self_index, best2)
        else:  # only the two end cells of the row
            for ix in (cx - r, cx + r):
                if 0 <= ix < nx:
                    best2 = _nearest_in_range(xs, ys, zs, planar, start[row + ix],
                                              start[row + ix + 1], px, py, pz, self_index,
                                              best2)
    return best2


@numba.njit(nogil=True, cache=True, inline="always")
def _inner_distance(value, lower, cell, index, n):
    """Distance from ``value`` (in cell ``index`` of ``n`` along one axis)
    to the faces of its cell that have cells beyond (inf when neither has;
    0 when rounding put the value just outside its cell)."""
    offset = value - (lower + index * cell)
    return max(min(offset if index > 0 else np.inf,
                   cell - offset if index < n - 1 else np.inf), 0.0)


@numba.njit(nogil=True, cache=True)
def nearest_other(xs, ys, zs, start, lower, cell, dims, queries, margin):
    """Distance from each query to the nearest *other* point of its label.

    ``xs, ys, zs`` are one ROI's points in cell order, one grid per label
    (channel; see :func:`build_cell_list`; ``zs`` empty: planar); ``queries``
    are positions in that order, each searched in its own label's grid.
    Rings of cells (Chebyshev distance r = 0, 1, ... from the query's cell)
    are searched until the next ring cannot hold a closer point (best <=
    r * cell + the query's distance to the nearest face of its own cell
    with cells beyond), every cell was seen, or a point was found and the
    rings seen reach beyond ``margin[q]`` (the distance beyond which the
    caller may miss points).  A ring is the border of a square in the query's
    z-plane and in the planes r away, whole squares in the planes between
    (planar points: one plane, the 2D loop).  Returns the distances (inf
    when there is no other point); a distance <= margin is exact, a larger
    one an upper bound.
    """
    nx, ny, nz = dims[0], dims[1], dims[2]
    n_cells = nx * ny * nz
    n_labels = (start.size - 1) // n_cells
    planar = zs.size == 0
    widest = max(nx, max(ny, nz))
    out = np.empty(queries.size, np.float64)
    for q in range(queries.size):
        i = queries[q]
        label = 0
        while label + 1 < n_labels and i >= start[(label + 1) * n_cells]:
            label += 1
        px, py, pz = xs[i], ys[i], 0.0 if planar else zs[i]
        cx = _cell_of(px, lower[0], cell, nx)
        cy = _cell_of(py, lower[1], cell, ny)
        cz = 0 if planar else _cell_of(pz, lower[2], cell, nz)
        inner = _inner_distance(px, lower[0], cell, cx, nx)
        inner = min(inner, _inner_distance(py, lower[1], cell, cy, ny))
        if not planar:
            inner = min(inner, _inner_distance(pz, lower[2], cell, cz, nz))
        best2 = np.inf
        for r in range(widest):
            if planar:
                best2 = _nearest_in_plane_ring(xs, ys, zs, True, start, label * n_cells, nx, ny,
                                               cx, cy, r, r == 0, px, py, pz, i, best2)
            else:
                for iz in range(max(cz - r, 0), min(cz + r, nz - 1) + 1):
                    best2 = _nearest_in_plane_ring(xs, ys, zs, False, start,
                                                   label * n_cells + iz * ny * nx, nx, ny, cx,
                                                   cy, r, abs(iz - cz) == r, px, py, pz, i,
                                                   best2)
            reach = r * cell + inner  # every point this close has been seen
            if best2 <= reach * reach or (reach >= margin[q] and best2 < np.inf):
                break
        out[q] = np.sqrt(best2)
    return out


@numba.njit(nogil=True, cache=True)
def count_within(xs, ys, zs, start, lower, cell, dims, queries, reach, radius2):
    """Points of each label within that label's radius of each query:
    ``counts[q, c]`` = number of points j of label c with ``|p_q - p_j|² <=
    radius2[c]`` (inclusive; ``radius2[c] < 0``: none), where query q is the
    point at position ``queries[q]`` of the list; it counts itself in its
    own label (the caller subtracts it).  The list holds the points of every
    channel of one ROI in cell order, one grid per label (see
    :func:`build_cell_list`; ``start`` has ``radius2.size`` grids; ``zs``
    empty: planar); label c is searched ``reach[c]`` cells of side ``cell``
    around the query's cell (``reach[c] * cell`` >= its radius).  Queries in
    ascending positions keep the searched cells in cache."""
    nx, ny, nz = dims[0], dims[1], dims[2]
    n_cells = nx * ny * nz
    planar = zs.size == 0
    counts = np.zeros((queries.size, radius2.size), np.int64)
    for q in range(queries.size):
        i = queries[q]
        px, py, pz = xs[i], ys[i], 0.0 if planar else zs[i]
        cx = _cell_of(px, lower[0], cell, nx)
        cy = _cell_of(py, lower[1], cell, ny)
        cz = 0 if planar else _cell_of(pz, lower[2], cell, nz)
        for c in range(radius2.size):
            r2, k = radius2[c], reach[c]
            if r2 < 0:
                continue
            x_lo, x_hi = max(cx - k, 0), min(cx + k, nx - 1)
            n = 0
            for iz in range(max(cz - k, 0), min(cz + k, nz - 1) + 1):
                for iy in range(max(cy - k, 0), min(cy + k, ny - 1) + 1):
                    row = c * n_cells + (iz * ny + iy) * nx
                    lo, hi = start[row + x_lo], start[row + x_hi + 1]
                    vx, vy = xs[lo:hi], ys[lo:hi]
                    if planar:
                        for j in range(vx.size):
                            dx, dy = vx[j] - px, vy[j] - py
                            n += 1 if dx * dx + dy * dy <= r2 else 0
                    else:
                        vz = zs[lo:hi]
                        for j in range(vx.size):
                            dx, dy, dz = vx[j] - px, vy[j] - py, vz[j] - pz
                            n += 1 if dx * dx + dy * dy + dz * dz <= r2 else 0
            counts[q, c] = n
    return counts


@numba.njit(nogil=True, cache=True)
def local_density_sums(group, counts, radius, exclude_self, n_groups):
    """LD of each localization and exact integer sums for the summary.

    ``counts[i, c]`` are localization i's neighbours of channel c within
    c's radius, itself included (:func:`count_within`); its own channel is
    ``group[i] % n`` (n = ``counts.shape[1]``) and its search radius
    ``radius[group[i]]`` (< 0: undefined, nothing counted, itself neither).
    LD_i = the own count less itself, plus 1 unless ``exclude_self``.
    Returns ``(ld, ld_sum, n_sum, n2_sum)``: per group g, ``ld_sum[g]`` =
    Σ LD, and for every other channel c ``n_sum[g, c]`` = Σ counts[:, c]
    and ``n2_sum[g, c]`` = Σ counts[:, c]² over the rows of g (own
    channel: 0)."""
    n_channels = counts.shape[1]
    ld = np.empty(group.size, np.int64)
    ld_sum = np.zeros(n_groups, np.int64)
    n_sum = np.zeros((n_groups, n_channels), np.int64)
    n2_sum = np.zeros((n_groups, n_channels), np.int64)
    for i in range(group.size):
        g = group[i]
        own = g % n_channels
        ld[i] = counts[i, own] - (1 if radius[g] >= 0 else 0) + (0 if exclude_self else 1)
        ld_sum[g] += ld[i]
        for c in range(n_channels):
            if c != own:
                n_sum[g, c] += counts[i, c]
                n2_sum[g, c] += counts[i, c] * counts[i, c]
    return ld, ld_sum, n_sum, n2_sum


@numba.njit(nogil=True, cache=True)
def nearest_by_sweep(qx, qy, qz, q_group, q_id, bound, x, y, z, group, ids):
    """``min(bound, distance to the nearest point of the same group with
    another id)`` per query: points sorted by x are swept outwards from the
    query's x in both directions until the x gap alone exceeds the best
    distance so far.  For the few localizations whose nearest neighbour may
    lie beyond a tile's halo (``bound``: a distance known to be reachable)."""
    out = np.empty(qx.size)
    for q in range(qx.size):
        best2 = bound[q] * bound[q] if np.isfinite(bound[q]) else np.inf
        middle = np.searchsorted(x, qx[q])
        for step in (1, -1):
            j = middle if step == 1 else middle - 1
            while 0 <= j < x.size:
                dx = x[j] - qx[q]
                if dx * dx > best2:
                    break
                if group[j] == q_group[q] and ids[j] != q_id[q]:
                    dy, dz = y[j] - qy[q], z[j] - qz[q]
                    best2 = min(best2, dx * dx + dy * dy + dz * dz)
                j += step
        out[q] = np.sqrt(best2)
    return out
