"""Dataset pickers in headless Chromium: a set imported in the Datasets tab is offered at once by the Label,
Experiments and label-efficiency pickers of that page (no "Refresh"), and by a page reloaded after the import.

Both checks run with the server stopped before a picker is opened, so what a picker offers is what the page was
sent on the import or on load (opening a picker also asks the server, which must not be what makes it pass)."""

from __future__ import annotations

import time

import pytest

from browser.appserver import CHROMIUM_ARGS, free_port
from workbench.ui import pickers
from workbench.ui.app import build_app

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

PICKERS = {"Label": "#wb-dataset", "Experiments": "#wb-exp-dataset"}


def _offered(page, tab: str, picker: str) -> list[str]:
    """The options a picker shows when opened."""
    page.get_by_role("tab", name=tab).click()
    page.locator(f"{picker} input").click()
    try:
        page.wait_for_selector("ul[role=listbox] li, ul.options li", timeout=5_000)
    except PlaywrightTimeout:  # a picker with no choices opens no list
        return []
    options = page.locator("ul[role=listbox] li, ul.options li").all_inner_texts()
    page.keyboard.press("Escape")
    return [o.split("\n")[-1].strip() for o in options]  # a selected option reads "✓\nname"


def _until(done, timeout: float = 30) -> None:
    """Wait for `done` (at most `timeout` s: an app without the follow-up never gets there, and the test then
    fails on what the pickers offer)."""
    end = time.time() + timeout
    while not done() and time.time() < end:
        time.sleep(0.2)


def test_an_imported_set_is_offered_by_every_picker_at_once_and_after_a_reload(store, monkeypatch, tmp_path):
    calls = []  # each time the app sends pickers their choices (page load, an import): to wait for, not to check
    real = pickers.dataset_choices

    def dataset_choices(store, n: int = 1):
        calls.append(n)
        return real(store, n)

    monkeypatch.setattr(pickers, "dataset_choices", dataset_choices)
    demo, kw = build_app(store)  # no datasets yet
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True, **kw)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page, later = browser.new_page(viewport={"width": 1400, "height": 1000}), browser.new_page()
            for p in (page, later):
                p.goto(f"http://127.0.0.1:{port}/")
            _until(lambda: len(calls) >= 2)  # both pages loaded
            page.locator("#wb-demo-name input").click()
            page.get_by_role("option", name="faces", exact=False).first.click()
            page.locator("#wb-demo-import").click()
            page.wait_for_function("document.querySelector('#wb-datasets-status')?.innerText.includes('faces')",
                                   timeout=120_000)
            _until(lambda: len(calls) >= 3)  # the import's follow-up: every picker of that page
            later.reload()  # loaded after the import, on the app built before it
            _until(lambda: len(calls) >= 4)
            # the last answers reach the pages; a change event the import set off must be answered before the server
            # closes (under load 1 s was too short: its request then failed and its Error badge covered the picker)
            page.wait_for_timeout(5_000)
            demo.close()  # from here on, a picker can offer only what its page was already sent
            offered = {(which, tab): _offered(p, tab, picker) for which, p in (("import", page), ("reload", later))
                       for tab, picker in PICKERS.items()}
            page.get_by_text("How many labels do I need?").click()
            offered["import", "efficiency"] = _offered(page, "Experiments", "#wb-eff-dataset")
            page.screenshot(path=str(tmp_path / "pickers.png"), full_page=True)
            browser.close()
    finally:
        demo.close()
    assert all("faces" in names for names in offered.values()), offered
