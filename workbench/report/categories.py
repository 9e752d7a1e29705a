"""Section 2, Categories: a collage per category tag and per automatic quality category, sample crops at their own
size (small ones enlarged, pixelated), with counts: what a reader of the source project's README saw first."""

from __future__ import annotations

import numpy as np
import pandas as pd

from workbench.report import document as doc
from workbench.report.study import Study
from workbench.review.categories import quality_categories_of, tag_categories

SAMPLES = 24  # crops per collage, spread evenly over the category's images


def categories_section(study: Study) -> doc.Section | None:
    """One collage per category tag, then per quality category; None when the set has neither."""
    store, ds = study.ws.store, study.dataset
    kinds = {"Category tags": tag_categories(store, ds), "Image quality (automatic)": quality_categories_of(store, ds)}
    if all(cats.empty for cats in kinds.values()):
        return None
    images = store.images(ds).set_index("image_id")
    s = doc.Section("categories", "Categories")
    counts = pd.concat([_counts(kind, cats, len(images)) for kind, cats in kinds.items()], ignore_index=True)
    s.add(doc.table(counts, caption="Images per category (an image may be in several).", floats="{:.1%}"))
    for kind, cats in kinds.items():
        if cats.empty:
            continue
        s.add(doc.heading(kind))
        for category, ids in cats.groupby("category")["image_id"]:
            s.add(collage(category, np.unique(ids.to_numpy()), images["path"]))
    tagged = kinds["Category tags"]
    s.info(f"{tagged['image_id'].nunique()} images carry a category tag" if len(tagged)
           else "no category tags given (the Label tab's tag keys add them)")
    return s


def collage(category: str, ids: np.ndarray, path_of: pd.Series) -> str:
    """A titled grid of up to SAMPLES of the category's images, evenly spread over its ids."""
    picked = ids[np.linspace(0, len(ids) - 1, min(SAMPLES, len(ids))).round().astype(int)] if len(ids) else ids
    tiles = [doc.tile(path_of[i], title=f"#{i}") for i in picked]
    return (f"<div class='collage'><h3>{doc.esc(category)} · {len(ids)} image{'s' if len(ids) != 1 else ''}</h3>"
            f"{doc.tiles(tiles)}</div>")


def _counts(kind: str, cats: pd.DataFrame, n: int) -> pd.DataFrame:
    per = cats.groupby("category")["image_id"].nunique()
    return pd.DataFrame({"kind": kind, "category": per.index, "images": per.to_numpy(),
                         "share of the set": per.to_numpy() / max(n, 1)})
