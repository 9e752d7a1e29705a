"""Export labels as a table (CSV / .xlsx: filename,label,tags,annotator,source,confidence) or an ImageFolder tree;
boxes as COCO JSON (labeling/box_export.py).

source and confidence are the label's provenance: typed, accepted (a suggestion), page (an accepted verify
page), bulk, imported or review, and the accepted suggestion's confidence (empty for the others).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Iterable

import pandas as pd

from workbench.atomic import atomic_dir, atomic_path
from workbench.errors import WorkbenchError
from workbench.labeling.box_export import write_coco
from workbench.store import Store, checks
from workbench.tables import text_or_blank, write_csv, write_xlsx

COLUMNS = ["filename", "label", "tags", "annotator", "source", "confidence"]
FORMATS = ("csv", "xlsx", "imagefolder", "coco")
# whose labels an export holds: everyone's (one row per image and annotator), one annotator's, or the majority
SCOPES = ("all annotators", "only me", "resolved (majority)")


def scope_options(scope: str, annotator: str | None) -> dict:
    """write_export's `annotator` and `resolved` for a scope, `annotator` being who asks."""
    if scope not in SCOPES:
        raise WorkbenchError(f"Unknown export scope {scope!r}; choose one of {', '.join(SCOPES)}.")
    return {"annotator": annotator if scope == "only me" else None, "resolved": scope == SCOPES[2]}


def export_table(store: Store, dataset: str, annotator: str | None = None, resolved: bool = False) -> pd.DataFrame:
    """One row per (image, annotator) with a label or tags; `resolved`: one row per labelled image, majority label."""
    images = store.images(dataset).set_index("image_id")
    tags = store.image_tags(dataset, annotator)
    if resolved:
        labels = store.resolved_labels(dataset)
        cur = store.latest_labels(dataset)
        who = cur[cur["label"] == cur["image_id"].map(labels)].groupby("image_id")["annotator"].agg(
            lambda a: ";".join(sorted(a)))
        joined = tags.groupby("image_id")["tag"].agg(lambda t: ";".join(sorted(set(t))))
        out = pd.DataFrame({"image_id": labels.index, "label": labels.values})
        out["tags"] = text_or_blank(out["image_id"].map(joined))
        out["annotator"] = text_or_blank(out["image_id"].map(who))
        # the winning label's latest vote tells how it was made
        win = cur[cur["label"] == cur["image_id"].map(labels)].sort_values("label_id").groupby("image_id").tail(1)
        out = out.merge(win[["image_id", "source", "confidence"]], on="image_id", how="left")
    else:
        cur = store.latest_labels(dataset, annotator)[["image_id", "annotator", "label", "source", "confidence"]]
        joined = (tags.groupby(["image_id", "annotator"])["tag"].agg(lambda t: ";".join(sorted(t)))
                  .rename("tags").reset_index())
        out = cur.merge(joined, on=["image_id", "annotator"], how="outer")
        out["label"] = text_or_blank(out["label"])
        out["tags"] = text_or_blank(out["tags"])
    out["source"] = text_or_blank(out["source"])
    out["confidence"] = [("" if pd.isna(c) else round(float(c), 4)) for c in out["confidence"]]
    out["filename"] = [images.at[int(i), "name"] for i in out["image_id"]]
    out["_pos"] = [images.at[int(i), "position"] for i in out["image_id"]]
    return out.sort_values(["_pos", "annotator"])[COLUMNS].reset_index(drop=True)


def write_export(store: Store, dataset: str, out: str | Path, fmt: str | None = None,
                 annotator: str | None = None, resolved: bool = False) -> Path:
    """Write the export; the format comes from `fmt` or the file extension (a folder means ImageFolder, .json the
    boxes as COCO)."""
    out = Path(out)
    fmt = fmt or {".csv": "csv", ".xlsx": "xlsx", ".json": "coco"}.get(out.suffix.lower(), "imagefolder")
    if fmt not in FORMATS:
        raise WorkbenchError(f"Unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}.")
    if fmt == "coco":
        return write_coco(store, dataset, out, annotator)
    if fmt == "imagefolder":
        return write_imagefolder(store, dataset, out, annotator)
    table = export_table(store, dataset, annotator, resolved)
    try:  # spreadsheet-safe (no cell a spreadsheet runs as a formula) and atomic (never a half-written file)
        return write_csv(out, table) if fmt == "csv" else write_xlsx(out, table)
    except OSError as e:
        raise WorkbenchError(f"Cannot write {out}: {e.strerror or e}; nothing was exported.") from None


