"""`workbench predict RUN PATH... --out predictions.csv`: class probabilities and decisions for new images, or for a
detection run one row per box found (and the images with their boxes drawn, --draw)."""

from __future__ import annotations

import argparse
import sys
from typing import Iterable

from tqdm import tqdm

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import

# predicting needs torch: imported when the command runs, not when the CLI starts
prediction = lazy_import("workbench.predict.predict")
detection = lazy_import("workbench.detect.predict")
detectors = lazy_import("workbench.detect.model")


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
    p.add_argument("--batch-size", type=int, help="images per batch (default: 64; a detection run: 8)")
    p.add_argument("--min-score", type=_probability, metavar="S",
                   help="detection runs: keep boxes scored at least S (default: the score chosen on val when the run "
                        "was evaluated, else 0.3); the CSV has one row per box: file, box, label, score, x, y, w, h")
    p.add_argument("--draw", metavar="DIR", help="detection runs: also write each image with its boxes drawn into DIR")
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
    def progress(it: Iterable, total: int, desc: str) -> Iterable:
        return tqdm(it, total=total, desc=desc, unit="batch", file=sys.stderr)

    if args.batch_size is not None and args.batch_size < 1:
        raise WorkbenchError(f"--batch-size must be at least 1, got {args.batch_size}.")
    run = args.workspace.run(args.run)
    if run.is_detector:
        return run_detection(run, args, progress)
    for flag, given in (("--min-score", args.min_score), ("--draw", args.draw)):
        if given is not None:
            raise WorkbenchError(f"{flag} is for detection runs; {run.name!r} is a classifier.")
    result = prediction.predict_paths(run, args.paths, threshold=args.threshold, batch_size=args.batch_size or 64,
                                      progress=progress)
    out = result.save_csv(args.out)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for name, reason in result.bad:
        print(f"could not read {name}: {reason}", file=sys.stderr)
    print(result.summary())
    print(f"Wrote {out}")
    return 0


def run_detection(run, args: argparse.Namespace, progress) -> int:
    """Detect objects in args.paths: one CSV row per box, the images drawn into --draw, unreadable files on stderr."""
    if args.threshold is not None:
        raise WorkbenchError(f"--threshold is for binary classifiers; {run.name!r} is a detector (use --min-score).")
    min_score = args.min_score if args.min_score is not None else detection.run_min_score(run)
    result = detection.detect_paths(detectors.load_detector(run.folder), args.paths, min_score=min_score,
                                    batch_size=args.batch_size or 8, progress=progress)
    out = result.save_csv(args.out)
    for name, reason in result.bad:
        print(f"could not read {name}: {reason}", file=sys.stderr)
    print(result.summary())
    print(f"Wrote {out}")
    if args.draw:
        print(f"Drew {len(detection.save_drawn(result, args.draw))} images with their boxes into {args.draw}")
    return 0
