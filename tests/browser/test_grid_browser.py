"""The Label tab's grid in headless Chromium: switched to, it shows its first page at once; every thumbnail shows its
whole image (wide, tall and tiny ones: none cropped, tiny ones with sharp pixels) with a caption below it, not over
it; a click selects a thumbnail (framed plainly, no checkbox list), a second click deselects it, and the selection
is what "Label selected" labels; a verify page is worked with the keys alone (arrows, Space, Enter)."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image
from skimage.data import astronaut

from browser.appserver import CHROMIUM_ARGS, SHOWN_NAME, served, thumbnails
from workbench.data.demo import faces_truth
from workbench.data.importers import import_path
from workbench.labeling.features import dataset_features
from workbench.labeling.queue import ORDERS

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
PlaywrightTimeout = pytest.importorskip("playwright.sync_api").TimeoutError

# real pixels (the astronaut photo) cut to three shapes: wide and tall strips, and tiny squares as small as crops
SHAPES = {"wide": (160, 40), "tall": (40, 160), "tiny": (20, 20)}


@pytest.fixture
def shapes(store, tmp_path):
    photo = astronaut()
    folder = tmp_path / "shapes"
    folder.mkdir()
    for k in range(12):
        kind = list(SHAPES)[k % 3]
        w, h = SHAPES[kind]
        y, x = 25 * k, 30 * k  # inside the 512 x 512 photo
        Image.fromarray(np.ascontiguousarray(photo[y:y + h, x:x + w])).save(folder / f"{k:02d}-{kind}.png")
    import_path(store, folder, name="shapes", classes="astronaut, other")
    return store


def test_grid_shows_whole_thumbnails_and_a_click_selects(shapes, tmp_path):
    ids = dict(zip(shapes.images("shapes")["name"], shapes.images("shapes")["image_id"]))
    with served(shapes) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Label").click()
        page.wait_for_function("document.querySelector('#wb-dataset input')?.value === 'shapes'")
        page.locator("#wb-annotator input, #wb-annotator textarea").first.fill("alice")
        page.get_by_role("radio", name="Grid").check()  # no "Show page": the first page comes with the switch
        tiles = thumbnails(page, "#wb-grid-thumbs", first=12)
        page.screenshot(path=str(tmp_path / "grid.png"), full_page=True)
        assert sorted(t["id"] for t in tiles) == sorted(ids.values())
        by_id = {t["id"]: t for t in tiles}
        for name, image_id in ids.items():
            t = by_id[image_id]
            assert t["whole"] and not t["covered"] and t["captionWhole"], (name, t)
            assert t["caption"].splitlines() == [name, "unlabeled"]
            assert t["sharp"] == name.endswith("tiny.png"), (name, t)  # enlarged tiny ones keep their pixels  # enlarged tiny ones keep their pixels
        assert page.locator("#wb-grid input[type=checkbox]").count() == 0  # no list repeating the thumbnails

        picks = [ids["00-wide.png"], ids["04-tall.png"], ids["08-tiny.png"], ids["05-tiny.png"]]
        for n, image_id in [*enumerate(picks, 1), (3, picks[-1])]:  # the last one clicked again: out again
            page.locator(f"#wb-grid-thumbs .wb-tile[data-id='{image_id}']").click()
            # aria-selected is the server's answer (a click marks its tile at once, before the answer)
            page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs [aria-selected=true]').length"
                                   f" === {n}")
        tiles = {t["id"]: t for t in thumbnails(page, "#wb-grid-thumbs", first=12)}
        chosen = {i for i, t in tiles.items() if t["selected"]}
        assert chosen == set(picks[:3])
        framed, plain = tiles[picks[0]]["frame"], tiles[ids["01-tall.png"]]["frame"]
        assert framed != plain and framed not in ("rgba(0, 0, 0, 0)", "transparent")
        page.screenshot(path=str(tmp_path / "grid-selected.png"), full_page=True)

        page.locator("#wb-grid-class input").click()
        page.get_by_role("option", name="other").click()
        page.locator("#wb-grid-assign").click()
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs figcaption')"
                               "[0]?.innerText.includes('label: other')", timeout=15_000)
        captions = {t["id"]: t["caption"] for t in thumbnails(page, "#wb-grid-thumbs", first=12)}
        browser.close()
    assert {i for i, c in captions.items() if c.endswith("label: other")} == set(picks[:3])
    labels = shapes.latest_labels("shapes", "alice")
    assert dict(zip(labels["image_id"], labels["label"])) == {i: "other" for i in picks[:3]}


def test_a_verify_page_is_worked_with_the_keys_alone(faces, tmp_path):
    """Arrows move a visible cursor over the thumbnails, Space toggles the one under it, a class key corrects it,
    Enter accepts the page: the two toggled ones are left out (next in One image mode), the corrected one labelled
    as typed, the rest as suggested, in one transaction. No mouse on the page after the order is picked (the focus
    left on the Show page button: Space must not press it)."""
    truth = faces_truth(faces)
    for cls in ("face", "not face"):
        for i in truth.index[truth == cls][:5]:
            faces.add_label(int(i), cls, "alice")
    dataset_features(faces, "faces")
    names = faces.images("faces").set_index("image_id")["name"]
    with served(faces) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        page.get_by_role("tab", name="Label").click()
        page.wait_for_function("document.querySelector('#wb-dataset input')?.value === 'faces'")
        page.locator("#wb-annotator input, #wb-annotator textarea").first.fill("alice")
        page.get_by_role("radio", name="Grid").check()
        page.get_by_label("Per page", exact=True).fill("12")
        page.get_by_role("combobox", name="Order", exact=True).click()
        page.get_by_role("option", name=ORDERS["confident"]).click()
        for _ in range(60):   # the first suggestions are trained in the background: show the page once they are
            page.locator("#wb-grid-show").click()   # the focus stays on this button
            try:
                page.wait_for_selector("#wb-grid-accept", state="visible", timeout=2_000)
                break
            except PlaywrightTimeout:
                continue
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs .wb-tile').length === 12")
        tiles = thumbnails(page, "#wb-grid-thumbs", first=12)
        shown = [t["caption"].splitlines()[0].strip() for t in tiles]
        cols = page.evaluate("getComputedStyle(document.querySelector('#wb-grid-thumbs .wb-tg'))"
                             ".gridTemplateColumns.split(' ').length")
        assert 2 <= cols < 12   # the page wraps: ArrowDown moves a row
        cursor = "[...document.querySelectorAll('#wb-grid-thumbs .wb-tile')].findIndex(t => " \
                 "t.classList.contains('wb-cursor'))"
        assert page.evaluate(cursor) == 0
        for key in ("ArrowRight", "ArrowRight", "ArrowLeft"):
            page.keyboard.press(key)
        assert page.evaluate(cursor) == 1
        outline = page.evaluate("getComputedStyle(document.querySelector('#wb-grid-thumbs .wb-cursor')).outlineStyle")
        assert outline == "solid"   # the cursor is visible
        page.keyboard.press(" ")
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs [aria-selected=true]').length === 1")
        page.keyboard.press("ArrowDown")
        assert page.evaluate(cursor) == 1 + cols   # kept across the server's redraw, then a row down
        page.keyboard.press(" ")
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs [aria-selected=true]').length === 2")
        page.keyboard.press(" ")   # Space again: out again
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs [aria-selected=true]').length === 1")
        page.keyboard.press("ArrowUp")
        page.keyboard.press("ArrowLeft")
        page.keyboard.press(" ")
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs [aria-selected=true]').length === 2")
        info = page.locator("#wb-grid-info").inner_text()
        assert info.startswith("Suggested as")   # Show page was not pressed
        suggested = "not face" if info.startswith("Suggested as not face") else "face"
        other = {"face": "not face", "not face": "face"}[suggested]
        page.keyboard.press("ArrowRight")
        page.keyboard.press("ArrowRight")
        page.keyboard.press({"face": "1", "not face": "2"}[other])   # its class key corrects the thumbnail
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs figcaption')[2]?.innerText"
                               f".includes('→ {other} (typed)')")
        page.keyboard.press({"face": "1", "not face": "2"}[suggested])   # the suggested class's key: uncorrected
        page.wait_for_function("!document.querySelectorAll('#wb-grid-thumbs figcaption')[2]?.innerText"
                               ".includes('(typed)')")
        page.keyboard.press({"face": "1", "not face": "2"}[other])
        page.wait_for_function("document.querySelectorAll('#wb-grid-thumbs figcaption')[2]?.innerText"
                               f".includes('→ {other} (typed)')")
        assert page.evaluate(cursor) == 2
        page.screenshot(path=str(tmp_path / "verify-keys.png"), full_page=True)
        page.keyboard.press("Enter")
        page.wait_for_function("document.querySelector('#wb-label-panel')?.offsetParent", timeout=15_000)
        page.wait_for_selector(SHOWN_NAME, timeout=15_000)
        first_left_out = page.locator(SHOWN_NAME).inner_text()
        browser.close()
    assert first_left_out in shown[:2]
    cur = faces.latest_labels("faces", "alice").assign(name=lambda d: d["image_id"].map(names)).set_index("name")
    page_rows = cur[cur["source"] == "page"]
    assert sorted(page_rows.index) == sorted(n for k, n in enumerate(shown) if k not in (0, 1, 2))
    assert shown[0] not in cur.index and shown[1] not in cur.index   # left out: still to be labelled
    assert (cur.at[shown[2], "label"], cur.at[shown[2], "source"]) == (other, "typed")   # corrected on the page
