"""The running app serves what it shows (dataset images, run plots) and nothing else from the working directory:
not a .env, the label store, a checkpoint, a log, nor any of them reached through '..' — with and without --auth.
Imported folders are not served whole: a .env, a .txt and an .html lying beside imported images (a folder import
and a class tree, outside the working directory) are served over no file route, and no file is ever a page."""

from __future__ import annotations

import time
from urllib.parse import quote

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from browser.api import ApiSession
from browser.appserver import AppProcess
from pathlib import Path
from workbench.data.demo import ensure_faces
from workbench.data.importers import import_path
from workbench.plots.curves import save_curves
from workbench.store import Store
from workbench.ui.files import RECHECK_S
from workbench.workspace import Workspace

SECRET = b"WORKBENCH_TEST_SECRET=do-not-serve"
ROUTES = ("gradio_api/file=", "file=", "gradio_api/file/")
# what the private files contain: the secret (.env, and the checkpoint's pickle), SQLite's header, the app's log
PRIVATE_MARKERS = (SECRET, b"SQLite format 3", b"Running on local URL")
# what lies beside imported images: a .env, notes and a page with a script
BESIDE = {".env": SECRET + b"\n", "notes.txt": b"WORKBENCH_TEST_NOTES private notes",
          "readme.html": b"<html><script>alert('WORKBENCH_TEST_PAGE')</script></html>"}
BESIDE_MARKERS = (SECRET, b"WORKBENCH_TEST_NOTES", b"WORKBENCH_TEST_PAGE")


def image_folder(folder: Path, n: int = 3, seed: int = 0) -> list[Path]:
    """`n` small PNG images in `folder` (synthetic: only their serving is tested), the private files beside them."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    files = []
    for i in range(n):
        files.append(folder / f"img{i}.png")
        Image.fromarray(rng.integers(0, 255, (12, 12), dtype=np.uint8)).save(files[-1])
    for name, data in BESIDE.items():
        (folder / name).write_bytes(data)
    return files


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
        # a folder and a class tree imported in place, from outside the working directory
        outside = tmp_path_factory.mktemp("outside")
        folder = image_folder(outside / "loose")
        tree = image_folder(outside / "tree" / "open") + image_folder(outside / "tree" / "closed", seed=1)
        for name, data in BESIDE.items():
            (outside / "tree" / name).write_bytes(data)
        import_path(store, outside / "loose", name="loose")
        import_path(store, outside / "tree", name="tree")
        assert len(store.images("loose")) == 3 and store.classes("tree") == ["closed", "open"]
        store.close()
        h = pd.DataFrame({"epoch": [0, 1, 0, 1], "split": ["train", "train", "val", "val"],
                          "loss": [1.0, .5, 1.1, .6], "accuracy": [.5, .7, .4, .6], "f1": [.5, .7, .4, .6],
                          "roc_auc": [.5, .8, .5, .7], "eer": [.5, .3, .5, .35]})
        plot = save_curves({"faces-ft-resnet18-s0": h}, ws.plots)["png"]
        ckpt = ws.run_folder("faces-ft-resnet18-s0") / "best.pt"
        ckpt.parent.mkdir(parents=True)
        torch.save({"w": torch.zeros(3), "note": SECRET.decode()}, ckpt)
    (home / ".env").write_bytes(SECRET + b"\n")
    return {"home": home, "image": image, "plot": plot, "checkpoint": ckpt, "db": home / "datasets" / "workbench.sqlite",
            "imported": [folder[0], tree[0], tree[-1]],
            "beside": [outside / "loose", outside / "tree", outside / "tree" / "open", outside / "tree" / "closed"]}


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


def beside_targets(folders: list[Path]) -> dict[str, str]:
    """The files beside imported images, asked for directly, through '..' from an image folder, URL-encoded,
    with a doubled slash, and as the folder itself."""
    out = {}
    for folder in folders:
        for name in BESIDE:
            f = folder / name
            out[str(f)] = str(f)
            out[f"{f} via .."] = f"{folder}/img0.png/../{name}" if (folder / "img0.png").exists() else \
                f"{folder}/open/../{name}"
            out[f"{f} encoded"] = quote(str(f), safe="")
            out[f"{f} encoded dots"] = f"{folder}/%2e%2e/{folder.name}/{name}"
            out[f"{f} doubled slash"] = str(f).replace("/", "//")
        out[f"{folder} (folder)"] = str(folder)
    return out


def assert_nothing_beside_served(http, folders: list[Path]) -> None:
    for name, target in beside_targets(folders).items():
        for route in ROUTES:
            r = http.get(route + target)
            leaked = r.status_code == 200 and any(m in r.content for m in BESIDE_MARKERS)
            assert not leaked, f"{name} served at /{route}{target}: {r.status_code} {r.content[:60]!r}"
            assert "text/html" not in r.headers.get("content-type", "") or r.status_code != 200, name


def assert_no_url_fetched(http) -> None:
    """Gradio's file route would fetch a URL for the client (an open proxy for logged-in users): refused."""
    for route in ROUTES:
        assert http.get(route + "https://example.com/a.png").status_code == 403


