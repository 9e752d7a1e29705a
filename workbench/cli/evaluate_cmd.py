"""`workbench evaluate RUN`: test metrics, confusion matrix and ROC of a run (mAP, AP per class and box outcomes of a
detection run), saved next to it."""

from __future__ import annotations

import argparse
import json

from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run

# the core evaluates with torch and scikit-learn: imported when the command runs, not when the CLI starts
evaluation = lazy_import("workbench.evaluate.evaluate")
report = lazy_import("workbench.evaluate.report")
label_issues = lazy_import("workbench.review.label_issues")
leaks = lazy_import("workbench.evaluate.leaks")
errors = lazy_import("workbench.review.run_errors")
loaded_runs = lazy_import("workbench.train.runs")
run_cache = lazy_import("workbench.review.run_cache")
detection = lazy_import("workbench.detect.evaluate")
box_errors = lazy_import("workbench.detect.errors")
comparison = lazy_import("workbench.detect.compare")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench evaluate` to the CLI's subcommands."""
    p = sub.add_parser("evaluate", help="evaluate a run's best checkpoint on its test split",
                       description="Score a trained run on the test images it was trained against: accuracy, "
                                   "macro precision/recall/F1, ROC AUC, EER and its threshold, confusion matrix; "
                                   "then how many test images have a duplicate among its train images (leaks), "
                                   "and the metrics without them. "
                                   "Writes checkpoints/RUN/evaluation_test.json and plots in plots_checkpoints/RUN/. "
                                   "A detection run: mAP@0.5 and COCO mAP@[.5:.95] with bootstrap intervals over the "
                                   "test images, AP per class, precision-recall curves, and each box's outcome at a "
                                   "score chosen on val (checkpoints/RUN/detection_test.json, detections_test.csv).")
    p.add_argument("run", help="run name (a folder under checkpoints/), or 'last' for the newest run")
    p.add_argument("--split", default="test", choices=["test", "val"])
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--by", choices=["tag", "quality", "confusion", "size"],
                   help="also print error rate and count per category of this grouping (detection runs: tag or "
                        "size, the boxes' outcomes per group)")
    p.add_argument("--label-errors", type=int, default=0, metavar="N",
                   help="also list the N strongest suspected label errors of the run's dataset")
    p.add_argument("--threshold", metavar="RULE",
                   help="binary runs: choose the decision threshold on the validation split by RULE: eer, fpr=0.01 "
                        "(false-positive rate at most 1%%) or fnr=0.05; stored in checkpoints/RUN/threshold.json "
                        "(default: the stored one, chosen at the EER the first time)")
    p.add_argument("--compare", nargs="+", metavar="RUN",
                   help="detection runs: also compare RUN with these (evaluated) runs on the test images they share: "
                        "mAP with 95%% bootstrap intervals and each run's paired difference from RUN")
    p.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Evaluate, print the report (or JSON), then the per-category table and label suspects when asked."""
    run = args.workspace.run(args.run)
    if run.is_detector:
        return run_detection(run, args)
    for flag, given in (("--by size", args.by == "size"), ("--compare", args.compare)):
        if given:
            raise WorkbenchError(f"{flag} is for detection runs; {run.name!r} is a classifier.")
    ev = evaluation.evaluate_run(run, split=args.split, which=args.checkpoint, threshold=args.threshold)
    leaked = leaks.run_leaks(run, args.split)
    if args.json:
        print(json.dumps({**ev.to_dict(), "leaks": leaks.leaks_dict(leaked)}, indent=2))
    else:
        print(report.evaluation_text(ev) + "\n\n" + "\n".join(leaks.leak_lines(leaked)))
    if args.by:
        print_error_rates(run, args.by, args.split)
    if args.label_errors:
        print_label_errors(run, args.checkpoint, args.label_errors)
    return 0


def run_detection(run: Run, args: argparse.Namespace) -> int:
    """Evaluate a detection run: the report (or JSON) and, with --by, the boxes' outcomes per size or tag."""
    for flag, given in (("--threshold", args.threshold), ("--label-errors", args.label_errors)):
        if given:
            raise WorkbenchError(f"{flag} is for classification runs; {run.name!r} is a detector.")
    if args.by in ("quality", "confusion"):
        raise WorkbenchError(f"--by {args.by} is for classification runs; a detection run groups by tag or size.")
    ev = detection.evaluate_detector(run, split=args.split, which=args.checkpoint)
    print(json.dumps(ev.to_dict(), indent=2) if args.json else detection.report(ev))
    if args.by:
        tags = run.ws.store.image_tags(run.config.dataset).rename(columns={"tag": "category"})
        table = box_errors.outcome_counts(detection.load_matches(run, args.split), tags, by=args.by)
        print(f"\nBoxes by {args.by} at score >= {ev.score_threshold:g}:\n" + table.to_string(index=False))
    if args.compare:
        others = [run.ws.run(name) for name in args.compare]
        print("\nDetection runs on their shared test images (95% bootstrap intervals over the images; Δ: paired):")
        print(comparison.compare_detectors([run, *others], args.split).to_string(index=False))
    return 0


def print_error_rates(run: Run, grouping: str, split: str) -> None:
    """Error rate and count per category of `grouping`: the table the Evaluate tab shows beside its gallery."""
    table = errors.run_errors(run, grouping, split).table
    print(f"\nError rate per {grouping} category:\n" + table.to_string(index=False, float_format="%.3f"))


def print_label_errors(run: Run, which: str, n: int) -> None:
    """The `n` strongest suspected label errors of the run's dataset."""
    sus = (label_issues.run_label_errors(run, run_cache.RunCache()) if which == "best"  # saved, shared with the report
           else label_issues.suspected_label_errors(loaded_runs.load_run(run, which), run.ws.store))
    print(f"\nSuspected label errors ({len(sus)} found, strongest first):")
    print(sus.drop(columns="path").head(n).to_string(index=False, float_format="%.3f") if len(sus) else "  none")
