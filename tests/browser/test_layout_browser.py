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


# words of table cells (split at spaces, hyphens and slashes, where a browser may break a line) drawn on two lines
BROKEN_WORDS = """(sel) => [...document.querySelectorAll(sel + ' .body-cell, ' + sel + ' th')].filter(c => c.offsetParent)
  .flatMap(c => {
    const out = [], walk = document.createTreeWalker(c, NodeFilter.SHOW_TEXT);
    for (let n; (n = walk.nextNode());) {
      for (const m of n.data.matchAll(/[^\\s\\-\\/]+/g)) {
        const r = document.createRange(); r.setStart(n, m.index); r.setEnd(n, m.index + m[0].length);
        if (new Set([...r.getClientRects()].map(q => Math.round(q.top))).size > 1) out.push(m[0]);
      }
    }
    return out;
  })"""
# table cells whose text runs past the cell's right edge (cut off, not wrapped)
CUT_CELLS = """(sel) => [...document.querySelectorAll(sel + ' .body-cell')].filter(c => c.offsetParent).filter(c => {
  const r = document.createRange(); r.selectNodeContents(c);
  return r.getBoundingClientRect().right > c.getBoundingClientRect().right + 1;
}).map(c => c.innerText)"""


def test_tables_break_lines_between_words_at_1280_px(store, ws):
    """At 1280 px the counts table broke "quality" into "qualit/y", the runs and methods tables "feature_extract",
    "efficientnet_lite0" and "val accuracy" mid-word, and the jobs table cut its messages at the table's edge."""
    from workbench.train.jobs import JobManager
    from workbench.ui import datasets_tab, experiments_tab

    counts = pd.DataFrame({"kind": ["class", "quality", "quality"], "name": ["(unlabelled)", "low information", "dark"],
                           "images": [200, 3, 18]})
    run = "digits-fe-efficientnet_lite0-s0-20261207-213501836"
    runs = pd.DataFrame([[run, "digits", "feature_extract", "efficientnet_lite0", 0, "completed", 1, 1, 0.4482, 0.8963,
                          ""]], columns=["run", "dataset", "method", "backbone", "seed", "status", "epochs",
                                         "best epoch", "best val loss", "val accuracy", "val mAP@0.5"])
    jobs = pd.DataFrame([[1, f"train {run}", "completed", "100%", f"{run}: Completed 1 epochs. Curves saved in "
                          f"/home/someone/work/plots_checkpoints/{run}."]],
                        columns=["job", "what", "status", "progress", "message"])
    methods = pd.DataFrame([["feature_extract", "efficientnet_lite0", "offline", 32, 1, 2, *["0.890 [0.866, 0.914]"] * 4,
                             0.896, 0.475]], columns=experiments_tab.shown_table([]).columns)
    with gr.Blocks() as demo:
        browser = datasets_tab.browser_layout(store)
        job_panel = experiments_tab.jobs_layout(JobManager(ws))
        run_panel = experiments_tab.runs_layout(ws)
        demo.load(lambda: (counts, runs, jobs, methods),
                  outputs=[browser.details, run_panel.table, job_panel.table, run_panel.methods])
    with served_blocks(demo) as url, sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = chromium.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        page.wait_for_function("(document.querySelector('#wb-exp-jobs')?.innerText || '').includes('Curves saved')")
        tables = ("#wb-datasets-counts", "#wb-exp-runs", "#wb-exp-jobs", "#wb-exp-methods")
        broken = {t: page.evaluate(BROKEN_WORDS, t) for t in tables}
        cut = page.evaluate(CUT_CELLS, "#wb-exp-jobs")
        chromium.close()
    assert broken == {t: [] for t in tables}
    assert cut == []


def test_the_label_view_shows_the_suggestion_on_the_first_screen_at_1280x800(faces, tmp_path):
    """Under the Label tab's controls, the image leaves room for its name, the suggestion Enter would accept, the
    progress and the last message on a 1280x800 page (the suggestion was 800-823 px down, below the fold)."""
    from workbench.labeling.session import LabelView
    from workbench.ui.label_render import render

    first = faces.images("faces").iloc[0]
    shown = render(LabelView("faces", "alice", int(first["image_id"]), name=first["name"], path=str(first["path"]),
                             tags=["glasses"], classes=["face", "not face"], labelled=20, total=200,
                             per_class={"face": 9, "not face": 11}, message="Labelled 00018.png face.",
                             suggestion="not face", confidence=0.93))
    with served(faces) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url)
        page.get_by_role("tab", name="Label").click()
        page.locator("#wb-dataset input").click()
        page.get_by_role("option", name="faces").click()
        page.locator("#wb-annotator textarea").fill("alice")
        page.locator("#wb-suggest-on input").uncheck()   # no embedding in the background
        page.locator("#wb-start").click()
        page.wait_for_selector("#wb-filename")
        # the same viewer with a suggestion in place of the session's (suggestions need embeddings and labels)
        page.evaluate("(html) => { document.querySelector('#wb-label-view .wb-view').outerHTML = html; }", shown)
        page.wait_for_function("document.querySelector('#wb-label-view img')?.complete")
        bottoms = {s: page.locator(s).evaluate("e => e.getBoundingClientRect().bottom")
                   for s in ("#wb-filename", "#wb-suggestion", "#wb-progress-count", "#wb-message")}
        image = page.locator("#wb-label-view img").bounding_box()
        page.screenshot(path=str(tmp_path / "label-1280x800.png"))
        browser.close()
    assert all(b <= 800 for b in bottoms.values()), bottoms
    assert image["height"] >= 160
