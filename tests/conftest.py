"""Shared fixtures: every test gets its own Workbench home (datasets/, checkpoints/, plots_checkpoints/)."""

from __future__ import annotations

import pytest

from engines import ENGINES, engine_url
from workbench.data.demo import ensure_digits, ensure_faces, faces_truth
from workbench.store import Store


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A fresh WORKBENCH_HOME, also the current directory."""
    monkeypatch.setenv("WORKBENCH_HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    return tmp_path


# Modules whose tests run on both store engines (SQLite, and PostgreSQL when $WORKBENCH_TEST_PG is set).
BOTH_ENGINES = {"test_store", "test_store_boxes", "test_box_durability", "test_store_engines", "test_labeling_session", "test_label_grid_review",
                "test_label_durability"}


def pytest_generate_tests(metafunc):
    if "db_url" in metafunc.fixturenames and metafunc.module.__name__.rpartition(".")[2] in BOTH_ENGINES:
        metafunc.parametrize("db_url", ENGINES, indirect=True)


@pytest.fixture
def db_url(request, home, monkeypatch):
    """The store's URL, exported as WORKBENCH_DB (apps the test starts use it too): SQLite unless parametrized."""
    with engine_url(getattr(request, "param", "sqlite")) as url:
        monkeypatch.setenv("WORKBENCH_DB", url)
        yield url


@pytest.fixture
def store(db_url):
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



@pytest.fixture
def ws(request):
    """The test's workspace: its home and the `store` fixture's store when the test uses them; else the workspace
    at $WORKBENCH_HOME, the home a module-scoped fixture (a trained run shared by the module's tests) set."""
    from workbench.workspace import Workspace

    if "store" in request.fixturenames:
        yield Workspace.around(request.getfixturevalue("store"), request.getfixturevalue("home"))
        return
    w = Workspace.open(request.getfixturevalue("home") if "home" in request.fixturenames else None)
    yield w
    w.close()
