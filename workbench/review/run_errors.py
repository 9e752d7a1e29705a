"""A run's errors per category: the one place the CLI (`evaluate --by`) and the Evaluate tab build them from."""

from __future__ import annotations

from dataclasses import dataclass
import pandas as pd

from workbench.evaluate.staleness import run_predictions
from workbench.review.categories import ALL_IMAGES, categories, category_table, confusion_table, errors_in
from workbench.review.file_names import with_file_names
from workbench.run import Run


@dataclass
class RunErrors:
    """A run's predictions on a split, its images' categories of one grouping, and the error rate per category."""

    preds: pd.DataFrame
    classes: list[str]
    cats: pd.DataFrame  # image_id, category
    table: pd.DataFrame  # category_table ('all images' first, then worst error rate first), or confusion_table

    @property
    def category_names(self) -> list[str]:
        """The categories of the table, worst first (without the 'all images' row)."""
        return [c for c in self.table["category"].tolist() if c != ALL_IMAGES]

    def errors(self, category: str | None = None) -> pd.DataFrame:
        """Misclassified images, most confident first; with `category`, only those in it."""
        return errors_in(self.preds, self.cats, category or None)


def run_categories(run: Run, grouping: str, preds: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """(image_id, category) of the predicted images of `run` by `grouping` (tags and quality: of the run's dataset)."""
    return categories(grouping, preds, classes, run.ws.store, run.config.dataset)


def run_errors(run: Run, grouping: str, split: str = "test") -> RunErrors:
    """Errors of `run` on `split` per category of `grouping`; evaluates first if the saved evaluation is stale."""
    preds, classes = run_predictions(run, split)
    preds = with_file_names(run, preds)
    cats = run_categories(run, grouping, preds, classes)
    table = confusion_table(preds, classes) if grouping == "confusion" else category_table(preds, cats)
    return RunErrors(preds, classes, cats, table)
