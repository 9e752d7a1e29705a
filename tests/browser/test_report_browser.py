"""The Report button in Chromium: the Experiments tab writes the study of a dataset as one HTML file offered for
download; that file, opened with the network off, fetches nothing and shows its images and plots. A comparison saved
while the page is open is offered by the comparison picker, and picking it writes the report of that comparison."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser.appserver import CHROMIUM_ARGS, served
from workbench.evaluate.comparison import compare_runs
from workbench.evaluate.evaluate import evaluate_run
from workbench.train.config import RunConfig
from workbench.train.loop import train

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def test_report_button_writes_a_page_that_opens_offline(faces_labelled, ws, home):
    result = train(ws, RunConfig("faces", method="feature_extract", input_size=32, epochs=1, name="tiny"))
    assert result.status == "completed", result.message
    shots = Path(os.environ.get("WB_SCREENSHOTS", home))
    with served(faces_labelled) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Experiments").click()
        page.locator("#wb-report").click()  # no dataset yet: said, nothing written
        page.get_by_text("Pick a dataset or a saved comparison to report on first.").wait_for(timeout=30_000)
        page.locator("#wb-report-dataset input").click()
        page.get_by_role("option", name="faces").click()
        page.locator("#wb-report").click()
        status = page.locator("#wb-report-status")
        page.wait_for_function("document.querySelector('#wb-report-status')?.innerText.includes('Report of faces')",
                               timeout=600_000)
        assert "(1 run)" in status.inner_text() and "5 sections" in status.inner_text()
        link = page.locator("#wb-report-file a").first
        link.wait_for(timeout=30_000)
        assert "faces-report-" in page.locator("#wb-report-file").inner_text()
        got = page.request.get(link.get_attribute("href"))  # the download is served (plots_checkpoints/ is)
        assert got.ok and got.text().startswith("<!DOCTYPE html>")
        page.locator("#wb-report-file").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report_button.png"))
        written = list((home / "plots_checkpoints" / "reports").glob("faces-report-*.html"))
        assert len(written) == 1

        offline = browser.new_context(offline=True, viewport={"width": 1280, "height": 900})
        report = offline.new_page()
        asked = []
        report.on("request", lambda r: asked.append(r.url))
        report.goto(written[0].as_uri())
        report.locator("#chosen .js-plotly-plot .main-svg").first.wait_for(timeout=30_000)
        assert [u for u in asked if not u.startswith(("file:", "data:"))] == []
        assert report.locator(".js-plotly-plot").count() >= 3  # curves, confusion matrix, ROC
        shown = report.evaluate("[...document.images].map(i => i.complete && i.naturalWidth > 0)")
        assert len(shown) > 20 and all(shown)
        assert report.locator("h2").all_inner_texts()[:2] == ["1. Data", "2. Categories"]
        report.screenshot(path=str(shots / "report_page.png"))
        report.locator("#failures").scroll_into_view_if_needed()
        report.screenshot(path=str(shots / "report_failures.png"))

        # a comparison saved now (a second seed): the picker lists it when opened; picking it reports its runs
        second = train(ws, RunConfig("faces", method="feature_extract", input_size=32, epochs=1, seed=1, name="tiny-s1"))
        assert second.status == "completed", second.message
        runs = [ws.run("tiny"), ws.run("tiny-s1")]
        for run in runs:
            evaluate_run(run)
        compare_runs(runs, "tiny-cmp").save(ws.plot_folder("tiny-cmp"))
        page.locator("#wb-report-comparison input").click()
        page.get_by_role("option", name="tiny-cmp").click()
        page.locator("#wb-report").click()
        page.wait_for_function("document.querySelector('#wb-report-status')?.innerText.includes('comparison tiny-cmp')",
                               timeout=600_000)
        assert "Report of faces, comparison tiny-cmp (2 runs): 6 sections" in status.inner_text()
        page.locator("#wb-report-status").scroll_into_view_if_needed()
        page.screenshot(path=str(shots / "report_comparison_button.png"))
        compared = list((home / "plots_checkpoints" / "reports").glob("faces-tiny-cmp-report-*.html"))
        assert len(compared) == 1
        text = compared[0].read_text()
        assert "comparison tiny-cmp (2 runs)" in text and "<section id='methods'" in text
        browser.close()
