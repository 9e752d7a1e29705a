"""Inter-annotator agreement (Cohen's kappa from scikit-learn) and the images annotators disagree on.

`suggested=False` leaves out labels made by accepting a suggestion or a verify page: agreement between what
people decided themselves, not what they agreed to (automation bias shows as the difference)."""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from workbench.lazy import lazy_import
from workbench.store import Store

# scikit-learn: imported when agreement is first computed, not with the Label tab
skm = lazy_import("sklearn.metrics")

# settled labels are recorded under this name: as the latest vote it decides ties in resolved_labels
REVIEWER = "review"
SUGGESTED_SOURCES = ("accepted", "page")


def _wide(store: Store, dataset: str, suggested: bool = True) -> pd.DataFrame:
    """image_id x annotator table of current labels (reviewer votes left out; accepted suggestions too unless
    `suggested`)."""
    cur = store.latest_labels(dataset)
    cur = cur[cur["annotator"] != REVIEWER]
    if not suggested:
        cur = cur[~cur["source"].isin(SUGGESTED_SOURCES)]
    if cur.empty:
        return pd.DataFrame()
    return cur.pivot(index="image_id", columns="annotator", values="label")


def pairwise_kappa(store: Store, dataset: str, suggested: bool = True) -> pd.DataFrame:
    """Cohen's kappa for each pair of annotators over the images both labelled (with or without accepted
    suggestions)."""
    wide = _wide(store, dataset, suggested)
    rows = []
    for a, b in combinations(sorted(wide.columns), 2):
        both = wide[[a, b]].dropna()
        kappa = float(skm.cohen_kappa_score(both[a], both[b])) if len(both) else float("nan")
        rows.append({"annotator_a": a, "annotator_b": b, "images": len(both),
                     "agree": int((both[a] == both[b]).sum()), "kappa": kappa, "note": _kappa_note(both, a, b)})
    return pd.DataFrame(rows, columns=list(KAPPA_COLUMNS))


KAPPA_COLUMNS = ("annotator_a", "annotator_b", "images", "agree", "kappa", "note")


def _kappa_note(both: pd.DataFrame, a: str, b: str) -> str:
    """Why a kappa reads as it does where the number alone misleads (0 at 12 of 15 agreeing)."""
    if both.empty:
        return "no image labelled by both"
    single = [who for who in (a, b) if both[who].nunique() == 1]
    if single:
        return (f"{' and '.join(single)} used one class only on these images: kappa is 0 (or undefined) "
                "whatever the share agreed, as chance alone explains it")
    return ""


def disagreements(store: Store, dataset: str, suggested: bool = True) -> pd.DataFrame:
    """Images with more than one distinct label among annotators: image_id, name, path, one column per annotator,
    and `settled` (the reviewer's label, if any)."""
    wide = _wide(store, dataset, suggested)
    cols = ["image_id", "name", "path", *wide.columns, "settled"]
    if wide.empty:
        return pd.DataFrame(columns=cols)
    split = wide[wide.nunique(axis=1) > 1]
    images = store.images(dataset).set_index("image_id")[["name", "path"]]
    out = images.loc[split.index].join(split).reset_index()
    review = store.latest_labels(dataset, REVIEWER)
    out["settled"] = out["image_id"].map(dict(zip(review["image_id"], review["label"])))
    return out[cols]


def settle(store: Store, image_id: int, label: str) -> int:
    """Record the reviewer's decision for a disputed image; returns the label id."""
    return store.add_label(image_id, label, REVIEWER)
