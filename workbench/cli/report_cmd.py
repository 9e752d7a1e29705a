"""`workbench report SET`: the study of a dataset in one self-contained HTML file (opens offline, without Workbench)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from workbench.lazy import lazy_import

report = lazy_import("workbench.report")  # plotly, torch (Grad-CAM), sklearn: imported when the command runs


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench report`."""
    p = sub.add_parser("report", help="write the study of a dataset and its runs as one offline HTML file",
                       description="Sections, each when it has data: data (counts, label provenance, agreement, "
                                   "duplicates), categories (collages), methods (the comparison), the chosen run "
                                   "(curves, test metrics, confusion matrix, ROC, operating point), failures (errors "
                                   "per category with Grad-CAM, suspected label errors), reproduce (commands, "
                                   "versions, data hashes). Reads what evaluations saved; evaluates a run only when "
                                   "its saved evaluation is missing or stale.")
    p.add_argument("dataset", help="dataset name")
    which = p.add_mutually_exclusive_group()
    which.add_argument("--runs", nargs="+", metavar="RUN", default=[],
                       help="the runs to report on (default: every run trained on the dataset)")
    which.add_argument("--comparison", metavar="NAME",
                       help="a saved comparison's runs (workbench train --compare-methods; its folder in "
                            "plots_checkpoints/)")
    p.add_argument("--run", dest="chosen", metavar="RUN",
                   help="the run looked at closely (default: the study's run with the lowest best validation loss)")
    p.add_argument("--out", type=Path, metavar="FILE.html", help="where to write (default: <dataset>-report.html)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Resolve the study, write the report, say where."""
    study = report.open_study(args.workspace, args.dataset, runs=args.runs, comparison=args.comparison,
                              chosen=args.chosen)
    out = args.out or Path(f"{args.dataset}-report.html")

    def progress(frac: float, what: str) -> None:
        print(f"[{frac:5.1%}] {what}", file=sys.stderr, flush=True)

    written = report.write_report(study, out, progress)
    runs = f"{len(study.runs)} run{'s' if len(study.runs) != 1 else ''}"
    print(f"report of {args.dataset} ({runs}) written to {written.path} ({written.path.stat().st_size / 1e6:.1f} MB)")
    for line in written.warnings:
        print(f"  warn: {line}")
    return 0
