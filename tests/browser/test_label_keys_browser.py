"""The Label tab's key script in headless Chromium, on a page holding its buttons as the tab draws them: each key
clicks the one button the labelling core gives it (class buttons by class index, tag buttons, moves), keys typed
into fields and keys while the panel is hidden do nothing, and a key that labels reaches no other listener.

The real app's keys (gradio putting the key classes on its buttons) are driven in test_label_browser.py."""

from __future__ import annotations

import html

import pytest

from browser.appserver import CHROMIUM_ARGS
from workbench.ui.label_render import CSS, HEAD, class_buttons, tag_buttons

pytestmark = pytest.mark.browser
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

# a 2x2 PNG: small images are shown upscaled, pixels kept sharp
PIXEL = ("data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAAAAABX3VL4AAAADklEQVR4nGNgYGBgYGAAAAAFAAHiJgWb"
         "AAAAAElFTkSuQmCC")


def _buttons(prefix: str, updates) -> str:
    return "".join(f"<button id='{prefix}{i}' class='{' '.join(b.elem_classes or [])}'>{html.escape(b.value)}</button>"
                   for i, b in enumerate(updates) if b.visible)


def _page(classes: list[str], tags: list[str]) -> str:
    labels, _ = class_buttons(classes)
    moves = "".join(f"<button id='{i}'>{i}</button>" for i in ("wb-prev", "wb-skip", "wb-undo", "wb-accept"))
    return f"""<html><head>{HEAD}<style>{CSS}</style></head><body>
<input id="field">
<div id="wb-grid"><button id="wb-grid-accept" style="display: none">accept page</button></div>
<div id="wb-label-panel">
  <div id="wb-label-view"><div class="wb-img"><img class="pixelated" src="{PIXEL}"></div></div>
  {_buttons("wb-label-", labels)}{moves}{_buttons("wb-tag-", tag_buttons(tags))}
</div>
<script>
  window.clicks = []; window.heard = [];
  document.addEventListener('click', (e) => window.clicks.push(e.target.id));
  for (const kind of ['keydown', 'keypress', 'keyup']) document.addEventListener(kind, (e) => window.heard.push(e.key));
</script></body></html>"""


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def _clicks(page, keys) -> list[str]:
    """The buttons the keys clicked, in order."""
    page.evaluate("window.clicks = []")
    for key in keys:
        page.keyboard.press(key)
    return page.evaluate("window.clicks")


def test_each_key_clicks_the_button_the_core_gives_it(browser):
    page = browser.new_page()
    page.set_content(_page(["open", "closed", "unsure"], ["glasses", "dark", "sunny"]))
    assert _clicks(page, ["2", "1", "3", "4", "0"]) == ["wb-label-1", "wb-label-0", "wb-label-2"]
    assert _clicks(page, ["g", "d", "n", "x", "a"]) == ["wb-tag-0", "wb-tag-1", "wb-tag-2"]
    assert _clicks(page, ["Enter", " ", "s", "ArrowRight", "ArrowLeft", "Backspace", "u"]) == [
        "wb-accept", "wb-accept", "wb-skip", "wb-skip", "wb-prev", "wb-undo", "wb-undo"]
    assert _clicks(page, ["Control+1", "Alt+ArrowLeft"]) == []   # with Ctrl, Alt or Meta: the browser's keys
    # small images upscaled with sharp pixels
    assert page.evaluate("getComputedStyle(document.querySelector('#wb-label-view img')).imageRendering") == \
        "pixelated"


def test_digit_classes_by_their_own_digit(browser):
    page = browser.new_page()
    page.set_content(_page([str(d) for d in range(10)], []))
    assert _clicks(page, ["0", "7", "3"]) == ["wb-label-0", "wb-label-7", "wb-label-3"]


def test_fields_hidden_panels_and_other_listeners_are_left_alone(browser):
    page = browser.new_page()
    page.set_content(_page(["open", "closed"], ["glasses"]))
    page.locator("#field").click()
    assert _clicks(page, ["1", "g", "s"]) == [] and page.locator("#field").input_value() == "1gs"
    page.locator("#wb-label-view").click()
    page.evaluate("window.heard = []")
    assert _clicks(page, ["1", "x"]) == ["wb-label-0"]
    assert page.evaluate("window.heard") == ["x", "x", "x"]      # the labelling key stopped at the window
    page.evaluate("document.getElementById('wb-label-panel').style.display = 'none'")
    assert _clicks(page, ["1", "Enter"]) == []                   # the one-image view is not on screen
    page.evaluate("document.getElementById('wb-grid-accept').style.display = ''")
    assert _clicks(page, ["Enter", "1"]) == ["wb-grid-accept"]   # Enter accepts a verify page in the grid
