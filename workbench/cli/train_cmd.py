"""`workbench train`: train one run, or compare fine-tuning with feature extraction over seeds."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from workbench.store import Store
from workbench.train import compare as C
from workbench.train import distributed
from workbench.train.config import METHODS, OPTIMIZERS, SCHEDULES, Augment, RunConfig, parse_grouping
from workbench.train.loop import train
from workbench.train.runs import list_runs, load_summary


def register(sub) -> None:
    p = sub.add_parser("train", help="train a classifier on a labelled dataset (or --compare-methods)",
                       description="Train on the labelled images of DATASET; writes checkpoints/<run>/ and "
                                   "plots_checkpoints/<run>/. Ctrl-C stops after the current batch, keeping checkpoints.")
    p.add_argument("dataset", nargs="?", help="dataset name (see `workbench import`)")
    p.add_argument("--list", action="store_true", help="list runs and exit")
    d = RunConfig("x")
    p.add_argument("--method", choices=METHODS, default=d.method)
    p.add_argument("--backbone", default=d.backbone, help="any timm model name (default %(default)s)")
    p.add_argument("--weights", default=d.weights,
                   help="offline (bundled EfficientNet-Lite0), timm (download), none, or a .pth/.safetensors file")
    p.add_argument("--group", default="", help="class grouping, e.g. 'cigs=tobacco,pipes=tobacco,other=other'")
    p.add_argument("--input-size", type=int, default=d.input_size)
    p.add_argument("--epochs", type=int, default=d.epochs)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--lr", type=float, default=d.lr,
                   help="learning rate (default %(default)s; feature extraction's head learns at 10x this)")
    p.add_argument("--weight-decay", type=float, default=d.weight_decay)
    p.add_argument("--schedule", choices=SCHEDULES, default=d.schedule)
    p.add_argument("--no-flip", action="store_true", help="no random horizontal flip")
    p.add_argument("--rotation", type=float, default=d.augment.rotation, help="max rotation in degrees (0: off)")
    p.add_argument("--crop-scale", type=float, default=d.augment.crop_scale,
                   help="random resized crop keeps at least this fraction of the area (1: off)")
    p.add_argument("--no-normalize", action="store_true", help="skip ImageNet mean/std normalisation")
    p.add_argument("--seed", type=int, default=0, help="seed of the split, the init and the batches")
    p.add_argument("--name", default="", help="run name (default: <dataset>-<method>-<backbone>-s<seed>-<time>)")
    p.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:1 ...")
    p.add_argument("--compare-methods", action="store_true",
                   help="train both methods × --seeds seeds, plus two linear baselines on each seed's split (logistic "
                        "regression on pixels, a tuned linear probe on the embeddings); print val metrics as mean ± std")
    p.add_argument("--seeds", type=int, default=3, help="seeds for --compare-methods (default %(default)s)")
    p.set_defaults(func=run)


def config_from_args(a: argparse.Namespace) -> RunConfig:
    return RunConfig(
        dataset=a.dataset, method=a.method, backbone=a.backbone, weights=a.weights, grouping=parse_grouping(a.group),
        input_size=a.input_size, epochs=a.epochs, batch_size=a.batch_size, optimizer=a.optimizer, lr=a.lr,
        weight_decay=a.weight_decay, schedule=a.schedule, seed=a.seed, name=a.name, device=a.device,
        augment=Augment(flip=not a.no_flip, rotation=a.rotation, crop_scale=a.crop_scale, normalize=not a.no_normalize))


def run(a: argparse.Namespace) -> int:
    if a.list:
        for r in list_runs():
            s = load_summary(r)
            print(f"{r}\t{s.get('status')}\tbest epoch {s.get('best_epoch')}\tval loss {s.get('best_val_loss')}")
        return 0
    if not a.dataset:
        print("error: give a DATASET to train on (or --list)", file=sys.stderr)
        return 2
    cfg = config_from_args(a).validate()
    store = Store()
    cancel = threading.Event()
    previous = signal.signal(signal.SIGINT, lambda *_: (cancel.set(), print("\nstopping after this batch...", file=sys.stderr)))
    last = {"msg": ""}

    def progress(frac: float, msg: str) -> None:
        if "batch" not in msg and msg != last["msg"]:  # one line per epoch, not per batch
            print(f"[{frac:5.1%}] {msg}", file=sys.stderr, flush=True)
            last["msg"] = msg

    comparison = None
    try:
        if a.compare_methods:
            comparison, planned = C.plan(cfg, a.seeds, a.name or None)
            results = C.compare_methods(cfg, a.seeds, store, progress, cancel, planned=planned)
        else:
            results = [train(cfg, store, progress, cancel)]
    finally:
        signal.signal(signal.SIGINT, previous)
        distributed.teardown()
    if not distributed.master_process():  # torchrun's other ranks: rank 0 reports and writes the plots
        return 0
    for r in results:
        print(f"{r.run}: {r.status}. {r.message} Best epoch {r.best_epoch} (val loss "
              f"{'-' if r.best_val_loss is None else f'{r.best_val_loss:.4f}'}). Checkpoints in {r.run_dir}")
    runs = [r.run for r in results if len(r.history)]
    if runs:
        plots = C.save_plots(runs, comparison)
        print(f"curves: {plots['html']} and {plots['png'].name}")
    if a.compare_methods and runs:
        print("\nfinal val metrics, mean ± std over seeds (baselines: logistic regression on the run's split, "
              "on raw pixels and on the frozen backbone's embeddings with C tuned by cross-validation on train):")
        print(C.methods_table(runs).to_string(index=False))
    statuses = {r.status for r in results}
    return 130 if "cancelled" in statuses else 1 if "failed" in statuses else 0
