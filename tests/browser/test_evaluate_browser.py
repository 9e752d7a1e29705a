"""The Evaluate tab in headless Chromium on a resnet18 run trained at 24 px: a click on a confusion-matrix cell
shows that cell's errors in the gallery (whole thumbnails, captions below them naming true and predicted class), the
test metrics carry 95% intervals, the ROC legend stays clear of the axes, CAM thumbnails name their layer."""

from __future__ import annotations

import re

import pytest

from browser.appserver import CHROMIUM_ARGS, served, thumbnails
from workbench.data.demo import ensure_faces, faces_truth
from workbench.evaluate.evaluate import evaluate_run
from workbench.train.config import RunConfig
from workbench.train.loop import train

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
RUN = "faces-r18-24"

GALLERY_IDS = ("() => [...document.querySelectorAll('#wb-eval-gallery .wb-tile')]"
               ".map(e => e.dataset.id).sort().join(',')")


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def test_confusion_cell_click_opens_its_errors_and_roc_legend_is_below_the_axes(ws, store, home, tmp_path):
    ensure_faces(store)
    store.add_labels("faces", list(faces_truth(store).items()), "truth")
    # the standard stem: its 1x1 last map at 24 px makes the CAMs fall back to layer2, named below
    res = train(ws, RunConfig(dataset="faces", method="finetune", backbone="resnet18", weights="none", stem="standard",
                              input_size=24, epochs=1, batch_size=32, lr=3e-3, name=RUN))
    assert res.status == "completed", res.message
    ev = evaluate_run(ws.run(RUN))
    preds = ws.run(RUN).predictions()
    n = len(ev.classes)
    t, p = next((t, p) for t in range(n) for p in range(n) if t != p and ev.confusion[t][p] > 0)
    cell = preds[(preds.y_true == t) & (preds.y_pred == p)]
    expected = ",".join(sorted(str(i) for i in cell.image_id))
    names = store.images(ws.run(RUN).config.dataset).set_index("image_id")["name"]
    with served(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="Evaluate").click()
        page.wait_for_function("() => document.querySelectorAll('#wb-eval-confusion .body-cell').length > 0")
        cells = page.locator("#wb-eval-confusion .body-cell")  # row-major, first column the true class
        assert cells.count() == n * (n + 1)
        assert cells.nth(t * (n + 1) + 1 + p).inner_text().startswith(f"{ev.confusion[t][p]} · ")
        cells.nth(t * (n + 1) + 1 + p).click()
        page.wait_for_function(f"() => ({GALLERY_IDS})() === '{expected}'")
        assert page.locator("#wb-eval-gallery .wb-tile").count() == len(cell)
        # each thumbnail whole, its caption below it, whole, naming the true and the predicted class
        for tile in thumbnails(page, "#wb-eval-gallery", first=min(len(cell), 8)):
            assert tile["whole"] and not tile["covered"] and tile["captionWhole"], tile
            assert tile["sharp"]  # 25-px faces, enlarged
            name, true, pred = tile["caption"].splitlines()   # the image's file, not its id
            assert (name, true) == (names[tile["id"]], f"true: {ev.classes[t]}") and pred.startswith(
                f"pred: {ev.classes[p]} (")
        page.locator("#wb-eval-gallery").screenshot(path=str(tmp_path / "error-gallery.png"))
        name = f"{ev.classes[t]} → {ev.classes[p]}"
        assert name in [i.input_value() for i in page.locator("input").all()]  # the Category picked is the cell

        # the ROC legend lies below the x axis title, outside the plotting area
        page.wait_for_selector("#wb-eval-roc .legend")
        legend, area, title = _box(page, "#wb-eval-roc .legend"), _box(page, "#wb-eval-roc .nsewdrag"), \
            _box(page, "#wb-eval-roc .xtitle")
        assert legend["y"] >= area["y"] + area["height"] and legend["y"] >= title["y"] + title["height"] - 1

        # the test metrics with their 95% intervals, and how they were made
        metrics = page.locator("#wb-eval-metrics")
        assert "95% interval" in metrics.inner_text()
        text = metrics.inner_text()
        accuracy = re.search(r"accuracy\s+([\d.]+)\s+([\d.]+)–([\d.]+)", text)
        assert accuracy, text
        value, low, high = (float(v) for v in accuracy.groups())
        assert value == pytest.approx(ev.metrics["accuracy"], abs=1e-4) and low <= value <= high and high - low < 0.5
        assert "95% intervals: Accuracy by Wilson score; Macro F1, ROC AUC, EER by bootstrap over" in page.inner_text("body")
        metrics.screenshot(path=str(tmp_path / "metrics.png"))

        page.get_by_label("Grad-CAM thumbnails").check()
        page.wait_for_function("() => document.body.innerText.includes('layer layer2 (3x3 map, coarse)')")
        page.screenshot(path=str(tmp_path / "evaluate.png"), full_page=True)
        browser.close()
