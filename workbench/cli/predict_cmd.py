"""`workbench predict RUN PATH... --out predictions.csv`: class probabilities and decisions for new images."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from tqdm import tqdm

from workbench.errors import WorkbenchError


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench predict`."""
    p = sub.add_parser("predict", help="predict new images (files, folders, zips) with a trained run",
                       description="Class probabilities and the decision for each image: binary runs decide at the "
                                   "run's threshold (chosen on its validation split, at the EER unless set with "
                                   "`workbench evaluate RUN --threshold`), others by the most probable class. "
                                   "Images that cannot be read are listed with their reason; the rest are predicted.")
    p.add_argument("run", help="run name (a folder under checkpoints/), or last for the newest run")
    p.add_argument("paths", nargs="+", metavar="PATH", help="image files, folders (searched recursively) or .zip files")
    p.add_argument("--out", default="predictions.csv",
                   help="CSV to write: file, decision, confidence, p_<class>..., error (default: predictions.csv)")
    p.add_argument("--threshold", type=_probability, metavar="P",
                   help="binary runs: decide the second class when its probability >= P, instead of the run's threshold")
    p.add_argument("--batch-size", type=int, default=64)
    p.set_defaults(func=run)


def _probability(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a probability between 0 and 1")
    return value


def run(args: argparse.Namespace) -> int:
    """Predict args.paths with the run, write the CSV, list unreadable images on stderr."""
    from workbench.predict import predict_paths
    from workbench.train.runs import resolve_run

    def progress(it: Iterable, total: int, desc: str) -> Iterable:
        return tqdm(it, total=total, desc=desc, unit="batch", file=sys.stderr)

    if args.batch_size < 1:
        raise WorkbenchError(f"--batch-size must be at least 1, got {args.batch_size}.")
    ws = args.workspace
    result = predict_paths(ws, resolve_run(ws, args.run), args.paths, threshold=args.threshold, batch_size=args.batch_size,
                           progress=progress)
    out = result.save_csv(args.out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, reason in result.bad:
        print(f"could not read {name}: {reason}", file=sys.stderr)
    print(result.summary())
    print(f"Wrote {out}")
    return 0
