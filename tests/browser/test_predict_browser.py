"""The Predict tab in headless Chromium: upload real photos and a corrupt one, see the predictions table, the
unreadable file with its reason, and a Grad-CAM overlay for a clicked row."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.data import lfw_subset

from browser.appserver import CHROMIUM_ARGS, served

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
CELLS = "#wb-predict-table .body-cell"  # row-major: row, file, decision, confidence, p_face, p_not face
COLUMNS = 6


def test_upload_predict_and_explain_a_row(tmp_path_factory, faces_run_home):
    home, store = faces_run_home.home, faces_run_home.store
    shots = tmp_path_factory.mktemp("predict_ui_shots")
    x = (lfw_subset() * 255).astype(np.uint8)
    files = []
    for i in (0, 1, 150):
        files.append(home / f"new{i}.png")
        Image.fromarray(x[i]).save(files[-1])
    files.append(home / "broken.png")
    files[-1].write_bytes(files[0].read_bytes()[:50])
    with served(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1200})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="Predict").click()
        page.wait_for_function("() => (document.querySelector('#wb-predict-run input')?.value || '') !== ''")
        page.locator("#wb-predict-files input[type=file]").set_input_files([str(f) for f in files])
        page.wait_for_function("() => document.querySelectorAll('#wb-predict-files .file-name, "
                               "#wb-predict-files tr').length >= 4")
        page.locator("#wb-predict-go").click()
        page.wait_for_function("() => document.querySelector('#wb-predict-status')?.innerText"
                               ".includes('3 images predicted')")
        assert page.locator(CELLS).count() == 3 * COLUMNS
        table = page.locator("#wb-predict-table").inner_text()
        assert "new0.png" in table and "new150.png" in table and "broken.png" not in table
        bad = page.locator("#wb-predict-bad").inner_text()
        assert "broken.png" in bad and "corrupt or truncated image" in bad
        # the first row is explained after predicting; a click on the third row explains that one
        page.wait_for_function("() => document.querySelector('#wb-predict-caption')?.innerText"
                               ".startsWith('new0.png')")
        page.locator(CELLS).nth(2 * COLUMNS + 1).click()
        page.wait_for_function("() => document.querySelector('#wb-predict-caption')?.innerText"
                               ".startsWith('new150.png')")
        assert page.locator("#wb-predict-cam img").count() == 1
        page.screenshot(path=str(shots / "predict.png"), full_page=True)
        browser.close()
