"""The engine: plans passes and runs them on dask (no metric formulas here)."""
