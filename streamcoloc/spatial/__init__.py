"""Spatial diagnostics, streamed: Van Steensel's CCF, colocalization maps,
Li's ICA and the cytofluorogram."""

from .ccf import CCFResult, van_steensel_ccf
from .cytofluorogram import Cytofluorogram, cytofluorogram
from .ica import ICAResult, li_ica
from .maps import ColocMap, coloc_map

__all__ = ["CCFResult", "ColocMap", "Cytofluorogram", "ICAResult", "coloc_map",
           "cytofluorogram", "li_ica", "van_steensel_ccf"]
