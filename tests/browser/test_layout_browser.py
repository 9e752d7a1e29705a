"""What a new user saw cut off or missing, measured in headless Chromium (issue 17's smaller faults): dropdown texts
under their caret, the import formats line, the datasets table's tags, the preview's last column, and the live
curves' last legend entry."""

from __future__ import annotations

import gradio as gr
import numpy as np
import pandas as pd
import pytest

from browser.appserver import CHROMIUM_ARGS, served, served_blocks, thumbnails
from workbench.data.importers import FORMATS
from workbench.metrics import CURVE_METRICS
from workbench.plots import curves_figure

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

# every shown dropdown with a caret: where its text ends (its box less its right padding) and where the caret starts
UNDER_CARET = """() => [...document.querySelectorAll('input[role=combobox]')].filter(i => i.offsetParent).map(i => {
  const icon = i.parentElement.querySelector('.icon-wrap');
  if (!icon) return null;
  const r = i.getBoundingClientRect(), text_end = r.right - parseFloat(getComputedStyle(i).paddingRight);
  return {label: i.getAttribute('aria-label'), text_end, caret: icon.getBoundingClientRect().left};
}).filter(Boolean)"""
# every shown dropdown whose chosen text is longer than its box (cut with an ellipsis)
CUT_CHOICE = """() => [...document.querySelectorAll('input[role=combobox]')].filter(i => i.offsetParent)
  .filter(i => i.scrollWidth > i.clientWidth + 1).map(i => [i.getAttribute('aria-label'), i.value])"""
# the header cells of the datasets table and of the counts table: their text's line boxes, and every cell's right
# edge against the table's own
HEADERS = """() => [...document.querySelectorAll('#wb-datasets-table th .header, #wb-datasets-counts th .header')].map(s => {
  const r = document.createRange(); r.selectNodeContents(s);
  return {text: s.innerText, lines: new Set([...r.getClientRects()].map(q => Math.round(q.top))).size};
})"""
PAST_EDGE = """() => ['#wb-datasets-table', '#wb-datasets-counts'].flatMap(id => {
  const box = document.querySelector(id).getBoundingClientRect();
  return [...document.querySelectorAll(id + ' td, ' + id + ' th')].filter(c => c.offsetParent)
    .map(c => c.getBoundingClientRect().right - box.right).filter(d => d > 1);
})"""


def test_no_text_is_cut_off_in_the_datasets_label_and_experiments_tabs(digits, tmp_path):
    with served(digits) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_function("(document.querySelector('#wb-datasets-table')?.innerText || '').includes('digits')",
                               timeout=60_000)
        # the formats line lists every format, "<class>/<image>" shown as text (it was taken for HTML tags)
        page.get_by_text("Import", exact=True).first.click()  # the accordion, closed once there are sets
        formats = page.locator("#wb-import-formats").inner_text()
        assert all(f"{name}: " in formats for name in FORMATS) and "root/<class>/<image>" in formats
        # the tags column names the set's tags, with the images on each (it said "-" until one was tagged)
        table = page.locator("#wb-datasets-table").inner_text()
        assert digits.tags("digits") and all(f"{t} (0)" in table for t in digits.tags("digits"))
        # every thumbnail of the preview page lies inside the preview: no column cut off at the right
        preview = page.locator("#wb-datasets-preview .wb-tg").bounding_box()
        tiles = thumbnails(page, "#wb-datasets-preview", first=10)
        boxes = page.locator("#wb-datasets-preview .wb-tile").evaluate_all(
            "ts => ts.map(t => t.getBoundingClientRect()).map(r => [r.left, r.right])")
        assert len(tiles) == 60 and all(t["whole"] for t in tiles[:10])
        assert all(preview["x"] - 0.5 <= left and right <= preview["x"] + preview["width"] + 0.5
                   for left, right in boxes), (preview, boxes[:12])
        # before a dataset is picked the counts table has its own headers (gradio's "1 2 3" before)
        assert page.locator("#wb-datasets-counts th .header").all_inner_texts() == ["kind", "name", "images"]
        # headers whole on one line ("images" broke into "image s") and no column past the table's edge (the tags ran on)
        page.locator("#wb-datasets-dataset input").click()
        page.get_by_role("option", name="digits").click()
        page.wait_for_function("(document.querySelector('#wb-datasets-counts')?.innerText || '').includes('quality')",
                               timeout=60_000)
        headers = page.evaluate(HEADERS)
        assert {"images", "labelled", "tags", "kind", "name"} <= {h["text"] for h in headers}
        assert all(h["lines"] == 1 for h in headers), headers
        assert page.evaluate(PAST_EDGE) == []
        page.screenshot(path=str(tmp_path / "datasets.png"), full_page=True)
        carets, cut = page.evaluate(UNDER_CARET), page.evaluate(CUT_CHOICE)
        for tab in ("Label", "Experiments"):
            page.get_by_role("tab", name=tab).click()
            page.wait_for_timeout(500)
            carets, cut = carets + page.evaluate(UNDER_CARET), cut + page.evaluate(CUT_CHOICE)
        page.screenshot(path=str(tmp_path / "experiments.png"), full_page=True)
        browser.close()
    assert len(carets) > 8  # the dataset pickers, order, grouping, backbone, optimizer, ...
    assert all(c["text_end"] <= c["caret"] + 0.5 for c in carets), [c for c in carets if c["text_end"] > c["caret"]]
    assert cut == []   # the import's crop choice read "no: whole …"


