"""A short real training run on the labelled faces demo set, in its own Workbench home (for module fixtures)."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from workbench.data.demo import ensure_faces, faces_truth
from workbench.store import Store
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.workspace import Workspace

INPUT_SIZE = 96  # faces upscaled so lite0's last stage is 3x3 and Grad-CAM has structure


@contextmanager
def faces_run(home, name: str = "faces-fe"):
    """Yield a Store whose home holds the faces set (true labels) and run `name` (feature extraction, 2 epochs)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    mp.chdir(home)
    store = Store()
    ws = Workspace.around(store, home)
    try:
        ensure_faces(store)
        store.add_labels("faces", list(faces_truth(store).items()), "truth")
        result = train(ws, RunConfig(dataset="faces", method="feature_extract", input_size=INPUT_SIZE, epochs=2,
                                 batch_size=32, name=name))
        assert result.status == "completed", result.message
        yield store
    finally:
        store.close()
        mp.undo()
