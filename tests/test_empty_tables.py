"""Before a run is picked, the Evaluate and Predict tables show the columns they will have (not gradio's 1, 2, 3)."""

from __future__ import annotations

import pandas as pd

from workbench.evaluate.report import metrics_table
from workbench.predict.predict import Predictions
from workbench.review.categories import category_table
from workbench.ui.app import build_app


def _headers(demo, elem_id: str) -> list[str]:
    block = next(b for b in demo.blocks.values() if getattr(b, "elem_id", None) == elem_id)
    return list(block.headers)


def test_empty_tables_are_headed_as_the_core_fills_them(store):
    demo, _ = build_app(store)
    preds = pd.DataFrame({"image_id": [1, 2], "path": ["a.png", "b.png"], "y_true": [0, 1], "y_pred": [0, 0],
                          "confidence": [0.9, 0.8]})
    cats = pd.DataFrame({"image_id": [2], "category": ["dark"]})
    assert _headers(demo, "wb-eval-category-table") == list(category_table(preds, cats).columns)
    assert _headers(demo, "wb-eval-metrics") == list(metrics_table({"accuracy": 0.5}).columns)
    filled, _ = Predictions("run", ["face"], pd.DataFrame({"file": ["a.png"], "decision": ["face"],
                                                           "confidence": [0.9], "p_face": [0.9]})).display()
    assert _headers(demo, "wb-predict-table") == list(filled.columns[:3])
    assert _headers(demo, "wb-eval-confusion") == ["true \\ predicted"]
