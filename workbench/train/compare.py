"""Compare methods: fine-tuning vs feature extraction over several seeds, with two linear baselines on each
seed's split (logistic regression on pixels, a tuned linear probe on the backbone's embeddings); final val
metrics as mean ± std per method."""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from workbench.atomic import atomic_path, write_json
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.plots.curves import methods_figure, save_curves
from workbench.tables import write_csv
from workbench.train import baselines as B
from workbench.train import data as D
from workbench.train.backbones import build_model, pick_device, place
from workbench.train.config import METHODS, RunConfig
from workbench.train.distributed import master_process
from workbench.train.embedding import embed
from workbench.train.loop import RunResult, TaskData, precheck, train
from workbench.train.results import BASELINES_FILE, final_val_metrics, table_of
from workbench.run import Run
from workbench.workspace import Workspace

PIXEL_SIZE = 32  # raw-pixel baseline: images at min(input size, native size, this) px: upsampling adds nothing linear


def plan(base: RunConfig, seeds: int | list[int], prefix: str | None = None) -> tuple[str, list[RunConfig]]:
    """The comparison's name and its runs: <dataset>-<method>-<backbone>-s<seed>-<time>, or <prefix>-<ft|fe>-s<seed>."""
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise WorkbenchError("Compare methods needs at least 1 seed.")
    if prefix:
        name = f"{prefix}-compare"
        runs = [replace(base, method=m, seed=s, name=f"{prefix}-{_short(m)}-s{s}") for s in seeds for m in METHODS]
    else:
        name = f"{base.dataset}-compare-{base.backbone}-{time.strftime('%Y%m%d-%H%M%S')}"
        runs = [replace(base, method=m, seed=s, name="") for s in seeds for m in METHODS]  # "" -> default name
    return name, runs


def check_plan(ws: Workspace, runs: list[RunConfig]) -> TaskData:
    """Every check a single run gets, on the first run (whose data it returns), plus: no planned run name is taken."""
    task = precheck(ws, runs[0])
    taken = [c.name for c in runs if ws.run_folder(c.name).exists()]
    if taken:
        raise WorkbenchError(f"Runs named {', '.join(taken)} exist already; choose another name.")
    return task


def compare_methods(ws: Workspace, base: RunConfig, seeds: int | list[int] = 3,
                    progress: Callable[[float, str], None] | None = None, cancel=None,
                    on_run_start: Callable[[str], None] | None = None, prefix: str | None = None,
                    planned: list[RunConfig] | None = None, task: TaskData | None = None,
                    name: str | None = None) -> list[RunResult]:
    """Train every method × seed on the same per-seed split, then the baselines on that split; stops when cancelled.
    Each run writes its own curves; the comparison's (overlay, methods plot and table) go to
    plots_checkpoints/<name>/ when `name` is given. `planned`, `task`: the runs from `plan` and what `check_plan`
    returned, when the caller has named and checked them already (a queued job shows its names)."""
    runs = planned or plan(base, seeds, prefix)[1]
    task = task or check_plan(ws, runs)
    progress = progress or (lambda f, m: None)
    results = []
    for i, cfg in enumerate(runs):
        if on_run_start:
            on_run_start(cfg.name)
        sub = lambda f, m, i=i, cfg=cfg: progress((i + f) / len(runs), f"{cfg.name} ({i + 1}/{len(runs)}): {m}")  # noqa: E731
        res = train(ws, cfg, sub, cancel, task=task if i == 0 else None)  # the first run was checked with the plan
        results.append(res)
        if res.status == "cancelled":
            break
        if cfg.method == "feature_extract" and res.status == "completed":
            sub(1.0, "baselines: logistic regression on pixels, linear probe on embeddings")
            run_baselines(ws.run(cfg.name))
    if name and master_process():
        _save_comparison(ws, name, results)
    return results


def run_baselines(run: Run) -> list[B.BaselineResult]:
    """Both baselines on the run's own train/val images (ids from its dataset.json); saved as baselines.json."""
    cfg = run.config
    split = {d["image_id"]: d["split"] for d in run.dataset_info["images"]}
    df, classes = D.task_labels(run.ws.store, cfg.dataset, cfg.grouping, cfg.seed)
    df = df[df.image_id.isin(split.keys())]
    if (df.split != df.image_id.map(split)).any() or len(df) != len(split):
        raise WorkbenchError(f"Dataset {cfg.dataset!r} changed since run {run.name!r}; baselines need the run's split.")
    parts = {s: df[df.split == s] for s in ("train", "val")}
    y = {s: p.y.to_numpy() for s, p in parts.items()}
    native = max(load_image(parts["train"].path.iloc[0]).size)  # 8 for digits: no point in upsampled pixels
    size = min(cfg.input_size, PIXEL_SIZE, native)
    pixels = {s: D.load_images(p.path.tolist(), size).numpy() for s, p in parts.items()}
    device = pick_device(cfg.device)
    model = place(build_model(cfg.backbone, len(classes), cfg.weights), device)
    emb = {s: embed(model, D.load_images(p.path.tolist(), cfg.input_size), device, cfg.augment.normalize).cpu().numpy()
           for s, p in parts.items()}
    n = len(classes)
    results = [B.pixel_logreg(pixels["train"], y["train"], pixels["val"], y["val"], n),
               B.linear_probe(emb["train"], y["train"], emb["val"], y["val"], n, seed=cfg.seed)]
    record = {"run": run.name, "seed": cfg.seed, "backbone": cfg.backbone, "input_size": cfg.input_size,
              "train_ids": [int(i) for i in parts["train"].image_id], "val_ids": [int(i) for i in parts["val"].image_id],
              "results": [asdict(r) for r in results]}
    write_json(run.folder / BASELINES_FILE, record, default=_json_number)
    return results


def methods_figure_of(runs: list[Run]):
    """The method-grouped plotly figure of these runs (mean per method over seeds, ±1 std band, baselines)."""
    shown = [r for r in runs if len(r.history)]
    return methods_figure({r.name: r.history for r in shown}, final_val_metrics(shown, with_baselines=True))


def _short(method: str) -> str:
    return {"finetune": "ft", "feature_extract": "fe"}.get(method, method)


def _json_number(x):
    return float(x) if isinstance(x, (np.floating, torch.Tensor)) else str(x)


def curves_folder(ws: Workspace, results: list[RunResult], comparison: str | None = None) -> Path | None:
    """Where a job's or command's curves are: the comparison's folder when it overlays several runs, else the
    run's own (None when nothing was drawn)."""
    drawn = [r.curves for r in results if r.curves]
    if comparison and len(drawn) > 1 and (ws.plot_folder(comparison) / "curves.html").is_file():
        return ws.plot_folder(comparison)
    return drawn[-1] if drawn else None


def _save_comparison(ws: Workspace, name: str, results: list[RunResult]) -> None:
    """The runs' curves overlaid, the method-grouped plot (methods.html) and the methods table (methods.csv)
    into plots_checkpoints/<name>/; a failure is said in the last run's message (the runs themselves are done)."""
    histories = {r.run: r.history for r in results if len(r.history)}
    if len(histories) < 2:
        return
    try:
        out = save_curves(histories, ws.plots, name)["html"].parent
        per_run = final_val_metrics([ws.run(run) for run in histories], with_baselines=True)
        write_csv(out / "methods.csv", table_of(per_run.copy()))
        with atomic_path(out / "methods.html") as tmp:
            methods_figure(histories, per_run).write_html(tmp, include_plotlyjs=True, full_html=True)
    except Exception as e:
        results[-1].message += f" Saving the comparison's curves failed: {e}"
