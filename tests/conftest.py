"""Shared fixtures: every test gets its own Workbench home (datasets/, checkpoints/, plots_checkpoints/)."""

from __future__ import annotations

import pytest

from workbench.data.demo import ensure_digits, ensure_faces, faces_truth
from workbench.store import Store


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh WORKBENCH_HOME, also the current directory."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def store(home):
    s = Store()
    yield s
    s.close()


@pytest.fixture
def faces(store):
    """The faces demo set imported, unlabeled (classes "face", "not face")."""
    ensure_faces(store)
    return store


@pytest.fixture
def faces_labelled(faces):
    """The faces demo set with its true labels recorded by annotator "truth"."""
    truth = faces_truth(faces)
    faces.add_labels("faces", list(truth.items()), "truth")
    return faces


@pytest.fixture
def digits(store):
    """The digits demo set (1,797 8×8 images, labelled 0..9)."""
    ensure_digits(store)
    return store
