"""What explaining a row of a predictions table needs later, kept by a browser session between events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from workbench.errors import WorkbenchError
from workbench.predict.sources import ImageSource

if TYPE_CHECKING:  # annotations only: predicting imports torch, and the Predict tab holds an Explainable from start
    from workbench.predict.predict import Predictions


@dataclass(frozen=True)
class Explainable:
    """What explaining a row of a predictions table needs later: the run, its decision threshold and each row's
    image (small and copyable, so a browser session can keep it)."""

    run: str
    threshold: float | None
    sources: tuple[tuple[str, str, str | None], ...]

    @classmethod
    def of(cls, result: Predictions) -> "Explainable":
        """What `result`'s table needs for explaining its rows."""
        return cls(result.run, result.threshold, tuple(s.key() for s in result.sources))

    @classmethod
    def nothing(cls) -> "Explainable":
        """Before anything was predicted: no row to explain."""
        return cls("", None, ())

    def source(self, row: int | float | None) -> ImageSource:
        """The image of table row `row` (0-based); WorkbenchError when there is no such row."""
        if row is None or not 0 <= int(row) < len(self.sources):
            raise WorkbenchError("Predict some images first, then pick a row of the table.")
        return ImageSource.from_key(self.sources[int(row)])
