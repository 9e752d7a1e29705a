"""Compare methods: fine-tuning vs feature extraction over several seeds, with three baselines fitted on each seed's
split (logistic regression and an RBF SVM on the raw pixels, a tuned linear probe on the backbone's embeddings).

The design: by default one split for every run (split seed: the first seed) while the training seed varies, so each
seed's runs and baselines are scored on the same test images (paired); `resample=True` gives each seed its own split
(repeated hold-out). Every run is evaluated on its test split as `workbench evaluate` does; the comparison (table
with intervals, paired differences, verdict: workbench.evaluate.comparison) is saved in plots_checkpoints/<name>/.
"""

from __future__ import annotations

import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import torch

from workbench.atomic import atomic_path, write_json
from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.evaluate.comparison import Comparison, compare_runs
from workbench.evaluate.evaluate import evaluate_run
from workbench.plots.curves import methods_figure, save_curves
from workbench.tables import write_csv
from workbench.train import baselines as B
from workbench.train import data as D
from workbench.train.config import METHODS, RunConfig
from workbench.train.distributed import master_process
from workbench.train.embedding import embed
from workbench.train.loop import RunResult, TaskData, precheck, train
from workbench.train.results import BASELINES_FILE, backbone_label, final_val_metrics, load_baselines
from workbench.train.runs import load_run
from workbench.train.stems import run_map
from workbench.run import Run
from workbench.workspace import Workspace

__all__ = ["compare_methods", "plan", "check_plan", "run_baselines", "load_baselines", "final_val_metrics",
           "methods_figure_of", "curves_folder", "compare_runs", "Comparison", "backbone_label", "map_warnings",
           "comparison_of"]

PIXEL_SIZE = 32  # raw-pixel baselines: images at min(input size, native size, this) px: upsampling adds nothing
SPLITS = ("train", "val", "test")
MIN_MAP = 3  # a last feature map under 3×3 pools (almost) nothing spatial: feature extraction on it is weak


def plan(base: RunConfig, seeds: int | list[int], prefix: str | None = None,
         resample: bool = False) -> tuple[str, list[RunConfig]]:
    """The comparison's name and its runs: <dataset>-<method>-<backbone>-s<seed>-<time>, or <prefix>-<ft|fe>-s<seed>.
    `seeds`: how many (from base.seed on) or which. Paired (default): every run on one split, base's split seed if
    it was set apart from its seed, else the first seed's; `resample`: each seed's run on that seed's own split."""
    seeds = list(range(base.seed, base.seed + seeds)) if isinstance(seeds, int) else list(seeds)
    if not seeds:
        raise WorkbenchError("Compare methods needs at least 1 seed.")
    fixed = base.split_seed if base.split_seed != base.seed else seeds[0]
    runs = []
    for s in seeds:
        for m in METHODS:
            name = f"{prefix}-{_short(m)}-s{s}" if prefix else ""  # "" -> default name
            runs.append(replace(base, method=m, seed=s, split_seed=s if resample else fixed, name=name))
    name = f"{prefix}-compare" if prefix else f"{base.dataset}-compare-{base.backbone}-{time.strftime('%Y%m%d-%H%M%S')}"
    return name, runs


def check_plan(ws: Workspace, runs: list[RunConfig]) -> TaskData:
    """Every check a single run gets, on the first run (whose data it returns), plus: no planned run name is taken."""
    task = precheck(ws, runs[0])
    taken = [c.name for c in runs if ws.run_folder(c.name).exists()]
    if taken:
        raise WorkbenchError(f"Runs named {', '.join(taken)} exist already; choose another name.")
    return task


def compare_methods(ws: Workspace, base: RunConfig, seeds: int | list[int] = 3,
                    progress: Callable[[float, str], None] | None = None, cancel=None, *,
                    on_run_start: Callable[[str], None] | None = None, prefix: str | None = None,
                    resample: bool = False, planned: list[RunConfig] | None = None, task: TaskData | None = None,
                    name: str | None = None) -> list[RunResult]:
    """Train every method × seed, evaluate each run on its test split, fit the baselines on each seed's split; stops
    when cancelled. Each run writes its own curves; the comparison (comparison.json, its tables, the overlay and the
    methods plot) goes to plots_checkpoints/<name>/ when `name` is given. `planned`, `task`: the runs from `plan`
    and what `check_plan` returned, when the caller has named and checked them already (a queued job shows its
    names)."""
    runs = planned or plan(base, seeds, prefix, resample)[1]
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
        if res.status == "completed" and master_process():
            sub(1.0, "evaluating the best checkpoint on the test split")
            evaluate_run(ws.run(cfg.name))
            if cfg.method == "feature_extract":
                sub(1.0, "baselines: logistic regression and RBF SVM on pixels, linear probe on embeddings")
                run_baselines(ws.run(cfg.name))
    if name and master_process():
        _save_comparison(ws, name, results)
    return results


