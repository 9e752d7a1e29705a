"""Small real sample sets for tests that need real classes but not every image of a demo set."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from workbench.data.importers import import_arrays
from workbench.store import Store

DIGITS_SAMPLE = "digits-sample"


def import_digits_sample(store: Store, per_class: int = 40) -> str:
    """Dataset "digits-sample": the first `per_class` of each digit of sklearn's 1,797 (400 at 40), labelled 0..9."""
    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:per_class] for k in range(10)])
    import_arrays(store, (d.images[keep] * (255.0 / 16.0)).round().astype(np.uint8), d.target[keep],
                  [str(k) for k in range(10)], name=DIGITS_SAMPLE, source="sklearn.datasets.load_digits(), a sample")
    return DIGITS_SAMPLE
