"""Which category each image belongs to (tag, quality or confusion cell), and the error rate per category."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from workbench.data.quality import dataset_quality
from workbench.errors import WorkbenchError
from workbench.store import Store

GROUPINGS = {"tag": "Category tag", "quality": "Image quality", "confusion": "Confusion cell (true → predicted)"}
PRED_COLUMNS = ("image_id", "path", "y_true", "y_pred", "confidence")
ALL_IMAGES = "all images"  # the first row of per-category tables: every image, whatever its category


def check_predictions(preds: pd.DataFrame) -> pd.DataFrame:
    """Validate a predictions table at the edge: the columns galleries and tables read."""
    missing = [c for c in PRED_COLUMNS if c not in preds.columns]
    if missing:
        raise WorkbenchError(f"Predictions table lacks column(s) {', '.join(missing)}.")
    if preds["image_id"].duplicated().any():
        raise WorkbenchError("Predictions table has an image more than once.")
    return preds


def tag_categories(store: Store, dataset: str) -> pd.DataFrame:
    """(image_id, category) from the category tags annotators gave, one row per image and tag."""
    tags = store.image_tags(dataset)
    return tags[["image_id", "tag"]].drop_duplicates().rename(columns={"tag": "category"}).reset_index(drop=True)


def quality_categories_of(store: Store, dataset: str) -> pd.DataFrame:
    """(image_id, category) from the automatic quality categories, each relative to the dataset (data.quality)."""
    return dataset_quality(store, dataset).categories[["image_id", "category"]]


def cell_category(classes: Sequence[str], true_index: int, pred_index: int) -> str:
    """The confusion grouping's category of one matrix cell: 'true → predicted'."""
    return f"{classes[true_index]} → {classes[pred_index]}"


def confusion_categories(preds: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """(image_id, category) with category 'true → predicted' (`cell_category`) for every image."""
    names = list(classes)
    cells = [cell_category(names, t, p) for t, p in zip(preds["y_true"].to_numpy(), preds["y_pred"].to_numpy())]
    return pd.DataFrame({"image_id": preds["image_id"].to_numpy(), "category": cells})


def categories(grouping: str, preds: pd.DataFrame, classes: Sequence[str], store: Store | None = None,
               dataset: str | None = None) -> pd.DataFrame:
    """The (image_id, category) table for one grouping of GROUPINGS, restricted to the predicted images."""
    if grouping == "confusion":
        return confusion_categories(preds, classes)
    if grouping not in GROUPINGS:
        raise WorkbenchError(f"Unknown grouping {grouping!r}; choose one of: {', '.join(GROUPINGS)}.")
    cats = tag_categories(store, dataset) if grouping == "tag" else quality_categories_of(store, dataset)
    return cats[cats["image_id"].isin(preds["image_id"])].reset_index(drop=True)


def errors_in(preds: pd.DataFrame, cats: pd.DataFrame, category: str | None = None) -> pd.DataFrame:
    """Misclassified images (most confident mistakes first); with `category`, only those in it."""
    check_predictions(preds)
    wrong = preds[preds["y_true"] != preds["y_pred"]]
    if category is not None:
        wrong = wrong[wrong["image_id"].isin(cats.loc[cats["category"] == category, "image_id"])]
    return wrong.sort_values(["confidence", "image_id"], ascending=[False, True]).reset_index(drop=True)


CATEGORY_COLUMNS = ("category", "images", "errors", "error_rate", "rest_error_rate", "vs_rest")


def category_table(preds: pd.DataFrame, cats: pd.DataFrame) -> pd.DataFrame:
    """Per category: images, errors, error rate, the error rate of the images outside it, and their ratio.

    A first row ALL_IMAGES gives the overall rate; categories are sorted by error rate, worst first. Only categories
    that split the images are listed: one holding every image says nothing its first row does not.
    """
    check_predictions(preds)
    wrong = preds.set_index("image_id")["y_true"].ne(preds.set_index("image_id")["y_pred"])
    n_all, e_all = len(wrong), int(wrong.sum())
    rows = [{"category": ALL_IMAGES, "images": n_all, "errors": e_all,
             "error_rate": e_all / n_all if n_all else np.nan, "rest_error_rate": np.nan, "vs_rest": np.nan}]
    cats = cats[cats["image_id"].isin(wrong.index)]
    for cat, ids in cats.groupby("category")["image_id"]:
        if ids.nunique() == n_all:
            continue
        inside = wrong.loc[ids.unique()]
        outside = wrong.drop(index=ids.unique())
        rate = inside.mean()
        rest = outside.mean() if len(outside) else np.nan
        rows.append({"category": cat, "images": len(inside), "errors": int(inside.sum()), "error_rate": rate,
                     "rest_error_rate": rest,
                     "vs_rest": rate / rest if rest and rest > 0 else (np.inf if rate > 0 else np.nan)})
    table = pd.DataFrame(rows, columns=list(CATEGORY_COLUMNS))
    head, body = table.iloc[:1], table.iloc[1:].sort_values(["error_rate", "images"], ascending=False)
    return pd.concat([head, body], ignore_index=True)


def confusion_table(preds: pd.DataFrame, classes: Sequence[str]) -> pd.DataFrame:
    """Per confusion cell holding errors, most errors first: the true class's images, the cell's errors and their
    share of that class (the confusion matrix's row share); 'all images' first. A cell holds errors only, so there
    is no rest to compare it with: category_table gave every cell an error rate of 1 and "10x the rest's"."""
    check_predictions(preds)
    wrong = preds[preds["y_true"] != preds["y_pred"]]
    per_class = preds["y_true"].value_counts()
    rows = [{"category": ALL_IMAGES, "images": len(preds), "errors": len(wrong),
             "error_rate": len(wrong) / len(preds) if len(preds) else np.nan}]
    for (t, p), n in wrong.groupby(["y_true", "y_pred"]).size().items():
        rows.append({"category": cell_category(classes, int(t), int(p)), "images": int(per_class[t]),
                     "errors": int(n), "error_rate": n / per_class[t]})
    table = pd.DataFrame(rows, columns=list(CATEGORY_COLUMNS))  # no rest: its columns stay empty
    head, body = table.iloc[:1], table.iloc[1:].sort_values(["errors", "error_rate"], ascending=False)
    return pd.concat([head, body], ignore_index=True)
