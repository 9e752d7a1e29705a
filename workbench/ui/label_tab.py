"""Label tab: one image at a time at keyboard speed, a grid for bulk labelling, and a Review view of agreement.

A thin layer over workbench.labeling: handlers call the core and shape its result for display. The
session lives in gr.State (one per browser tab); every label and tag is in SQLite before the next
image is rendered.
"""

from __future__ import annotations

import base64
import html
import io
import tempfile
from pathlib import Path

import gradio as gr
from PIL import Image

from workbench.data.imageio import load_image
from workbench.errors import WorkbenchError
from workbench.labeling import (ORDERS, apply_action, bulk_label, bulk_tag, disagreements, goto, grid_page,
                                open_session, pairwise_kappa, settle, tag_keys, view, write_download)
from workbench.labeling.grid import accept_page, page_items
from workbench.labeling.keys import MAX_CLASS_KEYS, class_keys
from workbench.labeling.next_step import empty_queue_message, first_dataset_to_label
from workbench.labeling.session import LabelSession, LabelView, queue_next
from workbench.labeling.suggest import SuggesterPool
from workbench.ui.context import UIContext

MAX_TAG_BUTTONS = 12
INLINE_BYTES = 256 * 1024   # smaller image files go inline with the response: no second request per image
PREVIEW_SIDE = 1024         # bigger ones are sent as a preview of at most this side
PIXELATED_BELOW = 256       # images narrower than this are upscaled: keep their pixels sharp
INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")

CSS = """
#wb-label-view .wb-img { display: flex; justify-content: center; background: #111; border-radius: 6px; }
#wb-label-view .wb-img img { height: min(55vh, 560px); max-width: 100%; object-fit: contain; }
#wb-label-view img.pixelated { image-rendering: pixelated; }
#wb-label-view .wb-meta { font-size: 1.1em; margin: .4em 0; }
#wb-label-view .wb-chip { background: #e0e7ff; color: #1e1b4b; border-radius: 4px; padding: 0 .4em; margin-right: .3em; }
#wb-label-view .wb-msg { color: #b45309; min-height: 1.3em; }
#wb-label-view progress { width: 100%; }
#wb-label-view .wb-suggest { font-size: 1.1em; color: #065f46; }
"""

# Keys click the buttons, so keyboard and mouse run the same listener. Keys typed into text fields are
# left alone, and nothing happens unless the one-image panel is on screen. A key that labels goes no
# further (capture phase on window, propagation stopped for its keydown, keypress and keyup): the page's
# other components listen for keys too, and with the other tabs mounted that cost ~30 ms per label.
HEAD = """
<script>
(() => {
  if (window.__wbLabelKeys) return;
  window.__wbLabelKeys = true;
  const handled = new Set();  // keys whose keydown labelled: their keyup stops here too
  const shown = (el) => el && el.offsetParent !== null && !el.disabled;
  const click = (id) => { const el = document.getElementById(id); if (shown(el)) { el.click(); return true; } return false; };
  window.addEventListener('keydown', (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.repeat) return;
    const t = e.target, tag = t && t.tagName;
    if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || (t && t.isContentEditable)) return;
    const k = e.key;
    let done = false;
    if (k === 'Enter' && shown(document.getElementById('wb-grid-accept'))) done = click('wb-grid-accept');
    if (done) { e.preventDefault(); e.stopPropagation(); handled.add(e.code); return; }
    if (!shown(document.getElementById('wb-label-panel'))) return;
    if (k === 'Enter' || k === ' ') done = click('wb-accept');
    else if (/^[0-9]$/.test(k)) {
      for (const b of document.querySelectorAll('button[id^="wb-label-"]')) {
        if (b.textContent.trim().startsWith(k + ' ·')) { done = click(b.id); break; }
      }
    }
    else if (k === 's' || k === 'ArrowRight') done = click('wb-skip');
    else if (k === 'ArrowLeft') done = click('wb-prev');
    else if (k === 'Backspace' || k === 'u') done = click('wb-undo');
    else if (/^[a-z]$/.test(k)) {
      for (const b of document.querySelectorAll('button[id^="wb-tag-"]')) {
        const m = b.textContent.trim().match(/^\\[([a-z])\\]/);
        if (m && m[1] === k) { done = click(b.id); break; }
      }
    }
    if (done) { e.preventDefault(); e.stopPropagation(); handled.add(e.code); }
  }, true);
  window.addEventListener('keypress', (e) => { if (handled.has(e.code)) e.stopPropagation(); }, true);
  window.addEventListener('keyup', (e) => { if (handled.delete(e.code)) e.stopPropagation(); }, true);
})();
</script>
"""


