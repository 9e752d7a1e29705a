"""What a comparison of methods over seeds found: the design, a table with 95% intervals, paired differences and a
plain verdict; saved as comparison.json in the comparison's folder so a report reads it without recomputing.

Built from what the runs left on disk: each run's saved test evaluation of its best checkpoint (`workbench evaluate`'s),
its best epoch's val metrics, and the baselines fitted on its split (baselines.json). No torch here: the app and the
CLI build a comparison of finished runs without loading a model.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from workbench.atomic import write_json
from workbench.errors import WorkbenchError
from workbench.evaluate.paired import PairedDifference, paired_difference, t_interval
from workbench.evaluate.records import json_safe
from workbench.metrics import REGISTRY
from workbench.run import Run
from workbench.train.results import PIXEL_BASELINES, backbone_label, comparison_caveats, load_baselines

if TYPE_CHECKING:  # annotations only: the workspace opens runs, which this module reads
    from workbench.workspace import Workspace

COMPARISON_FILE = "comparison.json"
PRIMARY = "accuracy"  # the verdict's metric
TEST_METRICS = ("accuracy", "f1", "roc_auc", "eer", "loss")  # kept per seed and per method; pairs on the first four
PAIR_METRICS = ("accuracy", "f1", "roc_auc", "eer")
SHOWN_TEST = ("accuracy", "f1", "roc_auc", "eer")  # the table's interval columns
VAL_METRICS = ("accuracy", "loss")  # beside them: the best epoch's (a baseline's) val metrics
RATES = {"accuracy", "precision", "recall", "f1", "roc_auc", "eer"}  # differences in percentage points
RECIPE = ("method", "backbone", "weights", "input_size", "epochs")
MIN_SEEDS = 3
BASELINE = "baseline: "  # the prefix of a baseline's method name (workbench.train.baselines)
NAMES = {"finetune": "fine-tuning", "feature_extract": "feature extraction"}


@dataclass
class Design:
    """How the comparison varied its runs: `kind` "paired" (one split, training seeds vary), "repeated hold-out"
    (each seed its own split) or "mixed"; the training seeds and split seeds of its runs."""

    kind: str
    seeds: list[int]
    split_seeds: list[int]

    def describe(self) -> str:
        """One line saying which design ran and what its intervals measure."""
        seeds = ", ".join(map(str, self.seeds))
        if self.kind == "paired":
            return (f"Paired design: one split (split seed {self.split_seeds[0]}), training seeds {seeds}; every "
                    "method and baseline is scored on the same test images for each seed, so differences are paired "
                    "by seed and intervals show training variation only.")
        if self.kind == "repeated hold-out":
            return (f"Repeated hold-out: a new split for each seed ({seeds}); methods are paired within each seed's "
                    "split, and intervals include the variation between splits.")
        return (f"Mixed design: training seeds {seeds} on split seeds {', '.join(map(str, self.split_seeds))}; only "
                "runs on the same split with the same seed are paired.")


@dataclass
class Pair:
    """a − b on `metric` over the seeds both have on the same test images, and the sentence saying what it shows."""

    a: str
    b: str
    metric: str
    mean: float
    low: float
    high: float
    n: int
    p_t: float | None
    p_wilcoxon: float | None
    sentence: str


@dataclass
class Comparison:
    """A comparison's result: design, one row per method or baseline and seed (`rows`), the table (`table`: per
    method or baseline, mean and 95% t-interval of each test metric over seeds, val means), the paired differences
    (`pairs`), the verdict (method against method; `baseline_verdict`: best method against the strongest baseline),
    warnings and notes."""

    name: str
    design: Design
    rows: list[dict]
    table: list[dict]
    pairs: list[Pair]
    verdict: str
    baseline_verdict: str = ""
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    metric: str = PRIMARY

    def to_dict(self) -> dict:
        return json_safe(asdict(self))

    @classmethod
    def from_dict(cls, d: dict) -> Comparison:
        d = dict(d)
        d["design"] = Design(**d["design"])
        d["pairs"] = [Pair(**p) for p in d.get("pairs", [])]
        return cls(**d)

    def save(self, folder: Path) -> Path:
        """comparison.json in `folder` (atomically)."""
        return write_json(Path(folder) / COMPARISON_FILE, self.to_dict())

    @classmethod
    def load(cls, folder: Path) -> Comparison:
        """The comparison.json of `folder`."""
        return cls.from_dict(json.loads((Path(folder) / COMPARISON_FILE).read_text()))

    def shown_table(self) -> pd.DataFrame:
        """The table as shown: recipe, seeds, 'mean [low, high]' per test metric, val means."""
        return shown_table(self.table)

    def shown_pairs(self, metric: str | None = None) -> pd.DataFrame:
        """The paired differences on `metric` (the verdict's by default) as shown."""
        return shown_pairs([p for p in self.pairs if p.metric == (metric or self.metric)])

    def text(self) -> str:
        """Everything the CLI prints: design, warnings, table, paired differences, verdicts, notes."""
        parts = [self.design.describe()]
        parts += [f"WARNING: {w}" for w in self.warnings]
        parts += ["", "Test metrics of the best checkpoints: mean [95% t-interval] over seeds; val: the best epoch's.",
                  self.shown_table().to_string(index=False), "",
                  f"Paired differences in test {REGISTRY[self.metric].label} (row a − row b, per seed):",
                  self.shown_pairs().to_string(index=False), "", f"Verdict: {self.verdict}"]
        if self.baseline_verdict:
            parts.append(f"Against the baselines: {self.baseline_verdict}")
        parts += [f"Note: {n}" for n in self.notes]
        return "\n".join(parts)


def saved_comparisons(ws: Workspace) -> list[str]:
    """Names of the saved comparisons (folders of plots_checkpoints/ holding a comparison.json), oldest first."""
    found = [f.parent for f in ws.plots.glob(f"*/{COMPARISON_FILE}")]
    return [d.name for d in sorted(found, key=lambda d: ((d / COMPARISON_FILE).stat().st_mtime, d.name))]


# -- gathering what the runs left --------------------------------------------------------------------------------
def per_seed_rows(runs: list[Run]) -> tuple[pd.DataFrame, list[str]]:
    """One row per run and per baseline fitted on a run's split: recipe, seeds, test and val metrics, the test
    images' digest; and notes on runs without a current test evaluation."""
    rows, notes = [], []
    for run in runs:
        cfg = run.config
        test_ids = [d["image_id"] for d in run.dataset_info.get("images", []) if d.get("split") == "test"]
        common = {"seed": cfg.seed, "split_seed": cfg.split_seed, "test_images": _digest(test_ids)}
        test, why = _test_metrics(run)
        if why:
            notes.append(why)
        rows.append({"run": run.name, **{k: getattr(cfg, k) for k in RECIPE}, "backbone": backbone_label(cfg), **common,
                     **_prefixed("test", test), **_prefixed("val", _best_val(run))})
        for r in (load_baselines(run) or {}).get("results", []):
            pixels = r["method"] in PIXEL_BASELINES  # no backbone, no weights
            rows.append({"run": run.name, "method": r["method"], "backbone": "" if pixels else backbone_label(cfg),
                         "weights": r.get("weights", "" if pixels else cfg.weights),
                         "input_size": r.get("input_size", cfg.input_size),
                         "epochs": None, **common, **_prefixed("test", r.get("test") or {}),
                         **_prefixed("val", r.get("metrics") or {})})
            notes += [f"{_name(r['method'])} (seed {cfg.seed}): {n}" for n in r.get("notes", [])]
    cols = ["run", *RECIPE, "seed", "split_seed", "test_images", *(f"test_{m}" for m in TEST_METRICS),
            *(f"val_{m}" for m in VAL_METRICS)]
    return pd.DataFrame(rows, columns=cols), list(dict.fromkeys(notes))


def _test_metrics(run: Run) -> tuple[dict, str | None]:
    ev = run.evaluation("test")
    if ev is None:
        return {}, f"{run.name} has no test evaluation: `workbench evaluate {run.name}` makes one."
    if ev.checkpoint != "best" or run.newer_checkpoint_than(run.evaluation_path("test")):
        return {}, f"{run.name}'s test evaluation is not of its current best checkpoint: evaluate it again."
    return ev.metrics, None


def _best_val(run: Run) -> dict:
    val = run.history[run.history["split"] == "val"]
    best = val[val["epoch"] == run.best_epoch]
    return best.iloc[-1].to_dict() if len(best) else {}


def _prefixed(prefix: str, metrics: dict) -> dict:
    keys = TEST_METRICS if prefix == "test" else VAL_METRICS
    return {f"{prefix}_{k}": _number(metrics.get(k)) for k in keys}


def _number(v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return math.nan


def _digest(ids: list[int]) -> str:
    return hashlib.sha256(",".join(map(str, sorted(int(i) for i in ids))).encode()).hexdigest()[:16]


# -- the comparison -------------------------------------------------------------------------------------------------
def compare_runs(runs: list[Run], name: str = "", extra_warnings: list[str] | None = None) -> Comparison:
    """The comparison of these runs (and the baselines fitted on their splits) from what they saved."""
    rows, notes = per_seed_rows(runs)
    warnings = list(extra_warnings or []) + config_warnings(runs)
    return build(rows, name=name, warnings=warnings, notes=notes)


def build(rows: pd.DataFrame, *, name: str = "", warnings: list[str] | None = None,
          notes: list[str] | None = None, metric: str = PRIMARY) -> Comparison:
    """The comparison of per-seed rows (per_seed_rows' columns): table, pairs, verdicts, design, warnings."""
    if rows.empty:
        raise WorkbenchError("Nothing to compare: no run has finished an epoch.")
    rows = rows.assign(group=_group_labels(rows))
    rows, repeated = _one_per_seed(rows)
    groups = _ordered_groups(rows)
    design = _design(rows)
    warnings = list(warnings or []) + repeated
    n_seeds = len(design.seeds)
    if n_seeds < MIN_SEEDS:
        warnings.insert(0, f"Only {n_seeds} seed{'s' if n_seeds != 1 else ''}: "
                        + ("no interval and no verdict can come from one seed" if n_seeds == 1 else
                           f"intervals over {n_seeds} seeds are very wide") + f"; compare over {MIN_SEEDS} or more.")
    pairs, mismatched = _pairs(rows, groups)
    warnings += mismatched
    table = [_table_row(rows[rows.group == g]) for g in groups]
    verdict, against = _verdicts(pairs, table, metric, design)
    return Comparison(name, design, json_safe(rows.to_dict("records")), table, pairs, verdict, against, warnings,
                      list(notes or []), metric)


def config_warnings(runs: list[Run]) -> list[str]:
    """What a comparison's table must say about its runs' set-up: feature extraction on random weights."""
    return comparison_caveats(runs)


def _group_labels(rows: pd.DataFrame) -> pd.Series:
    """A name per recipe: the method's, with what differs between recipes of the same method in brackets."""
    base = rows.method.map(_name)
    varies = [k for k in RECIPE[1:] if rows.groupby("method")[k].nunique(dropna=False).max() > 1]
    if not varies:
        return base
    # element by element: astype(str) keeps a missing value (an old run's unset setting) as NaN under pandas 3
    extra = rows[varies].map(lambda v: "-" if pd.isna(v) else str(v)).agg(", ".join, axis=1)
    return base + " (" + extra + ")"


def _one_per_seed(rows: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """One row per recipe and (seed, split seed), the last run's, and a warning naming the runs left out. A recipe
    trained twice on one seed is one measurement: counted twice (a run started alone, then a comparison's), the
    table's interval over "2 seeds" was over 3 runs, narrower than the seeds allow, and disagreed with the pairs."""
    again = rows.duplicated(["group", "seed", "split_seed"], keep="last")
    warnings = [f"{group} was trained more than once on seed {seed} (split seed {split}): only its last run counts "
                f"(left out: {', '.join(dict.fromkeys(g.run))})."
                for (group, seed, split), g in rows[again].groupby(["group", "seed", "split_seed"], sort=False)]
    return rows[~again], warnings


def _ordered_groups(rows: pd.DataFrame) -> list[str]:
    """Methods first (by name), then the baselines in the order they were fitted."""
    groups = rows.drop_duplicates("group")
    baselines = groups.method.str.startswith(BASELINE)
    return groups[~baselines].sort_values(["method", "group"]).group.tolist() + groups[baselines].group.tolist()


def _design(rows: pd.DataFrame) -> Design:
    runs = rows[~rows.method.str.startswith(BASELINE)]
    seeds = sorted(int(s) for s in runs.seed.unique())
    splits = sorted(int(s) for s in runs.split_seed.unique())
    if len(splits) == 1:
        kind = "paired"
    elif (runs.seed == runs.split_seed).all():
        kind = "repeated hold-out"
    else:
        kind = "mixed"
    return Design(kind, seeds, splits)


def _table_row(g: pd.DataFrame) -> dict:
    first = g.iloc[0]
    row = {"group": first.group, **{k: _plain(first[k]) for k in RECIPE}, "seeds": int(g.seed.nunique())}
    for m in TEST_METRICS:
        ci = t_interval(g[f"test_{m}"].to_numpy(dtype=float))
        low, high = (max(ci.low, 0.0), min(ci.high, 1.0)) if m in RATES else (ci.low, ci.high)  # a rate stays in [0, 1]
        row[f"test_{m}"] = {"mean": ci.mean, "low": low, "high": high, "n": ci.n}
    for m in VAL_METRICS:
        row[f"val_{m}"] = _mean(g[f"val_{m}"])
    return json_safe(row)


def _pairs(rows: pd.DataFrame, groups: list[str]) -> tuple[list[Pair], list[str]]:
    """Method vs method and method vs baseline, on every PAIR_METRICS metric, paired by (seed, split seed)."""
    methods = [g for g in groups if not rows[rows.group == g].method.str.startswith(BASELINE).any()]
    baselines = [g for g in groups if g not in methods]
    wanted = list(combinations(methods, 2)) + [(m, b) for m in methods for b in baselines]
    kind = _design(rows).kind
    pairs, warnings = [], []
    for a, b in wanted:
        both = _by_seed(rows, a).merge(_by_seed(rows, b), left_index=True, right_index=True, suffixes=("_a", "_b"))
        differ = both.test_images_a != both.test_images_b
        if differ.any():
            seeds = ", ".join(str(s) for s, _ in both[differ].index)
            warnings.append(f"{a} and {b} were tested on different images for seed {seeds} (the dataset changed "
                            "between their runs): those seeds are left out of their paired difference.")
            both = both[~differ]
        for m in PAIR_METRICS:
            d = paired_difference(both[f"test_{m}_a"].to_numpy(float), both[f"test_{m}_b"].to_numpy(float))
            if d.n == 0 or math.isnan(d.mean):
                continue
            pairs.append(Pair(a, b, m, d.mean, d.low, d.high, d.n, d.p_t, d.p_wilcoxon, sentence(a, b, m, d, kind)))
    return [Pair(**json_safe(asdict(p))) for p in pairs], warnings


def _by_seed(rows: pd.DataFrame, group: str) -> pd.DataFrame:
    g = rows[rows.group == group]
    return g.drop_duplicates(["seed", "split_seed"], keep="last").set_index(["seed", "split_seed"])[
        ["test_images", *(f"test_{m}" for m in PAIR_METRICS)]]


def _verdicts(pairs: list[Pair], table: list[dict], metric: str, design: Design) -> tuple[str, str]:
    """Method against method (the first pair), and the best method against the strongest baseline."""
    on = [p for p in pairs if p.metric == metric]
    baselines = {r["group"] for r in table if r["method"].startswith(BASELINE)}
    between = [p for p in on if p.b not in baselines]
    verdict = between[0].sentence if between else "Only one method: nothing to compare it with but the baselines."
    sign = 1 if REGISTRY[metric].higher_is_better else -1
    score = {r["group"]: sign * r[f"test_{metric}"]["mean"] for r in table if r[f"test_{metric}"]["mean"] is not None}
    methods = [g for g in score if g not in baselines]
    scored_baselines = [g for g in score if g in baselines]
    if not methods or not scored_baselines:
        return verdict, ""
    best = max(methods, key=score.get)
    strongest = max(scored_baselines, key=score.get)
    against = next((p for p in on if p.a == best and p.b == strongest), None)
    if against is None:
        return verdict, ""
    text = against.sentence
    if against.low is not None and against.high is not None and sign * against.high < 0:
        text += (f" No trained model beats the {strongest}: the set-up is weak (look at the input size, the epochs and "
                 "the weights).")
    return verdict, text


def sentence(a: str, b: str, metric: str, d: PairedDifference, design: str = "paired") -> str:
    """One plain sentence on a − b: who beats whom by how much with its 95% interval, or no evidence either way."""
    m = REGISTRY[metric]
    what = f"test {m.label}"
    over = f"paired over {d.n} seed{'s' if d.n != 1 else ''}" if design == "paired" else \
        f"paired within {d.n} split{'s' if d.n != 1 else ''}"
    if d.n < 2:
        return _cap(f"{a} scored {_amount(d.mean, metric, signed=True)} {what} against {b} on a single seed: no "
                    f"interval, so no verdict (compare over {MIN_SEEDS} or more seeds).")
    a_better = (d.mean > 0) == bool(m.higher_is_better)
    win, lose = (a, b) if a_better else (b, a)
    low, high = (d.low, d.high) if d.mean > 0 else (-d.high, -d.low)  # the winner's margin, positive
    size = _amount(abs(d.mean), metric)
    how = f"by {size} {what}" if m.higher_is_better else f"with {size} lower {what}"
    if not d.spread:
        if d.mean == 0:
            return _cap(f"{a} and {b} score the same {what} on every one of the {d.n} seeds.")
        return _cap(f"{win} beats {lose} {how} on every one of the {d.n} seeds alike (no spread, so no interval).")
    p = _p_text(d)
    if d.excludes_zero:
        return _cap(f"{win} beats {lose} {how} (95% CI {_amount(low, metric)} to {_amount(high, metric)}, {over}{p}).")
    return _cap(f"No evidence of a difference between {a} and {b} in {what}: {a} − {b} = "
                f"{_amount(d.mean, metric, signed=True)} (95% CI {_amount(d.low, metric, signed=True)} to "
                f"{_amount(d.high, metric, signed=True)}, {over}{p}).")


def _p_text(d: PairedDifference) -> str:
    out = f", paired t p {_p_is(d.p_t)}" if not math.isnan(d.p_t) else ""
    if d.p_wilcoxon is not None:
        out += f", Wilcoxon p {_p_is(d.p_wilcoxon)}"
    return out


def _p_is(p: float) -> str:
    """'= 0.015' or '< 0.001': how a sentence states a p-value."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def _p(p: float) -> str:
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def _amount(x: float, metric: str, signed: bool = False) -> str:
    if metric in RATES:
        return f"{100 * x:{'+' if signed else ''}.1f} pp"
    return f"{x:{'+' if signed else ''}.3f}"


def _cap(s: str) -> str:
    return s[:1].upper() + s[1:]


def _name(method: str) -> str:
    """How sentences name a method or baseline: fine-tuning, RBF SVM on pixels, ..."""
    if method in NAMES:
        return NAMES[method]
    if method.startswith(BASELINE):
        return method.removeprefix(BASELINE).replace("logreg", "logistic regression")
    return method


def _mean(s: pd.Series) -> float:
    v = s.to_numpy(dtype=float)
    v = v[~np.isnan(v)]
    return float(v.mean()) if len(v) else math.nan


def _plain(v):
    if isinstance(v, np.generic):
        return v.item()
    return None if isinstance(v, float) and math.isnan(v) else v


# -- display ----------------------------------------------------------------------------------------------------------
def shown_table(table: list[dict]) -> pd.DataFrame:
    """Per method and baseline: recipe, seeds, 'mean [low, high]' of each test metric, val means."""
    out = []
    for r in table:
        row = {"method": r["method"], "backbone": r["backbone"] or "-", "weights": r["weights"] or "-",
               "input size": r["input_size"], "epochs": "-" if r["epochs"] is None else int(r["epochs"]),
               "seeds": r["seeds"]}
        for m in SHOWN_TEST:
            row[f"test {REGISTRY[m].label}"] = _ci_text(r[f"test_{m}"])
        for m in VAL_METRICS:
            v = r[f"val_{m}"]
            row[f"val {REGISTRY[m].label}"] = "n/a" if v is None else f"{v:.3f}"
        out.append(row)
    cols = ["method", "backbone", "weights", "input size", "epochs", "seeds",
            *(f"test {REGISTRY[m].label}" for m in SHOWN_TEST), *(f"val {REGISTRY[m].label}" for m in VAL_METRICS)]
    return pd.DataFrame(out, columns=cols)


def shown_pairs(pairs: list[Pair]) -> pd.DataFrame:
    """a, b, seeds, mean a − b with its 95% CI, paired t p, Wilcoxon p ('-' below 6 seeds)."""
    rows = [{"a": p.a, "b": p.b, "seeds": p.n, "a − b": _amount(p.mean, p.metric, signed=True),
             "95% CI": "-" if p.low is None else
             f"{_amount(p.low, p.metric, signed=True)} to {_amount(p.high, p.metric, signed=True)}",
             "p (paired t)": "-" if p.p_t is None else _p(p.p_t),
             "p (Wilcoxon)": "-" if p.p_wilcoxon is None else _p(p.p_wilcoxon)} for p in pairs]
    return pd.DataFrame(rows, columns=["a", "b", "seeds", "a − b", "95% CI", "p (paired t)", "p (Wilcoxon)"])


def _ci_text(ci: dict) -> str:
    if ci["mean"] is None:
        return "n/a"
    if ci["low"] is None:
        return f"{ci['mean']:.3f}"
    return f"{ci['mean']:.3f} [{ci['low']:.3f}, {ci['high']:.3f}]"
