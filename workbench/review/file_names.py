"""Images named by their files, for captions and tables a reviewer reads: an image id says nothing to them.

Light on purpose (pandas and the store): the Evaluate tab imports it when the app starts, before torch is needed.
"""

from __future__ import annotations

import pandas as pd

from workbench.run import Run


def with_file_names(run: Run, frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` (with `image_id`) plus each image's file `name` in the run's dataset."""
    names = run.ws.store.images(run.config.dataset)[["image_id", "name"]]
    return frame.drop(columns="name", errors="ignore").merge(names, on="image_id", how="left")
