"""What a report is about: a dataset, the runs compared on it (a comparison's, those named, or all of its runs) and
the one run looked at closely. Resolved once, at the edge, with a clear message for every mistake."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from workbench.errors import WorkbenchError
from workbench.evaluate.comparison import COMPARISON_FILE, saved_comparisons
from workbench.run import Run, list_runs
from workbench.workspace import Workspace


@dataclass
class Study:
    """The dataset `dataset` of `ws`, the `runs` compared on it (oldest first), the `chosen` run (None without runs)
    and the comparison they come from (its name; its folder is plots_checkpoints/<name>/)."""

    ws: Workspace
    dataset: str
    runs: list[Run] = field(default_factory=list)
    chosen: Run | None = None
    comparison: str | None = None

    @property
    def comparison_folder(self) -> Path | None:
        return self.ws.plot_folder(self.comparison) if self.comparison else None


def open_study(ws: Workspace, dataset: str, *, runs: Sequence[str] = (), comparison: str | None = None,
               chosen: str | None = None) -> Study:
    """The study of `dataset`: the runs of `comparison`, else the runs named, else every run trained on it; the
    chosen run named, else the study's run with the lowest best validation loss (chosen on validation, never test)."""
    ws.store.dataset_id(dataset)  # an unknown dataset is refused, naming the known ones
    if comparison and runs:
        raise WorkbenchError("Give either --runs or --comparison, not both.")
    if comparison:
        names = comparison_runs(ws, comparison)
    elif runs:
        names = list(dict.fromkeys(runs))
    else:
        names = [n for n in list_runs(ws) if _dataset_of(ws, n) == dataset]
    opened = [ws.run(n) for n in names]
    picked = _chosen(ws, opened, chosen)
    other = [r.name for r in [*opened, *([picked] if picked else [])] if r.config.dataset != dataset]
    if other:
        raise WorkbenchError(f"Run(s) {', '.join(dict.fromkeys(other))} were trained on another dataset than "
                             f"{dataset!r}.")
    return Study(ws, dataset, opened, picked, comparison)


def comparison_runs(ws: Workspace, name: str) -> list[str]:
    """The runs of the comparison `name`, in its order, from its saved comparison.json."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise WorkbenchError(f"No comparison named {name!r}.")
    f = ws.plot_folder(name) / COMPARISON_FILE
    if not f.is_file():
        known = ", ".join(saved_comparisons(ws)) or "none yet"
        raise WorkbenchError(f"No comparison named {name!r} with a saved {COMPARISON_FILE} (known: {known}); "
                             "name its runs with --runs instead.")
    rows = json.loads(f.read_text()).get("rows", [])
    return list(dict.fromkeys(r["run"] for r in rows if r.get("run")))


def comparison_dataset(ws: Workspace, name: str) -> str:
    """The dataset the runs of the comparison `name` were trained on (its first run's)."""
    runs = comparison_runs(ws, name)
    if not runs:
        raise WorkbenchError(f"The comparison {name!r} names no runs.")
    return ws.run(runs[0]).config.dataset


def _chosen(ws: Workspace, runs: list[Run], name: str | None) -> Run | None:
    if name:
        return ws.run(name) if name not in {r.name for r in runs} else next(r for r in runs if r.name == name)
    scored = [r for r in runs if r.best_val_loss is not None]
    return min(scored, key=lambda r: r.best_val_loss) if scored else (runs[-1] if runs else None)


def _dataset_of(ws: Workspace, name: str) -> str | None:
    try:
        return Run(ws, name).config.dataset  # listed: its folder and config are there
    except Exception:  # noqa: BLE001 (a half-written config: not a run of this study)
        return None
