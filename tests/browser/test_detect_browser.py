"""A detection run in headless Chromium: the Evaluate tab evaluates it (mAP with its interval, AP per class, the
precision-recall plot) and shows its box errors as a gallery whose counts follow the picked outcome; the Experiments
tab lists it with its val mAP; the Predict tab lists one row per box and draws the boxes of the row clicked."""

from __future__ import annotations

import pytest

from browser.appserver import CHROMIUM_ARGS, served
from workbench.data.demo import ensure_scenes
from workbench.data.scenes import SceneSpec
from workbench.detect.evaluate import load_matches
from workbench.train.config import Augment, Detect, RunConfig
from workbench.train.tasks import train

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
RUN = "scenes-ui"
TILES = "() => document.querySelectorAll('#wb-eval-box-gallery .wb-tile').length"


def test_evaluate_and_predict_a_detection_run(ws, store, home, tmp_path):
    ensure_scenes(store, spec=SceneSpec(n=40, size=(160, 120), per_image=(2, 3), scale=(20, 40), seed=0))
    res = train(ws, RunConfig("scenes", method="finetune", epochs=1, batch_size=8, detect=Detect("fcos", 96),
                              augment=Augment(flip=False, rotation=0), name=RUN))
    assert res.status == "completed", res.message
    images = sorted((home / "datasets" / "scenes" / "composed" / "images").glob("*.png"))[:2]
    with served(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1100})
        page.set_default_timeout(120_000)
        page.goto(url)

        page.get_by_role("tab", name="Evaluate").click()
        page.wait_for_function(f"() => (document.querySelector('#wb-eval-run input')?.value || '') === '{RUN}'")
        page.wait_for_function("() => document.querySelector('#wb-eval-detection') !== null && "
                               "document.querySelector('#wb-eval-detection').offsetParent !== null")
        page.locator("#wb-eval-evaluate").click()
        page.wait_for_function("() => document.querySelector('#wb-eval-metrics')?.innerText.includes('mAP@0.5')")
        metrics = page.locator("#wb-eval-metrics").inner_text()
        assert "COCO mAP@[.5:.95]" in metrics and "[" in metrics  # the value with its interval
        per_class = page.locator("#wb-eval-confusion").inner_text()  # the per-class table in the matrix's place
        assert "AP@0.5" in per_class and "AP per class" in per_class and "Confusion" not in per_class
        matched = load_matches(ws.run(RUN))
        errors = int(matched.outcome.isin(["false positive", "missed", "wrong class"]).sum())
        page.wait_for_function(f"() => ({TILES})() === {min(errors, 48)}")
        page.screenshot(path=str(tmp_path / "evaluate-detection.png"), full_page=True)
        missed = int((matched.outcome == "missed").sum())
        page.locator("#wb-eval-box-outcome label", has_text="missed boxes").click()
        page.wait_for_function(f"() => ({TILES})() === {min(missed, 48)}")
        if missed:
            assert page.locator("#wb-eval-box-gallery .wb-tile").first.inner_text().split()[1] == "missed"
        assert "true boxes" in page.locator("#wb-eval-box-table").inner_text()

        page.get_by_role("tab", name="Experiments").click()
        page.wait_for_function(f"() => document.querySelector('#wb-exp-runs')?.innerText.includes('{RUN}')")
        assert "fcos · finetune" in page.locator("#wb-exp-runs").inner_text()

        page.get_by_role("tab", name="Predict").click()
        page.wait_for_function("() => (document.querySelector('#wb-predict-run input')?.value || '') !== ''")
        page.locator("#wb-predict-files input[type=file]").set_input_files([str(f) for f in images])
        page.wait_for_function("() => document.querySelectorAll('#wb-predict-files .file-name, "
                               "#wb-predict-files tr').length >= 2")
        page.locator("#wb-predict-go").click()
        # the progress line says "Detecting in 2 images" too: wait for the rows themselves
        page.wait_for_function(f"() => document.querySelector('#wb-predict-table')?.innerText.includes('{images[0].name}')",
                               timeout=120_000)
        assert "2 images" in page.locator("#wb-predict-status").inner_text()
        table = page.locator("#wb-predict-table").inner_text()
        assert images[0].name in table and "score" in table
        # the labels follow the run's kind (an event of their own, maybe still on its way under load)
        page.wait_for_function("() => document.querySelector('#wb-predict-table')?.innerText.includes('one row per "
                               "box') && document.querySelector('#wb-predict-explain')?.innerText === 'Show row'")
        assert not page.locator("#wb-predict-cam").is_visible()  # no Grad-CAM for boxes
        page.wait_for_function("() => document.querySelector('#wb-predict-caption')?.innerText.includes('score ≥')")
        page.screenshot(path=str(tmp_path / "predict-detection.png"), full_page=True)
        browser.close()
