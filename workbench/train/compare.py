"""Compare methods: fine-tuning vs feature extraction over several seeds, final val metrics as mean ± std."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import pandas as pd

from workbench.store import Store
from workbench.train.config import METHODS, RunConfig
from workbench.train.loop import RunResult, train
from workbench.train.runs import load_config, load_history

TABLE_METRICS = ("loss", "accuracy", "f1", "roc_auc", "eer")


def compare_methods(base: RunConfig, seeds: int | list[int] = 3, store: Store | None = None,
                    progress: Callable[[float, str], None] | None = None, cancel=None,
                    on_run_start: Callable[[str], None] | None = None) -> list[RunResult]:
    """Train every method × seed on the same per-seed split; stops early when cancelled."""
    seeds = list(range(seeds)) if isinstance(seeds, int) else list(seeds)
    progress = progress or (lambda f, m: None)
    prefix = base.name
    plan = [(m, s) for s in seeds for m in METHODS]
    results = []
    for i, (method, seed) in enumerate(plan):
        cfg = replace(base, method=method, seed=seed, name=f"{prefix}-{_short(method)}-s{seed}")
        if on_run_start:
            on_run_start(cfg.name)
        sub = lambda f, m, i=i, cfg=cfg: progress((i + f) / len(plan), f"{cfg.name} ({i + 1}/{len(plan)}): {m}")  # noqa: E731
        res = train(cfg, store, sub, cancel)
        results.append(res)
        if res.status == "cancelled":
            break
    return results


def final_val_metrics(runs: list[str]) -> pd.DataFrame:
    """One row per run: method, backbone, seed and the last epoch's val metrics."""
    rows = []
    for run in runs:
        cfg = load_config(run)
        h = load_history(run)
        val = h[h.split == "val"]
        if val.empty:
            continue
        last = val.iloc[-1]
        rows.append({"run": run, "method": cfg.method, "backbone": cfg.backbone, "seed": cfg.seed,
                     "epochs": int(last.epoch), **{k: float(last[k]) for k in TABLE_METRICS}})
    return pd.DataFrame(rows, columns=["run", "method", "backbone", "seed", "epochs", *TABLE_METRICS])


def methods_table(runs: list[str]) -> pd.DataFrame:
    """Per method and backbone: number of seeds and each final val metric as 'mean ± std'."""
    per_run = final_val_metrics(runs)
    if per_run.empty:
        return pd.DataFrame(columns=["method", "backbone", "seeds", *TABLE_METRICS])
    out = []
    for (method, backbone), g in per_run.groupby(["method", "backbone"], sort=True):
        row = {"method": method, "backbone": backbone, "seeds": len(g)}
        for k in TABLE_METRICS:
            std = g[k].std(ddof=1) if len(g) > 1 else 0.0
            row[k] = f"{g[k].mean():.3f} ± {std:.3f}"
        out.append(row)
    return pd.DataFrame(out)


def _short(method: str) -> str:
    return {"finetune": "ft", "feature_extract": "fe"}.get(method, method)


def save_plots(runs: list[str], comparison: str | None = None) -> dict[str, Path]:
    """Curves of each run into plots_checkpoints/<run>/; with `comparison`, the overlay and the
    methods table (methods.csv) into plots_checkpoints/<comparison>/. Returns the overlay's (or only run's) files."""
    from workbench.plots import save_curves

    runs = [r for r in runs if len(load_history(r))]
    out: dict[str, Path] = {}
    for r in runs:
        out = save_curves({r: load_history(r)}, r)
    if comparison and len(runs) > 1:
        out = save_curves({r: load_history(r) for r in runs}, comparison)
        methods_table(runs).to_csv(out["html"].parent / "methods.csv", index=False)
    return out