def run_baselines(run: Run) -> list[B.BaselineResult]:
    """The three baselines fitted on the run's own train images (ids from its dataset.json), with C and gamma chosen
    by cross-validation there, scored on its val and test images; saved as baselines.json in the run's folder."""
    cfg = run.config
    parts = _run_split(run)
    y = {s: p.y.to_numpy() for s, p in parts.items()}
    native = max(load_image(parts["train"].path.iloc[0]).size)  # 8 for digits: no point in upsampled pixels
    size = min(cfg.input_size, PIXEL_SIZE, native)
    pixels = {s: D.load_images(p.path.tolist(), size).numpy() for s, p in parts.items()}
    loaded = load_run(run, "best")  # the run's own frozen backbone: its embeddings are what the head was trained on
    emb = {s: embed(loaded.model, D.load_images(p.path.tolist(), cfg.input_size), loaded.device,
                    cfg.augment.normalize).cpu().numpy() for s, p in parts.items()}
    n = len(run.classes)
    fitted = [(B.pixel_logreg(pixels["train"], y["train"], n), pixels, size),
              (B.linear_probe(emb["train"], y["train"], n, seed=cfg.seed), emb, cfg.input_size),
              (B.rbf_svm(pixels["train"], y["train"], n, seed=cfg.seed), pixels, size)]
    results = [B.BaselineResult(f.method, f.metrics(x["val"], y["val"]), f.params, f.metrics(x["test"], y["test"]),
                                f.notes) for f, x, _ in fitted]
    record = {"run": run.name, "seed": cfg.seed, "split_seed": cfg.split_seed, "backbone": cfg.backbone,
              "input_size": cfg.input_size, **{f"{s}_ids": [int(i) for i in parts[s].image_id] for s in SPLITS},
              "results": [{**asdict(r), **_recipe(r.method, cfg, px)} for r, (_, _, px) in zip(results, fitted)]}
    write_json(run.folder / BASELINES_FILE, record, default=_json_number)
    return results


def _recipe(method: str, cfg: RunConfig, size: int) -> dict:
    """What a baseline was fitted on, as the comparison table's recipe columns show it."""
    pixels = method in B.PIXEL_BASELINES
    return {"backbone": "" if pixels else cfg.backbone, "weights": "" if pixels else cfg.weights, "input_size": size}


def _run_split(run: Run) -> dict[str, pd.DataFrame]:
    """The run's train, val and test images as recorded in its dataset.json, with their paths and labels now."""
    cfg = run.config
    split = {d["image_id"]: d["split"] for d in run.dataset_info["images"]}
    df, _ = D.task_labels(run.ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)
    df = df[df.image_id.isin(split.keys())]
    if (df.split != df.image_id.map(split)).any() or len(df) != len(split):
        raise WorkbenchError(f"Dataset {cfg.dataset!r} changed since run {run.name!r}; baselines need the run's split.")
    parts = {s: df[df.split == s] for s in SPLITS}
    if parts["test"].empty:
        raise WorkbenchError(f"Run {run.name!r} has no test images: baselines are scored on the run's test split.")
    return parts


def map_warnings(runs: list[Run]) -> list[str]:
    """For feature extraction on a last feature map under 3×3 at its input size (tiny inputs): what its rows mean."""
    out = []
    configs = {(r.config.backbone, r.config.input_size, r.config.stem): r.config for r in runs
               if r.config.method == "feature_extract"}
    for (backbone, size, _), cfg in sorted(configs.items()):
        hw = run_map(cfg)  # with the run's own stem ("auto": small at 32 px, 4×4 where the standard one is 1×1)
        if hw is None:
            continue  # a backbone timm no longer knows: its runs say so elsewhere
        h, w = hw
        if min(h, w) < MIN_MAP:
            out.append(f"Feature extraction pools a {h}×{w} last feature map ({backbone} at {size} px): its frozen "
                       f"embedding keeps almost no spatial detail, so its rows (and the linear probe's) understate "
                       f"what the backbone can do; use a larger input size.")
    return out


def comparison_of(runs: list[Run], name: str = "") -> Comparison:
    """The comparison of these runs with the warnings that need a model built (feature maps under 3×3)."""
    return compare_runs(runs, name, extra_warnings=map_warnings(runs))


def methods_figure_of(runs: list[Run]):
    """The method-grouped plotly figure of these runs (mean per method over seeds, ±1 std band, baselines)."""
    shown = [r for r in runs if len(r.history)]
    return methods_figure({r.name: r.history for r in shown}, final_val_metrics(shown, with_baselines=True),
                          n_classes=[len(r.classes) for r in shown])


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
    """Into plots_checkpoints/<name>/: comparison.json (design, table, pairs, verdict), its tables as CSV (methods.csv,
    pairs.csv), the runs' curves overlaid and the method-grouped plot (methods.html); a failure is said in the last
    run's message (the runs themselves are done)."""
    runs = [ws.run(r.run) for r in results if len(r.history)]
    if not runs:
        return
    out = ws.plot_folder(name)
    try:
        cmp = comparison_of(runs, name)
        cmp.save(out)
        write_csv(out / "methods.csv", cmp.shown_table())
        write_csv(out / "pairs.csv", cmp.shown_pairs())
        histories = {r.name: r.history for r in runs}
        if len(histories) > 1:
            save_curves(histories, ws.plots, name, n_classes=[len(r.classes) for r in runs])
        with atomic_path(out / "methods.html") as tmp:
            methods_figure(histories, final_val_metrics(runs, with_baselines=True),
                           n_classes=[len(r.classes) for r in runs]).write_html(tmp, include_plotlyjs=True,
                                                                                 full_html=True)
    except Exception as e:
        results[-1].message += f" Saving the comparison failed: {e}"
