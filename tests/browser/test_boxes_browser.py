"""The Boxes mode in headless Chromium on a 3000×4000 portrait photo (composed from scikit-image's astronaut and
coffee photos): a box drawn with the mouse is stored in the photo's own pixels (not the preview's or the screen's),
and keys give it a class, nudge, delete, undo, accept the suggested boxes and copy boxes to the next image."""

from __future__ import annotations

import pytest
from PIL import Image
from skimage import data

from browser.appserver import CHROMIUM_ARGS, served
from workbench.data.importers import import_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

W, H = 3000, 4000


def _photos(folder):
    folder.mkdir()
    portrait = Image.new("RGB", (W, H))
    portrait.paste(Image.fromarray(data.astronaut()).resize((W, 3000)), (0, 0))
    portrait.paste(Image.fromarray(data.coffee()).resize((W, 1000)), (0, 3000))
    portrait.save(folder / "a_portrait.jpg", quality=85)
    Image.fromarray(data.chelsea()).save(folder / "b_cat.jpg")


def _boxes(store):
    return store.boxes("photos", annotator="ann").sort_values("box_id").reset_index(drop=True)


def _wait_message(page, text):
    page.wait_for_function(f"document.querySelector('#wb-boxes-message')?.textContent.includes({text!r})",
                           timeout=20_000)


def _wait_store(page, store, check, timeout=20.0):
    """Poll the store until `check(boxes)` holds (each change is committed before the screen is redrawn)."""
    for _ in range(int(timeout / 0.25)):
        if check(_boxes(store)):
            return _boxes(store)
        page.wait_for_timeout(250)
    raise AssertionError(f"store never matched; it holds:\n{_boxes(store)}")


def test_boxes_drawn_on_a_large_portrait_photo_are_stored_in_its_own_pixels(store, home):
    _photos(home / "photos")
    import_path(store, home / "photos", name="photos")
    store.add_box_classes("photos", ["face", "eye", "cup"])
    with served(store) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(url + "label")
        page.locator("#wb-dataset input").click()
        page.get_by_role("option", name="photos").click()
        page.locator("#wb-annotator input, #wb-annotator textarea").first.fill("ann")
        page.get_by_role("radio", name="Boxes").check()
        page.locator("#wb-boxes-start").click()
        page.wait_for_function("document.querySelector('#wb-boxes-name')?.textContent === 'a_portrait.jpg'",
                               timeout=30_000)
        img = page.locator("#wb-boxes img.wb-bx-img")
        page.wait_for_function("document.querySelector('#wb-boxes img.wb-bx-img').clientWidth > 100")
        r = img.bounding_box()
        assert r["height"] > r["width"] and r["width"] < 1000  # the whole photo, shrunk to the screen

        # drag from 30%, 20% to 60%, 70% of the photo as shown
        page.mouse.move(r["x"] + 0.3 * r["width"], r["y"] + 0.2 * r["height"])
        page.mouse.down()
        page.mouse.move(r["x"] + 0.6 * r["width"], r["y"] + 0.7 * r["height"], steps=8)
        page.mouse.up()
        got = _wait_store(page, store, lambda b: len(b) == 1)
        px = W / r["width"]  # one screen pixel, in photo pixels
        row = got.iloc[0]
        assert row.label == "face" and row.how == "drawn"
        assert abs(row.x - 0.3 * W) <= 2 * px and abs(row.y - 0.2 * H) <= 2 * px
        assert abs(row.w - 0.3 * W) <= 2 * px and abs(row.h - 0.5 * H) <= 2 * px
        x0, y0 = row.x, row.y

        page.keyboard.press("3")  # the box just drawn (selected once stored) becomes a cup
        _wait_store(page, store, lambda b: b.label.tolist() == ["cup"])
        for key in ("ArrowRight", "ArrowRight", "Shift+ArrowDown"):
            page.keyboard.press(key)
        got = _wait_store(page, store, lambda b: abs(b.y[0] - (y0 + 10)) < 1e-6 and abs(b.x[0] - (x0 + 2)) < 1e-6)
        assert store.box_history(got.box_id[0]).shape[0] == 5  # drawn, class, 3 nudges: each its own version

        page.keyboard.press("Delete")
        _wait_store(page, store, lambda b: b.empty)
        page.keyboard.press("z")
        _wait_store(page, store, lambda b: b.label.tolist() == ["cup"])

        page.keyboard.press("Enter")  # the Haar cascades' faces and eyes on the astronaut, accepted
        got = _wait_store(page, store, lambda b: (b.how == "accepted").any())
        accepted = got[got.how == "accepted"]
        assert {"face", "eye"} <= set(accepted.label)
        face = accepted[accepted.label == "face"].iloc[0]
        assert 500 < face.x < 2000 and 300 < face.y < 1500  # on the astronaut's face, in photo pixels
        page.screenshot(path=str(home / "boxes-portrait.png"))

        page.keyboard.press("n")  # done: the cat photo, then copy the portrait's boxes onto it (clipped)
        page.wait_for_function("document.querySelector('#wb-boxes-name')?.textContent === 'b_cat.jpg'",
                               timeout=30_000)
        page.keyboard.press("c")
        _wait_message(page, "Copied")
        cat = store.images("photos").set_index("name").image_id["b_cat.jpg"]
        copied = _boxes(store).query("image_id == @cat")
        assert len(copied) == len(got) and set(copied.how) == {"copied"}
        # the same place in a photo of another size: the same fractions of its width and height
        cup = copied[copied.label == "cup"].iloc[0]
        assert abs(cup.x / 451 - (x0 + 2) / W) < 1e-3 and abs(cup.h / 300 - got.h[0] / H) < 1e-3
        browser.close()
