"""The same per-cell analysis on a 2-worker dask.distributed LocalCluster.

Writes a small two-channel OME-Zarr sample with a cell label image, then runs
``analyse_pairwise`` while a ``dask.distributed.Client`` is active (every
chunk task runs in one of two worker processes), and again on the default
threads.  For integer data the results are identical on every scheduler.

On a real cluster, connect with ``Client("tcp://HOST:PORT")`` instead; the
data must then be on storage every worker can read.  The cluster is started
under ``if __name__ == "__main__":`` because worker processes import this
module.

    python examples/cluster_run.py [OUT_DIR]
"""

import sys
import time
from pathlib import Path

import pandas as pd
from distributed import Client, LocalCluster

import streamcoloc
from streamcoloc.samples import make_sample_volume


def per_cell(sample: dict) -> pd.DataFrame:
    image = streamcoloc.open_image(sample["image"])    # lazy, dims c, z, y, x
    cells = streamcoloc.open_image(sample["labels"])   # lazy, dims z, y, x
    return streamcoloc.analyse_pairwise(
        image.sel(c="GFP"), image.sel(c="RFP"), label_mask=cells, channel_a="GFP",
        channel_b="RFP", metrics=("pcc", "overlap", "mcc", "regression"))


def main(out: Path) -> None:
    sample = make_sample_volume(out / "cells.ome.zarr", shape=(16, 256, 256),
                                chunks=(8, 128, 128), n_regions=20)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster, Client(cluster) as client:
        print(f"cluster: {len(client.scheduler_info()['workers'])} workers, "
              f"dashboard {client.dashboard_link}")
        started = time.perf_counter()
        on_cluster = per_cell(sample)
        print(f"on the cluster: {len(on_cluster)} cells in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    on_threads = per_cell(sample)
    print(f"on threads:     {len(on_threads)} cells in {time.perf_counter() - started:.1f} s")

    print(on_cluster[["region", "n_pixels", "pcc", "overlap", "m1", "m2", "tm1", "tm2"]].head())
    identical = on_cluster.equals(on_threads)
    print(f"cluster and threads give identical tables: {identical}")
    if not identical:
        sys.exit("the cluster and thread results differ")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("example_out"))