def test_the_live_curves_show_every_legend_entry(tmp_path):
    """A comparison's runs (5 seeds x 2 methods, default names: twenty long legend entries) in gr.Plot, as the
    Experiments tab draws them live, on a 1,000 px wide page: every legend entry is inside the figure, whole."""
    epochs = np.arange(1, 6)
    history = pd.DataFrame({"epoch": np.tile(epochs, 2), "split": ["train"] * 5 + ["val"] * 5,
                            **{m: np.linspace(0.2, 0.8, 10) for m in CURVE_METRICS}})
    names = [f"digits-{m}-efficientnet_lite0-s{k}-20250601-1203{k}7{k}12" for k in range(5) for m in ("ft", "fe")]
    figure = curves_figure({name: history for name in names})
    with gr.Blocks() as demo:
        gr.Plot(figure, elem_id="curves")
    with served_blocks(demo) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1000, "height": 1000})
        page.goto(url)
        page.wait_for_selector("#curves .legend .traces")
        svg = page.locator("#curves .main-svg").first.bounding_box()
        entries = page.locator("#curves .legend .traces").evaluate_all(
            "ts => ts.map(t => [t.getBoundingClientRect(), t.querySelector('text')])"
            ".map(([r, text]) => [r.top, r.bottom, Math.max(r.right, text.getBoundingClientRect().right),"
            " text.textContent])")
        page.locator("#curves").screenshot(path=str(tmp_path / "curves.png"))
        browser.close()
    assert sorted(text for *_, text in entries) == sorted(f"{n} ({split})" for n in names for split in ("train", "val"))
    assert all(bottom <= svg["y"] + svg["height"] + 0.5 and right <= svg["x"] + svg["width"] + 0.5
               for _, bottom, right, _ in entries), (svg, [e for e in entries if e[1] > svg["y"] + svg["height"] or e[2] > svg["x"] + svg["width"]])


def test_the_test_metrics_table_shows_its_intervals_whole(ws):
    """The Evaluate tab's metrics beside the ROC on a 1,400 px page: a 10-class run's table (its longest metric
    name, intervals) fits its box, nothing scrolled out of sight (the intervals were cut to "0.8954–0.")."""
    from workbench.ui.evaluate_tab import INTERVAL_COLUMN, run_panel

    names = ["images", "accuracy", "precision (macro)", "recall (macro)", "F1 (macro)", "mean one-vs-rest ROC AUC",
             "mean one-vs-rest EER", "EER threshold", "log loss"]
    table = pd.DataFrame({"metric": names, "value": ["750", "0.9173", "0.9205", "0.9173", "0.9175", "0.9957",
                                                     "0.0307", "n/a", "0.3200"],
                          INTERVAL_COLUMN: ["", "0.8954–0.9350", "", "", "0.8952–0.9370", "0.9937–0.9974",
                                            "0.0221–0.0397", "", ""]})
    with gr.Blocks() as demo:
        panel = run_panel(ws)
        demo.load(lambda: table, outputs=panel.metrics)
    with served_blocks(demo) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.wait_for_function("(document.querySelector('#wb-eval-metrics')?.innerText || '').includes('log loss')")
        hidden = page.locator("#wb-eval-metrics *").evaluate_all(
            "es => es.filter(e => e.clientWidth > 0 && e.scrollWidth > e.clientWidth + 1)"
            ".map(e => [e.className.toString(), e.scrollWidth, e.clientWidth])")
        browser.close()
    assert not hidden, hidden
