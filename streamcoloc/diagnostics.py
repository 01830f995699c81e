"""The spatial diagnostics of a channel pair, asked for by name.

``analyse_pairwise(..., diagnostics=("cytofluorogram", "ccf", "ica",
"randomization"))`` computes them for the pair over the image, restricted to
the labelled voxels (label ≠ 0) when a label image of the image's shape is
given; they are not split per region or slice.  Each is its function's
result with that function's defaults:

* ``cytofluorogram``: :func:`streamcoloc.cytofluorogram` (256 bins, Costes
  thresholds);
* ``ccf``: :func:`streamcoloc.van_steensel_ccf` (±20 voxels along the last axis);
* ``ica``: :func:`streamcoloc.li_ica` (256 bins);
* ``randomization``: :func:`streamcoloc.costes_randomization` (tile method,
  200 iterations, seed 0 so that a run can be repeated).
"""

from __future__ import annotations

from .significance import costes_randomization
from .spatial import cytofluorogram, li_ica, van_steensel_ccf

DIAGNOSTICS = {
    "cytofluorogram": cytofluorogram,
    "ccf": van_steensel_ccf,
    "ica": li_ica,
    "randomization": lambda a, b, mask=None: costes_randomization(a, b, mask=mask, seed=0),
}


def check(names) -> tuple:
    """The requested names, validated."""
    names = (names,) if isinstance(names, str) else tuple(names or ())
    unknown = sorted(set(names) - set(DIAGNOSTICS))
    if unknown:
        raise ValueError(f"unknown diagnostics {unknown}; choose from {tuple(DIAGNOSTICS)}")
    return names


def run(names, a, b, mask=None) -> dict:
    """``{name: result}`` of each requested diagnostic of ``a`` against ``b``."""
    return {name: DIAGNOSTICS[name](a, b, mask=mask) for name in check(names)}
