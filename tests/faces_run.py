"""Workbench homes holding the labelled faces set, and a short real training run on it, for module fixtures.

conftest.py builds each once per session as a template home (`labelled_faces`, then `train_faces_run` on a copy of
it) and gives every module that asks its own copy (`copied_home`): a module may change its copy, never the template.
"""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

import pytest

from workbench.data.demo import ensure_faces, faces_truth
from workbench.store import Store
from workbench.train.config import RunConfig
from workbench.train.loop import train
from workbench.workspace import Workspace

RUN = "faces-fe"
INPUT_SIZE = 96  # faces upscaled so lite0's last stage is 3x3 and Grad-CAM has structure


@contextmanager
def opened_home(home: Path):
    """`home` as WORKBENCH_HOME and current directory, its store and workspace open: yields (home, store, ws)."""
    mp = pytest.MonkeyPatch()
    mp.setenv("WORKBENCH_HOME", str(home))
    mp.chdir(home)
    store = Store()
    try:
        yield SimpleNamespace(home=home, store=store, ws=Workspace.around(store, home))
    finally:
        store.close()
        mp.undo()


@contextmanager
def copied_home(template: Path, home: Path):
    """`opened_home` on a copy of the template home (its store is closed: a finished template is only read)."""
    shutil.copytree(template, home, dirs_exist_ok=True)
    with opened_home(home) as h:
        yield h


def labelled_faces(store: Store) -> None:
    """The faces demo set with its true labels, recorded by annotator "truth"."""
    ensure_faces(store)
    store.add_labels("faces", list(faces_truth(store).items()), "truth")


def train_faces_run(ws: Workspace, name: str = RUN) -> None:
    """Run `name`: feature extraction on the labelled faces, 2 epochs at INPUT_SIZE."""
    result = train(ws, RunConfig(dataset="faces", method="feature_extract", input_size=INPUT_SIZE, epochs=2,
                                 batch_size=32, name=name))
    assert result.status == "completed", result.message


@contextmanager
def faces_run(home: Path, name: str = RUN):
    """Yield a Store whose home holds the labelled faces set and run `name`, trained here (a module needing its own
    run name; others take conftest's `faces_run_home`, a copy of one run trained once)."""
    with opened_home(home) as h:
        labelled_faces(h.store)
        train_faces_run(h.ws, name)
        yield h.store
