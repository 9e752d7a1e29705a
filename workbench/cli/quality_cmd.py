"""`workbench quality SET`: images per automatic quality category (each judged against the set itself), with the
thresholds used, and the set's groups of duplicates."""

from __future__ import annotations

import argparse

import pandas as pd
from tqdm import tqdm

from workbench.lazy import lazy_import

duplicates = lazy_import("workbench.data.duplicates")  # OpenCV, scipy, sklearn: imported when the command runs
quality = lazy_import("workbench.data.quality")


def register(sub: argparse._SubParsersAction) -> None:
    """Add `workbench quality`."""
    p = sub.add_parser("quality", help="images per quality category (dark, blurry, outlier, ...) and duplicate groups",
                       description="Counts per automatic quality category, each decided against the set's own "
                                   "distribution (modified z-score beyond 3.5), with the thresholds used; then the "
                                   "groups of exact and near duplicates. Scores and thresholds are saved as "
                                   "datasets/SET/quality.csv and quality.json.")
    p.add_argument("dataset", help="dataset name")
    p.add_argument("--no-outliers", action="store_true",
                   help="skip the outlier category (it needs the backbone's embeddings of every image)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Score the set, print the category table and the duplicate groups."""
    store = args.workspace.store
    store.dataset_id(args.dataset)  # an unknown name is refused before any work
    bar = tqdm(total=100, desc="quality", unit="%", leave=False)

    def progress(frac: float, what: str) -> None:
        bar.set_description(what)
        bar.update(max(int(frac * 100) - bar.n, 0))

    q = quality.dataset_quality(store, args.dataset, outliers=not args.no_outliers, progress=progress)
    found = duplicates.dataset_duplicates(store, args.dataset, progress=progress)
    bar.close()
    print(category_text(q, found.images))
    kinds = found.pairs["kind"].value_counts()
    print(f"\nDuplicates: {found.n_groups} group(s) holding {len(found.groups)} images "
          f"({int(kinds.get('exact', 0))} exact and {int(kinds.get('near', 0))} near pairs); "
          f"`workbench duplicates {args.dataset}` lists them.")
    return 0


def category_text(q: quality.Quality, n_images: int) -> str:
    """The thresholds table as printed: category, images, share, the score and where its cut lies."""
    t = q.thresholds
    rows = pd.DataFrame({
        "category": t["category"], "images": t["images"],
        "share": (t["images"] / max(n_images, 1)).map("{:.1%}".format),
        "score": t["score"], "median": t["median"].map(_num),
        "in it when": [_cut(r) for r in t.itertuples()]})
    if not q.outliers:
        rows.loc[rows["category"] == "outlier", "in it when"] = "not scored (--no-outliers)"
    return (f"{q.dataset}: {n_images} images; a category holds the images whose score is extreme for this set\n"
            + rows.to_string(index=False))


def _num(v: float) -> str:
    return "-" if pd.isna(v) else f"{v:.4g}"


def _cut(r) -> str:
    parts = []
    if not pd.isna(r.below):
        parts.append(f"< {_num(r.below)}")
    if not pd.isna(r.above):
        parts.append(f"> {_num(r.above)}")
    return " or ".join(parts) or "-"
