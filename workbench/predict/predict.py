"""Predict new images with a trained run: class probabilities and a decision (the run's threshold for binary
runs, the most probable class otherwise), batched; unreadable images are listed with their reason."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from workbench.data.importers.common import Progress, no_progress
from workbench.errors import WorkbenchError
from workbench.evaluate.threshold import run_threshold
from workbench.predict.sources import ImageSource, gather, load_batch
from workbench.run import Run
from workbench.tables import write_csv
from workbench.train.predict import predict
from workbench.train.runs import LoadedRun, load_run


@dataclass
class Predictions:
    """One row per predicted image (`table`: file, decision, confidence, p_<class>...) and the images that could
    not be read (`bad`: file, reason). `sources` keeps each predicted row's image findable (for Grad-CAM)."""

    run: str
    classes: list[str]
    table: pd.DataFrame
    bad: list[tuple[str, str]] = field(default_factory=list)
    threshold: float | None = None
    rule: str = "argmax"
    sources: list[ImageSource] = field(default_factory=list, repr=False)
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """Predicted rows then unreadable ones (empty probabilities, `error` saying why): what the CSV holds."""
        bad = pd.DataFrame({"file": [f for f, _ in self.bad], "error": [r for _, r in self.bad]})
        return pd.concat([self.table.assign(error=""), bad], ignore_index=True)[[*self.table.columns, "error"]]

    def save_csv(self, path: str | Path) -> Path:
        """Write `frame()` to `path` (folders made as needed)."""
        return write_csv(path, self.frame())

    def display(self, rename: Callable[[str], str] = str) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(predictions with a leading row number and probabilities to 4 decimals, unreadable files with their
        reason), each file shown as `rename` names it."""
        table = self.table.assign(file=self.table["file"].map(rename)).round(4)
        table.insert(0, "row", range(len(table)))
        bad = pd.DataFrame({"file": [rename(f) for f, _ in self.bad], "reason": [why for _, why in self.bad]})
        return table, bad

    def summary(self) -> str:
        """One line: how many images were predicted, the decisions per class, the rule, and how many were unreadable."""
        counts = self.table["decision"].value_counts()
        n = len(self.table)
        # every class of a binary run; of more, the decided ones (ten classes listed "'1' × 0, '2' × 0, ...")
        shown = [c for c in self.classes if counts.get(c, 0) or len(self.classes) <= 2]
        rest = len(self.classes) - len(shown)
        decided = ", ".join(f"{c!r} × {counts.get(c, 0)}" for c in shown)
        decided += f" (0 for the other {rest} classes)" if rest else ""
        s = f"{self.run}: {n} image{'' if n == 1 else 's'} predicted; decisions: {decided}, decision {self.rule}"
        return s + (f"; {len(self.bad)} could not be read" if self.bad else "")


def probability_columns(classes: Sequence[str]) -> list[str]:
    """The table's probability column of each class: p_<class>."""
    return [f"p_{c}" for c in classes]


def decide(probs: np.ndarray, threshold: float | None = None) -> np.ndarray:
    """Class index per row: the second class when its probability >= threshold (binary), else the most probable."""
    probs = np.atleast_2d(probs)
    return (probs[:, 1] >= threshold).astype(int) if threshold is not None else probs.argmax(axis=1)


def predict_sources(loaded: LoadedRun, sources: Sequence[ImageSource], threshold: float | None = None,
                    batch_size: int = 64, progress: Progress = no_progress, run: str = "") -> Predictions:
    """Read and predict `sources` a batch at a time; a binary run decides its positive class (index 1) when
    P >= threshold, any run without a threshold by argmax. Unreadable images go to `bad`, the rest are predicted."""
    if batch_size < 1:
        raise WorkbenchError(f"batch_size must be at least 1, got {batch_size}.")
    if threshold is not None and len(loaded.classes) != 2:
        raise WorkbenchError(f"A threshold is for binary runs; this run has {len(loaded.classes)} classes.")
    kept, bad, probs = [], [], []
    batches = [sources[i:i + batch_size] for i in range(0, len(sources), batch_size)]
    for batch in progress(batches, len(batches), f"Predicting {len(sources)} images"):
        readable, images, unreadable = load_batch(batch)
        kept += readable
        bad += unreadable
        if images:
            probs.append(predict(loaded, images, batch_size=len(images)))
    p = np.concatenate(probs) if probs else np.zeros((0, len(loaded.classes)))
    decided = decide(p, threshold)
    table = pd.DataFrame({"file": [s.name for s in kept],
                          "decision": [loaded.classes[k] for k in decided],
                          "confidence": p[np.arange(len(p)), decided]})
    for c, col in zip(loaded.classes, probability_columns(loaded.classes)):
        table[col] = p[:, loaded.classes.index(c)]
    rule = "argmax" if threshold is None else f"P({loaded.classes[1]}) >= {threshold:.4f}"
    return Predictions(run or loaded.run.name, list(loaded.classes), table, bad, threshold, rule, kept)


def predict_paths(run: Run, paths: Sequence[str | Path], *, threshold: float | None = None,
                  batch_size: int = 64, progress: Progress = no_progress,
                  loaded: LoadedRun | None = None) -> Predictions:
    """Predict image files, folders and zips with `run`'s best checkpoint (`loaded`: it, loaded already). Binary runs
    decide at `threshold` if given, else at the run's stored threshold (chosen at the EER on its validation split
    the first time)."""
    loaded = loaded or load_run(run)
    sources, problems = gather(paths)
    threshold, how, notes = decision_threshold(run, loaded, threshold)
    result = predict_sources(loaded, sources, threshold, batch_size, progress, run.name)
    result.bad = problems + result.bad
    result.notes = notes
    if threshold is not None:
        result.rule += f" ({how})"
    if result.table.empty:
        raise WorkbenchError("No image could be predicted:\n  " + "\n  ".join(f"{f}: {r}" for f, r in result.bad)
                             if result.bad else "No images given.")
    return result


def decision_threshold(run: Run, loaded: LoadedRun,
                       threshold: float | None = None) -> tuple[float | None, str, list[str]]:
    """(threshold, how it was chosen, notes): `threshold` when given; for a binary run the run's stored threshold
    (chosen at the EER on its validation split the first time); None (argmax) otherwise or when none can be chosen."""
    if threshold is not None or len(loaded.classes) != 2:
        return threshold, "given", []
    try:
        chosen = run_threshold(run, loaded=loaded)
    except WorkbenchError as e:  # e.g. the run's dataset is gone: its validation images cannot be scored
        return None, "", [f"No decision threshold for {run.name!r} ({e}); deciding by the most probable class."]
    return chosen.threshold, f"the run's threshold: {chosen.rule} on {chosen.split}", []
