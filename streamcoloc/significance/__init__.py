"""Significance tests of colocalization: Costes' randomization test.

:func:`costes_randomization` places Pearson's r of two channels against the
r of block-scrambled pairings, streamed tile by tile (``method='tile'``) or
as Fiji Coloc 2 does it (``method='coloc2'``);
:func:`streamcoloc.reports.plots.plot_randomization` plots the outcome.
"""

from .randomization import RandomizationResult, costes_randomization, psf_from_optics

__all__ = ["RandomizationResult", "costes_randomization", "psf_from_optics"]
