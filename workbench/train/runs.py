"""Finished (and running) runs on disk: list them, reload one with its model for evaluation."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import torch
from PIL import Image
from torch import nn

from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.tables import read_csv
from workbench.train import data as D
from workbench.train.backbones import build_model, pick_device, place
from workbench.train.config import RunConfig
from workbench.train.weights import read_weights_file
from workbench.workspace import Workspace


@dataclass
class LoadedRun:
    """A run's model (eval mode, full backbone + head) and what is needed to feed it."""

    config: RunConfig
    model: nn.Module
    classes: list[str]
    run_dir: Path
    device: torch.device
    channels: int = 3
    dataset_info: dict = field(default_factory=dict)

    def preprocess(self, images: list[Image.Image]) -> torch.Tensor:
        """Eval transform, the same as training used: resize to input size, grayscale as 3 channels, normalise."""
        if not images:
            raise WorkbenchError("No images to preprocess.")
        u8 = torch.stack([D.image_to_uint8(im, self.config.input_size, self.channels) for im in images])
        return D.to_input(u8.to(self.device), self.config.augment.normalize)

    def task_labels(self, store: Store) -> pd.DataFrame:
        """The run's dataset now, with its grouping and split: image_id, path, label, y, split."""
        df, classes = D.task_labels(store, self.config.dataset, self.config.grouping, self.config.seed)
        if classes != self.classes:
            raise WorkbenchError(f"Dataset {self.config.dataset!r} now gives classes {classes}, "
                                 f"the run was trained on {self.classes}.")
        return df[["image_id", "path", "label", "y", "split"]]

    def history(self) -> pd.DataFrame:
        """Per-epoch metrics of the run (see load_history)."""
        return _history(self.run_dir)

    def changed_images(self, store: Store) -> list[int]:
        """Image ids whose content, label or split differ from when the run was trained (empty: unchanged)."""
        then = {d["image_id"]: (d["sha256"], d["split"], d["label"]) for d in self.dataset_info.get("images", [])}
        df, _ = D.task_labels(store, self.config.dataset, self.config.grouping, self.config.seed)
        now = {int(r.image_id): (r.sha256, r.split, r.label) for r in df.itertuples()}
        return sorted(i for i in then.keys() | now.keys() if then.get(i) != now.get(i))


def run_dir(ws: Workspace, run: str) -> Path:
    """checkpoints/<run>/ of an existing run; a WorkbenchError naming recent runs otherwise."""
    d = ws.run_folder(run)
    if not run or "/" in run or "\\" in run or run.startswith(".") or not (d / "config.json").is_file():
        known = ", ".join(list_runs(ws)[-10:]) or "none yet"
        raise WorkbenchError(f"No run named {run!r} (recent runs: {known}).")
    return d


LATEST = ("last", "latest")  # what a user may type for the newest run: `workbench evaluate last`


def resolve_run(ws: Workspace, run: str) -> str:
    """`run` itself, or for "last"/"latest" (unless a run has that name) the newest run; for CLI arguments."""
    if run in LATEST and not (ws.run_folder(run) / "config.json").is_file():
        runs = list_runs(ws)
        if not runs:
            raise WorkbenchError("No runs yet: train one first (workbench train DATASET).")
        return runs[-1]
    return run


def list_runs(ws: Workspace) -> list[str]:
    """Run names under checkpoints/, oldest first."""
    root = ws.checkpoints
    dirs = [d for d in root.iterdir() if d.is_dir() and (d / "config.json").is_file()]
    return [d.name for d in sorted(dirs, key=lambda d: ((d / "config.json").stat().st_mtime, d.name))]


def load_config(ws: Workspace, run: str) -> RunConfig:
    """The run's config.json."""
    return RunConfig.load(run_dir(ws, run) / "config.json")


def load_history(ws: Workspace, run: str) -> pd.DataFrame:
    """Per-epoch metrics (epoch, split, loss, accuracy, ...); empty before the first epoch ends."""
    return _history(run_dir(ws, run))


def _history(folder: Path) -> pd.DataFrame:
    f = folder / "history.csv"
    if not f.is_file():
        from workbench.train.loop import HISTORY_COLUMNS

        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return read_csv(f)


def load_summary(ws: Workspace, run: str) -> dict:
    """How the run ended (status, message, best epoch); {"status": "running"} while it has not."""
    f = run_dir(ws, run) / "summary.json"
    return json.loads(f.read_text()) if f.is_file() else {"run": run, "status": "running or interrupted"}


def load_run(ws: Workspace, run: str, which: str = "best", device: str = "auto") -> LoadedRun:
    """Rebuild the run's model and load best.pt or last.pt (weights_only=True)."""
    d = run_dir(ws, run)
    if which not in ("best", "last"):
        raise WorkbenchError(f"which must be 'best' or 'last', got {which!r}.")
    cfg = RunConfig.load(d / "config.json")
    info = json.loads((d / "dataset.json").read_text()) if (d / "dataset.json").is_file() else {}
    ckpt = d / f"{which}.pt"
    if not ckpt.is_file():
        raise WorkbenchError(f"Run {run!r} has no {which}.pt (did it finish an epoch?).")
    classes = info.get("classes") or []
    model = build_model(cfg.backbone, len(classes), weights="none")
    state = read_weights_file(ckpt)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise WorkbenchError(f"{ckpt} does not fit {cfg.backbone}: {str(e).splitlines()[0]}")
    dev = pick_device(device)
    place(model, dev).eval()
    return LoadedRun(cfg, model, classes, d, dev, int(info.get("channels", 3)), info)


def runs_table(ws: Workspace) -> pd.DataFrame:
    """One row per run, newest first: what a run list in the app or CLI shows."""
    rows = []
    for run in reversed(list_runs(ws)):
        try:
            cfg = load_config(ws, run)
        except Exception:  # a half-written config: show the run rather than hide it
            rows.append({"run": run, "status": "unreadable config"})
            continue
        s = load_summary(ws, run)
        h = load_history(ws, run)
        val = h[h.split == "val"]
        method = f"{cfg.detect.detector} · {cfg.method}" if cfg.task == "detection" else cfg.method
        rows.append({"run": run, "dataset": cfg.dataset, "method": method, "backbone": cfg.backbone,
                     "seed": cfg.seed, "status": s.get("status"), "epochs": int(val.epoch.max()) if len(val) else 0,
                     "best epoch": s.get("best_epoch"),
                     "best val loss": None if s.get("best_val_loss") is None else round(s["best_val_loss"], 4),
                     "val accuracy": _last(val, "accuracy"), "val mAP@0.5": _last(val, "map_50")})
    return pd.DataFrame(rows, columns=["run", "dataset", "method", "backbone", "seed", "status", "epochs",
                                       "best epoch", "best val loss", "val accuracy", "val mAP@0.5"])


def _last(val: pd.DataFrame, metric: str) -> float | None:
    """The last epoch's val `metric` (None when the run records no such metric: a classifier has no mAP)."""
    return round(float(val[metric].iloc[-1]), 4) if len(val) and metric in val else None
