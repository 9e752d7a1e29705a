"""The app starts on the bundled demo sets, binds to localhost, and the Datasets tab shows them."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from workbench.cli import build_parser
from workbench.cli.app_cmd import parse_auth
from workbench.errors import WorkbenchError

from browser.appserver import CHROMIUM_ARGS, ROOT, free_port


def test_app_binds_localhost_by_default_and_parses_auth():
    args = build_parser().parse_args(["app"])
    assert args.host == "127.0.0.1"
    assert parse_auth(["alice:pw1", "bob:p:w"]) == [("alice", "pw1"), ("bob", "p:w")]
    with pytest.raises(WorkbenchError, match="USER:PASSWORD"):
        parse_auth(["alice"])


@pytest.fixture(scope="module")
def app_home(tmp_path_factory):
    return tmp_path_factory.mktemp("app_home")


@pytest.fixture(scope="module")
def running_app(app_home):
    """One app process for this module's tests (starting one takes a while on 2 cores)."""
    home = app_home
    port = free_port()
    env = {**os.environ, "WORKBENCH_HOME": str(home)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py"), "--port", str(port)], cwd=home, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.time() + 120
    out = []
    while time.time() < deadline:
        line = proc.stdout.readline()
        out.append(line)
        if "Running on local URL" in line:
            break
        if proc.poll() is not None:
            pytest.fail("app exited:\n" + "".join(out))
    else:
        proc.kill()
        pytest.fail("app did not start in 120 s:\n" + "".join(out))
    yield port, "".join(out)
    proc.kill()
    proc.wait()


@pytest.mark.browser
def test_datasets_tab_lists_demo_sets_with_thumbnails(running_app):
    from playwright.sync_api import sync_playwright

    port, log = running_app
    assert f"http://127.0.0.1:{port}" in log
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_function("() => (document.querySelector('#wb-datasets-table')?.innerText || '')"
                               ".includes('digits')", timeout=60_000)
        text = page.locator("#wb-datasets-table").inner_text()
        assert "faces" in text and "face (0), not face (0)" in text and "1797" in text
        # the preview gallery of the first dataset shows real, loaded thumbnails
        page.wait_for_function(
            "() => [...document.querySelectorAll('#wb-datasets-preview img')]"
            ".filter(i => i.complete && i.naturalWidth === 25).length >= 20",
            timeout=60_000)
        browser.close()


def test_import_through_the_app_by_path_and_by_upload(running_app, app_home):
    import zipfile

    import numpy as np
    from gradio_client import Client, handle_file
    from PIL import Image
    from skimage.data import lfw_subset

    from workbench.store import Store

    port, _ = running_app
    home = app_home
    folder = home / "crops"
    folder.mkdir()
    for i, a in enumerate((lfw_subset()[:12] * 255).astype(np.uint8)):
        Image.fromarray(a).save(folder / f"c{i}.png")
    with zipfile.ZipFile(home / "up.zip", "w") as z:
        for f in sorted(folder.iterdir())[:4]:
            z.write(f, f.name)
    with zipfile.ZipFile(home / "evil.zip", "w") as z:
        z.writestr("../x.png", (folder / "c0.png").read_bytes())

    client = Client(f"http://127.0.0.1:{port}/", verbose=False)
    status, *_ = client.predict(str(folder), "auto", "eyes", "open,closed", "", "", False, api_name="/import_path")
    assert "12 images found" in status
    status, *_ = client.predict([handle_file(str(home / "up.zip"))], "uploaded", "", False, api_name="/import_upload")
    assert "4 images found" in status
    with pytest.raises(Exception, match="zip-slip"):
        client.predict([handle_file(str(home / "evil.zip"))], "evil", "", False, api_name="/import_upload")
    store = Store(home / "datasets" / "workbench.sqlite")
    assert store.classes("eyes") == ["open", "closed"] and len(store.images("eyes")) == 12
    assert len(store.images("uploaded")) == 4 and "evil" not in store.datasets()


@pytest.mark.browser
def test_annotators_page_labels_by_keyboard(running_app, app_home):
    """/label holds only the Label tab (the fast page for annotators); a key there is a stored label."""
    from playwright.sync_api import sync_playwright

    from workbench.store import Store
    from workbench.ui.app import LABEL_PAGE

    port, _ = running_app
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(f"http://127.0.0.1:{port}/{LABEL_PAGE}")
        assert page.locator("#wb-datasets-table").count() == 0  # no other tab on this page
        page.locator("#wb-dataset input").click()
        page.get_by_role("option", name="faces").click()
        page.locator("#wb-annotator input, #wb-annotator textarea").first.fill("page-annotator")
        page.locator("#wb-start").click()
        page.wait_for_selector("#wb-label-view img")
        first = page.locator("#wb-label-view img").get_attribute("src")
        page.keyboard.press("2")
        page.wait_for_function(f"document.querySelector('#wb-label-view img')?.src !== {first!r}", timeout=30_000)
        browser.close()
    labels = Store(app_home / "datasets" / "workbench.sqlite").latest_labels("faces", "page-annotator")
    assert labels.label.tolist() == ["not face"]
