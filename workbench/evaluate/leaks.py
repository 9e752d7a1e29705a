"""Leaks: a run's test images with a duplicate (an exact or near copy, workbench.data.duplicates) among the images it
trained on, and its test metrics without them.

Splits keep duplicate groups on one side (workbench.data.splits), so a run trained since has none; a run trained
before may have, and every metric on its test split is then inflated by images it has seen. The run's own recorded
split (dataset.json) is compared with the dataset's duplicate groups as they are found now.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from workbench.data.duplicates import EXACT, NEAR, dataset_duplicates
from workbench.errors import WorkbenchError
from workbench.evaluate.dataset_check import recorded_images
from workbench.evaluate.evaluate import probs_of
from workbench.evaluate.records import json_safe
from workbench.metrics import classification_metrics
from workbench.run import Run

LEAK_COLUMNS = ("image_id", "name", "kind", "train_copies")


@dataclass(frozen=True)
class Leaks:
    """`leaked`: one row per test image with a copy in train (image_id, name, kind, train_copies: the names of its
    copies in train); metrics on all `n` test images and on the ones without a copy (None when none is left)."""

    run: str
    split: str
    n: int
    leaked: pd.DataFrame
    metrics_all: dict
    metrics_clean: dict | None

    @property
    def count(self) -> int:
        """How many of the split's images have a copy in train."""
        return len(self.leaked)


def run_leaks(run: Run, split: str = "test", preds: pd.DataFrame | None = None) -> Leaks:
    """The leaks of `run` on `split`, scored on its saved predictions (`preds`: those, by default the run's own)."""
    preds = run.predictions(split) if preds is None else preds
    if preds is None:
        raise WorkbenchError(f"Run {run.name!r} has no predictions on {split}: evaluate it first.")
    classes = run.classes
    _, recorded = recorded_images(run)
    dup = dataset_duplicates(run.ws.store, run.config.dataset)
    leaked = leaked_images(recorded, dup.groups, dup.pairs, split)
    leaked = leaked[leaked["image_id"].isin(preds["image_id"])].reset_index(drop=True)
    probs, y = probs_of(preds), preds["y_true"].to_numpy()
    clean = ~preds["image_id"].isin(leaked["image_id"]).to_numpy()
    return Leaks(run.name, split, len(preds), leaked, classification_metrics(y, probs, classes),
                 classification_metrics(y[clean], probs[clean], classes) if clean.any() else None)


def leaked_images(recorded: pd.DataFrame, groups: pd.DataFrame, pairs: pd.DataFrame,
                  split: str = "test") -> pd.DataFrame:
    """The images of `split` in `recorded` (image_id, split) whose duplicate group (groups: image_id, name, group)
    holds an image of its train split; kind is exact when one of those copies has the same pixels."""
    sides = recorded.set_index("image_id")["split"]
    g = groups.assign(side=groups["image_id"].map(sides))
    trained = g[g["side"] == "train"]
    tested = g[(g["side"] == split) & g["group"].isin(trained["group"])]
    if tested.empty:
        return pd.DataFrame(columns=list(LEAK_COLUMNS))
    exact = {frozenset(p) for p, k in zip(zip(pairs["a_id"], pairs["b_id"]), pairs["kind"]) if k == EXACT}
    copies = trained.groupby("group")["image_id"].apply(list)
    names = g.set_index("image_id")["name"]
    rows = []
    for image_id, name, group in zip(tested["image_id"], tested["name"], tested["group"]):
        mates = copies[group]
        kind = EXACT if any(frozenset((image_id, m)) in exact for m in mates) else NEAR
        rows.append((int(image_id), name, kind, ", ".join(names[m] for m in mates)))
    return pd.DataFrame(rows, columns=list(LEAK_COLUMNS)).sort_values("image_id").reset_index(drop=True)


def leaks_dict(leaks: Leaks) -> dict:
    """As `workbench evaluate --json` prints it: the count, the leaked images and both sets of metrics."""
    return json_safe({"count": leaks.count, "n": leaks.n, "images": leaks.leaked.to_dict("records"),
                      "metrics_all": leaks.metrics_all, "metrics_without": leaks.metrics_clean})


def leak_lines(leaks: Leaks, markdown: bool = False) -> list[str]:
    """What the CLI prints and the Evaluate tab shows: the count, and the metrics with and without the leaked images."""
    bold = "**" if markdown else ""
    if not leaks.count:
        return [f"Leaks: no {leaks.split} image has a duplicate among the run's train images."]
    kinds = leaks.leaked["kind"].value_counts()
    lines = [f"{bold}Leaks: {leaks.count} of {leaks.n} {leaks.split} images have a duplicate among the run's train "
             f"images{bold} ({int(kinds.get(EXACT, 0))} exact, {int(kinds.get(NEAR, 0))} near copies): its "
             f"{leaks.split} metrics are inflated by images it has seen."]
    if leaks.metrics_clean is None:
        lines.append(f"Every {leaks.split} image has a copy in train: no clean metric is left.")
        return lines
    keys = [k for k in ("accuracy", "f1", "roc_auc") if not _nan(leaks.metrics_all.get(k))]
    pairs = ", ".join(f"{k} {leaks.metrics_clean[k]:.3f} (all: {leaks.metrics_all[k]:.3f})" for k in keys)
    lines.append(f"Without them ({leaks.n - leaks.count} images): {pairs}.")
    return lines


def _nan(v) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v))
