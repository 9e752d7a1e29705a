"""What the Label tab draws: the one-image view (HTML from the core's LabelView), its buttons, the grid's
thumbnails, and the page script that turns keys into button clicks."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import gradio as gr
from PIL import Image

from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.labeling.keys import (MAX_CLASS_KEYS, MOVE_KEYS, class_keys, keys_by_position,
                                     tag_keys)
from workbench.labeling.session import LabelView

MAX_TAG_BUTTONS = 12
INLINE_BYTES = 256 * 1024   # smaller image files go inline with the response: no second request per image
PREVIEW_SIDE = 1024         # bigger ones are sent as a preview of at most this side
PIXELATED_BELOW = 256       # images narrower than this are upscaled: keep their pixels sharp
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")
KEY_CLASS = "wb-key-"       # a class's or tag's button carries its key as this CSS class + the key

# The image leaves room below it, on the first screen under the Label tab's controls (~325 px at 1280 px wide), for
# its name, the suggestion, the progress and the last message (~120 px): at 1280x800 the suggestion Enter accepts
# was below the fold (55vh alone). Never under 160 px; at most 560 px.
CSS = """
#wb-label-view .wb-img { display: flex; justify-content: center; background: #111; border-radius: 6px; }
#wb-label-view .wb-img img { height: clamp(160px, 100vh - 470px, min(55vh, 560px)); max-width: 100%;
                              object-fit: contain; }
#wb-label-view img.pixelated { image-rendering: pixelated; }
#wb-label-view .wb-meta { font-size: 1.1em; margin: .4em 0; }
#wb-label-view .wb-chip { background: #e0e7ff; color: #1e1b4b; border-radius: 4px; padding: 0 .4em; margin-right: .3em; }
#wb-label-view .wb-msg { color: #b45309; min-height: 1.3em; }
#wb-label-view progress { width: 100%; }
#wb-label-view .wb-suggest { font-size: 1.1em; color: #065f46; }
#wb-suggest-live { color: #065f46; min-height: 1.3em; }
"""

# Keys click the buttons, so keyboard and mouse run the same listener: a digit or letter clicks the button
# carrying that key's CSS class (set with the buttons, from the core's key maps), whose id names its class or
# tag by index. Keys typed into text fields are left alone, and nothing happens unless the one-image panel is
# on screen (Enter also accepts a verify page in the grid). A key that labels goes no further (capture phase
# on window, propagation stopped for its keydown, keypress and keyup): the page's other components listen
# for keys too, and with the other tabs mounted that cost ~30 ms per label.
HEAD = """
<script>
(() => {
  if (window.__wbLabelKeys) return;
  window.__wbLabelKeys = true;
  const MOVES = __MOVES__, KEY_CLASS = '__KEY_CLASS__';
  const handled = new Set();  // keys whose keydown labelled: their keyup stops here too
  const shown = (el) => el && el.offsetParent !== null && !el.disabled;
  const click = (el) => { if (shown(el)) { el.click(); return true; } return false; };
  const byId = (id) => document.getElementById(id);
  const press = (k) => {
    if (k === 'Enter' && click(byId('wb-grid-accept'))) return true;
    const panel = byId('wb-label-panel');
    if (!shown(panel)) return false;
    if (Object.hasOwn(MOVES, k)) return click(byId(MOVES[k]));
    return /^[0-9a-z]$/.test(k) && click(panel.querySelector('button.' + KEY_CLASS + k));
  };
  window.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
    if (press(e.key)) { e.preventDefault(); e.stopPropagation(); handled.add(e.code); }
  }, true);
  window.addEventListener('keypress', (e) => { if (handled.has(e.code)) e.stopPropagation(); }, true);
  window.addEventListener('keyup', (e) => { if (handled.delete(e.code)) e.stopPropagation(); }, true);
})();
</script>
""".replace("__MOVES__", json.dumps(MOVE_KEYS)).replace("__KEY_CLASS__", KEY_CLASS)

HELP = ("<p>Pick a dataset, type your annotator name and press <b>Start</b>. Then: digit keys label "
        "(<b>1</b>..<b>9</b>, <b>0</b> for the tenth class), <b>s</b> or <b>→</b> skips, <b>←</b> goes back, "
        "<b>Backspace</b> or <b>u</b> undoes the last label or tag.</p>")


def image_src(path: str) -> tuple[str, int]:
    """A data URI for the image (inline: shown as soon as the response arrives) and its width.

    Small PNG/JPEG/GIF/WebP files go as they are; anything bigger or in another format (16-bit TIFF, ...)
    is read by the project's load_image (EXIF rotation, 8-bit) and sent as a PNG preview.
    """
    raw = Path(path).read_bytes()
    with Image.open(io.BytesIO(raw)) as im:  # header only: format and size
        width, mime = im.width, Image.MIME.get(im.format or "", "")
    if len(raw) > INLINE_BYTES or mime not in INLINE_TYPES:
        im = load_image(path)
        im.thumbnail((PREVIEW_SIDE, PREVIEW_SIDE))
        buf = io.BytesIO()
        im.save(buf, "PNG")
        raw, mime = buf.getvalue(), "image/png"
    return f"data:{mime};base64,{base64.b64encode(raw).decode()}", width


def render(v: LabelView | None, message: str = "") -> str:
    """The viewer: image, file name, current label and tags, progress, last message (help before a session)."""
    if v is None:
        return f"<div class='wb-view'><div class='wb-msg'>{html.escape(message)}</div>{HELP}</div>"
    msg = f"<div class='wb-msg' id='wb-message'>{html.escape(message or v.message)}</div>"
    if v.image_id is None:
        return f"<div class='wb-view' data-image-id=''>{render_progress(v)}{msg}<p>Nothing on screen.</p></div>"
    chips = "".join(f"<span class='wb-chip'>{html.escape(t)}</span>" for t in v.tags) or "none"
    label = html.escape(v.label) if v.label else "—"
    return (f"<div class='wb-view' data-image-id='{v.image_id}'>"
            f"<div class='wb-img'>{render_image(v)}</div>"
            f"<div class='wb-meta'><b id='wb-filename'>{html.escape(v.name)}</b> · label: "
            f"<b id='wb-current-label'>{label}</b> · tags: {chips}</div>"
            f"{render_suggestion(v)}{render_progress(v)}{msg}</div>")


def render_image(v: LabelView) -> str:
    """The image inline (pixels kept sharp when small), or why it cannot be shown."""
    try:
        src, width = image_src(v.path)
    except (OSError, ValueError, WorkbenchError, Image.DecompressionBombError) as e:
        return f"<div class='wb-msg'>Cannot show {html.escape(v.name)}: {html.escape(str(e))}</div>"
    return f"<img src='{src}' alt='{html.escape(v.name)}'{' class=pixelated' if width < PIXELATED_BELOW else ''}>"


def render_progress(v: LabelView) -> str:
    """This annotator's labels so far, per class, and a progress bar."""
    pct = 100.0 * v.labelled / v.total if v.total else 0.0
    counts = " · ".join(f"{html.escape(c)}: {n}" for c, n in v.per_class.items())
    return (f"<div class='wb-progress'>labelled by {html.escape(v.annotator)}: <b id='wb-progress-count'>"
            f"{v.labelled}</b> / {v.total} ({pct:.0f}%) · {counts}"
            f"<progress max='{max(v.total, 1)}' value='{v.labelled}'></progress></div>")


