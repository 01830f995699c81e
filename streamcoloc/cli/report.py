"""``streamcoloc report``: one self-contained HTML page for a results folder."""

from __future__ import annotations

from ..reports.html import MAX_TABLE_ROWS, write_report


def add_parser(commands) -> None:
    """Add the ``report`` subcommand to an argparse subparsers object."""
    report = commands.add_parser(
        "report", help="write one self-contained HTML page for a results folder",
        description="Writes RESULTS_DIR/report.html: the results table with Pearson's r and "
                    "Manders' overlap R described on CoLocalizer's linguistic scale (Zinchuk "
                    "et al. 2013, Sci Rep 3:1365), the thresholds and their method, the "
                    "conventions, every PNG of plots/ and the provenance of run.json. The "
                    "page needs no network, files or JavaScript: images are embedded.")
    report.add_argument("results_dir", help="results folder written by 'streamcoloc pixel', "
                                            "'streamcoloc smlm' or write_results")
    report.add_argument("--out", help="HTML file to write (default: RESULTS_DIR/report.html)")
    report.add_argument("--max-rows", type=int, default=MAX_TABLE_ROWS,
                        help=f"rows of the results table shown (default {MAX_TABLE_ROWS}; the "
                             "page says how many more are in results.csv)")
    report.set_defaults(run=run_report)


def run_report(args) -> int:
    path = write_report(args.results_dir, args.out, max_rows=args.max_rows)
    print(f"report written to {path}")
    return 0
