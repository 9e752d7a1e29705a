"""Has the dataset changed since a run was trained? Compares the store with checkpoints/<run>/dataset.json, and
gives the run's split images as they were recorded at training."""

from __future__ import annotations

import pandas as pd

from workbench.data import splits as data_splits
from workbench.errors import WorkbenchError
from workbench.run import Run
from workbench.store import Store
from workbench.train.data import task_classes, task_labels
from workbench.train.runs import LoadedRun


class DatasetChanged(WorkbenchError):
    """The run's test images or classes no longer match the dataset; the message lists what changed."""


def recorded_images(run: Run) -> tuple[list[str], pd.DataFrame]:
    """(task classes, DataFrame image_id, sha256, split) as recorded when the run was trained."""
    if not (run.folder / "dataset.json").exists():
        raise WorkbenchError(f"Run {run.name!r} has no dataset.json: it did not finish saving, "
                             "so it cannot be evaluated.")
    data = run.dataset_info
    images = data.get("images", [])
    if isinstance(images, dict):  # column-oriented {"image_id": [...], ...}
        images = pd.DataFrame(images)
    else:
        images = pd.DataFrame(list(images), columns=None if images else ["image_id", "sha256", "split"])
    classes = list(data.get("classes") or data.get("task_classes") or [])
    return classes, images


def split_images(loaded: LoadedRun, store: Store, split: str = "test") -> tuple[pd.DataFrame, list[str]]:
    """The run's `split` images as recorded at training, with current labels; raises DatasetChanged if they moved on."""
    cfg = loaded.config
    try:
        classes_now = task_classes(store.classes(cfg.dataset), cfg.grouping)
    except WorkbenchError as e:
        raise DatasetChanged(f"The dataset changed since run {cfg.name!r} was trained: {e} "
                             "Train a new run on the current data (or restore the dataset) to evaluate.") from None
    classes_then, images_then = recorded_images(loaded.run)
    classes_then = classes_then or list(loaded.classes)
    # which images are there now (with sha256, to spot replaced files) does not depend on class names
    present = data_splits.labelled(store, cfg.dataset, seed=cfg.split_seed)[["image_id", "sha256", "split"]]
    notes = check_unchanged(cfg.name, classes_then, images_then, classes_now, present, split)
    labelled = task_labels(store, cfg.dataset, cfg.grouping, cfg.split_seed)[0]
    if images_then.empty:
        part = labelled[labelled["split"] == split]
    else:
        wanted = images_then.loc[images_then["split"] == split, "image_id"]
        part = labelled[labelled["image_id"].isin(wanted)]
    if part.empty:
        raise WorkbenchError(f"Run {cfg.name!r} has no {split} images to evaluate on.")
    return part.sort_values("image_id").reset_index(drop=True), notes


def check_unchanged(run: str, classes_then: list[str], images_then: pd.DataFrame, classes_now: list[str],
                    labelled_now: pd.DataFrame, split: str = "test") -> list[str]:
    """Raise DatasetChanged if the run's `split` images were removed or replaced or its classes renamed;
    otherwise return notes on harmless changes (e.g. labels corrected since training)."""
    problems, notes = [], []
    if classes_then and list(classes_then) != list(classes_now):
        gone = [c for c in classes_then if c not in classes_now]
        new = [c for c in classes_now if c not in classes_then]
        if gone or new:
            problems.append(f"classes changed: the run knows {classes_then}, the dataset now has {classes_now} "
                            f"({', '.join(gone) or 'none'} gone; {', '.join(new) or 'none'} new)")
        else:
            problems.append(f"class order changed: {classes_then} → {classes_now}")
    then = images_then[images_then["split"] == split]
    now = labelled_now.set_index("image_id")
    removed = then[~then["image_id"].isin(now.index)]
    if len(removed):
        ids = ", ".join(str(int(i)) for i in removed["image_id"][:10])
        problems.append(f"{len(removed)} of its {len(then)} {split} images are gone or no longer labelled "
                        f"(ids {ids}{', ...' if len(removed) > 10 else ''})")
    kept = then[then["image_id"].isin(now.index)]
    if "sha256" in kept and "sha256" in now:
        replaced = kept[kept["sha256"].to_numpy() != now.loc[kept["image_id"], "sha256"].to_numpy()]
        if len(replaced):
            problems.append(f"{len(replaced)} {split} image file(s) were replaced by different content")
    if problems:
        raise DatasetChanged(f"The dataset changed since run {run!r} was trained: " + "; ".join(problems)
                             + ". Train a new run on the current data (or restore the dataset) to evaluate.")
    extra = labelled_now[(labelled_now["split"] == split) & ~labelled_now["image_id"].isin(then["image_id"])]
    # an image the run trained or validated on may be in the test split now: splits keep duplicate groups together
    moved = extra["image_id"].isin(images_then["image_id"]) if len(images_then) else extra["image_id"].isin([])
    if (~moved).sum():
        notes.append(f"{int((~moved).sum())} {split} image(s) labelled after training are left out, "
                     "so the run is scored on the test set it was trained against.")
    if moved.sum():
        notes.append(f"{int(moved.sum())} image(s) the run trained or validated on are in the {split} split now "
                     "(moved since, to keep a group of duplicates on one side); they are left out, so the run is "
                     "scored on the test set it was trained against.")
    return notes
