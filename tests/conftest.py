"""Shared fixtures: every test gets its own Workbench home (datasets/, checkpoints/, plots_checkpoints/)."""

from __future__ import annotations

import pytest

from engines import ENGINES, engine_url
from faces_run import copied_home, labelled_faces, opened_home, train_faces_run
from samples import import_digits_sample, train_d3_run
from workbench.data.demo import ensure_digits, ensure_faces
from workbench.store import Store
from workbench.workspace import Workspace


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
    labelled_faces(faces)
    return faces


@pytest.fixture
def digits(store):
    """The digits demo set (1,797 8×8 images, labelled 0..9)."""
    ensure_digits(store)
    return store


@pytest.fixture
def digits_sample(store):
    """The name of dataset "digits-sample" in the store: 40 images of each digit (400 of the 1,797), labelled
    0..9, for tests that train on ten real classes and need no more images (a fifth of the time)."""
    return import_digits_sample(store)


# Homes for modules that set up once and share it between their tests: each template is built once per session,
# and each module gets its own copy (WORKBENCH_HOME and current directory while the module runs), free to change it.
@pytest.fixture(scope="session")
def labelled_faces_template(tmp_path_factory):
    home = tmp_path_factory.mktemp("labelled_faces_template")
    with opened_home(home) as h:
        labelled_faces(h.store)
    return home


@pytest.fixture(scope="session")
def faces_run_template(tmp_path_factory, labelled_faces_template):
    home = tmp_path_factory.mktemp("faces_run_template")
    with copied_home(labelled_faces_template, home) as h:
        train_faces_run(h.ws)
    return home


@pytest.fixture(scope="session")
def d3_run_template(tmp_path_factory):
    home = tmp_path_factory.mktemp("d3_run_template")
    with opened_home(home) as h:
        train_d3_run(h.ws)
    return home


@pytest.fixture(scope="module")
def faces_home(tmp_path_factory, labelled_faces_template):
    """The module's own home holding the faces set labelled by "truth": yields home, store, ws."""
    with copied_home(labelled_faces_template, tmp_path_factory.mktemp("faces_home")) as h:
        yield h


@pytest.fixture(scope="module")
def faces_run_home(tmp_path_factory, faces_run_template):
    """`faces_home` with run faces_run.RUN in it (feature extraction on the faces, 2 epochs at 96 px), trained once
    per session: yields home, store, ws."""
    with copied_home(faces_run_template, tmp_path_factory.mktemp("faces_run_home")) as h:
        yield h


@pytest.fixture
def d3_run(tmp_path_factory, d3_run_template):
    """The test's own home (WORKBENCH_HOME and current directory during the test) holding samples.D3 and run
    samples.D3_RUN (three digit classes), trained once per session: yields home, store, ws."""
    with copied_home(d3_run_template, tmp_path_factory.mktemp("d3_home")) as h:
        yield h


@pytest.fixture
def ws(request):
    """The test's workspace: its home and the `store` fixture's store when the test uses them; else the workspace
    at $WORKBENCH_HOME, the home a module-scoped fixture (a trained run shared by the module's tests) set."""
    if "store" in request.fixturenames:
        yield Workspace.around(request.getfixturevalue("store"), request.getfixturevalue("home"))
        return
    w = Workspace.open(request.getfixturevalue("home") if "home" in request.fixturenames else None)
    yield w
    w.close()
