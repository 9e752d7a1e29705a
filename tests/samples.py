"""Small real sample sets for tests that need real classes but not every image of a demo set."""

from __future__ import annotations

import numpy as np
from sklearn.datasets import load_digits

from workbench.data.importers import import_arrays
from workbench.store import Store
from workbench.train.config import RunConfig
from workbench.train.loop import train

DIGITS_SAMPLE = "digits-sample"
D3, D3_RUN = "d3", "d3-run"


def import_digits_sample(store: Store, per_class: int = 40) -> str:
    """Dataset "digits-sample": the first `per_class` of each digit of sklearn's 1,797 (400 at 40), labelled 0..9
    (imported once: a store that has it keeps it)."""
    if DIGITS_SAMPLE in store.datasets():
        return DIGITS_SAMPLE
    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:per_class] for k in range(10)])
    import_arrays(store, (d.images[keep] * (255.0 / 16.0)).round().astype(np.uint8), d.target[keep],
                  [str(k) for k in range(10)], name=DIGITS_SAMPLE, source="sklearn.datasets.load_digits(), a sample")
    return DIGITS_SAMPLE


def three_digit_classes(per_class: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """The first `per_class` 8x8 digits of each of 0, 1, 2 (real images, a cheap three-class task)."""
    d = load_digits()
    keep = np.concatenate([np.flatnonzero(d.target == k)[:per_class] for k in range(3)])
    return (d.images[keep] * (255 / 16)).round().astype(np.uint8), d.target[keep]


def train_d3_run(ws) -> None:
    """Dataset D3 (three_digit_classes) and run D3_RUN on it: feature extraction, 1 epoch at 32 px."""
    x, y = three_digit_classes()
    import_arrays(ws.store, x, y, ["0", "1", "2"], name=D3)
    result = train(ws, RunConfig(D3, method="feature_extract", input_size=32, epochs=1, name=D3_RUN))
    assert result.status == "completed", result.message