def render_suggestion(v: LabelView) -> str:
    """The suggested class and its confidence (Enter accepts it), or why this image has none. What suggestions
    are waiting for changes by itself and is shown apart (`render_live`)."""
    if v.suggestion is not None:
        return (f"<div class='wb-suggest'>suggested: <b id='wb-suggestion'>{html.escape(v.suggestion)}</b> "
                f"(<span id='wb-confidence'>{v.confidence:.0%}</span>) · <b>Enter</b> accepts, a class key "
                "overrides</div>")
    return f"<div class='wb-suggest' id='wb-suggest-status'>{html.escape(v.no_suggestion)}</div>" \
        if v.no_suggestion else ""


def render_live(status: str) -> str:
    """The suggester's state (embedding, labels it still waits for, last refresh), refreshed on a timer."""
    return f"<div class='wb-suggest-live' id='wb-suggest-live'>{html.escape(status)}</div>" if status else ""


def keyed_buttons(names: list[str], keys: list[str | None], slots: int, text) -> list[gr.Button]:
    """One button update per slot: the name's text and its key's CSS class, hidden past the names."""
    return [gr.Button(value=text(keys[i], names[i]), visible=True,
                      elem_classes=[KEY_CLASS + keys[i]] if keys[i] else [])
            if i < len(names) else gr.Button(visible=False) for i in range(slots)]


def class_buttons(classes: list[str]) -> tuple[list[gr.Button], gr.Dropdown]:
    """A "key · class" button per keyed class (its id carries the class index, its CSS class the key), then
    a dropdown for classes past the tenth."""
    keys = keys_by_position(classes, class_keys(classes))
    rest = classes[MAX_CLASS_KEYS:]
    return (keyed_buttons(classes[:MAX_CLASS_KEYS], keys, MAX_CLASS_KEYS, lambda k, c: f"{k} · {c}"),
            gr.Dropdown(choices=rest, value=None, visible=bool(rest)))


def tag_buttons(tags: list[str]) -> list[gr.Button]:
    """A "[key] tag" button per tag (tags without a free letter show no key)."""
    keys = keys_by_position(tags, tag_keys(tags))
    return keyed_buttons(tags[:MAX_TAG_BUTTONS], keys, MAX_TAG_BUTTONS, lambda k, t: f"[{k}] {t}" if k else t)


def gallery_of(items) -> list[tuple[int, str, str]]:
    """A grid page's tiles: (image id, path, "name", then "label: X" or "unlabeled"[, the suggestion's confidence])."""
    conf = [f" · {c:.0%} sure" for c in items["confidence"]] if "confidence" in items else [""] * len(items)
    return [(int(i), p, f"{n}\n{f'label: {lab}' if lab else 'unlabeled'}{c}")
            for i, p, n, lab, c in zip(items["image_id"], items["path"], items["name"], items["label"], conf)]
