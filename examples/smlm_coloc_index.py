#!/usr/bin/env python
"""SMLM co-localization index (Willems & MacGillavry 2022, Sci Rep 12:4676).

1. The paper's Fig. 1c: 1000 uniform localizations per channel in a
   250 x 250 nm square, precision 15 nm, channel B shifted in x so that the
   squares overlap by 0, 25, 50, 75 and 100 %; 100 repeats.  The mean CI of
   channel A tracks the overlap.  Two readings of "precision 15 nm":
     * precision only (the 15 nm enters d = sqrt(MNND² + ε²), coordinates
       exact): this matches the paper's table (0.0067, 0.25, 0.51, 0.76, 1.00);
     * precision and 15 nm Gaussian noise on the coordinates: the blurred
       edges raise the 75 % case to about 0.81.
2. The real dual-colour microtubule data in ../shared/refdata (if present):
   channel 2 rotated by 0-180 degrees; the mean CI falls with the angle.
   Results and CI maps are written to ``smlm_example_out/``.

Run from the project root:  .venv/bin/python examples/smlm_coloc_index.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from streamcoloc.smlm import coloc_index, simulate  # noqa: E402

OVERLAPS = (0.0, 0.25, 0.5, 0.75, 1.0)
PAPER = (0.0067, 0.25, 0.51, 0.76, 1.00)
REPEATS = 100
REFDATA = Path(__file__).resolve().parents[2] / "shared" / "refdata" / "smlm_microtubules"


def fig1c(blur: bool) -> pd.DataFrame:
    """Mean and SD over repeats of channel A's mean CI, per overlap.  All
    repeats go into one table, one ROI each (d is computed per ROI)."""
    parts = [simulate("squares", overlap=overlap, blur=blur, seed=1000 * k + r)
             .assign(run=1000 * k + r)
             for k, overlap in enumerate(OVERLAPS) for r in range(REPEATS)]
    summary = coloc_index(pd.concat(parts, ignore_index=True), roi="run").summary
    a = summary[summary["channel"] == "A"]
    table = a.groupby(a["roi"] // 1000)["mean_ci"].agg(["mean", "std"])
    table.index = [f"{o:.0%}" for o in OVERLAPS]
    return table


def main() -> None:
    started = time.perf_counter()
    exact, blurred = fig1c(blur=False), fig1c(blur=True)
    table = pd.DataFrame({"paper": PAPER, "precision only": exact["mean"],
                          "(sd)": exact["std"], "+ coordinate noise": blurred["mean"],
                          "(sd) ": blurred["std"]}, index=exact.index)
    print(f"Fig. 1c: mean CI of channel A over {REPEATS} repeats per overlap "
          f"({time.perf_counter() - started:.1f} s)")
    print(table.round(4).to_string())
    print("The paper's table corresponds to 'precision only'.\n")

    if not REFDATA.exists():
        print(f"(real data not found at {REFDATA}; skipped)")
        return
    out = Path("smlm_example_out")
    print("Microtubules, channel 2 rotated: mean CI of channel 1 vs 2")
    for angle in (0, 2, 10, 45, 90, 180):
        result = coloc_index(REFDATA / f"microtubules_rot{angle}deg.csv")
        row = result.summary.set_index("channel").loc[1]
        print(f"  {angle:>3} deg: mean CI {row['mean_ci']:.3f} +- {row['sem_ci']:.3f}  "
              f"(d = {row['d']:.1f} nm, mean LD {row['mean_ld']:.2f})")
        result.write(out / f"rot{angle}deg", inputs={"angle": angle})
    print(f"results and CI maps in {out}/rot*deg/ (results.csv, localizations.parquet, "
          "plots/)")


if __name__ == "__main__":
    main()
