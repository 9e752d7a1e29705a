"""`workbench train`: train one run, or compare fine-tuning with feature extraction over seeds."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from workbench.cli.mlflow_option import add_mlflow_argument
from workbench.errors import WorkbenchError
from workbench.lazy import lazy_import
from workbench.run import Run, list_runs
from workbench.train.config import RunConfig, Setting, config_from, random_features_caveat, settings
from workbench.workspace import Workspace

if TYPE_CHECKING:  # annotations only: loop below
    from workbench.train.loop import RunResult

# training imports torch: when the command trains, not when the CLI starts (`--list`, `--help`, other commands)
C = lazy_import("workbench.train.compare")
distributed = lazy_import("workbench.train.distributed")
tasks = lazy_import("workbench.train.tasks")  # the classifier's loop, or a detector's (torchvision's detectors)
comparison = lazy_import("workbench.evaluate.comparison")  # scipy: imported when a comparison is printed
stems = lazy_import("workbench.train.stems")  # builds a model on the meta device (timm): only when training


def register(sub) -> None:
    """The `train` subcommand: --list, the run options (one per RunConfig setting), --compare-methods, --seeds."""
    p = sub.add_parser("train", help="train a classifier (image labels) or a detector (boxes) (or --compare-methods)",
                       description="Train on the labelled images of DATASET; writes checkpoints/<run>/ and "
                                   "plots_checkpoints/<run>/. Ctrl-C stops after the current batch, keeping checkpoints.")
    p.add_argument("--list", action="store_true", help="list runs and exit")
    add_run_options(p)
    p.add_argument("--compare-methods", action="store_true",
                   help="train both methods × --seeds seeds (from --seed on) on one split (--split-seed, default the "
                        "first seed), evaluate each on the test split, fit three baselines on the split (logistic "
                        "regression and an RBF SVM on pixels, a tuned linear probe on the embeddings); print the test "
                        "metrics with 95%% intervals over seeds, paired differences and a verdict")
    p.add_argument("--seeds", type=int, default=3, help="seeds for --compare-methods (default %(default)s; fewer than 3 "
                                                        "gives wide intervals and a warning)")
    p.add_argument("--resample-splits", action="store_true",
                   help="--compare-methods: a new split for each seed (repeated hold-out) instead of one split for all")
    add_mlflow_argument(p)
    p.set_defaults(func=run)


def add_run_options(p: argparse.ArgumentParser) -> None:
    """One argument per RunConfig setting (config.settings()): its type, default, choices and help come from there;
    the dataset (the one setting without a default) is positional, a setting that is on by default gets --no-NAME."""
    for s in settings():
        if s.option is None:
            p.add_argument(s.name, nargs="?", help=s.help)
        elif s.type is bool:
            p.add_argument(s.option, dest=s.name, action="store_false" if s.default else "store_true",
                           help=f"no {s.help}" if s.default else s.help)
        else:
            p.add_argument(s.option, dest=s.name, metavar=s.flag.lstrip("-").upper() if s.flag else None,
                           type=s.type, default=s.default, choices=s.choices or None, help=_help(s))


def _help(s: Setting) -> str:
    return f"{s.help} (default: %(default)s)" if s.default not in ("", None) else s.help


def config_from_args(a: argparse.Namespace) -> RunConfig:
    """The run the parsed arguments describe (not validated yet)."""
    return config_from({s.name: getattr(a, s.name) for s in settings()})


def run(a: argparse.Namespace) -> int:
    """List runs, or train (or compare) and report; exit code 0, 1 when a run failed, 130 when cancelled."""
    ws = a.workspace
    if a.list:
        for name in list_runs(ws):
            r = Run(ws, name)  # listed: its folder and config are there
            print(f"{name}\t{r.status}\tbest epoch {r.best_epoch}\tval loss {r.best_val_loss}")
        return 0
    if not a.dataset:
        print("error: give a DATASET to train on (or --list)", file=sys.stderr)
        return 2
    cfg = config_from_args(a).validate()
    caveat = random_features_caveat(cfg.method, cfg.weights, comparing=a.compare_methods)
    if caveat:
        print(f"warning: {caveat}", file=sys.stderr)
    warning = stems.map_warning(replace(cfg, method="feature_extract") if a.compare_methods else cfg)
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: (cancel.set(), print("\nstopping after this batch...", file=sys.stderr)))
    name = None
    try:
        if a.compare_methods and tasks.pick_task(ws.store, cfg) == "detection":
            raise WorkbenchError("--compare-methods compares classification methods with pixel and embedding "
                                 "baselines; train detectors one run at a time (--method finetune or feature_extract).")
        if a.compare_methods:
            name, planned = C.plan(cfg, a.seeds, a.name or None, resample=a.resample_splits)
            results = C.compare_methods(ws, cfg, a.seeds, _printer(), cancel, planned=planned, name=name)
        else:
            results = [tasks.train(ws, cfg, _printer(), cancel)]
    finally:
        signal.signal(signal.SIGINT, previous)
        distributed.teardown()
    if not distributed.master_process():  # torchrun's other ranks: rank 0 reports
        return 0
    _report(ws, results, name)
    statuses = {r.status for r in results}
    return 130 if "cancelled" in statuses else 1 if "failed" in statuses else 0


def _printer():
    """A progress callback printing one line per epoch (not per batch) to stderr."""
    last = {"msg": ""}

    def progress(frac: float, msg: str) -> None:
        if "batch" not in msg and msg != last["msg"]:
            print(f"[{frac:5.1%}] {msg}", file=sys.stderr, flush=True)
            last["msg"] = msg

    return progress


def _report(ws: Workspace, results: list[RunResult], name: str | None) -> None:
    for r in results:
        print(f"{r.run}: {r.status}. {r.message} Best epoch {r.best_epoch} (val loss "
              f"{'-' if r.best_val_loss is None else f'{r.best_val_loss:.4f}'}). Checkpoints in {r.run_dir}")
    curves = C.curves_folder(ws, results, name)
    if curves:
        print(f"curves: {curves / 'curves.html'} and curves.png")
    saved = ws.plot_folder(name) / comparison.COMPARISON_FILE if name else None
    if saved and saved.is_file():
        print(f"\nComparison {name} (saved in {saved}):")
        print(comparison.Comparison.load(saved.parent).text())
