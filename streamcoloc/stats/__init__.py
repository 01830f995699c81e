"""Statistics and their Numba chunk kernels (no dask here).

Each statistic is a chunk / combine / finalize triple over a record of
mergeable sufficient statistics; :mod:`.metrics` turns finalized records into
coefficients.
"""