# -- rendering ---------------------------------------------------------------------------------
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
    """The viewer: image, file name, current label and tags, progress, last message."""
    if v is None:
        return (f"<div class='wb-view'><div class='wb-msg'>{html.escape(message)}</div>"
                "<p>Pick a dataset, type your annotator name and press <b>Start</b>. Then: digit keys label "
                "(<b>1</b>..<b>9</b>, <b>0</b> for the tenth class), <b>s</b> or <b>→</b> skips, <b>←</b> goes back, "
                "<b>Backspace</b> or <b>u</b> undoes the last label or tag.</p></div>")
    pct = 100.0 * v.labelled / v.total if v.total else 0.0
    counts = " · ".join(f"{html.escape(c)}: {n}" for c, n in v.per_class.items())
    progress = (f"<div class='wb-progress'>labelled by {html.escape(v.annotator)}: <b id='wb-progress-count'>"
                f"{v.labelled}</b> / {v.total} ({pct:.0f}%) · {counts}"
                f"<progress max='{max(v.total, 1)}' value='{v.labelled}'></progress></div>")
    msg = f"<div class='wb-msg' id='wb-message'>{html.escape(message or v.message)}</div>"
    if v.image_id is None:
        return f"<div class='wb-view' data-image-id=''>{progress}{msg}<p>Nothing on screen.</p></div>"
    try:
        src, width = image_src(v.path)
        img = (f"<img src='{src}' alt='{html.escape(v.name)}'"
               f"{' class=pixelated' if width < PIXELATED_BELOW else ''}>")
    except (OSError, ValueError, WorkbenchError, Image.DecompressionBombError) as e:
        img = f"<div class='wb-msg'>Cannot show {html.escape(v.name)}: {html.escape(str(e))}</div>"
    chips = "".join(f"<span class='wb-chip'>{html.escape(t)}</span>" for t in v.tags) or "none"
    label = html.escape(v.label) if v.label else "—"
    return (f"<div class='wb-view' data-image-id='{v.image_id}'>"
            f"<div class='wb-img'>{img}</div>"
            f"<div class='wb-meta'><b id='wb-filename'>{html.escape(v.name)}</b> · label: "
            f"<b id='wb-current-label'>{label}</b> · tags: {chips}</div>{render_suggestion(v)}{progress}{msg}</div>")


def render_suggestion(v: LabelView) -> str:
    """The suggested class and its confidence (Enter accepts it), or what suggestions are waiting for."""
    if v.suggestion is not None:
        return (f"<div class='wb-suggest'>suggested: <b id='wb-suggestion'>{html.escape(v.suggestion)}</b> "
                f"(<span id='wb-confidence'>{v.confidence:.0%}</span>) · <b>Enter</b> accepts, a class key "
                "overrides</div>")
    return f"<div class='wb-suggest' id='wb-suggest-status'>{html.escape(v.suggest_status)}</div>" \
        if v.suggest_status else ""


def class_buttons(classes: list[str]) -> list:
    """A "key · class" button per keyed class (keys press them), then a dropdown for classes past the tenth."""
    keys = {c: k for k, c in class_keys(classes).items()}
    rest = classes[MAX_CLASS_KEYS:]
    return [*(gr.Button(value=f"{keys[classes[i]]} · {classes[i]}", visible=True) if i < len(classes)
              else gr.Button(visible=False) for i in range(MAX_CLASS_KEYS)),
            gr.Dropdown(choices=rest, value=None, visible=bool(rest))]


def tag_buttons(tags: list[str]) -> list:
    keys = {t: k for k, t in tag_keys(tags).items()}
    return [gr.Button(value=f"[{keys[tags[i]]}] {tags[i]}" if tags[i] in keys else tags[i], visible=True)
            if i < len(tags) else gr.Button(visible=False) for i in range(MAX_TAG_BUTTONS)]


def annotator_of(name: str | None, request: gr.Request | None) -> str:
    """With auth on, the login names the annotator (the typed name is ignored); else the typed name."""
    return (getattr(request, "username", None) or name or "").strip()


def _error(e: WorkbenchError):
    raise gr.Error(str(e), print_exception=False)