def assert_shown_files_served(http, p: dict) -> None:
    for f in (p["image"], p["plot"], *p["imported"]):
        for route in ("gradio_api/file=", "gradio_api/file/"):
            r = http.get(route + str(f))
            assert r.status_code == 200 and r.content == f.read_bytes(), f"{f} not served: {r.status_code}"
            assert r.headers["content-type"] == "image/png" and r.headers["x-content-type-options"] == "nosniff"


def test_without_auth_only_images_and_plots_are_served(project):
    app = AppProcess(project["home"])
    try:
        api = ApiSession(app.url)
        assert_shown_files_served(api.http, project)
        assert_nothing_private(api.http, project, app.home / f"app-{app.port}.log")
        assert_nothing_beside_served(api.http, project["beside"])
        assert_no_url_fetched(api.http)
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
            assert_nothing_beside_served(api.http, project["beside"])
    finally:
        app.stop()


def gallery_urls(reply) -> list[str]:
    """The file URLs of a thumbnail grid output (the last output of the Datasets tab's `show`)."""
    assert reply.ok, reply.error
    return [item["image"]["url"] for item in reply.data[-1]["items"]]


def test_images_imported_while_the_app_runs_are_served_and_nothing_beside_them(project, tmp_path):
    """The served files follow the store: a folder imported after start is shown (its images only); a deleted
    dataset's images are no longer served."""
    app = AppProcess(project["home"])
    try:
        api = ApiSession(app.url)
        late = image_folder(tmp_path / "late", n=2, seed=2)
        assert api.http.get("gradio_api/file=" + str(late[0])).status_code == 403  # not imported yet
        ws = Workspace.open(project["home"])
        import_path(ws.store, tmp_path / "late", name="late")
        assert api.call_named("reload", ["faces", 1]).ok  # the Datasets tab's refresh: the new set listed
        urls = gallery_urls(api.call_named("show", ["late", 1]))  # its preview
        assert len(urls) == 2
        for url, f in zip(urls, late):
            assert url.endswith("/gradio_api/file=" + str(f)), url  # shown in place, not copied
            r = api.http.get(url)
            assert r.status_code == 200 and r.content == f.read_bytes(), url
        assert_nothing_beside_served(api.http, [tmp_path / "late"])
        ws.store.delete_dataset("late")
        time.sleep(RECHECK_S + 0.5)
        assert api.http.get("gradio_api/file=" + str(late[0])).status_code == 403
        ws.close()
    finally:
        app.stop()


def upload(http, size: int):
    return http.post("gradio_api/upload", files={"files": ("big.zip", b"\0" * size, "application/zip")})


def assert_gradio_routes_closed(http, log: Path) -> None:
    """Monitoring is off: no summary, no dashboard URL printed by the server."""
    for route in ("monitoring", "monitoring/summary", "gradio_api/monitoring", "gradio_api/monitoring/summary"):
        r = http.get(route)
        assert r.status_code != 200 or "Monitoring is not enabled" in r.text, f"/{route}: {r.status_code} {r.text[:80]}"
    assert "Monitoring URL" not in log.read_text()


def test_uploads_are_limited_and_monitoring_is_off(project):
    """`--max-upload` limits every file sent to /gradio_api/upload, for annotators and admins alike; Gradio's
    monitoring stays off."""
    app = AppProcess(project["home"], auth=["alice:pw", "boss:pw"], args=["--admin", "boss", "--max-upload", "64kb"])
    try:
        for user in ("alice", "boss"):
            api = ApiSession(app.url, user, "pw")
            assert upload(api.http, 60 * 1024).status_code == 200
            refused = upload(api.http, 65 * 1024)
            assert refused.status_code == 413 and "exceeded" in refused.text, refused.text
            assert_gradio_routes_closed(api.http, app.home / f"app-{app.port}.log")
        assert upload(ApiSession(app.url).http, 10).status_code != 200  # not logged in
    finally:
        app.stop()


def test_the_default_upload_limit_and_a_bad_one(project, capsys):
    from workbench.cli import main

    app = AppProcess(project["home"])
    try:
        api = ApiSession(app.url)
        assert api.config()["max_file_size"] == 1024 ** 3
        assert_gradio_routes_closed(api.http, app.home / f"app-{app.port}.log")
    finally:
        app.stop()
    assert main(["app", "--max-upload", "lots", "--no-demo"]) == 2
    assert "--max-upload expects a size such as 500mb" in capsys.readouterr().err
