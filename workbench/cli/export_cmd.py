"""`workbench export DATASET OUT`: labels as CSV / .xlsx (filename,label,tags,annotator) or an ImageFolder tree;
boxes as COCO JSON (OUT ending in .json)."""

from __future__ import annotations

import argparse

from workbench.labeling.export import FORMATS, write_export


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add `workbench export`."""
    p = subparsers.add_parser("export", help="export labels (CSV, .xlsx or an ImageFolder tree) or boxes (COCO .json)",
                              description=__doc__)
    p.add_argument("dataset")
    p.add_argument("out", help="a .csv or .xlsx file, a new folder for an ImageFolder tree, or a .json for boxes as COCO")
    p.add_argument("--format", choices=FORMATS, help="default: from the extension of OUT (none: imagefolder)")
    p.add_argument("--annotator", help="only this annotator's labels (or boxes)")
    p.add_argument("--resolved", action="store_true",
                   help="one row per image with the majority label (CSV/.xlsx; an ImageFolder tree uses majority "
                        "labels unless --annotator is given)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Write the dataset's labels to args.out."""
    out = write_export(args.workspace.store, args.dataset, args.out, args.format, args.annotator, args.resolved)
    print(f"Exported {args.dataset!r} to {out}")
    return 0
