"""The Label tab's pieces that need no browser: image rendering, buttons, annotator name, app wiring."""

from __future__ import annotations

import base64
import inspect
import io
import re
import typing
from types import SimpleNamespace

import gradio as gr
import numpy as np
import pytest
from PIL import Image

from test_labeling_session import Counting
from workbench.labeling import SuggesterPool, open_session, view
from workbench.ui import label_tab
from workbench.ui.context import UIContext
from workbench.ui.guard import operation
from workbench.ui.handlers import bind
from workbench.ui.label_render import class_buttons, render, tag_buttons
from workbench.ui.label_tab import annotator_of


def _decoded(html: str) -> Image.Image:
    data = re.search(r"src='data:image/[a-z]+;base64,([^']+)'", html).group(1)
    return Image.open(io.BytesIO(base64.b64decode(data)))


def test_small_image_inline_and_pixelated(faces):
    s = open_session(faces, "faces", "ann")
    html = render(view(faces, s))
    assert "class=pixelated" in html and _decoded(html).size == (25, 25)
    assert "00000.png" in html and "0</b> / 200" in html


def test_big_and_16bit_images_sent_as_previews(faces, home):
    s = open_session(faces, "faces", "ann")
    v = view(faces, s)
    big = home / "big.jpg"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (1500, 2000, 3), dtype=np.uint8)).save(big, quality=95)
    v.path = str(big)
    html = render(v)
    assert "class=pixelated" not in html and max(_decoded(html).size) == 1024
    deep = home / "deep.tif"
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(deep)
    v.path = str(deep)
    im = _decoded(render(v))
    assert im.size == (64, 64) and im.mode in ("L", "RGB")


def test_unreadable_image_shows_message_not_error(faces, home):
    s = open_session(faces, "faces", "ann")
    v = view(faces, s)
    bad = home / "bad.png"
    bad.write_bytes(b"not an image at all")
    v.path = str(bad)
    assert "Cannot show" in render(v)


def test_buttons_show_keys_and_hide_unused_slots():
    cls, more = class_buttons(["open", "closed"])
    assert [b.value for b in cls[:2]] == ["1 · open", "2 · closed"] and not cls[2].visible
    assert [b.elem_classes for b in cls[:2]] == [["wb-key-1"], ["wb-key-2"]]   # the key the page script presses
    tags = tag_buttons(["glasses", "dark", "odd angle", "inverted", "other"])
    assert [b.value for b in tags[:5]] == ["[g] glasses", "[d] dark", "[o] odd angle", "[i] inverted", "[t] other"]
    assert [b.elem_classes for b in tags[:2]] == [["wb-key-g"], ["wb-key-d"]]
    assert not tags[5].visible
    assert not more.visible  # no "more classes" dropdown for two classes


def test_digit_classes_show_their_own_key_and_classes_past_ten_go_in_a_dropdown():
    digits, more = class_buttons([str(d) for d in range(10)])
    assert [b.value for b in digits] == [f"{d} · {d}" for d in range(10)] and not more.visible
    assert [b.elem_classes for b in digits[:3]] == [["wb-key-0"], ["wb-key-1"], ["wb-key-2"]]
    many, more = class_buttons([f"c{i}" for i in range(12)])
    assert many[9].value == "0 · c9" and many[9].elem_classes == ["wb-key-0"]
    assert more.visible and [c[0] for c in more.choices] == ["c10", "c11"]


def test_login_names_the_annotator():
    class Req:
        username = "alice"

    assert annotator_of("mallory", Req()) == "alice"
    assert annotator_of(" bob ", None) == "bob"


def test_label_tab_builds_with_stable_ids(faces):
    with gr.Blocks() as demo:
        label_tab.build(UIContext(store=faces, goto=gr.State(None)))
    ids = {c.get("props", {}).get("elem_id") for c in demo.get_config_file()["components"]}
    assert {"wb-label-0", "wb-label-9", "wb-skip", "wb-prev", "wb-undo", "wb-tag-0", "wb-label-panel",
            "wb-label-view", "wb-grid-assign", "wb-review-refresh"} <= ids
    # the key script and its styles go to launch(head=..., css=...): its keys are driven in test_label_keys_browser.py
    assert label_tab.HEAD.lstrip().startswith("<script>") and "#wb-label-view" in label_tab.CSS


def test_bound_handlers_keep_what_gradio_and_the_access_guard_read():
    h = bind(label_tab.on_show, "the tab")
    assert list(inspect.signature(h).parameters) == ["s", "ds", "name", "order_", "only_", "seed_", "page_", "size_",
                                                     "request"]
    assert typing.get_type_hints(h)["request"] is gr.Request     # so gradio injects the request
    # an annotation that does not resolve makes gradio skip every injection for that handler, silently
    for fn in [f for f in vars(label_tab).values() if inspect.isfunction(f) and f.__module__ == label_tab.__name__]:
        typing.get_type_hints(fn)
    op = operation(SimpleNamespace(fn=h, page="label", name=None))
    assert (op.module, op.handler) == ("workbench.ui.label_tab", "on_show")
    assert operation(SimpleNamespace(fn=bind(label_tab.bulk("label"), 0), page="", name=None)).handler == "bulk.run"


