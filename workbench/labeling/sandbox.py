"""Any imported set, labelled by the simulated annotator without touching it: its truth read from a table, and a
throwaway copy of the set (in a scratch store) for the simulator to label.

The copy points at the same image files (nothing is copied but the store rows) and carries the set's embeddings
cache over (keyed by file content), so a set embedded once is not embedded again.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import fields
from pathlib import Path

import pandas as pd

from workbench import paths
from workbench.data.importers.table import read_table
from workbench.errors import WorkbenchError
from workbench.labeling.features import BACKBONE, EMBED_SIZE
from workbench.store import ImageRecord, Store

CACHES = (f"embeddings-{BACKBONE}-{EMBED_SIZE}.npz", "thumbnails16.npz")  # keyed by sha256: valid for any subset


def read_truth(store: Store, dataset: str, table: str | Path) -> pd.Series:
    """The true class of each image listed in `table` (.csv or .xlsx with columns file,label), by image id.

    `file` names an image as the set knows it: its name, its path (absolute, or as stored), or its file name
    when no other image of the set has the same one.
    """
    rows = read_table(Path(table))
    if rows.empty:
        raise WorkbenchError(f"{table}: no rows with a file name.")
    blank = rows.loc[rows["label"] == "", "filename"].tolist()
    if blank:
        raise WorkbenchError(f"{table}: {len(blank)} row(s) without a label, e.g. {', '.join(blank[:3])}.")
    ids = _image_ids(store.images(dataset), rows["filename"].tolist())
    unknown = [f for f, i in zip(rows["filename"], ids) if i is None]
    if unknown:
        raise WorkbenchError(f"{table}: {len(unknown)} file(s) are not images of {dataset!r} (or name more than "
                             f"one), e.g. {', '.join(unknown[:5])}.")
    truth = pd.Series(rows["label"].to_numpy(), index=pd.Index(ids, dtype="int64"), name="label")
    twice = truth[truth.index.duplicated(keep=False)]
    if twice.groupby(level=0).nunique().gt(1).any():
        raise WorkbenchError(f"{table}: an image is given two different labels ({len(twice)} rows involved).")
    return truth[~truth.index.duplicated()]


def stored_truth(store: Store, dataset: str) -> pd.Series:
    """The labels the store already holds (resolved over annotators), as the truth of a set labelled before."""
    truth = store.resolved_labels(dataset)
    if truth.empty:
        raise WorkbenchError(f"{dataset!r} has no labels to use as the truth: give a table (file,label).")
    return truth


def _image_ids(images: pd.DataFrame, files: list[str]) -> list[int | None]:
    """Each file's image id by name, path (absolute or stored) or unique base name; None when not found."""
    ids = images["image_id"].astype(int).tolist()
    by = {}
    for key in ("name", "path"):
        by.update(zip(images[key].astype(str), ids))
    by.update(zip([os.path.normpath(p) for p in images["path"]], ids))
    base = pd.Series(ids, index=[os.path.basename(p) for p in images["name"].astype(str)])
    unique = base[~base.index.duplicated(keep=False)]
    by_base = dict(zip(unique.index, unique.tolist()))
    return [by.get(f, by.get(os.path.normpath(f), by_base.get(os.path.basename(f)))) for f in files]


def sandbox(store: Store, dataset: str, truth: pd.Series, scratch: Store, name: str | None = None
            ) -> tuple[str, pd.Series]:
    """Copy `truth`'s images of `dataset` into `scratch`, unlabelled, with the truth's classes (the set's own
    order first); returns the copy's name and the truth by the copy's image ids."""
    name = name or dataset
    if name in scratch.datasets():
        raise WorkbenchError(f"The scratch store already has a dataset {name!r}.")
    images = store.images(dataset).set_index("image_id").loc[truth.index.astype(int)]
    have = [c for c in store.classes(dataset) if c in set(truth)]
    classes = have + sorted(set(truth) - set(have))
    if len(classes) < 2:
        raise WorkbenchError(f"The truth of {dataset!r} has {len(classes)} class(es): a simulation needs two.")
    scratch.create_dataset(name, source=f"copy of {dataset!r} for the simulated annotator", classes=classes)
    scratch.add_images(name, [_record(row, k) for k, row in enumerate(images.reset_index().to_dict("records"))])
    _carry_caches(paths.dataset_dir(store.home, dataset), paths.dataset_dir(scratch.home, name))
    copied = scratch.images(name).set_index("name")["image_id"]
    return name, pd.Series(truth.to_numpy(), index=copied.loc[images["name"]].to_numpy(), name="label")


def _record(row: dict, position: int) -> ImageRecord:
    """The store row of an image as a record for another store (same file, absolute path)."""
    values = {f.name: row.get(f.name) for f in fields(ImageRecord)}
    values = {k: None if v is None or (isinstance(v, float) and v != v) else v for k, v in values.items()}
    return ImageRecord(**{**values, "position": position})


def _carry_caches(src: Path, dst: Path) -> None:
    for cache in CACHES:
        if (src / cache).is_file() and not (dst / cache).exists():
            shutil.copyfile(src / cache, dst / cache)
