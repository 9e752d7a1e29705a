"""Compare methods in headless Chromium: when the job ends, the Runs table, the comparison (design, warnings, table of
test metrics with intervals and the three baselines, paired differences, verdict) and the method-grouped plot appear
by themselves, with no click on Refresh."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser.appserver import CHROMIUM_ARGS, served

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def _number(page, elem_id: str, value: int) -> None:
    box = page.locator(f"#{elem_id} input").first
    box.fill(str(value))
    box.press("Tab")


def test_comparison_table_and_plot_appear_when_the_job_ends(faces_labelled, home):
    with served(faces_labelled) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Experiments").click()
        methods = page.locator("#wb-exp-methods")
        assert "method" in methods.inner_text() and "test accuracy" in methods.inner_text()  # real headers, not 1 2 3
        assert "No comparison yet" in page.locator("#wb-exp-verdict").inner_text()
        page.locator("#wb-exp-dataset input").click()
        page.get_by_role("option", name="faces").click()
        _number(page, "wb-exp-size", 32)
        _number(page, "wb-exp-epochs", 2)
        _number(page, "wb-exp-seeds", 1)
        page.locator("#wb-exp-compare").click()
        page.wait_for_function("document.querySelector('#wb-exp-methods')?.innerText.includes('RBF SVM')",
                               timeout=900_000)
        text = methods.inner_text()
        for row in ("finetune", "feature_extract", "baseline: logreg on pixels", "baseline: linear probe",
                    "baseline: RBF SVM on pixels"):
            assert row in text
        assert "efficientnet_lite0" in text and "offline" in text  # the recipe columns
        verdict = page.locator("#wb-exp-verdict").inner_text()
        assert "Paired design: one split (split seed 0)" in verdict and "Only 1 seed" in verdict
        assert "Verdict." in verdict and "Against the baselines." in verdict
        pairs = page.locator("#wb-exp-pairs").inner_text()
        assert "RBF SVM on pixels" in pairs and "fine-tuning" in pairs
        runs = page.locator("#wb-exp-runs").inner_text()
        assert "faces-ft-efficientnet_lite0-s0-" in runs and "faces-fe-efficientnet_lite0-s0-" in runs
        plot = page.locator("#wb-exp-by-method")
        plot.locator(".main-svg").first.wait_for(timeout=30_000)
        assert "Val metrics by method" in plot.inner_text()
        shot = Path(os.environ.get("WB_SCREENSHOTS", home)) / "experiments_compare.png"
        page.locator("#wb-exp-verdict").scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        for part in ("verdict", "methods", "pairs"):  # each part of the comparison on its own, to look at
            page.locator(f"#wb-exp-{part}").screenshot(path=str(shot.with_name(f"experiments_compare_{part}.png")))
        browser.close()
