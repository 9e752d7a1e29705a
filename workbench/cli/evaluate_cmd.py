"""`workbench evaluate RUN`: test metrics, confusion matrix and ROC of a run, saved next to it."""

from __future__ import annotations

import json

import pandas as pd

from workbench.store import Store


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a run's best checkpoint on its test split",
                       description="Score a trained run on the test images it was trained against: accuracy, "
                                   "macro precision/recall/F1, ROC AUC, EER and its threshold, confusion matrix. "
                                   "Writes checkpoints/RUN/evaluation_test.json and plots in plots_checkpoints/RUN/.")
    p.add_argument("run", help="run name (a folder under checkpoints/), or 'last' for the newest run")
    p.add_argument("--split", default="test", choices=["test", "val"])
    p.add_argument("--checkpoint", default="best", choices=["best", "last"])
    p.add_argument("--by", choices=["tag", "quality", "confusion"],
                   help="also print error rate and count per category of this grouping")
    p.add_argument("--label-errors", type=int, default=0, metavar="N",
                   help="also list the N strongest suspected label errors of the run's dataset")
    p.add_argument("--threshold", metavar="RULE",
                   help="binary runs: choose the decision threshold on the validation split by RULE: eer, fpr=0.01 "
                        "(false-positive rate at most 1%%) or fnr=0.05; stored in checkpoints/RUN/threshold.json "
                        "(default: the stored one, chosen at the EER the first time)")
    p.add_argument("--json", action="store_true", help="print the evaluation as JSON")
    p.set_defaults(func=run)


def run(args) -> int:
    from workbench.evaluate import evaluate_run, load_predictions
    from workbench.train.runs import resolve_run

    args.run = resolve_run(args.run)
    store = Store()
    ev = evaluate_run(args.run, store, split=args.split, which=args.checkpoint, threshold=args.threshold)
    if args.json:
        print(json.dumps(ev.to_dict(), indent=2))
    else:
        m = ev.metrics
        print(f"{ev.run} · {ev.checkpoint} checkpoint · {ev.n} {ev.split} images")
        for key in ("accuracy", "precision", "recall", "f1", "roc_auc", "eer", "eer_threshold", "loss"):
            value = m.get(key)
            print(f"  {key:14s} {'n/a' if value is None or value != value else f'{value:.4f}'}")
        cm = pd.DataFrame(ev.confusion, index=[f"true {c}" for c in ev.classes], columns=ev.classes)
        print("\nConfusion matrix (rows true, columns predicted):\n" + cm.to_string())
        if ev.operating_point:
            print_operating_point(ev.operating_point)
        for note in ev.notes:
            print(f"note: {note}")
        print("\nWrote:\n  " + "\n  ".join(ev.files))
    if args.by:
        from workbench.review import categories, category_table
        from workbench.train.runs import load_config

        preds = load_predictions(args.run, args.split)
        cats = categories(args.by, preds, ev.classes, store, load_config(args.run).dataset)
        table = category_table(preds, cats)
        print(f"\nError rate per {args.by} category:\n" + table.to_string(index=False, float_format="%.3f"))
    if args.label_errors:
        from workbench.review.label_issues import suspected_label_errors
        from workbench.train.runs import load_run

        sus = suspected_label_errors(load_run(args.run, args.checkpoint), store)
        print(f"\nSuspected label errors ({len(sus)} found, strongest first):")
        print(sus.drop(columns="path").head(args.label_errors).to_string(index=False, float_format="%.3f")
              if len(sus) else "  none")
    return 0


def print_operating_point(op: dict) -> None:
    from workbench.evaluate.threshold import operating_point_table

    print(f"\nDecision threshold: P({op['positive']}) >= {op['threshold']:.4f}, chosen by {op['rule']} on "
          f"{op['n']} {op['split']} images; metrics at argmax and at the threshold:")
    print(operating_point_table(op).to_string(index=False, float_format="%.4f"))
