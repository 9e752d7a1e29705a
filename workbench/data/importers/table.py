"""A CSV or .xlsx table of filename,label next to (or pointing into) a folder of images."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Sequence

import pandas as pd

from workbench.data.importers.common import ImportResult, Item, Progress, ingest, no_progress
from workbench.errors import WorkbenchError
from workbench.store import Store
from workbench.tables import read_csv

FILE_COLUMNS = ("filename", "file", "image", "path", "name")
LABEL_COLUMNS = ("label", "class", "target", "category")


def read_table(table: Path) -> pd.DataFrame:
    """The (filename, label) rows of a .csv or .xlsx, columns found by name (or the only two); blank names dropped."""
    try:
        if table.suffix.lower() in (".xlsx", ".xlsm"):
            df = pd.read_excel(table, dtype=str)
        else:
            df = read_csv(table, dtype=str, keep_default_na=False, skipinitialspace=True)  # our exports' ' taken off
    except FileNotFoundError:
        raise WorkbenchError(f"{table}: file not found") from None
    except Exception as e:  # pandas raises many kinds for malformed files
        raise WorkbenchError(f"{table}: cannot read as a table ({e})") from None
    cols = {c.lower().strip(): c for c in df.columns}
    fcol = next((cols[c] for c in FILE_COLUMNS if c in cols), None)
    lcol = next((cols[c] for c in LABEL_COLUMNS if c in cols), None)
    if fcol is None or lcol is None:
        if len(df.columns) == 2:
            fcol, lcol = df.columns
        else:
            raise WorkbenchError(f"{table}: needs a filename column and a label column "
                                 f"(found columns: {', '.join(map(str, df.columns))})")
    out = pd.DataFrame({"filename": df[fcol].fillna("").astype(str).str.strip(),
                        "label": df[lcol].fillna("").astype(str).str.strip()})
    return out[out.filename != ""]


def import_table(store: Store, table: str | Path, image_dir: str | Path | None = None, name: str | None = None,
                 classes: Sequence[str] = (), skip_bad: bool = False,
                 progress: Progress = no_progress) -> ImportResult:
    """Import the images a filename,label table names; files are looked up relative to image_dir (default: its folder).

    Labels must be among `classes` (or the dataset's existing classes) when either is given; otherwise the
    table's distinct labels become the classes.
    """
    table = Path(table)
    base = Path(image_dir) if image_dir else table.parent
    df = read_table(table)
    dataset = name or table.stem
    known = list(classes) or (store.classes(dataset) if dataset in store.datasets() else [])
    problems, items = [], []
    for row in df.itertuples(index=False):
        rel = PurePosixPath(row.filename.replace("\\", "/"))
        if rel.is_absolute() or ".." in rel.parts:
            problems.append((row.filename, "path leaves the image folder; give names relative to it"))
            continue
        path = base / rel
        if not path.is_file():
            problems.append((row.filename, f"named in {table.name} but not found in {base}"))
        elif not row.label:
            problems.append((row.filename, "no label given"))
        elif known and row.label not in known:
            problems.append((row.filename, f"unknown label {row.label!r} (classes: {', '.join(known)})"))
        else:
            items.append(Item(name=rel.as_posix(), path=path, label=row.label))
    labels = known or sorted(df.label[df.label != ""].unique())
    return ingest(store, dataset, items, classes=labels, source=str(table.resolve()), skip_bad=skip_bad,
                  progress=progress, problems=problems)
