"""Every channel pair of a 4-channel image, through the xarray accessor.

Makes a small 4-channel (c, z, y, x) image with named channels and a cell
label image stored as a coordinate, then measures every channel pair per cell
in one read with ``image.coloc.all_pairs``.  Channels, the slice axis and
the labels are all taken by name, so the dim order does not matter.

    python examples/all_pairs_xarray.py
"""

import numpy as np
import xarray as xr

import streamcoloc.accessor  # noqa: F401  (registers the .coloc accessor)

CHANNELS = ["DAPI", "GFP", "RFP", "Cy5"]


def make_image(seed=0, shape=(8, 256, 256)) -> xr.DataArray:
    """Four uint16 channels: GFP follows a punctate structure, RFP shares
    60 % of it, Cy5 is independent and DAPI marks the nuclei; 16 square
    cells are labelled in the coordinate ``cells``."""
    rng = np.random.default_rng(seed)
    z, y, x = shape
    puncta = rng.random((z, y // 8, x // 8)) < 0.3
    structure = np.kron(puncta * rng.uniform(0.5, 1, puncta.shape), np.ones((1, 8, 8)))
    other = np.kron((rng.random(puncta.shape) < 0.3) * 1.0, np.ones((1, 8, 8)))
    cells = np.zeros((y, x), np.int32)
    side = y // 4
    for k in range(16):
        r, c = divmod(k, 4)
        cells[r * side + 4:(r + 1) * side - 4, c * side + 4:(c + 1) * side - 4] = k + 1
    cells = np.broadcast_to(cells, shape)  # the same cells in every plane
    nuclei = (cells > 0) * 1.0
    signals = [nuclei, structure, 0.6 * structure + 0.4 * other, other]
    data = np.stack([rng.poisson(100 + 1000 * s) for s in signals]).astype(np.uint16)
    return xr.DataArray(data, dims=("c", "z", "y", "x"),
                        coords={"c": CHANNELS, "cells": (("z", "y", "x"), cells)})


def main() -> None:
    image = make_image().transpose("z", "y", "x", "c")  # any dim order works
    table = image.coloc.all_pairs("c", label_mask="cells",
                                  metrics=("pcc", "overlap", "regression"))
    gfp_rfp = table.xs(("GFP", "RFP"), level=("channel_a", "channel_b"))
    print(gfp_rfp[["n_pixels", "pcc", "overlap", "slope"]].head())

    per_pair = image.coloc.all_pairs("c", label_mask="cells", metrics=("pcc", "overlap"),
                                     as_xarray=True)
    print("\nmedian Pearson r over the 16 cells, per pair:")
    print(per_pair["pcc"].median("region").squeeze("slice").to_series().round(3))

    planes = image.coloc.pairwise("GFP", "RFP", label_mask="cells", slice_axis="z",
                                  metrics=("pcc",))
    print(f"\nGFP-RFP per cell and plane: {len(planes)} rows, "
          f"r from {planes['pcc'].min():.3f} to {planes['pcc'].max():.3f}")


if __name__ == "__main__":
    main()
