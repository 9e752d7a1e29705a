"""How a dataset's labels were made: counts per provenance (typed, accepted suggestion, verify page, bulk, imported,
review) and per annotator, over each annotator's current label of each image."""

from __future__ import annotations

import pandas as pd

from workbench.store import LABEL_SOURCES, Store


def provenance_table(store: Store, dataset: str) -> pd.DataFrame:
    """One row per annotator: their current labels counted by source (LABEL_SOURCES' order, sources nobody used
    left out) and in total; a last row 'all annotators'."""
    cur = store.latest_labels(dataset)
    if cur.empty:
        return pd.DataFrame(columns=["annotator", "labels"])
    counts = pd.crosstab(cur["annotator"], cur["source"])
    counts = counts[[s for s in LABEL_SOURCES if s in counts.columns]]
    counts.loc["all annotators"] = counts.sum()
    counts.insert(len(counts.columns), "labels", counts.sum(axis=1))
    return counts.rename_axis(index="annotator", columns=None).reset_index()