def write_download(store: Store, dataset: str, out_dir: str | Path, fmt: str, annotator: str | None = None,
                   resolved: bool = False) -> Path:
    """The export as one file in `out_dir` (an ImageFolder tree zipped), for a browser to download."""
    out_dir = Path(out_dir)
    if fmt == "coco":
        return write_coco(store, dataset, out_dir / f"{dataset}-boxes.json", annotator)
    if fmt != "imagefolder":
        return write_export(store, dataset, out_dir / f"{dataset}-labels.{fmt}", fmt, annotator, resolved)
    tree = write_imagefolder(store, dataset, out_dir / dataset, annotator)
    out = out_dir / f"{dataset}-imagefolder.zip"
    with atomic_path(out) as tmp:  # make_archive adds the ".zip" to the name it is given
        shutil.make_archive(str(tmp.with_suffix("")), "zip", tree)
    return out


def write_imagefolder(store: Store, dataset: str, out: Path, annotator: str | None = None) -> Path:
    """Copy each labelled image to out/<class>/<file>: annotator's labels, or the resolved ones."""
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise WorkbenchError(f"{out} already exists and is not an empty folder; pick a new folder.")
    if annotator:
        cur = store.latest_labels(dataset, annotator)
        labels = pd.Series(cur["label"].values, index=cur["image_id"])
    else:
        labels = store.resolved_labels(dataset)
    if labels.empty:
        raise WorkbenchError(f"Dataset {dataset!r} has no labels to export.")
    images = store.images(dataset).set_index("image_id")
    missing = [images.at[int(i), "name"] for i in labels.index if not Path(images.at[int(i), "path"]).is_file()]
    if missing:
        raise WorkbenchError(f"{len(missing)} labelled image(s) are missing on disk, e.g. {missing[:3]}; "
                             "nothing was exported.")
    folders = class_folders(labels.unique())
    try:
        with atomic_dir(out) as tmp:  # a failed export leaves no half tree
            for image_id, cls in labels.items():
                src = Path(images.at[int(image_id), "path"])
                # the stored name may contain folders: flatten it so every file lands directly in its class folder
                flat = images.at[int(image_id), "name"].replace("\\", "/").replace("/", "__")
                dest = tmp / folders[cls] / flat
                if dest.suffix.lower() != src.suffix.lower():
                    dest = dest.with_name(dest.name + src.suffix)
                dest.parent.mkdir(exist_ok=True)
                shutil.copy2(src, dest)
    except OSError as e:
        raise WorkbenchError(f"Cannot write the ImageFolder tree {out}: {e.strerror or e}"
                             f"{f' ({e.filename})' if e.filename else ''}; nothing was exported.") from None
    return out


def class_folders(classes: Iterable[str]) -> dict[str, str]:
    """Each class's folder name in an ImageFolder export; a WorkbenchError for a class that cannot have one (a
    store from before names were checked may hold such a name) or two classes that would share a folder."""
    folders = {c: _safe(c) for c in classes}
    bad = [f"{c[:40]!r} {why}" for c, f in folders.items() if (why := checks.name_problem(f))]
    if bad:
        raise WorkbenchError(f"Cannot export class{'es' if len(bad) > 1 else ''} as folders: {'; '.join(bad[:10])} "
                             f"(at most {checks.MAX_NAME} characters, not a device name such as CON, not ending "
                             "with '.'); nothing was exported. Export a .csv or .xlsx table instead.")
    shared = {f: sorted(c for c, g in folders.items() if g == f) for f in folders.values()}
    shared = {f: cs for f, cs in shared.items() if len(cs) > 1}
    if shared:
        f, cs = next(iter(shared.items()))
        raise WorkbenchError(f"Classes {', '.join(map(repr, cs))} would share the folder {f!r}; nothing was exported. "
                             "Export a .csv or .xlsx table instead.")
    return folders


def _safe(name: str) -> str:
    """A class name as a folder name: no path separators or leading dots."""
    return re.sub(r"[\\/:*?\"<>|]", "_", name).strip().lstrip(".") or "_"
