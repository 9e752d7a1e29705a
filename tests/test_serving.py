"""The running app serves what it shows (dataset images, run plots) and nothing else from the working directory:
not a .env, the label store, a checkpoint, a log, nor any of them reached through '..' — with and without --auth."""

from __future__ import annotations

from urllib.parse import quote

import pandas as pd
import pytest
import torch

from browser.api import ApiSession
from browser.appserver import AppProcess
from pathlib import Path
from workbench.data.demo import ensure_faces
from workbench.plots.curves import save_curves
from workbench.store import Store
from workbench.workspace import Workspace

SECRET = b"WORKBENCH_TEST_SECRET=do-not-serve"
ROUTES = ("gradio_api/file=", "file=", "gradio_api/file/")
# what the private files contain: the secret (.env, and the checkpoint's pickle), SQLite's header, the app's log
PRIVATE_MARKERS = (SECRET, b"SQLite format 3", b"Running on local URL")


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A working directory as a user has it: a dataset, a run's plots and checkpoint, a .env, the store."""
    home = tmp_path_factory.mktemp("served")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("WORKBENCH_HOME", str(home))
        store = Store()
        ws = Workspace.around(store, home)
        ensure_faces(store)
        image = Path(store.images("faces")["path"].iloc[0])
        store.close()
        h = pd.DataFrame({"epoch": [0, 1, 0, 1], "split": ["train", "train", "val", "val"],
                          "loss": [1.0, .5, 1.1, .6], "accuracy": [.5, .7, .4, .6], "f1": [.5, .7, .4, .6],
                          "roc_auc": [.5, .8, .5, .7], "eer": [.5, .3, .5, .35]})
        plot = save_curves({"faces-ft-resnet18-s0": h}, ws.plots)["png"]
        ckpt = ws.run_folder("faces-ft-resnet18-s0") / "best.pt"
        ckpt.parent.mkdir(parents=True)
        torch.save({"w": torch.zeros(3), "note": SECRET.decode()}, ckpt)
    (home / ".env").write_bytes(SECRET + b"\n")
    return {"home": home, "image": image, "plot": plot, "checkpoint": ckpt, "db": home / "datasets" / "workbench.sqlite"}


def private_targets(p: dict, log) -> dict[str, str]:
    """Paths a client might ask for, as absolute, '..' and URL-encoded '..' forms."""
    home, image_dir, plots = p["home"], p["image"].parent, p["plot"].parent
    up_from_images = "/".join([".."] * len(image_dir.relative_to(home).parts))
    return {
        ".env": str(home / ".env"),
        "database": str(p["db"]),
        "database wal": str(p["db"]) + "-wal",
        "checkpoint": str(p["checkpoint"]),
        "log": str(log),
        ".. from images to .env": f"{image_dir}/{up_from_images}/.env",
        ".. from images to the store": f"{image_dir}/../../workbench.sqlite",
        ".. from plots to a checkpoint": f"{plots}/../../checkpoints/{p['checkpoint'].parent.name}/best.pt",
        "encoded ..": quote(f"{image_dir}/../../workbench.sqlite", safe=""),
        "encoded dots only": f"{image_dir}/%2e%2e/%2e%2e/workbench.sqlite",
        "relative": ".env",
        "relative ..": "../" + home.name + "/.env",
    }


def assert_nothing_private(http, p: dict, log) -> None:
    for name, target in private_targets(p, log).items():
        for route in ROUTES:
            r = http.get(route + target)
            leaked = r.status_code == 200 and any(m in r.content for m in PRIVATE_MARKERS)
            assert not leaked, f"{name} served at /{route}{target}: {r.status_code} {r.content[:60]!r}"


def assert_shown_files_served(http, p: dict) -> None:
    for f in (p["image"], p["plot"]):
        r = http.get("gradio_api/file=" + str(f))
        assert r.status_code == 200 and r.content == f.read_bytes(), f"{f} not served: {r.status_code}"


def test_without_auth_only_images_and_plots_are_served(project):
    app = AppProcess(project["home"])
    try:
        api = ApiSession(app.url)
        assert_shown_files_served(api.http, project)
        assert_nothing_private(api.http, project, app.home / f"app-{app.port}.log")
    finally:
        app.stop()


def test_with_auth_logged_in_users_get_no_private_file(project):
    app = AppProcess(project["home"], auth=["alice:pw", "boss:pw"], args=["--admin", "boss"])
    try:
        anonymous = ApiSession(app.url)
        assert anonymous.http.get("gradio_api/file=" + str(project["image"])).status_code != 200
        for user in ("alice", "boss"):
            api = ApiSession(app.url, user, "pw")
            assert_shown_files_served(api.http, project)
            assert_nothing_private(api.http, project, app.home / f"app-{app.port}.log")
    finally:
        app.stop()