# -- the tab -----------------------------------------------------------------------------------
def build(ctx: UIContext) -> None:
    store = ctx.store
    pool = SuggesterPool(store)  # one background suggester per (dataset, annotator); threads, so not in gr.State
    sess = gr.State(None)
    # the typed annotator name outlives a refresh or a server restart (browser localStorage); it is just a
    # name, not a credential, so a fixed key and secret are fine (with --auth the login names the annotator)
    saved_name = gr.BrowserState("", storage_key="workbench-annotator", secret="workbench-annotator-name")

    with gr.Row():
        dataset = gr.Dropdown(choices=store.datasets(), value=None, label="Dataset", scale=2, elem_id="wb-dataset")
        annotator = gr.Textbox(label="Annotator", placeholder="your name", scale=2, elem_id="wb-annotator")
        order = gr.Dropdown(choices=[(d, k) for k, d in ORDERS.items()], value="unlabeled", label="Order", scale=3)
        only = gr.Dropdown(choices=[], value=None, label="Only this tag / class (review orders)", scale=2,
                           allow_custom_value=True)
        seed = gr.Number(value=0, precision=0, label="Seed (random order)", scale=1, minimum=0)
        suggest_on = gr.Checkbox(value=True, label="Suggest labels", scale=1, elem_id="wb-suggest-on")
        start = gr.Button("Start", variant="primary", scale=1, elem_id="wb-start")
    mode = gr.Radio(["One image", "Grid", "Review"], value="One image", show_label=False, elem_id="wb-mode")

    # one image at a time -----------------------------------------------------------------------
    with gr.Column(elem_id="wb-label-panel") as single:
        viewer = gr.HTML(render(None), elem_id="wb-label-view")
        with gr.Row():
            label_btns = [gr.Button(visible=False, variant="primary", elem_id=f"wb-label-{i}", min_width=80)
                          for i in range(MAX_CLASS_KEYS)]
            more_classes = gr.Dropdown(choices=[], value=None, visible=False, label="More classes (no key)",
                                       elem_id="wb-more-classes", min_width=160)
        with gr.Row():
            prev_btn = gr.Button("← previous", elem_id="wb-prev")
            skip_btn = gr.Button("skip (s / →)", elem_id="wb-skip")
            undo_btn = gr.Button("undo (Backspace / u)", elem_id="wb-undo")
            accept_btn = gr.Button("accept suggestion (Enter)", elem_id="wb-accept")
        with gr.Row():
            tag_btns = [gr.Button(visible=False, size="sm", elem_id=f"wb-tag-{i}", min_width=60)
                        for i in range(MAX_TAG_BUTTONS)]
        # API clients (and tests) send the same actions by name: "0".."9", skip, prev, undo, label:<c>, tag:<t>
        action = gr.Textbox(visible=False)

    # grid: select many, assign one class or tag ----------------------------------------------------
    with gr.Column(visible=False, elem_id="wb-grid") as grid:
        with gr.Row():
            page = gr.Number(value=1, precision=0, minimum=1, label="Page", scale=1)
            size = gr.Number(value=100, precision=0, minimum=1, maximum=1000, label="Per page", scale=1)
            show = gr.Button("Show page", scale=1, elem_id="wb-grid-show")
            page_info = gr.Markdown()
        gallery = gr.Gallery(columns=10, height=520, object_fit="contain", allow_preview=False,
                             elem_classes=["pixelated"], label="Click thumbnails to select them")
        picked = gr.CheckboxGroup(choices=[], label="Selected", elem_id="wb-grid-selected")
        with gr.Row():
            all_btn = gr.Button("Select all", size="sm")
            none_btn = gr.Button("Select none", size="sm")
            grid_class = gr.Dropdown(choices=[], label="Class", scale=2, elem_id="wb-grid-class")
            assign = gr.Button("Label selected", variant="primary", scale=1, elem_id="wb-grid-assign")
            grid_tag = gr.Dropdown(choices=[], label="Tag", scale=2)
            tag_on = gr.Button("Tag selected", scale=1)
            tag_off = gr.Button("Untag selected", scale=1)
        with gr.Row():
            page_accept = gr.Button("Accept page as suggested (Enter): selected images are left out",
                                    variant="primary", visible=False, elem_id="wb-grid-accept")
        grid_ids = gr.State([])
        verify = gr.State(None)  # a verify page on screen: (class, [confidence per image])
        page_pics = gr.State([])  # (path, caption) of the page on screen, before selection marks

    # review: agreement and disputed images ------------------------------------------------------
    with gr.Column(visible=False, elem_id="wb-review") as review:
        with gr.Row():
            refresh = gr.Button("Refresh agreement", elem_id="wb-review-refresh")
            with_suggested = gr.Checkbox(value=True, label="Count accepted suggestions and pages",
                                         elem_id="wb-review-suggested")
        kappa = gr.Dataframe(label="Cohen's kappa per pair of annotators (images both labelled)",
                             interactive=False, elem_id="wb-review-kappa")
        disputed = gr.Dataframe(label="Images where annotators disagree", interactive=False, wrap=True,
                                elem_id="wb-review-disputed")
        with gr.Row():
            dispute = gr.Dropdown(choices=[], label="Disputed image", scale=3, elem_id="wb-review-image")
            verdict = gr.Dropdown(choices=[], label="Settle as", scale=2)
            settle_btn = gr.Button("Settle", variant="primary", scale=1)
            open_btn = gr.Button("Open in labeller", scale=1, elem_id="wb-review-open")

    with gr.Accordion("Classes, tags and export", open=False):
        with gr.Row():
            new_classes = gr.Textbox(label="Add classes (comma separated, e.g. open, closed)", scale=3,
                                     elem_id="wb-new-classes")
            add_classes = gr.Button("Add classes", scale=1, elem_id="wb-add-classes")
            new_tag = gr.Textbox(label="Add tags (comma separated)", scale=3)
            add_tag = gr.Button("Add tags", scale=1)
            old_tag = gr.Dropdown(choices=[], label="Remove tag", scale=2)
            del_tag = gr.Button("Remove tag", scale=1)
        with gr.Row():
            fmt = gr.Radio(["csv", "xlsx", "imagefolder"], value="csv", label="Export format")
            scope = gr.Radio(["all annotators", "only me", "resolved (majority)"], value="all annotators",
                             label="Labels")
            export_btn = gr.Button("Export")
            export_file = gr.File(label="Download", interactive=False)

    # -- handlers: call the core, shape the result ----------------------------------------------------
    def refresh_choices(ds):
        return gr.Dropdown(choices=store.datasets(), value=ds)

    def on_load(saved: str | None, typed: str | None, ds: str | None, request: gr.Request):
        user = getattr(request, "username", None)
        # the first set with images left to label, unless one was picked while the page loaded
        pick = gr.Dropdown(choices=store.datasets(), value=ds or first_dataset_to_label(store, user or saved))
        if user:
            return pick, gr.Textbox(value=user, interactive=False)
        # never overwrite a name typed while the page was loading
        return pick, gr.Textbox(value=saved) if saved and not typed else gr.Textbox()

    def dataset_parts(ds: str | None):
        classes = store.classes(ds) if ds else []
        tags = store.tags(ds) if ds else []
        return [*class_buttons(classes), *tag_buttons(tags), gr.Dropdown(choices=tags + classes),
                gr.Dropdown(choices=classes), gr.Dropdown(choices=tags), gr.Dropdown(choices=tags),
                gr.Dropdown(choices=classes)]

    parts = [*label_btns, more_classes, *tag_btns, only, grid_class, grid_tag, old_tag, verdict]

    def suggester_of(s: LabelSession | None):
        return pool.get(s.dataset, s.annotator) if s is not None and s.suggest else None

    def screen(s: LabelSession) -> str:
        return render(view(store, s, suggester_of(s)))

    def on_start(ds, name, order_, only_, seed_, suggest_=True, request: gr.Request = None):
        try:
            only_ = only_ if order_ in ("tag", "class") else None
            who = annotator_of(name, request)
            sugg = pool.get(ds, who) if suggest_ and ds and who else None
            s = open_session(store, ds, who, order_, only_, seed_ or 0, suggester=sugg)
            s.suggest = sugg is not None
        except WorkbenchError as e:
            _error(e)
        return [s, screen(s), *dataset_parts(ds), s.annotator]

    def on_action(s: LabelSession | None, evt: gr.EventData):
        elem = getattr(evt.target, "elem_id", "") or ""
        return act(s, _action_for(elem, s))

    def _action_for(elem: str, s: LabelSession | None) -> str:
        if elem.startswith("wb-label-") and s is not None:
            classes = store.classes(s.dataset)
            i = int(elem.removeprefix("wb-label-"))
            return f"label:{classes[i]}" if i < len(classes) else ""
        if elem.startswith("wb-tag-") and s is not None:
            tags = store.tags(s.dataset)
            i = int(elem.removeprefix("wb-tag-"))
            return f"tag:{tags[i]}" if i < len(tags) else ""
        return {"wb-skip": "skip", "wb-prev": "prev", "wb-undo": "undo", "wb-accept": "accept"}.get(elem, "")

    def act(s: LabelSession | None, name: str):
        if s is None:
            return None, render(None, "Press Start first.")
        try:
            s = apply_action(store, s, name, suggester_of(s))
        except WorkbenchError as e:
            s.message = str(e)
        return s, screen(s)

    gr.on([b.click for b in [*label_btns, prev_btn, skip_btn, undo_btn, accept_btn, *tag_btns]], on_action,
          inputs=[sess], outputs=[sess, viewer], trigger_mode="once", show_progress="hidden",
          api_visibility="private")
    action.submit(act, inputs=[sess, action], outputs=[sess, viewer], api_name="label_action",
                  show_progress="hidden")

    def on_more_class(s: LabelSession | None, cls: str | None):
        if not cls:
            return s, gr.update(), gr.update()
        return *act(s, f"label:{cls}"), gr.Dropdown(value=None)

    more_classes.input(on_more_class, inputs=[sess, more_classes], outputs=[sess, viewer, more_classes],
                       show_progress="hidden", api_visibility="private")
    start.click(on_start, inputs=[dataset, annotator, order, only, seed, suggest_on],
                outputs=[sess, viewer, *parts, saved_name],
                api_name="label_start")
    dataset.focus(refresh_choices, inputs=[dataset], outputs=[dataset], show_progress="hidden",
                  api_visibility="private")
    def on_dataset(ds, s):
        """Another dataset picked: the old session ends, so keys never label one set with another's classes."""
        if s is not None and s.dataset == ds:
            return s, gr.update(), *dataset_parts(ds)
        return None, render(None, f"Press Start to label {ds}." if ds else ""), *dataset_parts(ds)

    dataset.change(on_dataset, inputs=[dataset, sess], outputs=[sess, viewer, *parts], api_visibility="private")
    gr.on(None, on_load, inputs=[saved_name, annotator, dataset], outputs=[dataset, annotator], api_visibility="private")

    def on_goto(target, s, ds, name, request: gr.Request):
        if not target:
            return gr.update(), gr.update(), gr.update(), *[gr.update()] * len(parts)
        try:
            if s is None or s.dataset != target["dataset"]:
                s = open_session(store, target["dataset"], s.annotator if s else annotator_of(name, request), "all")
            s = goto(store, s, int(target["image_id"]))
        except WorkbenchError as e:
            _error(e)
        return s, screen(s), gr.Dropdown(value=s.dataset), *dataset_parts(s.dataset)

    if ctx.goto is not None:
        ctx.goto.change(on_goto, inputs=[ctx.goto, sess, dataset, annotator],
                        outputs=[sess, viewer, dataset, *parts], api_visibility="private").then(
            lambda: (gr.Radio(value="One image"), gr.Column(visible=True), gr.Column(visible=False),
                     gr.Column(visible=False)), outputs=[mode, single, grid, review], api_visibility="private")

    def on_mode(m):
        return gr.Column(visible=m == "One image"), gr.Column(visible=m == "Grid"), gr.Column(visible=m == "Review")

    mode.change(on_mode, inputs=[mode], outputs=[single, grid, review], api_visibility="private")

    # classes and tags
    def on_add_classes(ds, text, s):
        if not ds:
            _error(WorkbenchError("Pick a dataset first."))
        names = [n.strip() for n in (text or "").split(",") if n.strip()]
        if not names:
            _error(WorkbenchError("Type class names separated by commas."))
        store.add_classes(ds, names)
        if s is not None and s.dataset == ds:
            s.message = f"Classes now: {', '.join(store.classes(ds))}."
        return "", s, (screen(s) if s and s.dataset == ds else gr.update()), *dataset_parts(ds)

    add_classes.click(on_add_classes, inputs=[dataset, new_classes, sess],
                      outputs=[new_classes, sess, viewer, *parts], api_name="label_add_classes")

    def on_add_tags(ds, text):
        if not ds:
            _error(WorkbenchError("Pick a dataset first."))
        store.add_tags(ds, [n for n in (text or "").split(",")])
        return "", *dataset_parts(ds)

    def on_remove_tag(ds, tag):
        if not ds or not tag:
            _error(WorkbenchError("Pick a dataset and a tag first."))
        store.remove_tag(ds, tag)
        return dataset_parts(ds)

    add_tag.click(on_add_tags, inputs=[dataset, new_tag], outputs=[new_tag, *parts], api_visibility="private")
    del_tag.click(on_remove_tag, inputs=[dataset, old_tag], outputs=parts, api_visibility="private")

    # grid
    def gallery_of(items):
        conf = [f" · {c:.0%}" for c in items["confidence"]] if "confidence" in items else [""] * len(items)
        pics = [(p, f"{n} · {lab or '—'}{c}") for p, n, lab, c in
                zip(items["path"], items["name"], items["label"], conf)]
        return pics, [(n, int(i)) for n, i in zip(items["name"], items["image_id"])]

    def on_show(s, ds, name, order_, only_, seed_, page_, size_, request: gr.Request):
        if not ds:
            _error(WorkbenchError("Pick a dataset first."))
        try:
            who = s.annotator if s else annotator_of(name, request)
            snap = pool.get(ds, who).latest() if order_ == "confident" and who else None
            g = grid_page(store, ds, who, int(page_ or 1) - 1, int(size_ or 100),
                          order_, only_ if order_ in ("tag", "class") else None, int(seed_ or 0), snap)
        except WorkbenchError as e:
            _error(e)
        pics, choices = gallery_of(g.items)
        info = (f"Page {g.page + 1} of {g.pages} · {g.total} images in this order" if g.total else
                empty_queue_message(store, ds, s.annotator if s else annotator_of(name, request), order_, only_))
        ids = [int(i) for i in g.items["image_id"]]
        if g.suggested is not None:
            info = f"Suggested as **{g.suggested}**: select the ones that are not, then Enter. " + info
        verify_ = (g.suggested, g.items["confidence"].tolist()) if g.suggested is not None and ids else None
        return (pics, gr.CheckboxGroup(choices=choices, value=[]), info, ids, g.page + 1, pics, verify_,
                gr.Button(visible=verify_ is not None))

    def on_redraw(s, ds, name, ids, chosen, request: gr.Request):
        """The same page again with the new labels, selection kept (so a tag can follow a class)."""
        pics, choices = gallery_of(page_items(store, ds, s.annotator if s else annotator_of(name, request), ids))
        return marked(pics, ids, chosen), gr.CheckboxGroup(choices=choices, value=chosen), pics

    def marked(pics, ids, chosen):
        """Selected thumbnails get a ✓ in their caption (the gallery itself has no multi-select)."""
        chosen = set(chosen or [])
        return [(p, f"✓ {c}" if i in chosen else c) for (p, c), i in zip(pics, ids)]

    grid_inputs = [sess, dataset, annotator, order, only, seed, page, size]
    grid_outputs = [gallery, picked, page_info, grid_ids, page, page_pics, verify, page_accept]
    show.click(on_show, inputs=grid_inputs, outputs=grid_outputs, api_visibility="private")
    picked.input(marked, inputs=[page_pics, grid_ids, picked], outputs=[gallery], show_progress="hidden",
                 api_visibility="private")

    def on_pick(ids, chosen, pics, evt: gr.SelectData):
        image_id = ids[evt.index]
        chosen = list(chosen or [])
        chosen = [i for i in chosen if i != image_id] if image_id in chosen else chosen + [image_id]
        return chosen, marked(pics, ids, chosen)

    gallery.select(on_pick, inputs=[grid_ids, picked, page_pics], outputs=[picked, gallery], show_progress="hidden",
                   api_visibility="private")
    all_btn.click(lambda ids, pics: (ids, marked(pics, ids, ids)), inputs=[grid_ids, page_pics],
                  outputs=[picked, gallery], api_visibility="private")
    none_btn.click(lambda ids, pics: ([], marked(pics, ids, [])), inputs=[grid_ids, page_pics],
                   outputs=[picked, gallery], api_visibility="private")

    def on_bulk(kind, s, ds, name, chosen, cls, tag, request):
        who = s.annotator if s else annotator_of(name, request)
        try:
            if kind == "label":
                n = bulk_label(store, ds, chosen or [], cls, who)
                gr.Info(f"{n} label(s) recorded as {cls!r}.")
            else:
                bulk_tag(store, ds, chosen or [], tag, who, on=kind == "tag")
                gr.Info(f"Tag {tag!r} {'on' if kind == 'tag' else 'off'} for {len(chosen)} image(s).")
        except WorkbenchError as e:
            _error(e)

    def bulk(kind: str):
        def run(s, ds, name, chosen, cls, tag, request: gr.Request):
            return on_bulk(kind, s, ds, name, chosen, cls, tag, request)
        return run

    for btn, kind in ((assign, "label"), (tag_on, "tag"), (tag_off, "untag")):
        btn.click(bulk(kind),
                  inputs=[sess, dataset, annotator, picked, grid_class, grid_tag], api_visibility="private").success(
            on_redraw, inputs=[sess, dataset, annotator, grid_ids, picked], outputs=[gallery, picked, page_pics],
            api_visibility="private")

    def wire_page_accept(button, show_inputs, show_outputs, show_fn, inputs, outputs):
        """Enter on a verify page: label all but the selected images as suggested (one transaction); the
        selected ones are left out and shown next in One image mode, with the runner-up suggested."""
        def on_accept_page(s, ds, name, ids, chosen, verify_, request: gr.Request):
            if not verify_:
                _error(WorkbenchError("This page is not a verify page: pick the 'confident' order and Show page."))
            who = s.annotator if s else annotator_of(name, request)
            cls, confs = verify_
            try:
                n = accept_page(store, ds, who, cls, list(zip(ids, confs)), chosen or [])
            except WorkbenchError as e:
                _error(e)
            pool.get(ds, who).poke(n)
            if not chosen:
                gr.Info(f"{n} image(s) labelled {cls!r}.")
                return s, gr.update(), gr.update(), gr.update(), gr.update(), gr.update()
            if s is None or s.dataset != ds or s.annotator != who:
                s = open_session(store, ds, who, "confident", suggester=pool.get(ds, who))
            s.suggest = True
            queue_next(store, s, [int(i) for i in chosen], rejected=cls)
            return (s, screen(s), gr.Radio(value="One image"), gr.Column(visible=True), gr.Column(visible=False),
                    gr.Column(visible=False))

        button.click(on_accept_page, inputs=inputs, outputs=outputs, api_name="label_accept_page").success(
            show_fn, inputs=show_inputs, outputs=show_outputs, api_visibility="private")

    wire_page_accept(page_accept, grid_inputs, grid_outputs, on_show,
                     [sess, dataset, annotator, grid_ids, picked, verify], [sess, viewer, mode, single, grid, review])

    # review
    def on_refresh(ds, suggested=True):
        if not ds:
            _error(WorkbenchError("Pick a dataset first."))
        k = pairwise_kappa(store, ds, suggested=bool(suggested)).round({"kappa": 3})
        d = disagreements(store, ds, suggested=bool(suggested))
        table = d.drop(columns=["path"])
        choices = [(n, int(i)) for n, i in zip(d["name"], d["image_id"])]
        return k, table, gr.Dropdown(choices=choices, value=None)

    refresh.click(on_refresh, inputs=[dataset, with_suggested], outputs=[kappa, disputed, dispute],
                  api_name="label_review")

    def on_settle(ds, image_id, cls, suggested):
        if image_id is None or not cls:
            _error(WorkbenchError("Pick a disputed image and the class to settle it as."))
        settle(store, int(image_id), cls)
        return on_refresh(ds, suggested)

    settle_btn.click(on_settle, inputs=[dataset, dispute, verdict, with_suggested], outputs=[kappa, disputed, dispute],
                     api_visibility="private")
    if ctx.goto is not None:
        open_btn.click(lambda ds, i: {"dataset": ds, "image_id": int(i)} if i is not None else None,
                       inputs=[dataset, dispute], outputs=[ctx.goto], api_visibility="private")

    # export
    def on_export(ds, fmt_, scope_, s, name, request: gr.Request):
        if not ds:
            _error(WorkbenchError("Pick a dataset first."))
        who = (s.annotator if s else annotator_of(name, request)) if scope_ == "only me" else None
        try:
            return str(write_download(store, ds, tempfile.mkdtemp(prefix="workbench-export-"), fmt_, who,
                                      resolved=scope_.startswith("resolved")))
        except WorkbenchError as e:
            _error(e)

    export_btn.click(on_export, inputs=[dataset, fmt, scope, sess, annotator], outputs=[export_file],
                     api_name="label_export")