def _tab(store):
    with gr.Blocks():
        ui = label_tab.layout(store)
    return label_tab.LabelTab(store, SuggesterPool(store), ui)


def test_a_label_button_labels_its_class_with_one_class_lookup(faces):
    store = Counting(faces)
    tab = _tab(store)
    s = open_session(faces, "faces", "ann")
    first = s.image_id
    store.calls.clear()
    out = label_tab.on_action(tab, s, SimpleNamespace(target=SimpleNamespace(elem_id="wb-label-1")))
    assert store.calls["classes"] == 1 and store.calls["image"] == 1, store.calls
    assert faces.current_label(first, "ann") == "not face" and s.image_id != first
    assert out[tab.ui.c.sess] is s and "00000.png → not face" in out[tab.ui.one.viewer]
    out = label_tab.on_action(tab, None, SimpleNamespace(target=SimpleNamespace(elem_id="wb-label-0")))
    assert out[tab.ui.c.sess] is None and "Press Start first." in out[tab.ui.one.viewer]


def test_dataset_parts_update_every_part(faces):
    tab = _tab(faces)
    parts = label_tab.dataset_parts(tab, "faces")
    assert list(parts) == tab.ui.parts
    assert parts[tab.ui.one.label_btns[1]].value == "2 · not face" and parts[tab.ui.grid.cls].choices


def test_a_corrected_verify_thumbnail_is_framed_apart_from_a_left_out_one(faces):
    """On a verify page, a thumbnail corrected with a class key was framed exactly like one left out by a click
    (orange, selected): only its caption's last line told them apart."""
    from workbench.ui import thumb_grid

    tab = _tab(faces)
    page = faces.images("faces").head(4)
    ids, pics = list(page.image_id), [(int(i), p, n) for i, p, n in zip(page.image_id, page.path, page.name)]
    verify = ("face", [0.99] * 4)
    chosen, _, fixed = label_tab.on_pick(tab, "faces", ids, [], pics, {}, verify,
                                         gr.EventData(None, {"id": ids[1], "key": "2"}))   # corrected: not face
    chosen, grid, fixed = label_tab.on_pick(tab, "faces", ids, chosen, pics, fixed, verify,
                                            gr.EventData(None, {"id": ids[2]}))              # left out
    tiles = {t["id"]: t for t in grid["items"]}
    assert fixed == {ids[1]: "not face"} and tiles[ids[1]]["corrected"] and tiles[ids[1]]["selected"]
    assert tiles[ids[2]]["selected"] and not tiles[ids[2]]["corrected"]
    assert "wb-corrected" in thumb_grid.TEMPLATE and ".wb-tile.wb-selected.wb-corrected {" in thumb_grid.CSS


def test_show_page_without_suggestions_says_why_in_place_not_as_an_error(faces):
    """A new annotator's "Show page" on verify pages before any suggestion: a red Error toast and "Error" badges on
    the page number, the line above the grid and the grid; now the reason in place and a warning."""
    tab = _tab(faces)
    with pytest.warns(UserWarning, match="No suggestions yet"):
        shown = label_tab.on_show(tab, None, "faces", "carol", "confident", None, 0, 1, 100, None)
    grid = tab.ui.grid
    assert shown[grid.info].startswith("No suggestions yet") and shown[grid.thumbs]["items"] == []
    assert shown[grid.accept].visible is False


def test_review_shows_the_picked_disputed_image(faces):
    """A reviewer settled a disputed image without seeing it (only its name, and a detour through the labeller)."""
    ids = list(faces.images("faces")["image_id"])
    faces.add_label(ids[3], "face", "ann")
    faces.add_label(ids[3], "not face", "bob")
    tab = _tab(faces)
    picked = label_tab.on_refresh(tab, "faces")[tab.ui.review.dispute].choices
    assert picked == [("00003.png", ids[3])]
    shown = label_tab.show_disputed(tab, "faces", ids[3])
    assert shown.size == (240, 240)   # the 25 px crop enlarged, its pixels kept
    with Image.open(faces.image(ids[3])["path"]) as im:
        assert np.array_equal(np.asarray(shown.convert("L")), np.asarray(im.convert("L").resize((240, 240),
                                                                                                 Image.NEAREST)))
    assert label_tab.show_disputed(tab, "faces", None) is None


def test_review_tables_show_their_headers_before_the_first_refresh(faces):
    """Switching to Review showed two tables headed "1 2 3" until Refresh agreement was pressed."""
    tab = _tab(faces)
    review = tab.ui.review
    assert review.kappa.value["headers"] == list(label_tab.pairwise_kappa(faces, "faces").columns)
    assert review.disputed.value["headers"][:2] == ["image_id", "name"]
