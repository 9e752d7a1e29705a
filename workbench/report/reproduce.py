"""Section 6, Reproduce: the command that trains each run again, the one that evaluates it, the software's versions
and the hashes of the data each run saw (and whether the dataset still holds exactly that)."""

from __future__ import annotations

import hashlib
import platform
import shlex
from importlib import metadata

import pandas as pd

from workbench.detect.data import detection_task
from workbench.report import document as doc
from workbench.report.study import Study
from workbench.run import Run
from workbench.train.config import command_line
from workbench.train.data import task_labels

PACKAGES = ("image-workbench", "torch", "torchvision", "timm", "scikit-learn", "numpy")


def reproduce_section(study: Study) -> doc.Section:
    """Commands, versions and data hashes; always present (it describes the report itself too)."""
    s = doc.Section("reproduce", "Reproduce")
    s.add(doc.heading("Versions"), doc.definitions(versions()))
    if study.runs or study.chosen:
        runs = list(dict.fromkeys([*study.runs, *([study.chosen] if study.chosen else [])]))
        s.add(doc.heading("Commands"), doc.paragraph("Each run trained again, then evaluated on its test split:"),
              doc.code([line for r in runs for line in commands(r)]))
        hashes = data_hashes(runs)
        s.add(doc.heading("Data"), doc.table(hashes, caption="data sha256: of the (image id, file sha256, split, label) "
                                                             "rows a run trained and tested on, as recorded in its "
                                                             "dataset.json, and of the same rows in the dataset now."))
        changed = hashes[~hashes["unchanged"]]
        s.check(changed.empty, "every run's images, labels and splits are as they were when it trained",
                f"the dataset changed since {', '.join(changed['run'])} trained: training again gives other data")
    return s


def commands(run: Run) -> list[str]:
    """The shell commands that make the run again: train with its settings, evaluate (at its threshold's rule)."""
    evaluate = ["workbench", "evaluate", run.name]
    t = run.saved_threshold()
    if t is not None and t.rule != "eer":
        evaluate += ["--threshold", t.rule]
    return [shlex.join(["workbench", "train", *command_line(run.config)]), shlex.join(evaluate)]


def digest(rows: pd.DataFrame) -> str:
    """sha256 of the rows (image_id, sha256, split, label), sorted by image id: equal data, equal digest."""
    text = "\n".join(f"{int(r.image_id)},{r.sha256},{r.split},{r.label}"
                     for r in rows.sort_values("image_id").itertuples(index=False))
    return hashlib.sha256(text.encode()).hexdigest()


def data_hashes(runs: list[Run]) -> pd.DataFrame:
    """Per run: images, the digest of its recorded data and whether the dataset now gives the same rows."""
    out, current = [], {}
    for run in runs:
        then, now = _rows(run, current)
        recorded = digest(then)
        out.append({"run": run.name, "images": len(then), "data sha256": recorded[:16],
                    "unchanged": recorded == digest(now)})
    return pd.DataFrame(out, columns=["run", "images", "data sha256", "unchanged"])


def _rows(run: Run, current: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(image_id, sha256, split, label) rows as the run recorded them and as the dataset gives them now (kept in
    `current` per dataset, grouping and split seed: the runs of a comparison share them); a detector's label is its
    image's number of true boxes."""
    cfg, columns = run.config, ["image_id", "sha256", "split", "label"]
    recorded = pd.DataFrame(run.dataset_info.get("images") or [])
    if run.is_detector:
        recorded = recorded.rename(columns={"boxes": "label"})
    key = (run.is_detector, cfg.dataset, str(cfg.grouping), cfg.split_seed)
    if key not in current:
        current[key] = (_boxes_now if run.is_detector else _labels_now)(run)[columns]
    return recorded.reindex(columns=columns), current[key]


def _labels_now(run: Run) -> pd.DataFrame:
    cfg = run.config
    return task_labels(run.ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)[0]


def _boxes_now(run: Run) -> pd.DataFrame:
    cfg = run.config
    task = detection_task(run.ws.store, cfg.dataset, cfg.grouping, cfg.split_seed)
    counts = task.boxes.groupby("image_id").size()
    return task.images.assign(label=task.images.image_id.map(counts).fillna(0).astype(int))


def versions() -> list[tuple[str, str]]:
    """(package, version) of Workbench and the libraries that decide its numbers; Python's too."""
    out = [("Python", platform.python_version())]
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out
