"""The Label tab's pieces that need no browser: image rendering, buttons, annotator name, app wiring."""

from __future__ import annotations

import base64
import io
import re

import gradio as gr
import numpy as np
from PIL import Image

from workbench.labeling import open_session, view
from workbench.ui import label_tab
from workbench.ui.context import UIContext
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
