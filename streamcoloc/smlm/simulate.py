"""Simulated two-channel localization tables after Willems & MacGillavry (2022).

``squares``   Fig. 1c: n uniform localizations per channel in a square of
              side ``size``; channel B shifted in +x so that a fraction
              ``overlap`` of the squares overlap (shift = (1 − overlap)·size).
              ``precision`` enters as the precision column (hence d); with
              ``blur=True`` it is also added as Gaussian noise to the
              coordinates, which blurs the square's edges (the paper's table
              matches ``blur=False``).
``clusters``  circular clusters (radius ``radius``) in a field: channel A
              emitters uniform in each cluster, channel B emitters Gaussian
              around the cluster centres (σ = ``enrichment``: small = B
              enriched in the cluster centre, large = spread out); each
              emitter blinks a Poisson(``blinks``) + 1 times, each blink a
              localization displaced by N(0, precision) per axis; plus a
              fraction ``background`` of uniform localizations per channel.

Every table is in the standard schema: ``x``, ``y`` (nm), ``precision``
(nm), ``channel`` ("A", "B"), ``frame``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SCENARIOS = ("squares", "clusters")


def simulate(scenario: str = "squares", **options) -> pd.DataFrame:
    """A simulated table: ``simulate("squares", overlap=0.5, seed=1)``, or
    ``simulate("clusters", ...)`` (see :func:`squares`, :func:`clusters`)."""
    if scenario not in SCENARIOS:
        raise ValueError(f"unknown scenario {scenario!r}; choose one of {SCENARIOS}")
    return squares(**options) if scenario == "squares" else clusters(**options)


def _table(xs, ys, precision, rng) -> pd.DataFrame:
    parts = []
    for name, x, y in zip(("A", "B"), xs, ys):
        parts.append(pd.DataFrame({"x": x, "y": y, "precision": float(precision),
                                   "channel": name,
                                   "frame": rng.integers(0, 10_000, x.size)}))
    return pd.concat(parts, ignore_index=True)


def squares(n: int = 1000, size: float = 250.0, overlap: float = 1.0, precision: float = 15.0,
            blur: bool = False, seed=None) -> pd.DataFrame:
    """Fig. 1c of the paper: two uniform squares overlapping by ``overlap``."""
    rng = np.random.default_rng(seed)
    shift = (1.0 - overlap) * size
    xs = [rng.uniform(0, size, n), rng.uniform(shift, shift + size, n)]
    ys = [rng.uniform(0, size, n), rng.uniform(0, size, n)]
    if blur:
        xs = [x + rng.normal(0, precision, n) for x in xs]
        ys = [y + rng.normal(0, precision, n) for y in ys]
    return _table(xs, ys, precision, rng)


def clusters(n_clusters: int = 20, field: float = 5000.0, radius: float = 100.0,
             emitters: int = 30, enrichment: float = 50.0, blinks: float = 3.0,
             precision: float = 15.0, background: float = 0.1, seed=None) -> pd.DataFrame:
    """Clusters of A (uniform discs) with B enriched around their centres."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(radius, field - radius, (n_clusters, 2))
    # channel A: uniform in discs (sqrt for uniform area density)
    r = radius * np.sqrt(rng.uniform(0, 1, (n_clusters, emitters)))
    angle = rng.uniform(0, 2 * np.pi, (n_clusters, emitters))
    a = centres[:, None, :] + np.stack([r * np.cos(angle), r * np.sin(angle)], axis=-1)
    b = centres[:, None, :] + rng.normal(0, enrichment, (n_clusters, emitters, 2))
    xs, ys = [], []
    for emitters_xy in (a.reshape(-1, 2), b.reshape(-1, 2)):
        repeats = rng.poisson(blinks, len(emitters_xy)) + 1
        points = np.repeat(emitters_xy, repeats, axis=0)
        points = points + rng.normal(0, precision, points.shape)
        n_background = int(round(background / (1 - background) * len(points))) \
            if background < 1 else len(points)
        points = np.concatenate([points, rng.uniform(0, field, (n_background, 2))])
        xs.append(points[:, 0])
        ys.append(points[:, 1])
    return _table(xs, ys, precision, rng)
