"""Outputs: the results folder (tables, provenance, plots)."""

from .results import write_results

__all__ = ["write_results"]
