"""What a comparison's runs left that is read without a model: the baselines fitted on a run's split (baselines.json),
the names of its rows, each run's final val metrics (what the method-grouped curves plot draws) and per method their
mean ± std over seeds (the report's methods table). The comparison itself (test metrics with intervals, paired
differences, verdict) is workbench.evaluate.comparison."""

from __future__ import annotations

import json

import pandas as pd

from workbench.metrics import CURVE_METRICS
from workbench.run import Run
from workbench.train.config import RANDOM_WEIGHTS, RunConfig, random_features_caveat

TABLE_METRICS = CURVE_METRICS  # the final val metrics the method-grouped curves plot draws
BASELINES_FILE = "baselines.json"
# the baselines' rows (fitted by train.baselines)
PIXELS, PROBE, SVM = "baseline: logreg on pixels", "baseline: linear probe", "baseline: RBF SVM on pixels"
BASELINES = (PIXELS, PROBE, SVM)  # in the order tables show them
PIXEL_BASELINES = (PIXELS, SVM)  # on raw pixels: no backbone, no weights
__all__ = ["BASELINES", "BASELINES_FILE", "PIXELS", "PIXEL_BASELINES", "PROBE", "SVM", "TABLE_METRICS",
           "backbone_label", "comparison_caveats", "final_val_metrics", "load_baselines", "methods_table", "table_of"]


def load_baselines(run: Run) -> dict | None:
    """The run's baselines.json (a feature-extraction run of a comparison), or None."""
    f = run.folder / BASELINES_FILE
    return json.loads(f.read_text()) if f.is_file() else None


def backbone_label(cfg: RunConfig) -> str:
    """The backbone as a comparison names it: with "(random weights)" when it was never trained (weights none)."""
    return f"{cfg.backbone} (random weights)" if cfg.weights == RANDOM_WEIGHTS else cfg.backbone


def final_val_metrics(runs: list[Run], with_baselines: bool = False) -> pd.DataFrame:
    """One row per run (method, backbone, seed, last epoch's val metrics); baselines' rows too when asked: what the
    method-grouped curves plot draws."""
    rows = []
    for run in runs:
        cfg, h = run.config, run.history
        val = h[h.split == "val"]
        if val.empty:
            continue
        last = val.iloc[-1]
        rows.append({"run": run.name, "method": cfg.method, "backbone": backbone_label(cfg), "seed": cfg.seed,
                     "epochs": int(last.epoch), **{k: float(last.get(k, float("nan"))) for k in TABLE_METRICS}})
        base = load_baselines(run) if with_baselines else None
        for r in (base or {}).get("results", []):
            backbone = "" if r["method"] in PIXEL_BASELINES else backbone_label(cfg)
            rows.append({"run": run.name, "method": r["method"], "backbone": backbone, "seed": cfg.seed, "epochs": None,
                         **{k: float(r["metrics"][k]) for k in TABLE_METRICS}})
    return pd.DataFrame(rows, columns=["run", "method", "backbone", "seed", "epochs", *TABLE_METRICS])


def methods_table(runs: list[Run]) -> pd.DataFrame:
    """Per method (and baseline) and backbone: number of seeds and each final val metric as 'mean ± std'."""
    return table_of(final_val_metrics(runs, with_baselines=True))


def comparison_caveats(runs: list[Run]) -> list[str]:
    """What a reader of these runs' comparison must know: feature extraction on random weights, if any ran."""
    notes = {random_features_caveat(r.config.method, r.config.weights) for r in runs}
    return sorted(n for n in notes if n)


def table_of(per_run: pd.DataFrame) -> pd.DataFrame:
    """Per-run rows (`final_val_metrics`) as the methods table: one row per method and backbone, mean ± std."""
    if per_run.empty:
        return pd.DataFrame(columns=["method", "backbone", "seeds", *TABLE_METRICS])
    per_run["is_baseline"] = per_run.method.str.startswith("baseline")  # methods first, then baselines
    out = []
    for (_, method, backbone), g in per_run.groupby(["is_baseline", "method", "backbone"], sort=True):
        row = {"method": method, "backbone": backbone, "seeds": len(g)}
        for k in TABLE_METRICS:
            std = g[k].std(ddof=1) if len(g) > 1 else 0.0
            row[k] = f"{g[k].mean():.3f} ± {std:.3f}"
        out.append(row)
    return pd.DataFrame(out, columns=["method", "backbone", "seeds", *TABLE_METRICS])
